import Foundation
import IAMDomain
import Testing

// Instance profiles on every store: AWS's names, ids, ARNs, the one-role quota, the delete conflicts on both
// ends, and the relation kept (and logged) from both ends.
extension StoreConformance {
    static let instanceProfileCases: [Case] = [
        ("instanceProfileLifecycle", instanceProfileLifecycle),
        ("instanceProfileRoleRelation", instanceProfileRoleRelation),
        ("instanceProfileListsTagsAndQuota", instanceProfileListsTagsAndQuota),
    ]

    static func expectError(
        _ code: IAMError.Code, _ message: String, _ body: () async throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            try await body()
            Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        } catch let error as IAMError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.message == message, sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    static func instanceProfileLifecycle(_ store: any Store) async throws {
        let dir = directory(store)
        let created = try await dir.createInstanceProfile(
            name: name("Web", .instanceProfile), path: try IAMPath("/fleet/"),
            tags: [try Tag(key: "team", value: "api")])
        let profile = created.value
        #expect(profile.id.rawValue.hasPrefix("AIPA"))
        #expect(profile.arn.description == "arn:aws:iam::123456789012:instance-profile/fleet/Web")
        #expect(created.changes.map(\.entity) == [.instanceProfile(profile.id)])
        // Names are unique case-insensitively, and AWS words the error its own way.
        await expectError(.entityAlreadyExists, "Instance Profile WEB already exists.") {
            _ = try await dir.createInstanceProfile(name: name("WEB", .instanceProfile))
        }
        let got = try await dir.instanceProfile(named: name("web", .instanceProfile))
        #expect(got.profile == profile)
        #expect(got.roles.isEmpty)
        await expectError(.noSuchEntity, "Instance Profile nope cannot be found.") {
            _ = try await dir.instanceProfile(named: name("nope", .instanceProfile))
        }
        // A user, group, role or policy of the same name is another kind and does not collide.
        _ = try await dir.createRole(name: name("Web", .role), assumeRolePolicyDocument: trust)
        let deleted = try await dir.deleteInstanceProfile(named: name("web", .instanceProfile))
        #expect(deleted.changes.map(\.entity) == [.instanceProfile(profile.id)])
        await expectCode(.noSuchEntity) { _ = try await dir.instanceProfile(named: name("Web", .instanceProfile)) }
        await expectCode(.noSuchEntity) {
            _ = try await dir.deleteInstanceProfile(named: name("Web", .instanceProfile))
        }
        // Re-created under the same name it is a new entity with a new id.
        let again = try await dir.createInstanceProfile(name: name("Web", .instanceProfile)).value
        #expect(again.id != profile.id)
        #expect(again.arn.description == "arn:aws:iam::123456789012:instance-profile/Web")
        #expect(try await dir.accountSummary()["InstanceProfiles"] == 1)
        #expect(try await dir.accountSummary()["InstanceProfilesQuota"] == 1_000)
    }

    static func instanceProfileRoleRelation(_ store: any Store) async throws {
        let dir = directory(store)
        let profile = try await dir.createInstanceProfile(name: name("web", .instanceProfile)).value
        let role = try await dir.createRole(name: name("app", .role), assumeRolePolicyDocument: trust).value
        _ = try await dir.createRole(name: name("other", .role), assumeRolePolicyDocument: trust)
        // A role in no profile: the listing Terraform makes before DeleteRole is empty.
        #expect(try await dir.instanceProfiles(forRole: name("app", .role)).items.isEmpty)
        await expectCode(.noSuchEntity) { _ = try await dir.instanceProfiles(forRole: name("ghost", .role)) }
        await expectError(.noSuchEntity, "The role with name ghost cannot be found.") {
            _ = try await dir.addRole(name("ghost", .role), toInstanceProfile: name("web", .instanceProfile))
        }
        await expectError(.noSuchEntity, "Instance Profile ghost cannot be found.") {
            _ = try await dir.addRole(name("app", .role), toInstanceProfile: name("ghost", .instanceProfile))
        }

        let added = try await dir.addRole(name("APP", .role), toInstanceProfile: name("WEB", .instanceProfile))
        #expect(Set(added.changes.map(\.entity)) == [.instanceProfile(profile.id), .role(role.id)])
        #expect(added.changes.allSatisfy { $0.kind == .updated && $0.revision == added.revision })
        let detail = try await dir.instanceProfile(named: name("web", .instanceProfile))
        #expect(detail.roles == [role])
        // One role per profile: a second role and the same role again are both over the quota.
        for other in ["other", "app"] {
            await expectError(.limitExceeded, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1") {
                _ = try await dir.addRole(name(other, .role), toInstanceProfile: name("web", .instanceProfile))
            }
        }
        // The role itself is unchanged by being in a profile.
        #expect(try await dir.role(named: name("app", .role)) == role)
        let forRole = try await dir.instanceProfiles(forRole: name("app", .role))
        #expect(forRole.items.map(\.profile.id) == [profile.id])
        #expect(forRole.items.first?.roles == [role])

        // Both ends refuse to be deleted while linked.
        await expectError(.deleteConflict, "Cannot delete entity, must remove roles from instance profile first.") {
            _ = try await dir.deleteRole(named: name("app", .role))
        }
        await expectError(.deleteConflict, "Cannot delete entity, must remove roles from instance profile first.") {
            _ = try await dir.deleteInstanceProfile(named: name("web", .instanceProfile))
        }
        let details = try await dir.authorizationDetails(kinds: [.role])
        for item in details.items {
            guard case .role(let listed, _, _, let profiles) = item else { continue }
            #expect(profiles.map(\.profile.id) == (listed.id == role.id ? [profile.id] : []))
        }
        let contents = try await store.loadAll()
        #expect(contents.instanceProfiles.map(\.id) == [profile.id])
        #expect(contents.instanceProfileRoles == [InstanceProfileRole(instanceProfileID: profile.id, roleID: role.id)])

        // Removing a role the profile does not hold is NoSuchEntity; removing the held one frees both ends.
        await expectCode(.noSuchEntity) {
            _ = try await dir.removeRole(name("other", .role), fromInstanceProfile: name("web", .instanceProfile))
        }
        let removed = try await dir.removeRole(name("app", .role), fromInstanceProfile: name("web", .instanceProfile))
        #expect(Set(removed.changes.map(\.entity)) == [.instanceProfile(profile.id), .role(role.id)])
        await expectCode(.noSuchEntity) {
            _ = try await dir.removeRole(name("app", .role), fromInstanceProfile: name("web", .instanceProfile))
        }
        #expect(try await dir.instanceProfiles(forRole: name("app", .role)).items.isEmpty)
        #expect(try await store.loadAll().instanceProfileRoles.isEmpty)
        // Another role fits now.
        _ = try await dir.addRole(name("other", .role), toInstanceProfile: name("web", .instanceProfile))
        _ = try await dir.deleteRole(named: name("app", .role))
        await expectCode(.deleteConflict) { _ = try await dir.deleteRole(named: name("other", .role)) }
        _ = try await dir.removeRole(name("other", .role), fromInstanceProfile: name("web", .instanceProfile))
        _ = try await dir.deleteRole(named: name("other", .role))
        _ = try await dir.deleteInstanceProfile(named: name("web", .instanceProfile))
        #expect(try await store.loadAll().instanceProfiles.isEmpty)
    }

    static func instanceProfileListsTagsAndQuota(_ store: any Store) async throws {
        let dir = directory(store)
        for (profile, path) in [("b", "/"), ("a", "/fleet/"), ("C", "/fleet/"), ("d", "/fleet/x/")] {
            _ = try await dir.createInstanceProfile(name: name(profile, .instanceProfile), path: try IAMPath(path))
        }
        let all = try await dir.listInstanceProfiles()
        #expect(all.items.map(\.profile.name.rawValue) == ["a", "b", "C", "d"])
        #expect(!all.isTruncated)
        let fleet = try await dir.listInstanceProfiles(pathPrefix: try PathPrefix("/fleet/"))
        #expect(fleet.items.map(\.profile.name.rawValue) == ["a", "C", "d"])
        let first = try await dir.listInstanceProfiles(page: try PageRequest(maxItems: 2))
        #expect(first.items.map(\.profile.name.rawValue) == ["a", "b"])
        #expect(first.isTruncated)
        let second = try await dir.listInstanceProfiles(
            page: try PageRequest(marker: first.marker?.rawValue, maxItems: 2))
        #expect(second.items.map(\.profile.name.rawValue) == ["C", "d"])
        #expect(!second.isTruncated)

        // Tag keys on instance profiles are case-sensitive (only users and roles fold them).
        _ = try await dir.tag(
            InstanceProfile.self, named: name("a", .instanceProfile),
            tags: [try Tag(key: "k", value: "1"), try Tag(key: "K", value: "2")])
        _ = try await dir.tag(
            InstanceProfile.self, named: name("a", .instanceProfile), tags: [try Tag(key: "k", value: "3")])
        // The updated tag keeps its place (Tags.merge replaces values in place).
        #expect(
            try await dir.instanceProfile(named: name("a", .instanceProfile)).profile.tags == [
                try Tag(key: "k", value: "3"), try Tag(key: "K", value: "2"),
            ])
        let noOp = try await dir.untag(InstanceProfile.self, named: name("a", .instanceProfile), keys: ["missing"])
        #expect(noOp.changes.isEmpty)
        _ = try await dir.untag(InstanceProfile.self, named: name("a", .instanceProfile), keys: ["k"])
        #expect(
            try await dir.instanceProfile(named: name("a", .instanceProfile)).profile.tags == [
                try Tag(key: "K", value: "2")
            ])
        await expectCode(.noSuchEntity) {
            _ = try await dir.tag(
                InstanceProfile.self, named: name("zz", .instanceProfile), tags: [try Tag(key: "k", value: "")])
        }
        var few = Quotas()
        few.tagsPerEntity = 2
        await expectCode(.limitExceeded) {
            _ = try await directory(store, quotas: few).tag(
                InstanceProfile.self, named: name("a", .instanceProfile),
                tags: [try Tag(key: "x", value: ""), try Tag(key: "y", value: "")])
        }

        // The per-account quota counts what exists, so a delete frees a place.
        var four = Quotas()
        four.instanceProfilesPerAccount = 4
        await expectError(.limitExceeded, "Cannot exceed quota for InstanceProfilesPerAccount: 4") {
            _ = try await directory(store, quotas: four).createInstanceProfile(name: name("e", .instanceProfile))
        }
        _ = try await dir.deleteInstanceProfile(named: name("d", .instanceProfile))
        _ = try await directory(store, quotas: four).createInstanceProfile(name: name("e", .instanceProfile))
        #expect(try await dir.accountSummary()["InstanceProfiles"] == 4)
    }
}

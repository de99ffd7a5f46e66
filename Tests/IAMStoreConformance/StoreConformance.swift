import Foundation
public import IAMDomain
import Testing

/// The ``Store`` protocol's behaviour, written once and run against every implementation: each test
/// target passes a factory for a fresh, empty store and runs every case by name.
///
/// `@Test(arguments: StoreConformance.caseNames) func conformance(_ name: String) async throws {
///     try await StoreConformance.run(name, on: makeStore()) }`
public enum StoreConformance {
    /// The names of every case.
    public static var caseNames: [String] { cases.map(\.name) }

    /// Runs the case called `name` on `store`.
    public static func run(_ name: String, on store: any Store) async throws {
        let test = try #require(cases.first { $0.name == name })
        try await test.body(store)
    }

    static let account = try! AccountID("123456789012")

    static func directory(_ store: any Store, quotas: Quotas = Quotas()) -> IAMDirectory {
        IAMDirectory(store: store, account: account, quotas: quotas)
    }

    static func name(_ text: String, _ kind: EntityKind = .user) -> EntityName { try! EntityName(text, kind: kind) }

    static let allowAll = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    static func verifier() -> SCRAMVerifier {
        SCRAMVerifier(salt: Array(repeating: 1, count: 16), iterations: 4096, storedKey: [2, 3], serverKey: [4, 5])
    }

    static func expectCode(
        _ code: IAMError.Code, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            try await body()
            Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        } catch let error as IAMError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    typealias Case = (name: String, body: @Sendable (any Store) async throws -> Void)

    static let cases: [Case] =
        [
            ("revisionBumpsOncePerWrite", revisionBumpsOncePerWrite),
            ("failedWriteLeavesNothing", failedWriteLeavesNothing),
            ("noOpWriteKeepsRevision", noOpWriteKeepsRevision),
            ("namesAreUniqueCaseInsensitivelyPerKind", namesAreUniqueCaseInsensitivelyPerKind),
            ("racingCreatorsLeaveOneWinner", racingCreatorsLeaveOneWinner),
            ("listsPageByFoldedNameWithPathPrefix", listsPageByFoldedNameWithPathPrefix),
            ("changeLogNamesBothEndsOfARelation", changeLogNamesBothEndsOfARelation),
            ("renameKeepsRelationsAndFreesOldName", renameKeepsRelationsAndFreesOldName),
            ("deleteUserConflicts", deleteUserConflicts),
            ("groupsAndMembership", groupsAndMembership),
            ("policyVersionsRules", policyVersionsRules),
            ("attachmentRules", attachmentRules),
            ("inlinePolicyAggregateSize", inlinePolicyAggregateSize),
            ("accessKeysRules", accessKeysRules),
            ("rolesAndSessions", rolesAndSessions),
            ("loadAllHoldsEverything", loadAllHoldsEverything),
            ("entityQuotas", entityQuotas),
            ("updatesTagsAndBoundaries", updatesTagsAndBoundaries),
            ("readsOfRelations", readsOfRelations),
            ("sessionsAndAccountSummary", sessionsAndAccountSummary),
            ("removeEverythingLeavesAnEmptyAccount", removeEverythingLeavesAnEmptyAccount),
            ("userStatesMatchPerUserReads", userStatesMatchPerUserReads),
        ] + instanceProfileCases

    /// The test mode's reset: one write that empties the account (relations first), logs every deletion and
    /// leaves names free for the next test case.
    static func removeEverythingLeavesAnEmptyAccount(_ store: any Store) async throws {
        let dir = directory(store)
        let user = try await dir.createUser(name: name("alice")).value
        let group = try await dir.createGroup(name: name("g", .group)).value
        _ = try await dir.addUser(name("alice"), toGroup: name("g", .group))
        let policy = try await dir.createPolicy(name: name("p", .policy), document: allowAll).value
        _ = try await dir.attachPolicy(policy.arn, to: .user, named: name("alice"))
        _ = try await dir.setPermissionsBoundary(User.self, named: name("alice"), to: policy.arn)
        _ = try await dir.putInlinePolicy(
            name("i", .inlinePolicy), document: allowAll, on: .group, named: name("g", .group))
        let role = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: trust).value
        let key = AccessKeyID.generate()
        _ = try await dir.createAccessKey(userName: name("alice"), id: key, verifier: verifier())
        let profile = try await dir.createInstanceProfile(name: name("web", .instanceProfile)).value
        _ = try await dir.addRole(name("r", .role), toInstanceProfile: name("web", .instanceProfile))
        let before = try await store.revision()

        let reset = try await dir.removeEverything()
        #expect(reset.revision == before.next)
        let changed = Set(reset.changes.map(\.entity))
        for entity in [ChangedEntity.of(user), .of(group), .of(role), .of(policy), .accessKey(key), .of(profile)] {
            #expect(changed.contains(entity), "\(entity) deleted without a change-log entry")
        }
        let contents = try await store.loadAll()
        #expect(contents.users.isEmpty && contents.groups.isEmpty && contents.roles.isEmpty)
        #expect(contents.policies.isEmpty && contents.inlinePolicies.isEmpty && contents.attachments.isEmpty)
        #expect(contents.memberships.isEmpty && contents.accessKeys.isEmpty && contents.sessions.isEmpty)
        #expect(contents.instanceProfiles.isEmpty && contents.instanceProfileRoles.isEmpty)
        _ = try await dir.createUser(name: name("alice"))
        _ = try await dir.createPolicy(name: name("p", .policy), document: allowAll)
        // An empty account: another reset changes nothing and keeps the revision.
        _ = try await dir.deleteUser(named: name("alice"))
        _ = try await dir.deletePolicy(arn: policy.arn)
        let again = try await dir.removeEverything()
        #expect(again.changes.isEmpty)
    }

    static func updatesTagsAndBoundaries(_ store: any Store) async throws {
        let dir = directory(store)
        _ = try await dir.createUser(name: name("alice"), tags: [try Tag(key: "Team", value: "blue")])
        _ = try await dir.tag(User.self, named: name("alice"), tags: [try Tag(key: "team", value: "red")])
        #expect(try await dir.user(named: name("alice")).tags == [try Tag(key: "team", value: "red")])
        await expectCode(.invalidInput) {
            _ = try await dir.tag(
                User.self,
                named: name("alice"), tags: [try Tag(key: "a", value: "1"), try Tag(key: "A", value: "2")])
        }
        _ = try await dir.untag(User.self, named: name("alice"), keys: ["TEAM"])
        #expect(try await dir.user(named: name("alice")).tags.isEmpty)
        var few = Quotas()
        few.tagsPerEntity = 2
        await expectCode(.limitExceeded) {
            _ = try await directory(store, quotas: few).tag(
                User.self,
                named: name("alice"),
                tags: [try Tag(key: "a", value: ""), try Tag(key: "b", value: ""), try Tag(key: "c", value: "")])
        }
        _ = try await dir.updateUser(named: name("alice"), newPath: try IAMPath("/x/"), newName: name("alicia"))
        #expect(try await dir.user(named: name("alicia")).arn.description == "arn:aws:iam::123456789012:user/x/alicia")
        _ = try await dir.createUser(name: name("bob"))
        await expectCode(.entityAlreadyExists) {
            _ = try await dir.updateUser(named: name("bob"), newPath: nil, newName: name("ALICIA"))
        }

        let policy = try await dir.createPolicy(name: name("b", .policy), document: allowAll).value
        _ = try await dir.tagPolicy(
            arn: policy.arn, tags: [try Tag(key: "k", value: "1"), try Tag(key: "K", value: "2")])
        #expect(try await dir.policy(arn: policy.arn).policy.tags.count == 2)
        _ = try await dir.setPermissionsBoundary(User.self, named: name("bob"), to: policy.arn)
        #expect(try await dir.entities(forPolicy: policy.arn, asBoundary: true).users.map(\.name) == [name("bob")])
        await expectCode(.deleteConflict) { _ = try await dir.deletePolicy(arn: policy.arn) }
        _ = try await dir.setPermissionsBoundary(User.self, named: name("bob"), to: nil)
        _ = try await dir.deletePolicy(arn: policy.arn)
        await expectCode(.noSuchEntity) {
            _ = try await dir.setPermissionsBoundary(User.self, named: name("bob"), to: policy.arn)
        }

        _ = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: trust)
        let updated = try await dir.updateRole(named: name("r", .role), description: "d", maxSessionDuration: 43_200)
        #expect(updated.value.maxSessionDuration == 43_200)
        #expect(updated.value.description == "d")
        await expectCode(.validationError) {
            _ = try await dir.updateRole(named: name("r", .role), description: nil, maxSessionDuration: 43_201)
        }
        await expectCode(.malformedPolicyDocument) {
            _ = try await dir.updateAssumeRolePolicy(named: name("r", .role), document: allowAll)
        }
        let naming =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/x/alicia"},"Action":"sts:AssumeRole"}]}"#
        _ = try await dir.updateAssumeRolePolicy(named: name("r", .role), document: naming)
        let ghost = naming.replacingOccurrences(of: "x/alicia", with: "nobody")
        do {
            _ = try await dir.createRole(name: name("r2", .role), assumeRolePolicyDocument: ghost)
            Issue.record("trust policy naming a missing user accepted")
        } catch {
            #expect(error.code == .malformedPolicyDocument)
            #expect(error.message == #"Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/nobody""#)
        }
        let unchanged = try await dir.updateRole(named: name("r", .role), description: "d", maxSessionDuration: nil)
        #expect(unchanged.changes.isEmpty)
    }

    static func readsOfRelations(_ store: any Store) async throws {
        let shipped = ManagedPolicy(
            id: try UniqueID("ANPAIWMBCKSKIEE64ZLYK"), name: name("AdministratorAccess", .policy), path: .root,
            arn: .awsManagedPolicy(name: name("AdministratorAccess", .policy)), createDate: Date(), document: allowAll)
        let dir = IAMDirectory(store: store, account: account, awsManagedPolicies: [shipped])
        _ = try await dir.createUser(name: name("alice"))
        _ = try await dir.createUser(name: name("Bob"))
        _ = try await dir.createGroup(name: name("admins", .group))
        _ = try await dir.addUser(name("Bob"), toGroup: name("admins", .group))
        _ = try await dir.addUser(name("alice"), toGroup: name("admins", .group))
        let custom = try await dir.createPolicy(
            name: name("mine", .policy), path: try IAMPath("/team/", forPolicy: true), document: allowAll
        ).value
        _ = try await dir.attachPolicy(shipped.arn, to: .group, named: name("admins", .group))
        _ = try await dir.attachPolicy(custom.arn, to: .group, named: name("admins", .group))
        let group = try await dir.group(named: name("ADMINS", .group))
        #expect(group.users.items.map(\.name.rawValue) == ["alice", "Bob"])
        #expect(try await dir.groups(ofUser: name("bob")).items.map(\.name.rawValue) == ["admins"])
        let attached = try await dir.attachedPolicies(of: .group, named: name("admins", .group))
        #expect(Set(attached.items.map(\.arn)) == [shipped.arn, custom.arn])
        let teamOnly = try await dir.attachedPolicies(
            of: .group, named: name("admins", .group), pathPrefix: try PathPrefix("/team/", forPolicy: true))
        #expect(teamOnly.items.map(\.arn) == [custom.arn])
        let all = try await dir.listPolicies()
        // The server's AWS managed catalog is listed too; these two are the ones the test attached.
        let mine = all.items.filter { [shipped.arn, custom.arn].contains($0.policy.arn) }
        #expect(mine.map(\.policy.arn) == [shipped.arn, custom.arn])
        #expect(mine.map(\.attachmentCount) == [1, 1])
        #expect(
            all.items.filter { ![shipped.arn, custom.arn].contains($0.policy.arn) }.allSatisfy {
                $0.attachmentCount == 0
            })
        #expect(try await dir.listPolicies(scope: .local).items.map(\.policy.arn) == [custom.arn])
        #expect(try await dir.listPolicies(scope: .aws).items.map(\.policy.arn).contains(shipped.arn))
        #expect(try await dir.listPolicies(scope: .aws).items.allSatisfy { $0.policy.arn.account == "aws" })
        #expect(try await dir.entities(forPolicy: shipped.arn).groups.map(\.name.rawValue) == ["admins"])
        await expectCode(.unmodifiableEntity) { _ = try await dir.deletePolicy(arn: shipped.arn) }
        #expect(try await dir.policyVersion(arn: custom.arn, versionID: "v1").document == allowAll)
        await expectCode(.noSuchEntity) { _ = try await dir.policyVersion(arn: custom.arn, versionID: "v2") }

        _ = try await dir.putInlinePolicy(name("b", .inlinePolicy), document: allowAll, on: .user, named: name("alice"))
        _ = try await dir.putInlinePolicy(name("a", .inlinePolicy), document: allowAll, on: .user, named: name("alice"))
        let names = try await dir.inlinePolicyNames(on: .user, named: name("alice"))
        #expect(names.items.map(\.rawValue) == ["a", "b"])
        #expect(
            try await dir.inlinePolicy(name("b", .inlinePolicy), on: .user, named: name("alice")).policy.document
                == allowAll)
        await expectCode(.noSuchEntity) {
            _ = try await dir.inlinePolicy(name("c", .inlinePolicy), on: .user, named: name("alice"))
        }
    }

    static func sessionsAndAccountSummary(_ store: any Store) async throws {
        let dir = directory(store)
        let role = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: trust).value
        let now = Date()
        func session(_ expiresIn: TimeInterval) -> SessionCredentials {
            SessionCredentials(
                accessKeyID: .generate(temporary: true), verifier: verifier(), sessionTokenHash: [1],
                createDate: now, expiration: now.addingTimeInterval(expiresIn), roleID: role.id, roleARN: role.arn,
                sessionName: name("s1", .roleSession),
                assumedRoleARN: .assumedRole(
                    account: account, roleName: role.name, sessionName: name("s1", .roleSession)))
        }
        let live = session(3_600)
        _ = try await dir.createSession(live)
        _ = try await dir.createSession(session(-1))
        #expect(try await dir.role(named: role.name).lastUsedDate == now)
        let purged = try await dir.purgeExpiredSessions(now: now)
        #expect(purged.value == 1)
        #expect(
            try await store.read { tx throws(IAMError) in try tx.sessions(ofRole: role.id) }.map(\.accessKeyID) == [
                live.accessKeyID
            ])
        let summary = try await dir.accountSummary()
        #expect(summary["Roles"] == 1)
        #expect(summary["Users"] == 0)
        #expect(summary["AccessKeysPerUserQuota"] == 2)
    }

    static func revisionBumpsOncePerWrite(_ store: any Store) async throws {
        #expect(try await store.revision() == .zero)
        let dir = directory(store)
        let a = try await dir.createUser(name: name("alice"))
        #expect(a.revision == Revision(1))
        #expect(a.changes == [Change(revision: Revision(1), kind: .created, entity: .user(a.value.id))])
        let b = try await dir.createUser(name: name("bob"))
        #expect(b.revision == Revision(2))
        #expect(try await store.revision() == Revision(2))
        let log = try await store.changes(after: .zero)
        #expect(log.map(\.revision) == [Revision(1), Revision(2)])
        #expect(try await store.changes(after: Revision(1)).map(\.entity) == [.user(b.value.id)])
        #expect(try await store.changes(after: .zero, limit: 1).count == 1)
        #expect(try await dir.user(named: name("ALICE")).id == a.value.id)
    }

    static func failedWriteLeavesNothing(_ store: any Store) async throws {
        let user = User(
            id: .generate(.user), name: name("ghost"), path: .root,
            arn: .user(account: account, name: name("ghost")), createDate: Date())
        await expectCode(.serviceFailure) {
            _ = try await store.write { tx throws(IAMError) in
                try tx.insert(user)
                throw IAMError.serviceFailure("abort")
            }
        }
        #expect(try await store.revision() == .zero)
        #expect(try await store.read { tx throws(IAMError) in try tx.entity(User.self, id: user.id) } == nil)
        #expect(try await store.changes(after: .zero).isEmpty)
        // The name is free again.
        _ = try await directory(store).createUser(name: name("ghost"))
    }

    static func noOpWriteKeepsRevision(_ store: any Store) async throws {
        let dir = directory(store)
        _ = try await dir.createUser(name: name("alice"))
        let result = try await store.write { tx throws(IAMError) in try tx.count(User.self) }
        #expect(result.value == 1)
        #expect(result.revision == Revision(1))
        #expect(result.changes.isEmpty)
        let deleted = try await store.write { tx throws(IAMError) in try tx.delete(User.self, id: .generate(.user)) }
        #expect(deleted.value == false)
        #expect(deleted.revision == Revision(1))
    }

    static func namesAreUniqueCaseInsensitivelyPerKind(_ store: any Store) async throws {
        let dir = directory(store)
        _ = try await dir.createUser(name: name("Admins"))
        await expectCode(.entityAlreadyExists) { _ = try await dir.createUser(name: name("ADMINS")) }
        // The primitive enforces it too, not only the directory's check.
        await expectCode(.entityAlreadyExists) {
            _ = try await store.write { tx throws(IAMError) in
                try tx.insert(
                    User(
                        id: .generate(.user), name: name("admins"), path: .root,
                        arn: .user(account: account, name: name("admins")), createDate: Date()))
            }
        }
        // Another kind may use the name.
        _ = try await dir.createGroup(name: name("admins", .group))
        _ = try await dir.createPolicy(name: name("admins", .policy), document: allowAll)
        await expectCode(.entityAlreadyExists) {
            _ = try await dir.createPolicy(name: name("AdMiNs", .policy), document: allowAll)
        }
        do {
            _ = try await dir.createUser(name: name("admins"))
        } catch {
            #expect(error.message == "User with name admins already exists.")
        }
    }

    static func racingCreatorsLeaveOneWinner(_ store: any Store) async throws {
        let dir = directory(store)
        let outcomes = await withTaskGroup(of: Result<UniqueID, IAMError>.self) { group in
            for index in 0..<16 {
                group.addTask {
                    do throws(IAMError) {
                        return .success(
                            try await dir.createUser(name: name(index % 2 == 0 ? "Racer" : "racer")).value.id)
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var all: [Result<UniqueID, IAMError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let winners = outcomes.compactMap { try? $0.get() }
        #expect(winners.count == 1)
        for case .failure(let error) in outcomes { #expect(error.code == IAMError.Code.entityAlreadyExists) }
        #expect(try await store.revision() == Revision(1))
        let page = try await dir.listUsers()
        #expect(page.items.map(\.id) == winners)
    }

    static func listsPageByFoldedNameWithPathPrefix(_ store: any Store) async throws {
        let dir = directory(store)
        let names = ["delta", "Alpha", "charlie", "Bravo", "echo"]
        for (index, text) in names.enumerated() {
            _ = try await dir.createUser(name: name(text), path: try IAMPath(index % 2 == 0 ? "/eng/" : "/ops/"))
        }
        var seen: [String] = []
        var request = try PageRequest(maxItems: 2)
        while true {
            let page = try await dir.listUsers(page: request)
            #expect(page.items.count <= 2)
            seen += page.items.map(\.name.rawValue)
            guard page.isTruncated else { break }
            request = try PageRequest(marker: page.marker?.rawValue, maxItems: 2)
        }
        #expect(seen == ["Alpha", "Bravo", "charlie", "delta", "echo"])
        let eng = try await dir.listUsers(pathPrefix: try PathPrefix("/eng"))
        #expect(eng.items.map(\.name.rawValue) == ["charlie", "delta", "echo"])
        #expect(!eng.isTruncated)
        #expect(eng.marker == nil)
        #expect(try await dir.listUsers(pathPrefix: try PathPrefix("/nope/")).items.isEmpty)
        let user = try await dir.user(named: name("charlie"))
        #expect(user.arn.description == "arn:aws:iam::123456789012:user/eng/charlie")
    }

    static func changeLogNamesBothEndsOfARelation(_ store: any Store) async throws {
        let dir = directory(store)
        let user = try await dir.createUser(name: name("alice")).value
        let group = try await dir.createGroup(name: name("devs", .group)).value
        let policy = try await dir.createPolicy(name: name("p", .policy), document: allowAll).value
        let joined = try await dir.addUser(name("alice"), toGroup: name("devs", .group))
        #expect(Set(joined.changes.map(\.entity)) == [.user(user.id), .group(group.id)])
        #expect(joined.changes.allSatisfy { $0.revision == joined.revision && $0.kind == .updated })
        let attached = try await dir.attachPolicy(policy.arn, to: .group, named: name("devs", .group))
        #expect(Set(attached.changes.map(\.entity)) == [.group(group.id), .policy(policy.arn)])
        let log = try await store.changes(after: .zero)
        #expect(log.count == 3 + 2 + 2)
        #expect(log.map(\.revision) == log.map(\.revision).sorted())
        await expectCode(.deleteConflict) { _ = try await dir.deletePolicy(arn: policy.arn) }
    }

    static func renameKeepsRelationsAndFreesOldName(_ store: any Store) async throws {
        let dir = directory(store)
        let user = try await dir.createUser(name: name("alice")).value
        _ = try await dir.createGroup(name: name("devs", .group))
        _ = try await dir.addUser(name("alice"), toGroup: name("devs", .group))
        var renamed = user
        renamed.name = name("alicia")
        renamed.arn = .user(account: account, name: renamed.name)
        let renamedUser = renamed
        _ = try await store.write { tx throws(IAMError) in try tx.update(renamedUser) }
        let groups = try await store.read { tx throws(IAMError) in try tx.groups(ofUser: user.id) }
        #expect(groups.count == 1)
        await expectCode(.noSuchEntity) { _ = try await dir.user(named: name("alice")) }
        #expect(try await dir.user(named: name("ALICIA")).id == user.id)
        _ = try await dir.createUser(name: name("alice"))
        var clash = renamed
        clash.name = name("Alice")
        let clashing = clash
        await expectCode(.entityAlreadyExists) {
            _ = try await store.write { tx throws(IAMError) in try tx.update(clashing) }
        }
    }

    static func deleteUserConflicts(_ store: any Store) async throws {
        let dir = directory(store)
        _ = try await dir.createUser(name: name("alice"))
        let key = AccessKeyID.generate()
        _ = try await dir.createAccessKey(userName: name("alice"), id: key, verifier: verifier())
        await expectCode(.deleteConflict) { _ = try await dir.deleteUser(named: name("alice")) }
        _ = try await dir.deleteAccessKey(userName: name("alice"), id: key)
        _ = try await dir.putInlinePolicy(
            name("inline", .inlinePolicy), document: allowAll, on: .user, named: name("alice"))
        await expectCode(.deleteConflict) { _ = try await dir.deleteUser(named: name("alice")) }
        _ = try await dir.deleteInlinePolicy(name("inline", .inlinePolicy), on: .user, named: name("alice"))
        let policy = try await dir.createPolicy(name: name("p", .policy), document: allowAll).value
        _ = try await dir.attachPolicy(policy.arn, to: .user, named: name("alice"))
        await expectCode(.deleteConflict) { _ = try await dir.deleteUser(named: name("alice")) }
        _ = try await dir.detachPolicy(policy.arn, from: .user, named: name("alice"))
        _ = try await dir.createGroup(name: name("g", .group))
        _ = try await dir.addUser(name("alice"), toGroup: name("g", .group))
        await expectCode(.deleteConflict) { _ = try await dir.deleteUser(named: name("alice")) }
        _ = try await dir.removeUser(name("alice"), fromGroup: name("g", .group))
        let deleted = try await dir.deleteUser(named: name("alice"))
        #expect(deleted.changes.map(\.kind) == [.deleted])
        await expectCode(.noSuchEntity) { _ = try await dir.deleteUser(named: name("alice")) }
        do {
            _ = try await dir.user(named: name("alice"))
        } catch {
            #expect(error.message == "The user with name alice cannot be found.")
        }
    }

    static func groupsAndMembership(_ store: any Store) async throws {
        var quotas = Quotas()
        quotas.groupsPerUser = 2
        let dir = directory(store, quotas: quotas)
        let user = try await dir.createUser(name: name("alice")).value
        for group in ["a", "b", "c"] { _ = try await dir.createGroup(name: name(group, .group)) }
        _ = try await dir.addUser(name("alice"), toGroup: name("a", .group))
        let again = try await dir.addUser(name("alice"), toGroup: name("A", .group))
        #expect(again.changes.isEmpty)
        _ = try await dir.addUser(name("alice"), toGroup: name("b", .group))
        await expectCode(.limitExceeded) { _ = try await dir.addUser(name("alice"), toGroup: name("c", .group)) }
        await expectCode(.noSuchEntity) { _ = try await dir.addUser(name("nobody"), toGroup: name("c", .group)) }
        await expectCode(.deleteConflict) { _ = try await dir.deleteGroup(named: name("a", .group)) }
        _ = try await dir.removeUser(name("alice"), fromGroup: name("a", .group))
        _ = try await dir.deleteGroup(named: name("a", .group))
        let groups = try await store.read { tx throws(IAMError) in try tx.groups(ofUser: user.id) }
        #expect(groups.count == 1)
    }

    /// The batched read a catching-up snapshot uses answers exactly what the per-user reads do, for users with
    /// every kind of relation, with none, and gone.
    static func userStatesMatchPerUserReads(_ store: any Store) async throws {
        let dir = directory(store)
        var users: [UniqueID] = []
        for user in ["alice", "bob", "carol"] { users.append(try await dir.createUser(name: name(user)).value.id) }
        for group in ["g1", "g2"] {
            _ = try await dir.createGroup(name: name(group, .group))
            _ = try await dir.addUser(name("alice"), toGroup: name(group, .group))
        }
        for policy in ["p1", "p2"] {
            let arn = try await dir.createPolicy(name: name(policy, .policy), document: allowAll).value.arn
            _ = try await dir.attachPolicy(arn, to: .user, named: name("alice"))
        }
        for inline in ["zeta", "alpha"] {
            _ = try await dir.putInlinePolicy(
                name(inline, .inlinePolicy), document: allowAll, on: .user, named: name("alice"))
        }
        _ = try await dir.addUser(name("bob"), toGroup: name("g2", .group))
        _ = try await dir.deleteUser(named: name("carol"))
        let ids = users
        let (batch, single) = try await store.read { tx throws(IAMError) in
            var single: [UniqueID: UserState] = [:]
            for id in ids {
                let owner = OwnerRef(.user, id)
                let user = try tx.entity(User.self, id: id)
                single[id] = UserState(
                    user: user, inlinePolicies: user == nil ? [] : try tx.inlinePolicies(of: owner),
                    attachedPolicies: user == nil ? [] : try tx.attachedPolicies(of: owner),
                    groups: user == nil ? [] : try tx.groups(ofUser: id))
            }
            return (try tx.userStates(ids), single)
        }
        #expect(batch.count == 3)
        for id in users {
            let got = try #require(batch[id])
            let want = try #require(single[id])
            #expect(got.user?.id == want.user?.id)
            #expect(got.user?.name == want.user?.name)
            #expect(got.inlinePolicies.map(\.name.rawValue) == want.inlinePolicies.map(\.name.rawValue))
            #expect(got.inlinePolicies.map(\.document) == want.inlinePolicies.map(\.document))
            #expect(got.attachedPolicies == want.attachedPolicies)
            #expect(got.groups.sorted() == want.groups.sorted())
        }
        #expect(batch[users[0]]?.inlinePolicies.map(\.name.rawValue) == ["alpha", "zeta"])
        #expect(batch[users[0]]?.attachedPolicies.count == 2)
        #expect(batch[users[0]]?.groups.count == 2)
        #expect(batch[users[1]]?.groups.count == 1)
        #expect(batch[users[2]]?.user == nil)
    }

    static func policyVersionsRules(_ store: any Store) async throws {
        let dir = directory(store)
        let policy = try await dir.createPolicy(name: name("p", .policy), document: allowAll).value
        #expect(policy.defaultVersionID == "v1")
        #expect(policy.arn.description == "arn:aws:iam::123456789012:policy/p")
        for number in 2...5 {
            let version = try await dir.createPolicyVersion(
                policyARN: policy.arn, document: allowAll, setAsDefault: number == 3)
            #expect(version.value.versionID == "v\(number)")
        }
        await expectCode(.limitExceeded) {
            _ = try await dir.createPolicyVersion(policyARN: policy.arn, document: allowAll, setAsDefault: false)
        }
        #expect(try await dir.policy(arn: policy.arn).policy.defaultVersionID == "v3")
        await expectCode(.deleteConflict) {
            _ = try await dir.deletePolicyVersion(policyARN: policy.arn, versionID: "v3")
        }
        await expectCode(.noSuchEntity) {
            _ = try await dir.deletePolicyVersion(policyARN: policy.arn, versionID: "v9")
        }
        await expectCode(.validationError) {
            _ = try await dir.deletePolicyVersion(policyARN: policy.arn, versionID: "x1")
        }
        _ = try await dir.deletePolicyVersion(policyARN: policy.arn, versionID: "v2")
        let v6 = try await dir.createPolicyVersion(policyARN: policy.arn, document: allowAll, setAsDefault: false)
        #expect(v6.value.versionID == "v6")
        _ = try await dir.setDefaultPolicyVersion(policyARN: policy.arn, versionID: "v6")
        let stored = try await dir.policy(arn: policy.arn).policy
        #expect(stored.versions.filter(\.isDefault).map(\.versionID) == ["v6"])
        #expect(stored.versions.map(\.versionID) == ["v1", "v3", "v4", "v5", "v6"])
        await expectCode(.deleteConflict) { _ = try await dir.deletePolicy(arn: policy.arn) }
        for version in ["v1", "v3", "v4", "v5"] {
            _ = try await dir.deletePolicyVersion(policyARN: policy.arn, versionID: version)
        }
        _ = try await dir.deletePolicy(arn: policy.arn)
        await expectCode(.noSuchEntity) { _ = try await dir.policy(arn: policy.arn) }
        await expectCode(.malformedPolicyDocument) {
            _ = try await dir.createPolicy(name: name("bad", .policy), document: #"{"Statement":[]}"#)
        }
    }

    static func attachmentRules(_ store: any Store) async throws {
        var quotas = Quotas()
        quotas.managedPoliciesPerRole = 2
        let dir = directory(store, quotas: quotas)
        _ = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: trust)
        var arns: [ARN] = []
        for index in 0..<3 {
            arns.append(try await dir.createPolicy(name: name("p\(index)", .policy), document: allowAll).value.arn)
        }
        _ = try await dir.attachPolicy(arns[0], to: .role, named: name("r", .role))
        let again = try await dir.attachPolicy(arns[0], to: .role, named: name("r", .role))
        #expect(again.changes.isEmpty)
        _ = try await dir.attachPolicy(arns[1], to: .role, named: name("r", .role))
        await expectCode(.limitExceeded) { _ = try await dir.attachPolicy(arns[2], to: .role, named: name("r", .role)) }
        #expect(try await dir.policy(arn: arns[0]).attachmentCount == 1)
        let missing = ARN.policy(account: account, name: name("missing", .policy))
        await expectCode(.noSuchEntity) { _ = try await dir.attachPolicy(missing, to: .role, named: name("r", .role)) }
        await expectCode(.noSuchEntity) {
            _ = try await dir.detachPolicy(arns[2], from: .role, named: name("r", .role))
        }
        await expectCode(.deleteConflict) { _ = try await dir.deletePolicy(arn: arns[0]) }
        await expectCode(.deleteConflict) { _ = try await dir.deleteRole(named: name("r", .role)) }
        _ = try await dir.detachPolicy(arns[0], from: .role, named: name("r", .role))
        #expect(try await dir.policy(arn: arns[0]).attachmentCount == 0)
        _ = try await dir.deletePolicy(arn: arns[0])
    }

    static func inlinePolicyAggregateSize(_ store: any Store) async throws {
        let dir = directory(store)
        _ = try await dir.createUser(name: name("alice"))
        // 2,048 characters per user in all; each document below counts ~1,100.
        let padding = String(repeating: "a", count: 1_000)
        let big =
            #"{"Version":"2012-10-17","Statement":[{"Sid":"\#(padding)","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        _ = try await dir.putInlinePolicy(name("one", .inlinePolicy), document: big, on: .user, named: name("alice"))
        // Replacing the same name does not count twice.
        _ = try await dir.putInlinePolicy(name("one", .inlinePolicy), document: big, on: .user, named: name("alice"))
        do {
            _ = try await dir.putInlinePolicy(
                name("two", .inlinePolicy), document: big, on: .user, named: name("alice"))
            Issue.record("second big inline policy accepted")
        } catch {
            #expect(error.code == .limitExceeded)
            #expect(error.message == "Maximum policy size of 2048 bytes exceeded for user alice")
        }
        await expectCode(.noSuchEntity) {
            _ = try await dir.deleteInlinePolicy(name("two", .inlinePolicy), on: .user, named: name("alice"))
        }
        // One document over the limit on its own: the same message, naming the user.
        let huge =
            #"{"Version":"2012-10-17","Statement":[{"Sid":"\#(padding)\#(padding)\#(padding)","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        do {
            _ = try await dir.putInlinePolicy(
                name("three", .inlinePolicy), document: huge, on: .user, named: name("alice"))
            Issue.record("an inline policy over the limit accepted")
        } catch {
            #expect(error.code == .limitExceeded)
            #expect(error.message == "Maximum policy size of 2048 bytes exceeded for user alice")
        }
    }

    static func accessKeysRules(_ store: any Store) async throws {
        let dir = directory(store)
        let user = try await dir.createUser(name: name("alice")).value
        _ = try await dir.createUser(name: name("bob"))
        let first = AccessKeyID.generate()
        let created = try await dir.createAccessKey(userName: name("alice"), id: first, verifier: verifier())
        #expect(created.value.status == .active)
        #expect(created.changes.map(\.entity) == [.accessKey(first)])
        let second = AccessKeyID.generate()
        _ = try await dir.createAccessKey(userName: name("alice"), id: second, verifier: verifier())
        do {
            _ = try await dir.createAccessKey(userName: name("alice"), id: .generate(), verifier: verifier())
            Issue.record("third key accepted")
        } catch {
            #expect(error.message == "Cannot exceed quota for AccessKeysPerUser: 2")
        }
        _ = try await dir.updateAccessKey(userName: name("alice"), id: first, status: .inactive)
        let stored = try await store.read { tx throws(IAMError) in try tx.accessKey(id: first) }
        #expect(stored?.status == .inactive)
        #expect(stored?.verifier == verifier())
        #expect(stored?.userID == user.id)
        await expectCode(.noSuchEntity) { _ = try await dir.deleteAccessKey(userName: name("bob"), id: first) }
        #expect(try await dir.accessKeyLastUsed(first).key.lastUsedDate == nil)
        // A key's use is kept without a new revision or change-log entry: the checks it made keep their revision.
        let before = try await store.revision()
        let used = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try await dir.recordAccessKeyUse(first, service: "iam", now: used))
        #expect(try await store.revision() == before)
        #expect(try await store.changes(after: before).isEmpty)
        let lastUsed = try await dir.accessKeyLastUsed(first)
        #expect(lastUsed.key.lastUsedDate == used)
        #expect(lastUsed.key.lastUsedService == "iam")
        #expect(lastUsed.key.status == .inactive)
        #expect(lastUsed.key.verifier == verifier())
        #expect(lastUsed.userName == name("alice"))
        // An earlier use (a late writer's) does not replace it.
        #expect(try await dir.recordAccessKeyUse(first, service: "sts", now: used.addingTimeInterval(-60)))
        #expect(try await dir.accessKeyLastUsed(first).key.lastUsedService == "iam")
        // A later use replaces it; a status change after it keeps it.
        #expect(try await dir.recordAccessKeyUse(first, service: "sts", now: used.addingTimeInterval(60)))
        _ = try await dir.updateAccessKey(userName: name("alice"), id: first, status: .active)
        let later = try await dir.accessKeyLastUsed(first).key
        #expect(later.lastUsedDate == used.addingTimeInterval(60))
        #expect(later.lastUsedService == "sts")
        #expect(later.status == .active)
        let afterStatus = try await store.revision()
        // Noted in a write that also changes something: that write's one revision, and the use kept.
        let mixed = try await store.write { tx throws(IAMError) in
            _ = try tx.noteAccessKeyUse(id: first, date: used.addingTimeInterval(120), service: "iam")
            guard var other = try tx.accessKey(id: second) else { return false }
            other.status = .inactive
            try tx.updateAccessKey(other)
            return true
        }
        #expect(mixed.value)
        #expect(mixed.revision == afterStatus.next)
        #expect(mixed.changes.map(\.entity) == [.accessKey(second)])
        #expect(try await dir.accessKeyLastUsed(first).key.lastUsedDate == used.addingTimeInterval(120))
        _ = try await dir.deleteAccessKey(userName: name("alice"), id: first)
        await expectCode(.noSuchEntity) { _ = try await dir.accessKeyLastUsed(first) }
        let afterDelete = try await store.revision()
        #expect(try await dir.recordAccessKeyUse(first, service: "iam") == false)
        #expect(try await store.revision() == afterDelete)
        #expect(try await store.read { tx throws(IAMError) in try tx.accessKeys(ofUser: user.id) }.count == 1)
    }

    static func rolesAndSessions(_ store: any Store) async throws {
        let dir = directory(store)
        await expectCode(.validationError) {
            _ = try await dir.createRole(
                name: name("r", .role), assumeRolePolicyDocument: trust, maxSessionDuration: 100)
        }
        await expectCode(.malformedPolicyDocument) {
            _ = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: allowAll)
        }
        let role = try await dir.createRole(
            name: name("r", .role), path: try IAMPath("/service-role/"), assumeRolePolicyDocument: trust,
            description: "API Gateway", maxSessionDuration: 7_200
        ).value
        #expect(role.arn.description == "arn:aws:iam::123456789012:role/service-role/r")
        let now = Date()
        let session = SessionCredentials(
            accessKeyID: .generate(temporary: true), verifier: verifier(), sessionTokenHash: [9], createDate: now,
            expiration: now.addingTimeInterval(3_600), roleID: role.id, roleARN: role.arn,
            sessionName: name("s1", .roleSession),
            assumedRoleARN: .assumedRole(account: account, roleName: role.name, sessionName: name("s1", .roleSession)),
            sessionPolicy: allowAll)
        _ = try await store.write { tx throws(IAMError) in try tx.insertSession(session) }
        let read = try await store.read { tx throws(IAMError) in try tx.session(id: session.accessKeyID) }
        #expect(read == session)
        let deleted = try await dir.deleteRole(named: name("r", .role))
        #expect(Set(deleted.changes.map(\.entity)) == [.role(role.id), .session(session.accessKeyID)])
        #expect(try await store.read { tx throws(IAMError) in try tx.session(id: session.accessKeyID) } == nil)
    }

    static func loadAllHoldsEverything(_ store: any Store) async throws {
        let dir = directory(store)
        let user = try await dir.createUser(
            name: name("alice"), tags: [try Tag(key: "team", value: "blue")]
        ).value
        _ = try await dir.createGroup(name: name("g", .group))
        _ = try await dir.addUser(name("alice"), toGroup: name("g", .group))
        let policy = try await dir.createPolicy(name: name("p", .policy), document: allowAll).value
        _ = try await dir.attachPolicy(policy.arn, to: .group, named: name("g", .group))
        _ = try await dir.putInlinePolicy(name("i", .inlinePolicy), document: allowAll, on: .user, named: name("alice"))
        _ = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: trust)
        _ = try await dir.createAccessKey(userName: name("alice"), id: .generate(), verifier: verifier())
        let contents = try await store.loadAll()
        #expect(contents.revision == (try await store.revision()))
        #expect(contents.users == [user])
        #expect(contents.users.first?.tags == [try Tag(key: "team", value: "blue")])
        #expect(contents.groups.count == 1)
        #expect(contents.roles.count == 1)
        #expect(contents.policies == [policy])
        #expect(contents.inlinePolicies.count == 1)
        #expect(contents.attachments.map(\.policyARN) == [policy.arn])
        #expect(contents.memberships.count == 1)
        #expect(contents.accessKeys.count == 1)
    }

    static func entityQuotas(_ store: any Store) async throws {
        var quotas = Quotas()
        quotas.usersPerAccount = 2
        let dir = directory(store, quotas: quotas)
        _ = try await dir.createUser(name: name("a"))
        _ = try await dir.createUser(name: name("b"))
        do {
            _ = try await dir.createUser(name: name("c"))
            Issue.record("third user accepted")
        } catch {
            #expect(error.code == .limitExceeded)
            #expect(error.message == "Cannot exceed quota for UsersPerAccount: 2")
        }
        // Deleting frees a place; a failed create took none.
        _ = try await dir.deleteUser(named: name("a"))
        #expect(try await store.read { tx throws(IAMError) in try tx.count(User.self) } == 1)
        _ = try await dir.createUser(name: name("c"))
        #expect(try await dir.accountSummary()["Users"] == 2)
    }
}

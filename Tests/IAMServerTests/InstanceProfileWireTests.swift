import Foundation
import IAMClient
import IAMDomain
import IAMRPC
import IAMServer
import IAMStoreSQLite
import IAMTestSupport
import IAMWire
import Logging
import NIOPosix
import Testing

/// Instance profiles over the real wire: the daemon in-process on loopback TLS and a SQLite file, called through
/// the generated client, authorized by the interceptor (on the profile's real path) and audited.
@Suite("instance profiles over the wire (loopback TLS, SQLite)", .serialized)
struct InstanceProfileWireTests {
    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    /// A daemon over a store holding user `ops`, whose only permission is `policy`; the root and ops keys.
    static func start(opsPolicy policy: String) async throws -> (
        DaemonAuthorizationTests.Fixture, root: IAMServiceClient, ops: IAMServiceClient
    ) {
        let chain = try TestCertificateChain.make()
        let data = URL(fileURLWithPath: chain.directory).appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: data.appendingPathComponent("iam.sqlite").path)
        let directory = IAMDirectory(store: store, account: DaemonAuthorizationTests.account)
        _ = try await directory.createUser(name: EntityName("ops", kind: .user))
        let created = try await directory.createPolicy(name: EntityName("ops", kind: .policy), document: policy)
        _ = try await directory.attachPolicy(created.value.arn, to: .user, named: EntityName("ops", kind: .user))
        let opsKey = try await DaemonAuthorizationTests.key(for: "ops", directory)

        var logger = Logger(label: "test-iamd")
        logger.logLevel = .warning
        var configuration = DaemonConfiguration(
            dataDirectory: data, certificatePath: chain.serverCertificatePath, privateKeyPath: chain.serverKeyPath,
            logger: logger)
        configuration.port = 0
        configuration.store = store
        let daemon = try await Daemon.start(configuration)
        let rootFile = try JSONDecoder().decode(
            RootCredentials.self, from: Data(contentsOf: data.appendingPathComponent("root-credentials.json")))
        let fixture = DaemonAuthorizationTests.Fixture(
            daemon: daemon, chain: chain, directory: data, root: (rootFile.accessKeyId, rootFile.secretAccessKey),
            keys: ["ops": opsKey])
        return (
            fixture, IAMServiceClient(client: try fixture.client(fixture.root)),
            IAMServiceClient(client: try fixture.client(opsKey))
        )
    }

    /// Expects `body` to end with AWS's error `code` and, when given, exactly `message`.
    static func expectFailure<T>(
        _ code: String, _ message: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async {
        do {
            _ = try await body()
            Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        } catch let error as RPCError {
            #expect(error.iamErrorCode == code, "\(error)", sourceLocation: sourceLocation)
            if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
        } catch {
            Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Runs `body` against a fresh daemon and stops the daemon however `body` ends.
    static func withDaemon(
        opsPolicy: String,
        _ body: (DaemonAuthorizationTests.Fixture, _ root: IAMServiceClient, _ ops: IAMServiceClient) async throws
            -> Void
    ) async throws {
        let (fixture, root, ops) = try await Self.start(opsPolicy: opsPolicy)
        do {
            try await body(fixture, root, ops)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    @Test func lifecycleAndTerraformsRoleDestroy() async throws {
        try await Self.withDaemon(opsPolicy: DaemonAuthorizationTests.checker) { fixture, iam, _ in
            let created = try await iam.createInstanceProfile(
                CreateInstanceProfileRequest(
                    instanceProfileName: "web", path: "/fleet/", tags: [IAMWire.Tag(key: "team", value: "api")]))
            let profile = try #require(created.instanceProfile)
            #expect(profile.arn == "arn:aws:iam::123456789012:instance-profile/fleet/web")
            #expect(profile.instanceProfileID.hasPrefix("AIPA") && profile.instanceProfileID.count == 21)
            #expect(profile.path == "/fleet/")
            #expect(profile.roles.isEmpty)
            #expect(profile.tags == [IAMWire.Tag(key: "team", value: "api")])
            #expect(profile.createDate > 0)
            #expect(created.revision > 0)
            await Self.expectFailure("EntityAlreadyExists", "Instance Profile WEB already exists.") {
                try await iam.createInstanceProfile(CreateInstanceProfileRequest(instanceProfileName: "WEB"))
            }
            await Self.expectFailure("ValidationError") {
                try await iam.createInstanceProfile(CreateInstanceProfileRequest(instanceProfileName: "bad name"))
            }
            await Self.expectFailure("ValidationError") {
                try await iam.createInstanceProfile(CreateInstanceProfileRequest())
            }
            await Self.expectFailure("NoSuchEntity", "Instance Profile nope cannot be found.") {
                try await iam.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "nope"))
            }

            // Terraform's role destroy: ListInstanceProfilesForRole, then DeleteRole. A role in no profile goes.
            _ = try await iam.createRole(CreateRoleRequest(roleName: "loose", assumeRolePolicyDocument: Self.trust))
            let none = try await iam.listInstanceProfilesForRole(ListInstanceProfilesForRoleRequest(roleName: "loose"))
            #expect(none.instanceProfiles.isEmpty && !none.isTruncated)
            _ = try await iam.deleteRole(DeleteRoleRequest(roleName: "loose"))

            // A role in a profile: DeleteRole conflicts until the role is removed from it.
            let role = try #require(
                try await iam.createRole(CreateRoleRequest(roleName: "app", assumeRolePolicyDocument: Self.trust)).role)
            _ = try await iam.addRoleToInstanceProfile(
                AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "app"))
            await Self.expectFailure("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1") {

                try await iam.addRoleToInstanceProfile(
                    AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "app"))
            }
            let got = try #require(
                try await iam.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "web")).instanceProfile)
            #expect(got.roles == [role])
            #expect(got.roles.first?.assumeRolePolicyDocument == Self.trust)
            // GetRole and ListRoles do not change with it.
            #expect(try await iam.getRole(GetRoleRequest(roleName: "app")).role == role)
            // ListRoles gives AWS's subset: no PermissionsBoundary, RoleLastUsed or Tags.
            var listedRole = role
            listedRole.permissionsBoundary = nil
            listedRole.roleLastUsed = nil
            listedRole.tags = []
            #expect(try await iam.listRoles(ListRolesRequest()).roles == [listedRole])

            let listed = try await iam.listInstanceProfilesForRole(ListInstanceProfilesForRoleRequest(roleName: "app"))
            #expect(listed.instanceProfiles.map(\.instanceProfileName) == ["web"])
            #expect(listed.instanceProfiles.first?.roles == [role])
            await Self.expectFailure(
                "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first."
            ) { try await iam.deleteRole(DeleteRoleRequest(roleName: "app")) }
            await Self.expectFailure(
                "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first."
            ) {
                try await iam.deleteInstanceProfile(DeleteInstanceProfileRequest(instanceProfileName: "web"))
            }
            // ListInstanceProfiles leaves tags out, as AWS does; GetInstanceProfile has them.
            let all = try await iam.listInstanceProfiles(ListInstanceProfilesRequest())
            #expect(all.instanceProfiles.map(\.instanceProfileName) == ["web"])
            #expect(all.instanceProfiles.first?.tags.isEmpty == true)
            #expect(all.instanceProfiles.first?.roles == [role])
            #expect(
                try await iam.listInstanceProfiles(ListInstanceProfilesRequest(pathPrefix: "/other/")).instanceProfiles
                    .isEmpty)

            _ = try await iam.removeRoleFromInstanceProfile(
                RemoveRoleFromInstanceProfileRequest(instanceProfileName: "web", roleName: "app"))
            await Self.expectFailure("NoSuchEntity") {
                try await iam.removeRoleFromInstanceProfile(
                    RemoveRoleFromInstanceProfileRequest(instanceProfileName: "web", roleName: "app"))
            }
            #expect(
                try await iam.listInstanceProfilesForRole(ListInstanceProfilesForRoleRequest(roleName: "app"))
                    .instanceProfiles.isEmpty)
            _ = try await iam.deleteRole(DeleteRoleRequest(roleName: "app"))

            // Tags: case-sensitive keys, paged listing.
            _ = try await iam.tagInstanceProfile(
                TagInstanceProfileRequest(
                    instanceProfileName: "web",
                    tags: [IAMWire.Tag(key: "Team", value: "ops"), IAMWire.Tag(key: "b", value: "")]))
            let firstTags = try await iam.listInstanceProfileTags(
                ListInstanceProfileTagsRequest(instanceProfileName: "web", maxItems: 2))
            #expect(firstTags.tags.map(\.key) == ["team", "Team"])
            #expect(firstTags.isTruncated)
            let restTags = try await iam.listInstanceProfileTags(
                ListInstanceProfileTagsRequest(instanceProfileName: "web", marker: firstTags.marker))
            #expect(restTags.tags.map(\.key) == ["b"])
            _ = try await iam.untagInstanceProfile(
                UntagInstanceProfileRequest(instanceProfileName: "web", tagKeys: ["team"]))
            #expect(
                try await iam.listInstanceProfileTags(ListInstanceProfileTagsRequest(instanceProfileName: "web")).tags
                    .map(\.key) == ["Team", "b"])
            await Self.expectFailure("ValidationError") {
                try await iam.tagInstanceProfile(TagInstanceProfileRequest(instanceProfileName: "web"))
            }

            let deleted = try await iam.deleteInstanceProfile(DeleteInstanceProfileRequest(instanceProfileName: "web"))
            #expect(deleted.revision > created.revision)
            await Self.expectFailure("NoSuchEntity") {
                try await iam.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "web"))
            }

            // Every mutation went to the audit log under its rpc, naming the instance profile it touched by its ARN
            // with its path (the delete too, named before the profile went).
            let audit = try String(
                contentsOf: fixture.directory.appendingPathComponent("audit.log"), encoding: .utf8)
            let lines = try audit.split(separator: "\n").map {
                try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            for rpc in [
                "CreateInstanceProfile", "AddRoleToInstanceProfile", "RemoveRoleFromInstanceProfile",
                "TagInstanceProfile",
                "UntagInstanceProfile", "DeleteInstanceProfile",
            ] {
                let records = lines.filter { $0["rpc"] as? String == rpc && $0["result"] as? String == "OK" }
                #expect(!records.isEmpty, "\(rpc) not audited")
                for record in records {
                    #expect(
                        record["resource"] as? String == "arn:aws:iam::123456789012:instance-profile/fleet/web",
                        "\(rpc): \(record)")
                }
            }
            let roleDeletes = lines.filter { $0["rpc"] as? String == "DeleteRole" }
            #expect(roleDeletes.map { $0["resource"] as? String }.contains("arn:aws:iam::123456789012:role/loose"))
        }
    }

    @Test func callsAreAuthorizedOnTheProfilesRealPath() async throws {
        // ops may read instance profiles under /fleet/ and nothing else of them.
        let policy = #"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["iam:GetInstanceProfile","iam:ListInstanceProfileTags"],
               "Resource":"arn:aws:iam::123456789012:instance-profile/fleet/*"},
              {"Effect":"Allow","Action":"iam:ListInstanceProfilesForRole",
               "Resource":"arn:aws:iam::123456789012:role/app"}]}
            """#
        try await Self.withDaemon(opsPolicy: policy) { fixture, root, ops in
            _ = try await root.createInstanceProfile(
                CreateInstanceProfileRequest(instanceProfileName: "web", path: "/fleet/"))
            _ = try await root.createInstanceProfile(CreateInstanceProfileRequest(instanceProfileName: "db"))
            _ = try await root.createRole(CreateRoleRequest(roleName: "app", assumeRolePolicyDocument: Self.trust))

            // The request names only "web"; the interceptor finds its path in the snapshot.
            #expect(
                try await ops.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "WEB")).instanceProfile?
                    .instanceProfileName == "web")
            _ = try await ops.listInstanceProfileTags(ListInstanceProfileTagsRequest(instanceProfileName: "web"))
            _ = try await ops.listInstanceProfilesForRole(ListInstanceProfilesForRoleRequest(roleName: "app"))
            await Self.expectFailure(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:GetInstanceProfile on "
                    + "resource: arn:aws:iam::123456789012:instance-profile/db because no identity-based policy allows "
                    + "the iam:GetInstanceProfile action"
            ) { try await ops.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "db")) }
            await Self.expectFailure("AccessDenied") {
                try await ops.createInstanceProfile(
                    CreateInstanceProfileRequest(instanceProfileName: "x", path: "/fleet/"))
            }
            await Self.expectFailure("AccessDenied") {
                try await ops.addRoleToInstanceProfile(
                    AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "app"))
            }
            await Self.expectFailure("AccessDenied") {
                try await ops.listInstanceProfiles(ListInstanceProfilesRequest())
            }
            // After a delete the name resolves to nothing: the default path, so the /fleet/ grant no longer covers it.
            _ = try await root.deleteInstanceProfile(DeleteInstanceProfileRequest(instanceProfileName: "web"))
            await Self.expectFailure("AccessDenied") {
                try await ops.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "web"))
            }
            let audit = try String(
                contentsOf: fixture.directory.appendingPathComponent("audit.log"), encoding: .utf8)
            #expect(audit.contains(#""resource":"arn:aws:iam::123456789012:instance-profile/db""#))
        }
    }

    @Test func addingARoleNeedsPassRoleOnTheRole() async throws {
        // ops may add roles to any instance profile, but pass only the roles under /svc/, and never `admin`.
        let policy = #"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["iam:AddRoleToInstanceProfile","iam:GetInstanceProfile"],"Resource":"*"},
              {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/svc/*"},
              {"Effect":"Deny","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/svc/locked"}]}
            """#
        try await Self.withDaemon(opsPolicy: policy) { fixture, root, ops in
            _ = try await root.createInstanceProfile(CreateInstanceProfileRequest(instanceProfileName: "web"))
            _ = try await root.createRole(CreateRoleRequest(roleName: "admin", assumeRolePolicyDocument: Self.trust))
            _ = try await root.createRole(
                CreateRoleRequest(path: "/svc/", roleName: "app", assumeRolePolicyDocument: Self.trust))
            _ = try await root.createRole(
                CreateRoleRequest(path: "/svc/", roleName: "locked", assumeRolePolicyDocument: Self.trust))

            // Allowed iam:AddRoleToInstanceProfile but not iam:PassRole on the role: AWS's message names the
            // missing action on the role's ARN, and nothing changes.
            await Self.expectFailure(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:PassRole on resource: "
                    + "arn:aws:iam::123456789012:role/admin because no identity-based policy allows the iam:PassRole "
                    + "action"
            ) {
                try await ops.addRoleToInstanceProfile(
                    AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "admin"))
            }
            await Self.expectFailure(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:PassRole on resource: "
                    + "arn:aws:iam::123456789012:role/svc/locked with an explicit deny in an identity-based policy"
            ) {
                try await ops.addRoleToInstanceProfile(
                    AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "LOCKED"))
            }
            #expect(
                try await ops.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "web"))
                    .instanceProfile?.roles.isEmpty == true)

            // With both permissions (PassRole on the role's real path, found though the request names only "app").
            _ = try await ops.addRoleToInstanceProfile(
                AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "app"))
            #expect(
                try await ops.getInstanceProfile(GetInstanceProfileRequest(instanceProfileName: "web"))
                    .instanceProfile?.roles.map(\.roleName) == ["app"])

            let audit = try String(
                contentsOf: fixture.directory.appendingPathComponent("audit.log"), encoding: .utf8)
            #expect(audit.contains(#""resource":"arn:aws:iam::123456789012:role/admin""#))
        }
    }
}

import Foundation
import IAMDomain
import IAMPolicy
import Testing

/// The authorization snapshot follows the store: the origin scenario's steps, keys, sessions, renames.
@Suite struct SnapshotTests {
    let account = try! AccountID("123456789012")

    func name(_ text: String, _ kind: EntityKind = .user) -> EntityName { try! EntityName(text, kind: kind) }

    static let apiPolicy = #"""
        {"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":["apigateway:GET","apigateway:POST"],"Resource":"arn:aws:apigateway:us-east-1::/restapis/*"},
          {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"}]}
        """#
    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    static let pushLogs = try! ManagedPolicy(
        id: UniqueID("ANPAJWAGQ2CWXEU7IXHXU"),
        name: EntityName("AmazonAPIGatewayPushToCloudWatchLogs", kind: .policy),
        path: IAMPath("/service-role/", forPolicy: true),
        arn: ARN(parsing: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"),
        createDate: Date(timeIntervalSince1970: 1_447_000_000),
        document:
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogGroups","logs:DescribeLogStreams","logs:PutLogEvents","logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"*"}]}"#
    )

    static let getRestAPIs = AuthorizationRequest(
        action: "apigateway:GET", resource: "arn:aws:apigateway:us-east-1::/restapis/a1b2", context: RequestContext())
    static let invokePets = AuthorizationRequest(
        action: "execute-api:Invoke", resource: "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets",
        context: RequestContext())

    func decide(_ publisher: SnapshotPublisher, _ arn: String, _ request: AuthorizationRequest) -> Decision? {
        publisher.snapshot.principal(arn: arn)?.compiled.decide(request)
    }

    /// Writers share catch-ups (one at a time), yet each one's write is in the snapshot when its own
    /// catch-up returns, also when it committed while another writer's catch-up was reading the store.
    @Test func concurrentWritersEachSeeTheirWriteAfterCatchingUp() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let publisher = try await SnapshotPublisher(store: store, account: account)
        let missing = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<16 {
                group.addTask {
                    var missing: [String] = []
                    for index in 0..<12 {
                        let user = try await dir.createUser(name: self.name("w\(writer)-\(index)"))
                        let reached = try await publisher.catchUp(atLeast: user.revision)
                        if reached < user.revision
                            || publisher.snapshot.principal(arn: user.value.arn.description) == nil
                        {
                            missing.append(user.value.name.rawValue)
                        }
                    }
                    return missing
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(missing.isEmpty)
        #expect(publisher.snapshot.principalCount == 16 * 12)
        // A revision the store has not reached ends the wait (after two catch-ups at most) instead of spinning.
        let ahead = Revision(publisher.revision.rawValue + 1_000)
        #expect(try await publisher.catchUp(atLeast: ahead) < ahead)
    }

    @Test func originScenarioFollowsEveryWrite() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let publisher = try await SnapshotPublisher(store: store, account: account)
        #expect(publisher.revision == .zero)

        let alice = try await dir.createUser(name: name("alice"))
        try await publisher.catchUp(atLeast: alice.revision)
        let arn = alice.value.arn.description
        #expect(decide(publisher, arn, Self.getRestAPIs) == .implicitDeny)

        let policy = try await dir.createPolicy(name: name("api", .policy), document: Self.apiPolicy).value
        let attached = try await dir.attachPolicy(policy.arn, to: .user, named: name("alice"))
        #expect(try await publisher.catchUp(atLeast: attached.revision) == attached.revision)
        #expect(decide(publisher, arn, Self.getRestAPIs) == .allowed)
        #expect(decide(publisher, arn, Self.invokePets) == .allowed)
        let result = try #require(publisher.snapshot.principal(arn: arn)).compiled.evaluate(Self.invokePets)
        #expect(result.matched.map(\.policyID) == [policy.arn.description])
        #expect(publisher.snapshot.principal(arn: arn)?.sources[policy.arn.description]?.kind == .customerManaged)

        let detached = try await dir.detachPolicy(policy.arn, from: .user, named: name("alice"))
        try await publisher.catchUp(atLeast: detached.revision)
        #expect(decide(publisher, arn, Self.getRestAPIs) == .implicitDeny)

        _ = try await dir.createGroup(name: name("api-users", .group))
        _ = try await dir.attachPolicy(policy.arn, to: .group, named: name("api-users", .group))
        try await publisher.catchUp()
        #expect(decide(publisher, arn, Self.getRestAPIs) == .implicitDeny)
        let joined = try await dir.addUser(name("alice"), toGroup: name("api-users", .group))
        try await publisher.catchUp(atLeast: joined.revision)
        #expect(decide(publisher, arn, Self.getRestAPIs) == .allowed)

        // A new default version that drops the API Gateway statement reaches the group's members.
        let narrower =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}"#
        _ = try await dir.createPolicyVersion(policyARN: policy.arn, document: narrower, setAsDefault: true)
        try await publisher.catchUp()
        #expect(decide(publisher, arn, Self.getRestAPIs) == .implicitDeny)
        #expect(decide(publisher, arn, Self.invokePets) == .allowed)

        let left = try await dir.removeUser(name("alice"), fromGroup: name("api-users", .group))
        try await publisher.catchUp(atLeast: left.revision)
        #expect(decide(publisher, arn, Self.invokePets) == .implicitDeny)

        // The snapshot built by catching up equals the one built from scratch.
        let fresh = AuthorizationSnapshot(contents: try await store.loadAll(), account: account)
        #expect(fresh.revision == publisher.revision)
        #expect(fresh.principalCount == publisher.snapshot.principalCount)
    }

    @Test func principalContextKeys() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let user = try await dir.createUser(name: name("alice"), tags: [try Tag(key: "team", value: "blue")]).value
        let publisher = try await SnapshotPublisher(store: store, account: account)
        let principal = try #require(publisher.snapshot.principal(arn: user.arn.description))
        #expect(principal.kind == .user)
        #expect(principal.context["aws:username"] == .string("alice"))
        #expect(principal.context["aws:userid"] == .string(user.id.rawValue))
        #expect(principal.context["aws:PrincipalType"] == .string("User"))
        #expect(principal.context["aws:PrincipalAccount"] == .string("123456789012"))
        #expect(principal.context["aws:PrincipalTag/team"] == .string("blue"))
    }

    @Test func inlinePoliciesAreNamedByOwner() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let document =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
        let user = try await dir.createUser(name: name("alice")).value
        _ = try await dir.createGroup(name: name("devs", .group))
        _ = try await dir.addUser(name("alice"), toGroup: name("devs", .group))
        _ = try await dir.putInlinePolicy(name("mine", .policy), document: document, on: .user, named: name("alice"))
        _ = try await dir.putInlinePolicy(
            name("ours", .policy), document: document, on: .group, named: name("devs", .group))
        let publisher = try await SnapshotPublisher(store: store, account: account)
        let principal = try #require(publisher.snapshot.principal(arn: user.arn.description))
        #expect(principal.policies.map(\.id) == ["user/alice/mine", "group/devs/ours"])
        let mine = try #require(principal.sources["user/alice/mine"])
        #expect(mine.kind == .user && mine.name == "mine" && mine.groupName == nil && mine.arn == nil)
        let ours = try #require(principal.sources["group/devs/ours"])
        #expect(ours.kind == .group && ours.name == "ours" && ours.groupName == "devs" && ours.arn == nil)
    }

    @Test func boundaryLimitsAndMissingBoundaryDeniesAll() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let s3Only = try await dir.createPolicy(
            name: name("s3-only", .policy),
            document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
        ).value
        let user = try await dir.createUser(name: name("bob"), permissionsBoundary: s3Only.arn).value
        let policy = try await dir.createPolicy(name: name("api", .policy), document: Self.apiPolicy).value
        _ = try await dir.attachPolicy(policy.arn, to: .user, named: name("bob"))
        let publisher = try await SnapshotPublisher(store: store, account: account)
        #expect(decide(publisher, user.arn.description, Self.getRestAPIs) == .implicitDeny)
        await #expect(throws: IAMError.self) { _ = try await dir.deletePolicy(arn: s3Only.arn) }
    }

    @Test func accessKeysFollowStatusAndDeletion() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let user = try await dir.createUser(name: name("alice")).value
        let publisher = try await SnapshotPublisher(store: store, account: account)
        let keyID = AccessKeyID.generate()
        let verifier = SCRAMVerifier(salt: [1], iterations: 4096, storedKey: [2], serverKey: [3])
        _ = try await dir.createAccessKey(userName: name("alice"), id: keyID, verifier: verifier)
        #expect(publisher.snapshot.credential(accessKeyID: keyID) == nil)
        try await publisher.catchUp()
        let credential = try #require(publisher.snapshot.credential(accessKeyID: keyID))
        #expect(credential.verifier == verifier)
        #expect(credential.isUsable(at: Date()))
        #expect(credential.principalARN == user.arn)
        #expect(publisher.snapshot.principal(accessKeyID: keyID)?.arn == user.arn)

        _ = try await dir.updateAccessKey(userName: name("alice"), id: keyID, status: .inactive)
        try await publisher.catchUp()
        #expect(publisher.snapshot.credential(accessKeyID: keyID)?.isUsable(at: Date()) == false)

        _ = try await dir.deleteAccessKey(userName: name("alice"), id: keyID)
        try await publisher.catchUp()
        #expect(publisher.snapshot.credential(accessKeyID: keyID) == nil)
        #expect(publisher.snapshot.principal(accessKeyID: keyID) == nil)
    }

    @Test func renameMovesThePrincipalAndItsKeys() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        var user = try await dir.createUser(name: name("alice")).value
        let keyID = AccessKeyID.generate()
        _ = try await dir.createAccessKey(
            userName: name("alice"), id: keyID,
            verifier: SCRAMVerifier(salt: [1], iterations: 4096, storedKey: [], serverKey: []))
        let publisher = try await SnapshotPublisher(store: store, account: account)
        let oldARN = user.arn
        user.name = name("alicia")
        user.arn = .user(account: account, name: user.name)
        let renamed = user
        _ = try await store.write { tx throws(IAMError) in try tx.update(renamed) }
        try await publisher.catchUp()
        #expect(publisher.snapshot.principal(arn: oldARN.description) == nil)
        #expect(publisher.snapshot.principal(arn: renamed.arn.description)?.name.rawValue == "alicia")
        #expect(publisher.snapshot.credential(accessKeyID: keyID)?.principalARN == renamed.arn)
    }

    @Test func roleSessionsGetRolePermissionsIntersectedWithSessionPolicy() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account, awsManagedPolicies: [Self.pushLogs])
        let role = try await dir.createRole(
            name: name("apigw-logs", .role), path: try IAMPath("/service-role/"), assumeRolePolicyDocument: Self.trust
        ).value
        _ = try await dir.attachPolicy(Self.pushLogs.arn, to: .role, named: role.name)
        let publisher = try await SnapshotPublisher(store: store, account: account, catalog: [Self.pushLogs])
        let putLogs = AuthorizationRequest(
            action: "logs:PutLogEvents", resource: "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s",
            context: RequestContext())
        let createGroup = AuthorizationRequest(
            action: "logs:CreateLogGroup", resource: "arn:aws:logs:us-east-1:123456789012:log-group:g",
            context: RequestContext())
        #expect(decide(publisher, role.arn.description, putLogs) == .allowed)
        #expect(
            publisher.snapshot.principal(arn: role.arn.description)?.sources[Self.pushLogs.arn.description]?.kind
                == .awsManaged)

        let now = Date()
        let sessionName = name("build-42", .roleSession)
        let session = SessionCredentials(
            accessKeyID: .generate(temporary: true),
            verifier: SCRAMVerifier(salt: [1], iterations: 4096, storedKey: [], serverKey: []),
            sessionTokenHash: [0], createDate: now, expiration: now.addingTimeInterval(900), roleID: role.id,
            roleARN: role.arn, sessionName: sessionName,
            assumedRoleARN: .assumedRole(account: account, roleName: role.name, sessionName: sessionName),
            sessionPolicy:
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}"#
        )
        _ = try await store.write { tx throws(IAMError) in try tx.insertSession(session) }
        try await publisher.catchUp()
        let principal = try #require(publisher.snapshot.principal(accessKeyID: session.accessKeyID))
        #expect(principal.kind == .session)
        #expect(principal.arn.description == "arn:aws:sts::123456789012:assumed-role/apigw-logs/build-42")
        #expect(principal.userID == "\(role.id):build-42")
        #expect(principal.context["aws:PrincipalArn"] == .string(role.arn.description))
        #expect(principal.compiled.decide(putLogs) == .allowed)
        #expect(principal.compiled.decide(createGroup) == .implicitDeny)
        let credential = try #require(publisher.snapshot.credential(accessKeyID: session.accessKeyID))
        #expect(credential.isUsable(at: now))
        #expect(!credential.isUsable(at: now.addingTimeInterval(901)))
        #expect(publisher.snapshot.principal(arn: principal.arn.description)?.userID == principal.userID)

        // Detaching from the role reaches its sessions.
        _ = try await dir.detachPolicy(Self.pushLogs.arn, from: .role, named: role.name)
        try await publisher.catchUp()
        #expect(
            publisher.snapshot.principal(accessKeyID: session.accessKeyID)?.compiled.decide(putLogs) == .implicitDeny)
        // AWS managed policies cannot be changed.
        await #expect(throws: IAMError.self) {
            _ = try await dir.createPolicyVersion(
                policyARN: Self.pushLogs.arn, document: Self.apiPolicy, setAsDefault: true)
        }
        // Deleting the role ends its sessions.
        _ = try await dir.deleteRole(named: role.name)
        try await publisher.catchUp()
        #expect(publisher.snapshot.credential(accessKeyID: session.accessKeyID) == nil)
        #expect(publisher.snapshot.principal(arn: role.arn.description) == nil)
    }

    @Test func reusedSessionNameKeepsAnARNOwner() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let role = try await dir.createRole(name: name("r", .role), assumeRolePolicyDocument: Self.trust).value
        let publisher = try await SnapshotPublisher(store: store, account: account)
        let sessionName = name("same", .roleSession)
        let now = Date()
        func session(_ seconds: TimeInterval) -> SessionCredentials {
            SessionCredentials(
                accessKeyID: .generate(temporary: true),
                verifier: SCRAMVerifier(salt: [1], iterations: 4096, storedKey: [], serverKey: []),
                sessionTokenHash: [0], createDate: now, expiration: now.addingTimeInterval(seconds), roleID: role.id,
                roleARN: role.arn, sessionName: sessionName,
                assumedRoleARN: .assumedRole(account: account, roleName: role.name, sessionName: sessionName))
        }
        let short = session(900)
        let long = session(3_600)
        _ = try await dir.createSession(short)
        _ = try await dir.createSession(long)
        try await publisher.catchUp()
        let arn = short.assumedRoleARN.description
        #expect(publisher.snapshot.principal(arn: arn)?.sessionKeyID == long.accessKeyID)
        _ = try await store.write { tx throws(IAMError) in try tx.deleteSession(id: long.accessKeyID) }
        try await publisher.catchUp()
        #expect(publisher.snapshot.principal(arn: arn)?.sessionKeyID == short.accessKeyID)
        #expect(publisher.snapshot.credential(accessKeyID: long.accessKeyID) == nil)
    }

    @Test func concurrentCatchUpsInstallOnlyNewer() async throws {
        let store = InMemoryStore()
        let dir = IAMDirectory(store: store, account: account)
        let publisher = try await SnapshotPublisher(store: store, account: account)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<32 {
                group.addTask {
                    let created = try await dir.createUser(name: self.name("u\(index)"))
                    let revision = try await publisher.catchUp(atLeast: created.revision)
                    #expect(revision >= created.revision)
                    #expect(publisher.snapshot.principal(arn: created.value.arn.description) != nil)
                }
            }
            try await group.waitForAll()
        }
        #expect(publisher.revision == Revision(32))
        #expect(publisher.snapshot.principalCount == 32)
    }
}

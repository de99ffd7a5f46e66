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

/// The scenario the product exists for, step by step over TLS against the daemon on SQLite: a customer
/// managed policy for API Gateway; a user denied, allowed once it is attached, denied when detached,
/// allowed through a group; a role API Gateway may assume and whose session may push logs.
@Suite("origin scenario over the wire", .serialized)
struct OriginScenarioTests {
    static let policy = #"""
        {"Version":"2012-10-17","Statement":[
          {"Sid":"ManageApis","Effect":"Allow","Action":["apigateway:GET","apigateway:POST"],
           "Resource":"arn:aws:apigateway:us-east-1::/restapis/*"},
          {"Sid":"InvokePets","Effect":"Allow","Action":"execute-api:Invoke",
           "Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"}]}
        """#
    static let pets = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"
    static let alice = "arn:aws:iam::123456789012:user/alice"

    static func check(_ principal: String, _ action: String, _ resource: String, after revision: UInt64)
        -> AuthorizeRequest
    {
        var request = AuthorizeRequest()
        request.principalARN = principal
        request.action = action
        request.resource = resource
        request.minRevision = revision
        return request
    }

    @Test func apiGatewayScenario() async throws {
        let chain = try TestCertificateChain.make()
        defer { try? chain.remove() }
        let data = URL(fileURLWithPath: chain.directory).appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        var logger = Logger(label: "scenario")
        logger.logLevel = .warning
        var configuration = DaemonConfiguration(
            dataDirectory: data, certificatePath: chain.serverCertificatePath, privateKeyPath: chain.serverKeyPath,
            logger: logger)
        configuration.port = 0
        configuration.store = try SQLiteStore(path: data.appendingPathComponent("iam.sqlite").path)
        let daemon = try await Daemon.start(configuration)
        let root = try JSONDecoder().decode(
            RootCredentials.self, from: Data(contentsOf: data.appendingPathComponent("root-credentials.json")))
        let client = try RPCClient(
            configuration: RPCClientConfiguration(
                host: "127.0.0.1", port: daemon.port, tls: chain.clientConfiguration(serverName: "127.0.0.1"),
                accessKeyID: root.accessKeyId, secretAccessKey: root.secretAccessKey),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let iam = IAMServiceClient(client: client)
        let authorization = AuthorizationServiceClient(client: client)

        var createUser = CreateUserRequest()
        createUser.userName = "alice"
        let user = try await iam.createUser(createUser)
        #expect(user.user?.arn == Self.alice)
        var createPolicy = CreatePolicyRequest()
        createPolicy.policyName = "ApiGatewayPets"
        createPolicy.policyDocument = Self.policy
        let created = try await iam.createPolicy(createPolicy)
        let policyARN = try #require(created.policy?.arn)
        #expect(policyARN == "arn:aws:iam::123456789012:policy/ApiGatewayPets")

        // Not attached: implicit deny.
        var decision = try await authorization.authorize(
            Self.check(Self.alice, "execute-api:Invoke", Self.pets, after: created.revision))
        #expect(decision.decision == .implicitDeny)

        // Attached: allowed, by the statement that says so, on a check that demands the attach's revision.
        var attach = AttachUserPolicyRequest()
        attach.userName = "alice"
        attach.policyARN = policyARN
        let attached = try await iam.attachUserPolicy(attach)
        decision = try await authorization.authorize(
            Self.check(Self.alice, "execute-api:Invoke", Self.pets, after: attached.revision))
        #expect(decision.decision == .allowed)
        #expect(decision.matchedStatements.map(\.sid) == ["InvokePets"])
        #expect(decision.revision >= attached.revision)
        decision = try await authorization.authorize(
            Self.check(
                Self.alice, "apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis/x1", after: attached.revision))
        #expect(decision.decision == .allowed)

        // SimulatePrincipalPolicy names the real policy and its type, and reports missing context keys.
        var simulate = SimulatePrincipalPolicyRequest()
        simulate.policySourceARN = Self.alice
        simulate.actionNames = ["execute-api:Invoke", "apigateway:DELETE"]
        simulate.resourceARNs = [Self.pets]
        let simulated = try await authorization.simulatePrincipalPolicy(simulate)
        #expect(simulated.evaluationResults.map(\.evalDecision) == [.allowed, .implicitDeny])
        let matched = try #require(simulated.evaluationResults.first?.matchedStatements.first)
        #expect(matched.sourcePolicyID == policyARN)
        #expect(matched.sourcePolicyType == .userManaged)
        #expect(matched.sid == "InvokePets")
        // Where the statement is in the stored document, as AWS's StartPosition and EndPosition say.
        #expect(matched.startPosition == Position(line: 4, column: 3))
        #expect(matched.endPosition == Position(line: 5, column: 80))
        var keys = GetContextKeysForPrincipalPolicyRequest()
        keys.policySourceARN = Self.alice
        keys.policyInputList = [
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#
        ]
        #expect(try await authorization.getContextKeysForPrincipalPolicy(keys).contextKeyNames == ["aws:SourceIp"])
        simulate.policySourceARN = "arn:aws:iam::123456789012:user/nobody"
        do {
            _ = try await authorization.simulatePrincipalPolicy(simulate)
            Issue.record("an unknown principal must be NoSuchEntity")
        } catch {
            #expect(error.iamErrorCode == "NoSuchEntity")
        }

        // Detached: denied again.
        var detach = DetachUserPolicyRequest()
        detach.userName = "alice"
        detach.policyARN = policyARN
        let detached = try await iam.detachUserPolicy(detach)
        decision = try await authorization.authorize(
            Self.check(Self.alice, "execute-api:Invoke", Self.pets, after: detached.revision))
        #expect(decision.decision == .implicitDeny)

        // Through a group she joins.
        var group = CreateGroupRequest()
        group.groupName = "pet-readers"
        _ = try await iam.createGroup(group)
        var attachGroup = AttachGroupPolicyRequest()
        attachGroup.groupName = "pet-readers"
        attachGroup.policyARN = policyARN
        _ = try await iam.attachGroupPolicy(attachGroup)
        var join = AddUserToGroupRequest()
        join.groupName = "pet-readers"
        join.userName = "alice"
        let joined = try await iam.addUserToGroup(join)
        decision = try await authorization.authorize(
            Self.check(Self.alice, "execute-api:Invoke", Self.pets, after: joined.revision))
        #expect(decision.decision == .allowed)

        // A role of the API Gateway type with the AWS managed logging policy.
        var role = CreateRoleRequest()
        role.roleName = "ApiGatewayLogs"
        role.assumeRolePolicyDocument =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        let createdRole = try await iam.createRole(role)
        let roleARN = try #require(createdRole.role?.arn)
        var attachRole = AttachRolePolicyRequest()
        attachRole.roleName = "ApiGatewayLogs"
        attachRole.policyARN = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
        let roleAttached = try await iam.attachRolePolicy(attachRole)
        decision = try await authorization.authorize(
            Self.check("apigateway.amazonaws.com", "sts:AssumeRole", roleARN, after: roleAttached.revision))
        #expect(decision.decision == .allowed)
        decision = try await authorization.authorize(
            Self.check(Self.alice, "sts:AssumeRole", roleARN, after: roleAttached.revision))
        #expect(decision.decision == .implicitDeny)
        decision = try await authorization.authorize(
            Self.check(
                roleARN, "logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:x:log-stream:y",
                after: roleAttached.revision))
        #expect(decision.decision == .allowed)

        // A session of the role (alice admitted by an updated trust policy) may push logs, not invoke pets.
        var trust = UpdateAssumeRolePolicyRequest()
        trust.roleName = "ApiGatewayLogs"
        trust.policyDocument =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}]}"#
        _ = try await iam.updateAssumeRolePolicy(trust)
        var createKey = CreateAccessKeyRequest()
        createKey.userName = "alice"
        let key = try #require(try await iam.createAccessKey(createKey).accessKey)
        let aliceClient = try RPCClient(
            configuration: RPCClientConfiguration(
                host: "127.0.0.1", port: daemon.port, tls: chain.clientConfiguration(serverName: "127.0.0.1"),
                accessKeyID: key.accessKeyID, secretAccessKey: key.secretAccessKey),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        var assume = AssumeRoleRequest()
        assume.roleARN = roleARN
        assume.roleSessionName = "pets-logs"
        let session = try await STSServiceClient(client: aliceClient).assumeRole(assume)
        let sessionARN = try #require(session.assumedRoleUser?.arn)
        decision = try await authorization.authorize(Self.check(sessionARN, "logs:PutLogEvents", "*", after: 0))
        #expect(decision.decision == .allowed)
        decision = try await authorization.authorize(Self.check(sessionARN, "execute-api:Invoke", Self.pets, after: 0))
        #expect(decision.decision == .implicitDeny)

        // AWS's own ReadOnlyAccess (over 90,000 characters, past the customer quota) grants reads only.
        var readOnly = AttachUserPolicyRequest()
        readOnly.userName = "alice"
        readOnly.policyARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
        let readOnlyAttached = try await iam.attachUserPolicy(readOnly)
        decision = try await authorization.authorize(
            Self.check(Self.alice, "s3:GetObject", "arn:aws:s3:::photos/cat.jpg", after: readOnlyAttached.revision))
        #expect(decision.decision == .allowed)
        decision = try await authorization.authorize(
            Self.check(Self.alice, "s3:PutObject", "arn:aws:s3:::photos/cat.jpg", after: readOnlyAttached.revision))
        #expect(decision.decision == .implicitDeny)

        // Deactivating alice's key refuses her next call on the connection she already has.
        var deactivate = UpdateAccessKeyRequest()
        deactivate.userName = "alice"
        deactivate.accessKeyID = key.accessKeyID
        deactivate.status = .inactive
        _ = try await iam.updateAccessKey(deactivate)
        do {
            _ = try await STSServiceClient(client: aliceClient).getCallerIdentity(GetCallerIdentityRequest())
            Issue.record("a deactivated key must be refused on its open connection")
        } catch {
            #expect(error.code == .unauthenticated)
        }
        await aliceClient.close()
        await client.close()
        await daemon.shutdown()
    }
}

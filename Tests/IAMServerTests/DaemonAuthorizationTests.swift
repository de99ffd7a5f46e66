import Foundation
import IAMClient
import IAMDomain
import IAMRPC
import IAMStoreSQLite
import IAMTLS
import IAMTestSupport
import IAMWire
import Logging
import NIOPosix
import Testing

@testable import IAMServer

/// The daemon in-process over real TLS and a real SQLite file: who may call, Authorize against stored
/// principals, and STS sessions that connect.
@Suite("iamd authorization path (loopback TLS, SQLite)", .serialized)
struct DaemonAuthorizationTests {
    static let account = try! AccountID("123456789012")
    static let apiPolicy = #"""
        {"Version":"2012-10-17","Statement":[
          {"Sid":"Manage","Effect":"Allow","Action":["apigateway:GET","apigateway:POST"],
           "Resource":"arn:aws:apigateway:us-east-1::/restapis/*"},
          {"Sid":"Invoke","Effect":"Allow","Action":"execute-api:Invoke",
           "Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"}]}
        """#
    static let checker =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Authorize*","Resource":"*"}]}"#
    static let pets = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"

    /// A running daemon over a store the test filled first, and the keys it made.
    final class Fixture: Sendable {
        let daemon: Daemon
        let chain: TestCertificateChain
        let directory: URL
        let root: (id: String, secret: String)
        let keys: [String: (id: String, secret: String)]

        init(
            daemon: Daemon, chain: TestCertificateChain, directory: URL, root: (String, String),
            keys: [String: (id: String, secret: String)]
        ) {
            self.daemon = daemon
            self.chain = chain
            self.directory = directory
            self.root = root
            self.keys = keys
        }

        func client(_ key: (id: String, secret: String)) throws -> RPCClient {
            try RPCClient(
                configuration: RPCClientConfiguration(
                    host: "127.0.0.1", port: self.daemon.port,
                    tls: self.chain.clientConfiguration(serverName: "127.0.0.1"), accessKeyID: key.id,
                    secretAccessKey: key.secret, connectTimeout: .seconds(10)),
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        }

        func stop() async {
            await self.daemon.shutdown()
            try? self.chain.remove()
        }
    }

    static func key(for user: String, _ directory: IAMDirectory) async throws -> (id: String, secret: String) {
        let secret = "secret-of-\(user)-0123456789abcdefghijklmn"
        let id = AccessKeyID.generate()
        let credential = SCRAMCredential.derive(secret: secret)
        _ = try await directory.createAccessKey(
            userName: EntityName(user, kind: .user), id: id,
            verifier: SCRAMVerifier(
                salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                serverKey: credential.serverKey))
        return (id.rawValue, secret)
    }

    /// alice has the API policy and may call Authorize; bob has nothing; the role trusts alice and API Gateway.
    static func start() async throws -> Fixture {
        let chain = try TestCertificateChain.make()
        let data = URL(fileURLWithPath: chain.directory).appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: data.appendingPathComponent("iam.sqlite").path)
        let directory = IAMDirectory(store: store, account: account)
        for name in ["alice", "bob"] { _ = try await directory.createUser(name: EntityName(name, kind: .user)) }
        let api = try await directory.createPolicy(name: EntityName("api", kind: .policy), document: apiPolicy).value
        let checks = try await directory.createPolicy(name: EntityName("checks", kind: .policy), document: checker)
            .value
        for policy in [api.arn, checks.arn] {
            _ = try await directory.attachPolicy(policy, to: .user, named: EntityName("alice", kind: .user))
        }
        let trust = #"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"},
              {"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}
            """#
        _ = try await directory.createRole(name: EntityName("logs", kind: .role), assumeRolePolicyDocument: trust)
        let logs =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}"#
        let logsPolicy = try await directory.createPolicy(name: EntityName("logs", kind: .policy), document: logs).value
        _ = try await directory.attachPolicy(logsPolicy.arn, to: .role, named: EntityName("logs", kind: .role))
        let keys = ["alice": try await key(for: "alice", directory), "bob": try await key(for: "bob", directory)]

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
        return Fixture(
            daemon: daemon, chain: chain, directory: data, root: (rootFile.accessKeyId, rootFile.secretAccessKey),
            keys: keys)
    }

    static func check(_ principal: String, _ action: String, _ resource: String) -> AuthorizeRequest {
        var request = AuthorizeRequest()
        request.principalARN = principal
        request.action = action
        request.resource = resource
        return request
    }

    @Test func authorizeAnswersFromStoredPrincipals() async throws {
        let fixture = try await Self.start()
        let client = try fixture.client(fixture.keys["alice"]!)
        let authorization = AuthorizationServiceClient(client: client)
        let alice = "arn:aws:iam::123456789012:user/alice"

        let invoke = try await authorization.authorize(Self.check(alice, "execute-api:Invoke", Self.pets))
        #expect(invoke.decision == .allowed)
        #expect(invoke.matchedStatements.map(\.sid) == ["Invoke"])
        #expect(invoke.revision > 0)
        let post = try await authorization.authorize(
            Self.check(alice, "apigateway:POST", "arn:aws:apigateway:us-east-1::/restapis/r1"))
        #expect(post.decision == .allowed)
        let delete = try await authorization.authorize(
            Self.check(alice, "apigateway:DELETE", "arn:aws:apigateway:us-east-1::/restapis/r1"))
        #expect(delete.decision == .implicitDeny)
        let bob = try await authorization.authorize(
            Self.check("arn:aws:iam::123456789012:user/bob", "execute-api:Invoke", Self.pets))
        #expect(bob.decision == .implicitDeny)

        // By access key id: the way a backend that authenticated the caller's key asks.
        var byKey = Self.check("", "execute-api:Invoke", Self.pets)
        byKey.accessKeyID = fixture.keys["alice"]!.id
        #expect(try await authorization.authorize(byKey).decision == .allowed)
        byKey.accessKeyID = "AKIAAAAAAAAAAAAAAAAA"
        #expect(try await authorization.authorize(byKey).decision == .implicitDeny)

        // A resource policy naming bob lets him in, same-account.
        var withPolicy = Self.check("arn:aws:iam::123456789012:user/bob", "execute-api:Invoke", Self.pets)
        withPolicy.resourcePolicy =
            #"{"Version":"2012-10-17","Statement":[{"Sid":"Bob","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"execute-api:Invoke","Resource":"*"}]}"#
        let allowedByResource = try await authorization.authorize(withPolicy)
        #expect(allowedByResource.decision == .allowed)
        #expect(allowedByResource.matchedStatements.map(\.sourcePolicyType) == [.resource])

        // The trust policy decides sts:AssumeRole for a service principal.
        let role = "arn:aws:iam::123456789012:role/logs"
        #expect(
            try await authorization.authorize(Self.check("apigateway.amazonaws.com", "sts:AssumeRole", role)).decision
                == .allowed)
        #expect(
            try await authorization.authorize(Self.check("lambda.amazonaws.com", "sts:AssumeRole", role)).decision
                == .implicitDeny)

        // Unknown principals and bad input get IAM's codes.
        await #expect(throws: RPCError.self) {
            _ = try await authorization.authorize(
                Self.check("arn:aws:iam::123456789012:user/nobody", "s3:GetObject", "*"))
        }
        do {
            _ = try await authorization.authorize(Self.check(alice, "nocolon", "*"))
            Issue.record("an action without a service prefix must be refused")
        } catch {
            #expect(error.iamErrorCode == "InvalidInput")
        }

        // A revision the store never produced: a clear status, in bounded time.
        var future = Self.check(alice, "execute-api:Invoke", Self.pets)
        future.minRevision = invoke.revision + 1000
        do {
            _ = try await authorization.authorize(future)
            Issue.record("a min_revision the store never reached must fail")
        } catch {
            #expect(error.code == .unavailable)
        }
        var batch = AuthorizeBatchRequest()
        batch.requests = [Self.check(alice, "execute-api:Invoke", Self.pets), Self.check(alice, "s3:GetObject", "*")]
        let results = try await authorization.authorizeBatch(batch)
        #expect(results.results.map(\.decision) == [.allowed, .implicitDeny])
        await client.close()
        await fixture.stop()
    }

    /// iamd serves a large AuthorizeBatch on another event loop when its connection has more work
    /// (``ServerAssembly/heavyCalls``): batches in flight together on one connection, with an invalid one among
    /// them, answer exactly as the same batches one at a time.
    @Test func batchesInFlightTogetherAnswerAsOneAtATime() async throws {
        let fixture = try await Self.start()
        let client = try fixture.client(fixture.keys["alice"]!)
        let authorization = AuthorizationServiceClient(client: client)
        let alice = "arn:aws:iam::123456789012:user/alice"
        let bob = "arn:aws:iam::123456789012:user/bob"
        // About 2.7 KiB each, over the 2 KiB from which a batch may move.
        func batch(_ variant: Int) -> AuthorizeBatchRequest {
            var batch = AuthorizeBatchRequest()
            for index in 0..<24 {
                let principal = (index + variant) % 3 == 0 ? bob : alice
                let action = (index + variant) % 2 == 0 ? "execute-api:Invoke" : "apigateway:DELETE"
                batch.requests.append(Self.check(principal, action, Self.pets))
            }
            return batch
        }
        var batches = (0..<8).map(batch)
        // One batch names a principal that does not exist: only that call fails, with NoSuchEntity.
        batches[5].requests[17].principalARN = "arn:aws:iam::123456789012:user/nobody"
        func answers(_ batch: AuthorizeBatchRequest) async -> Result<[AuthorizeResponse], RPCError> {
            do { return .success(try await authorization.authorizeBatch(batch).results) } catch {
                return .failure(error)
            }
        }
        var oneAtATime: [Result<[AuthorizeResponse], RPCError>] = []
        for batch in batches { oneAtATime.append(await answers(batch)) }
        for round in 0..<3 {
            let together = await withTaskGroup(of: (Int, Result<[AuthorizeResponse], RPCError>).self) { group in
                for (index, batch) in batches.enumerated() { group.addTask { (index, await answers(batch)) } }
                var answered = [Result<[AuthorizeResponse], RPCError>?](repeating: nil, count: batches.count)
                for await (index, answer) in group { answered[index] = answer }
                return answered.map { $0! }
            }
            for (index, (expected, got)) in zip(oneAtATime, together).enumerated() {
                switch (expected, got) {
                case (.success(let expected), .success(let got)):
                    #expect(got == expected, "round \(round), batch \(index)")
                case (.failure(let expected), .failure(let got)):
                    #expect(got.iamErrorCode == "NoSuchEntity" && got.iamErrorCode == expected.iamErrorCode)
                default:
                    Issue.record("round \(round), batch \(index): \(expected) one at a time, \(got) together")
                }
            }
        }
        #expect(oneAtATime.filter { if case .failure = $0 { true } else { false } }.count == 1)
        await client.close()
        await fixture.stop()
    }

    /// GetAccessKeyLastUsed: a user key that authenticates a call is noted with the call's service, and a key a
    /// backend's Authorize names with the checked action's; neither moves the revision checks answer with.
    @Test func keysUsedAreNotedWithoutANewRevision() async throws {
        let fixture = try await Self.start()
        let root = IAMServiceClient(client: try fixture.client(fixture.root))
        func lastUsed(_ user: String) async throws -> AccessKeyLastUsed? {
            try await root.getAccessKeyLastUsed(
                GetAccessKeyLastUsedRequest(accessKeyID: fixture.keys[user]!.id)
            ).accessKeyLastUsed
        }
        #expect(try await lastUsed("bob")?.serviceName == "N/A")
        #expect(try await lastUsed("bob")?.lastUsedDate == nil)

        let started = Date()
        let alice = try fixture.client(fixture.keys["alice"]!)
        let authorization = AuthorizationServiceClient(client: alice)
        var byKey = Self.check("", "execute-api:Invoke", Self.pets)
        byKey.accessKeyID = fixture.keys["bob"]!.id
        let first = try await authorization.authorize(byKey)
        #expect(first.decision == .implicitDeny)

        // Written by a task after the call: wait for it, bounded.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let aliceDate = try await lastUsed("alice")?.lastUsedDate
            let bobDate = try await lastUsed("bob")?.lastUsedDate
            if aliceDate != nil && bobDate != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let aliceUse = try #require(try await lastUsed("alice"))
        let bobUse = try #require(try await lastUsed("bob"))
        #expect(aliceUse.serviceName == "iam")
        #expect(bobUse.serviceName == "execute-api")
        #expect(bobUse.region == "us-east-1")
        for use in [aliceUse, bobUse] {
            let date = Date(timeIntervalSince1970: Double(try #require(use.lastUsedDate)) / 1000)
            #expect(date >= started.addingTimeInterval(-1) && date <= Date().addingTimeInterval(1))
        }
        // The same revision answers: noting a use is not a change.
        #expect(try await authorization.authorize(byKey).revision == first.revision)
        await alice.close()
        await root.client.close()
        await fixture.stop()
    }

    @Test func everyCallIsAuthorized() async throws {
        let fixture = try await Self.start()
        let bob = try fixture.client(fixture.keys["bob"]!)
        do {
            _ = try await AuthorizationServiceClient(client: bob).authorize(
                Self.check("arn:aws:iam::123456789012:user/alice", "s3:GetObject", "*"))
            Issue.record("bob has no policy allowing iam:Authorize")
        } catch {
            #expect(error.code == .permissionDenied)
            #expect(error.iamErrorCode == "AccessDenied")
            #expect(
                error.message
                    == "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:Authorize on resource: * because no identity-based policy allows the iam:Authorize action"
            )
        }
        // Health needs authentication only.
        _ = try await HealthServiceClient(client: bob).ping(PingRequest())
        // GetCallerIdentity needs no permission.
        let identity = try await STSServiceClient(client: bob).getCallerIdentity(GetCallerIdentityRequest())
        #expect(identity.arn == "arn:aws:iam::123456789012:user/bob")
        #expect(identity.userID.hasPrefix("AIDA"))
        #expect(identity.account == "123456789012")

        // The root key may do everything.
        let root = try fixture.client(fixture.root)
        let answer = try await AuthorizationServiceClient(client: root).authorize(
            Self.check("arn:aws:iam::123456789012:user/alice", "execute-api:Invoke", Self.pets))
        #expect(answer.decision == .allowed)
        let rootIdentity = try await STSServiceClient(client: root).getCallerIdentity(GetCallerIdentityRequest())
        #expect(rootIdentity.arn == "arn:aws:iam::123456789012:root")

        // A denied call is in the audit log with who, what and the code.
        let audit = try String(contentsOf: fixture.directory.appendingPathComponent("audit.log"), encoding: .utf8)
        #expect(audit.contains(#""caller":"arn:aws:iam::123456789012:user/bob""#))
        #expect(audit.contains(#""errorCode":"AccessDenied""#))
        #expect(audit.contains(#""rpc":"Authorize""#))
        await bob.close()
        await root.close()
        await fixture.stop()
    }

    /// A user who deactivates her own key is still the caller of that call in the audit log: the caller is named
    /// before the write, when her key still resolves.
    @Test func aKeyThatDeactivatesItselfIsAuditedWithItsCaller() async throws {
        let fixture = try await Self.start()
        let root = IAMServiceClient(client: try fixture.client(fixture.root))
        var own = PutUserPolicyRequest()
        own.userName = "alice"
        own.policyName = "own-keys"
        own.policyDocument =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:UpdateAccessKey","Resource":"arn:aws:iam::123456789012:user/alice"}]}"#
        _ = try await root.putUserPolicy(own)
        let aliceKey = fixture.keys["alice"]!
        let alice = try fixture.client(aliceKey)
        var deactivate = UpdateAccessKeyRequest()
        deactivate.userName = "alice"
        deactivate.accessKeyID = aliceKey.id
        deactivate.status = .inactive
        _ = try await IAMServiceClient(client: alice).updateAccessKey(deactivate)

        let audit = try String(contentsOf: fixture.directory.appendingPathComponent("audit.log"), encoding: .utf8)
        let line = try #require(audit.split(separator: "\n").first { $0.contains(#""rpc":"UpdateAccessKey""#) })
        let record = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(record["caller"] as? String == "arn:aws:iam::123456789012:user/alice", "\(record)")
        #expect(record["resource"] as? String == "arn:aws:iam::123456789012:user/alice", "\(record)")
        #expect(record["accessKeyId"] as? String == aliceKey.id)
        await alice.close()
        await root.client.close()
        await fixture.stop()
    }

    @Test func assumeRoleGivesCredentialsThatConnect() async throws {
        let fixture = try await Self.start()
        let alice = try fixture.client(fixture.keys["alice"]!)
        var request = AssumeRoleRequest()
        request.roleARN = "arn:aws:iam::123456789012:role/logs"
        request.roleSessionName = "ship-logs"
        let assumed = try await STSServiceClient(client: alice).assumeRole(request)
        // No session policies or tags: no PackedPolicySize, as AWS leaves it out.
        #expect(assumed.packedPolicySize == nil)
        let credentials = try #require(assumed.credentials)
        let assumedUser = try #require(assumed.assumedRoleUser)
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(credentials.secretAccessKey.count == 40)
        #expect(!credentials.sessionToken.isEmpty)
        let expiry = Date(timeIntervalSince1970: TimeInterval(credentials.expiration) / 1000)
        #expect(abs(expiry.timeIntervalSinceNow - 3600) < 120)
        #expect(assumedUser.arn == "arn:aws:sts::123456789012:assumed-role/logs/ship-logs")
        #expect(assumedUser.assumedRoleID.hasPrefix("AROA"))

        // The session connects with its key and secret, and is the assumed-role principal.
        let session = try fixture.client((credentials.accessKeyID, credentials.secretAccessKey))
        let identity = try await STSServiceClient(client: session).getCallerIdentity(GetCallerIdentityRequest())
        #expect(identity.arn == assumedUser.arn)
        #expect(identity.userID == assumedUser.assumedRoleID)

        // The session has the role's permissions, not alice's.
        let authorization = AuthorizationServiceClient(client: alice)
        let put = try await authorization.authorize(Self.check(identity.arn, "logs:PutLogEvents", "*"))
        #expect(put.decision == .allowed)
        let invoke = try await authorization.authorize(Self.check(identity.arn, "execute-api:Invoke", Self.pets))
        #expect(invoke.decision == .implicitDeny)

        // bob is not trusted; the message is AWS's.
        let bob = try fixture.client(fixture.keys["bob"]!)
        do {
            _ = try await STSServiceClient(client: bob).assumeRole(request)
            Issue.record("bob is not in the trust policy")
        } catch {
            #expect(error.iamErrorCode == "AccessDenied")
            #expect(
                error.message.hasPrefix(
                    "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole"))
        }
        // A session name outside AWS's grammar, and a duration beyond the role's maximum.
        var bad = request
        bad.roleSessionName = "no spaces"
        await #expect(throws: RPCError.self) { _ = try await STSServiceClient(client: alice).assumeRole(bad) }
        bad = request
        bad.durationSeconds = 7200
        do {
            _ = try await STSServiceClient(client: alice).assumeRole(bad)
            Issue.record("7200 s exceeds the role's MaxSessionDuration of 3600")
        } catch {
            #expect(error.iamErrorCode == "ValidationError")
            #expect(error.message == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        }

        // Managed session policies: the session may do only what both the role's and one of them allow.
        func scopedSession(policies: [String]) async throws -> String {
            var scoped = request
            scoped.roleSessionName = "scoped"
            scoped.policyARNs = policies.map { PolicyDescriptorType(arn: "arn:aws:iam::123456789012:policy/\($0)") }
            let answer = try await STSServiceClient(client: alice).assumeRole(scoped)
            #expect((answer.packedPolicySize ?? 0) > 0)
            return try #require(answer.assumedRoleUser).arn
        }
        for (policies, decision) in [
            (["logs"], PolicyEvaluationDecisionType.allowed), (["api"], .implicitDeny), (["api", "logs"], .allowed),
            (["no-such-policy"], .implicitDeny),
        ] {
            let scoped = try await scopedSession(policies: policies)
            let check = try await authorization.authorize(Self.check(scoped, "logs:PutLogEvents", "*"))
            #expect(check.decision == decision, "\(policies)")
        }
        var tooMany = request
        tooMany.policyARNs = (0...10).map { PolicyDescriptorType(arn: "arn:aws:iam::123456789012:policy/p\($0)") }
        do {
            _ = try await STSServiceClient(client: alice).assumeRole(tooMany)
            Issue.record("AWS takes at most 10 managed session policies")
        } catch {
            #expect(error.iamErrorCode == "ValidationError")
        }
        await session.close()
        await bob.close()
        await alice.close()
        await fixture.stop()
    }

    /// AssumeRole's duration rules: AWS's range, the role's maximum, and an hour for role chaining.
    @Test func sessionDurationsFollowAWSRules() throws {
        func message(_ duration: Int, maximum: Int = 3600, chained: Bool = false) -> String? {
            do {
                try STSService.checkDuration(duration, maximum: maximum, chained: chained)
                return nil
            } catch {
                #expect(error.iamErrorCode == "ValidationError")
                return error.message
            }
        }
        #expect(message(900) == nil)
        #expect(message(3600) == nil)
        #expect(message(43_200, maximum: 43_200) == nil)
        #expect(message(899)?.hasSuffix("Member must have value greater than or equal to 900") == true)
        #expect(
            message(43_201, maximum: 43_200)?.hasSuffix("Member must have value less than or equal to 43200") == true)
        #expect(message(7200) == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        #expect(message(3600, maximum: 43_200, chained: true) == nil)
        #expect(
            message(3601, maximum: 43_200, chained: true)
                == "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    }

    /// AssumeRole's RoleSessionName and ExternalId rules, with AWS's messages: the length first, then the pattern.
    @Test func sessionNamesAndExternalIDsFollowAWSRules() throws {
        func message(_ check: () throws -> Void) -> String? {
            do {
                try check()
                return nil
            } catch let error as RPCError {
                #expect(error.iamErrorCode == "ValidationError")
                return error.message
            } catch {
                Issue.record("not an RPCError: \(error)")
                return nil
            }
        }
        #expect(message { _ = try STSService.sessionName("s1") } == nil)
        #expect(message { _ = try STSService.sessionName("a") }?.hasSuffix("length greater than or equal to 2") == true)
        #expect(
            message { _ = try STSService.sessionName(String(repeating: "a", count: 65)) }?
                .hasSuffix("length less than or equal to 64") == true)
        #expect(message { _ = try STSService.sessionName("a b") }?.contains("regular expression pattern") == true)
        #expect(message { try STSService.checkExternalID("urn:partner/id-1") } == nil)
        #expect(message { try STSService.checkExternalID("x") }?.hasSuffix("length greater than or equal to 2") == true)
        #expect(
            message { try STSService.checkExternalID(String(repeating: "x", count: 1225)) }?
                .hasSuffix("length less than or equal to 1224") == true)
        #expect(message { try STSService.checkExternalID("a b") }?.contains("regular expression pattern") == true)
    }
}

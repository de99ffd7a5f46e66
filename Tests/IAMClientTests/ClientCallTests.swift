import Foundation
import IAMClient
import IAMRPC
import IAMWire
import Testing

/// IAMClient against a real daemon over TLS on SQLite: typed errors, many calls on one connection, retries
/// of idempotent calls across a restart (and none of writes), AssumeRole credentials and their renewal.
@Suite("IAMClient against a live daemon", .serialized)
struct ClientCallTests {
    @Test("a missing user is a typed error with AWS's code, status and message")
    func typedError() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        let client = IAMClient(configuration: try server.clientConfiguration())
        var request = GetUserRequest()
        request.userName = "nobody"
        let error = await #expect(throws: IAMClientError.self) {
            _ = try await client.call(IAMMethods.IAM.getUser, request, as: GetUserResponse.self)
        }
        #expect(error?.status == .notFound)
        #expect(error?.code == "NoSuchEntity")
        #expect(error?.message == "The user with name nobody cannot be found.")
        #expect(error?.requestID?.isEmpty == false)
        await client.close()
    }

    @Test("many calls in flight share one connection")
    func concurrentCalls() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        let client = IAMClient(configuration: try server.clientConfiguration())
        let first = try await client.connection()
        try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<40 {
                group.addTask {
                    var request = CreateUserRequest()
                    request.userName = "user\(index)"
                    let response = try await client.call(
                        IAMMethods.IAM.createUser, request, as: CreateUserResponse.self)
                    return response.user?.userName ?? ""
                }
            }
            var names: Set<String> = []
            for try await name in group { names.insert(name) }
            #expect(names == Set((0..<40).map { "user\($0)" }))
        }
        #expect(try await client.connection() === first)
        await client.close()
    }

    @Test("an idempotent call rides out a restart; a write is not repeated")
    func retryAcrossRestart() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        var configuration = try server.clientConfiguration()
        configuration.retry = IAMRetryPolicy(
            maximumAttempts: 1000, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200))
        let client = IAMClient(configuration: configuration)
        _ = try await client.call(IAMMethods.IAM.listUsers, ListUsersRequest(), as: ListUsersResponse.self)

        await server.stop()
        // A write while the server is away fails at once with UNAVAILABLE instead of being sent again later.
        var create = CreateUserRequest()
        create.userName = "late"
        let refused = await #expect(throws: IAMClientError.self) {
            _ = try await client.call(IAMMethods.IAM.createUser, create, as: CreateUserResponse.self)
        }
        #expect(refused?.status == .unavailable)

        // A read started while the server is away keeps retrying with backoff and succeeds once it is back.
        let read = Task {
            try await client.call(IAMMethods.IAM.listUsers, ListUsersRequest(), as: ListUsersResponse.self)
        }
        try await Task.sleep(for: .milliseconds(300))
        try await server.restart()
        let listed = try await read.value
        #expect(listed.users.isEmpty)
        #expect(listed.isTruncated == false)
        await client.close()
    }

    @Test("with retries off an idempotent call fails with UNAVAILABLE when the server is away")
    func noRetryPolicy() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        var configuration = try server.clientConfiguration()
        configuration.retry = .none
        let client = IAMClient(configuration: configuration)
        await server.stop()
        let error = await #expect(throws: IAMClientError.self) {
            _ = try await client.call(IAMMethods.IAM.listUsers, ListUsersRequest(), as: ListUsersResponse.self)
        }
        #expect(error?.status == .unavailable)
        await client.close()
    }

    @Test("a client that assumes a role calls as the session, and renews credentials before they expire")
    func assumeRole() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        // AWS lets no root assume a role: a user with a key and an inline policy allowing sts:AssumeRole does.
        let admin = IAMClient(configuration: try server.clientConfiguration())
        var user = CreateUserRequest()
        user.userName = "ci-bot"
        _ = try await admin.createUser(user)
        var inline = PutUserPolicyRequest()
        inline.userName = "ci-bot"
        inline.policyName = "assume"
        inline.policyDocument =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#
        _ = try await admin.putUserPolicy(inline)
        var keyRequest = CreateAccessKeyRequest()
        keyRequest.userName = "ci-bot"
        let key = try #require(try await admin.createAccessKey(keyRequest).accessKey)
        var role = CreateRoleRequest()
        role.roleName = "deployer"
        role.assumeRolePolicyDocument =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ci-bot"},"Action":"sts:AssumeRole"}]}"#
        let roleARN = try #require(try await admin.createRole(role).role?.arn)
        await admin.close()

        let source = IAMCredentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secretAccessKey)
        let provider = IAMCredentialProvider.assumeRole(
            roleARN, sessionName: "ci", durationSeconds: 900, source: .fixed(source))
        let client = IAMClient(configuration: try server.clientConfiguration(credentials: provider))
        let identity = try await client.call(
            IAMMethods.STS.getCallerIdentity, GetCallerIdentityRequest(), as: GetCallerIdentityResponse.self)
        #expect(identity.arn == "arn:aws:sts::123456789012:assumed-role/deployer/ci")
        // A 900 s session is far from its 300 s renewal margin: the connection stays.
        let first = try await client.connection()
        #expect(try await client.connection() === first)
        await client.close()

        // A margin longer than the session renews at once: a new AssumeRole and a new connection per call.
        var renewing = try server.clientConfiguration(credentials: provider)
        renewing.credentialRefreshMargin = .seconds(3600)
        let eager = IAMClient(configuration: renewing)
        let one = try await eager.connection()
        let two = try await eager.connection()
        #expect(one !== two)
        let again = try await eager.call(
            IAMMethods.STS.getCallerIdentity, GetCallerIdentityRequest(), as: GetCallerIdentityResponse.self)
        #expect(again.arn == identity.arn)
        await eager.close()
    }

    @Test("a client made from a bad configuration says what is wrong before connecting")
    func badConfiguration() async throws {
        #expect(throws: IAMClientError.self) { try IAMClientConfiguration(endpoint: "host:99999", environment: [:]) }
        #expect(throws: IAMClientError.self) { try IAMClientConfiguration(endpoint: ":7443", environment: [:]) }
        let parsed = try IAMClientConfiguration(endpoint: "[::1]:8443", environment: [:])
        #expect(parsed.host == "::1" && parsed.port == 8443 && parsed.endpoint == "[::1]:8443")
        let defaulted = try IAMClientConfiguration(environment: ["IAM_ENDPOINT": "iam.internal"])
        #expect(defaulted.host == "iam.internal" && defaulted.port == 7443)

        var configuration = try IAMClientConfiguration(
            endpoint: "127.0.0.1:1", caFile: "/nonexistent/ca.pem",
            credentials: .fixed(IAMCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: "x")), environment: [:])
        configuration.retry = .none
        let client = IAMClient(configuration: configuration)
        let error = await #expect(throws: IAMClientError.self) {
            _ = try await client.call(IAMMethods.IAM.listUsers, ListUsersRequest(), as: ListUsersResponse.self)
        }
        #expect(error?.status == .invalidArgument)
        #expect(error?.message.contains("cannot read the CA file /nonexistent/ca.pem") == true)
        await client.close()
    }
}

/// The generated paginators follow Marker across pages against the real server.
@Suite("IAMClient paginators", .serialized)
struct PaginatorTests {
    @Test("listUsersPages walks every page in order, one call per page")
    func pages() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        let client = IAMClient(configuration: try server.clientConfiguration())
        let names = (0..<7).map { "user\($0)" }
        for name in names {
            var request = CreateUserRequest()
            request.userName = name
            _ = try await client.createUser(request)
        }
        var request = ListUsersRequest()
        request.maxItems = 3
        var pages: [[String]] = []
        for try await page in client.listUsersPages(request) {
            pages.append(page.users.map(\.userName))
        }
        #expect(pages.map(\.count) == [3, 3, 1])
        #expect(pages.flatMap { $0 } == names)

        // A first page that is the last: one element, and the sequence ends.
        var all = ListUsersRequest()
        all.maxItems = 100
        var count = 0
        for try await page in client.listUsersPages(all) {
            count += 1
            #expect(page.users.count == 7 && !page.isTruncated)
        }
        #expect(count == 1)
        await client.close()
    }
}

/// The README's IAMClient example, compiled and run against a live daemon so the documentation cannot rot.
@Suite("IAMClient README example", .serialized)
struct ReadmeExampleTests {
    @Test("create (or find) a user, list a path's pages, ask Authorize")
    func example() async throws {
        let server = try await LiveServer.start()
        defer { Task { await server.remove() } }
        var configuration = try server.clientConfiguration()
        configuration.defaultTimeout = .seconds(60)
        let printed = try await IAMClient.withClient(configuration: configuration) { client -> [String] in
            var lines: [String] = []
            for _ in 0..<2 {
                do {
                    _ = try await client.createUser(CreateUserRequest(path: "/eng/", userName: "alice"))
                } catch let error as IAMClientError where error.code == "EntityAlreadyExists" {
                    lines.append("alice exists already")
                }
            }
            for try await page in client.listUsersPages(ListUsersRequest(pathPrefix: "/eng/")) {
                for user in page.users { lines.append(user.arn) }
            }
            var check = AuthorizeRequest()
            check.principalARN = "arn:aws:iam::123456789012:user/eng/alice"
            check.action = "s3:GetObject"
            check.resource = "arn:aws:s3:::photos/cat.jpg"
            let decision = try await client.authorize(check)
            lines.append(decision.decision == .allowed ? "allowed" : "denied")
            return lines
        }
        #expect(printed == ["alice exists already", "arn:aws:iam::123456789012:user/eng/alice", "denied"])
    }
}

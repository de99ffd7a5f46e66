import Foundation
public import IAMRPC
public import IAMWire
public import NIOCore
import NIOPosix
import IAMSync

/// The client an application links to call `iamd`: one TLS connection, made on the first call, that carries
/// any number of concurrent calls.
///
/// ```swift
/// let client = IAMClient(configuration: try IAMClientConfiguration(endpoint: "iam.internal:7443"))
/// defer { Task { await client.close() } }
/// let user = try await client.getUser(GetUserRequest(userName: "alice")).user
/// for try await page in client.listUsersPages(ListUsersRequest()) { ... }
/// ```
///
/// - Credentials are resolved when the connection is first made (``IAMCredentialProvider``); temporary
///   credentials the client obtained with AssumeRole are obtained again before they expire, and the next call
///   goes over a new connection while calls in flight finish on the old one.
/// - A lost connection is made again by the next call. Idempotent calls (``isIdempotent(_:)``) that fail with
///   UNAVAILABLE (no connection, connection lost, refused by the server's GOAWAY) are repeated with
///   exponential backoff and jitter (``IAMRetryPolicy``) within the call's deadline; writes never are.
/// - Every failure is an ``IAMClientError`` carrying the status, AWS's error code and the message.
public final class IAMClient: Sendable {
    /// What the client was made with.
    public let configuration: IAMClientConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let state = Locked(State())

    private struct Connection: Sendable {
        let rpc: RPCClient
        /// When to obtain credentials again (temporary credentials only).
        let refreshAt: Date?
    }

    private struct State: Sendable {
        var connection: Connection?
        var opening: Task<Connection, any Error>?
        var closed = false
    }

    /// Creates a client on `eventLoopGroup` (default: NIO's shared singleton group). Nothing is read or
    /// connected until the first call.
    public init(
        configuration: IAMClientConfiguration,
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
    }

    /// Runs `body` with a client and closes it afterwards, also when `body` throws.
    public static func withClient<Result: Sendable>(
        configuration: IAMClientConfiguration,
        _ body: (IAMClient) async throws -> Result
    ) async throws -> Result {
        let client = IAMClient(configuration: configuration)
        do {
            let result = try await body(client)
            await client.close()
            return result
        } catch {
            await client.close()
            throw error
        }
    }

    /// Whether a method may be sent again after a failure that leaves unknown whether it ran: reads
    /// (`Get*`, `List*`), simulations, `GetContextKeysFor*`, `Authorize`, `AuthorizeBatch` and `Ping`.
    public static func isIdempotent(_ method: MethodDescriptor) -> Bool {
        let name = method.method
        return name.hasPrefix("Get") || name.hasPrefix("List") || name.hasPrefix("Simulate")
            || name.hasPrefix("Authorize") || name == "Ping"
    }

    /// Makes one unary call, repeating it after UNAVAILABLE when it is idempotent.
    ///
    /// - Parameters:
    ///   - method: the rpc, from the generated `IAMMethods`.
    ///   - options: `timeout` bounds the call and its retries (nil: ``IAMClientConfiguration/defaultTimeout``).
    ///   - idempotent: overrides ``isIdempotent(_:)`` for this call.
    /// - Throws: ``IAMClientError``.
    public func call<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        as: Response.Type = Response.self,
        options: CallOptions = CallOptions(),
        idempotent: Bool? = nil
    ) async throws(IAMClientError) -> Response {
        let retryable = idempotent ?? Self.isIdempotent(method)
        let timeout = options.timeout ?? configuration.defaultTimeout
        let deadline = ContinuousClock.now + timeout
        var attempt = 1
        while true {
            let remaining = deadline - ContinuousClock.now
            var attemptOptions = options
            attemptOptions.timeout = remaining
            let failure: IAMClientError
            do {
                let rpc = try await connection()
                do {
                    return try await rpc.unary(method, request, as: Response.self, options: attemptOptions)
                } catch {
                    failure = IAMClientError(error)
                }
            }
            guard attempt < configuration.retry.maximumAttempts,
                IAMRetryPolicy.isRetryable(failure.status, idempotent: retryable)
            else { throw failure }
            let pause = configuration.retry.backoff(after: attempt, unit: Double.random(in: 0...1))
            guard ContinuousClock.now + pause < deadline else { throw failure }
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw IAMClientError(status: .cancelled, message: "the call was cancelled while waiting to retry")
            }
            attempt += 1
        }
    }

    /// The current connection's `RPCClient`, for callers that drive it directly (a load generator's
    /// `unaryFuture` on the connection's event loop). Calls made on it are not retried, and it is replaced
    /// when temporary credentials are renewed; ask again rather than keeping it.
    public func connection() async throws(IAMClientError) -> RPCClient {
        enum Step {
            case ready(RPCClient)
            case wait(Task<Connection, any Error>)
            case closed
        }
        let now = Date()
        let step = state.withLock { state -> Step in
            if state.closed { return .closed }
            if let connection = state.connection, connection.refreshAt.map({ now < $0 }) ?? true {
                return .ready(connection.rpc)
            }
            if let opening = state.opening { return .wait(opening) }
            let opening = Task { try await self.open() }
            state.opening = opening
            return .wait(opening)
        }
        let task: Task<Connection, any Error>
        switch step {
        case .ready(let rpc): return rpc
        case .closed: throw IAMClientError(status: .unavailable, message: "the client is closed")
        case .wait(let opening): task = opening
        }
        let result = await task.result
        let (replaced, closedMeanwhile) = state.withLock { state -> (RPCClient?, Bool) in
            guard state.opening == task else { return (nil, state.closed) }
            state.opening = nil
            guard case .success(let connection) = result else { return (nil, state.closed) }
            if state.closed { return (connection.rpc, true) }
            let old = state.connection?.rpc
            state.connection = connection
            return (old, false)
        }
        // The replaced connection finishes its calls in flight before it closes (GOAWAY, then drain).
        if let replaced { Task { await replaced.close() } }
        switch result {
        case .success(let connection):
            if closedMeanwhile { throw IAMClientError(status: .unavailable, message: "the client is closed") }
            return connection.rpc
        case .failure(let error as IAMClientError): throw error
        case .failure(let error): throw IAMClientError(status: .unknown, message: "\(error)")
        }
    }

    /// Resolves credentials (assuming a role when the provider says so) and makes the connection's client.
    private func open() async throws(IAMClientError) -> Connection {
        let source = try configuration.credentialResolver.resolve(configuration.credentials.kind)
        let credentials: IAMCredentials
        switch source {
        case .key(let key, _):
            credentials = key
        case .assumeRole(let roleARN, let sessionName, let duration, let key):
            credentials = try await assumeRole(roleARN, sessionName: sessionName, duration: duration, with: key)
        }
        let tls = try configuration.tlsConfiguration()
        let rpc: RPCClient
        do {
            rpc = try RPCClient(
                configuration: RPCClientConfiguration(
                    host: configuration.host,
                    port: configuration.port,
                    tls: tls,
                    accessKeyID: credentials.accessKeyID,
                    secretAccessKey: credentials.secretAccessKey,
                    connection: configuration.connection,
                    connectTimeout: configuration.connectTimeout
                ),
                eventLoopGroup: eventLoopGroup
            )
        } catch {
            throw IAMClientError.configuration("cannot set up TLS: \(error)")
        }
        // A margin longer than the session renews it at every call; the configuration's doc says so.
        let refreshAt = credentials.expiration.map {
            $0.addingTimeInterval(-Double(configuration.credentialRefreshMargin.components.seconds))
        }
        return Connection(rpc: rpc, refreshAt: refreshAt)
    }

    private func assumeRole(_ roleARN: String, sessionName: String, duration: Int32?, with key: IAMCredentials)
        async throws(IAMClientError) -> IAMCredentials
    {
        var sourceConfiguration = configuration
        sourceConfiguration.credentials = .fixed(key)
        let source = IAMClient(configuration: sourceConfiguration, eventLoopGroup: eventLoopGroup)
        var request = AssumeRoleRequest()
        request.roleARN = roleARN
        request.roleSessionName = sessionName
        if let duration { request.durationSeconds = duration }
        let response: AssumeRoleResponse
        do {
            // Repeating AssumeRole is harmless: a session that is never used only expires.
            response = try await source.call(IAMMethods.STS.assumeRole, request, idempotent: true)
        } catch {
            await source.close()
            throw error
        }
        await source.close()
        guard let issued = response.credentials else {
            throw IAMClientError(status: .internalError, message: "AssumeRole answered without credentials")
        }
        return IAMCredentials(
            accessKeyID: issued.accessKeyID,
            secretAccessKey: issued.secretAccessKey,
            sessionToken: issued.sessionToken,
            expiration: Date(timeIntervalSince1970: Double(issued.expiration) / 1000)
        )
    }

    /// Closes the connection after its calls in flight finish; later calls fail with UNAVAILABLE.
    public func close() async {
        let (connection, opening) = state.withLock { state in
            state.closed = true
            defer { state.connection = nil }
            return (state.connection?.rpc, state.opening)
        }
        await connection?.close()
        if let opening, let made = try? await opening.value { await made.rpc.close() }
    }
}

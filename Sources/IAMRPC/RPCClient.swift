public import IAMTLS
public import IAMWire
public import NIOCore
import NIOPosix

/// How an `RPCClient` reaches and authenticates to a server.
public struct RPCClientConfiguration: Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// TLS settings (role `.client`, trust roots, server name for the host name check).
    public var tls: TLSConfiguration
    /// The access key id the connection authenticates as.
    public var accessKeyID: String
    /// The access key's secret; used only to compute the SCRAM proof, never sent.
    public var secretAccessKey: String
    /// Connection-level limits and options this client announces in its SETTINGS.
    public var connection: ConnectionOptions
    /// How long one connection attempt (TCP + TLS + preface + authentication) may take.
    public var connectTimeout: Duration

    /// Creates a client configuration.
    public init(
        host: String,
        port: Int,
        tls: TLSConfiguration,
        accessKeyID: String,
        secretAccessKey: String,
        connection: ConnectionOptions = ConnectionOptions(),
        connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.connection = connection
        self.connectTimeout = connectTimeout
    }
}

/// A client connection that carries many concurrent calls.
///
/// The connection is made on the first call and made again after it is lost (a call that was in flight
/// when it broke fails with UNAVAILABLE; the next call reconnects). All connection state lives on one
/// event loop: `unaryFuture` called on that loop touches no lock and makes no thread hop, which is what the
/// load tester relies on. `unary` (async) is a thin wrapper over it.
public final class RPCClient: Sendable {
    /// The event loop every call and the connection run on.
    public let eventLoop: any EventLoop
    private let manager: NIOLoopBoundBox<ClientConnectionManager>

    /// Creates a client; it connects lazily on the first call.
    public init(configuration: RPCClientConfiguration, eventLoopGroup: any EventLoopGroup) throws {
        let context = try TLSContext(configuration: configuration.tls)
        let eventLoop = eventLoopGroup.next()
        self.eventLoop = eventLoop
        self.manager = NIOLoopBoundBox.makeBoxSendingValue(
            ClientConnectionManager(configuration: configuration, tlsContext: context, eventLoop: eventLoop),
            eventLoop: eventLoop
        )
    }

    /// Makes a unary call and waits for its response.
    ///
    /// - Throws: `RPCError` with the status the server ended the call with, or DEADLINE_EXCEEDED,
    ///   UNAVAILABLE (no connection), UNAUTHENTICATED (credentials refused), CANCELLED (task cancelled).
    public func unary<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        as: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> Response {
        try await self.wait(
            for: self.makeCall(method, request, options: options) { (response: Response, _) in response })
    }

    /// Makes a unary call and returns its response together with the request id the server recorded for
    /// it (the caller's `CallOptions.requestID`, or the one the server assigned; WIRE.md §7.3).
    ///
    /// - Throws: as `unary`; an error the server ended the call with carries the request id too
    ///   (`RPCError.requestID`).
    public func unaryResponse<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        as: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) async throws(RPCError) -> RPCResponse<Response> {
        try await self.wait(
            for: self.makeCall(method, request, options: options) { (response: Response, requestID) in
                RPCResponse(message: response, requestID: requestID ?? "")
            }
        )
    }

    private func wait<Output: Sendable>(for made: (EventLoopFuture<Output>, LoopBoundCall)) async throws(RPCError)
        -> Output
    {
        let (future, call) = made
        do {
            return try await withTaskCancellationHandler {
                try await future.get()
            } onCancel: {
                // Cancelling the Task cancels the call on the wire (CANCEL frame) and fails the future.
                call.eventLoop.execute {
                    call.value.abandon(RPCError(code: .cancelled, message: "the call was cancelled"))
                }
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(code: .unknown, message: "\(error)")
        }
    }

    /// Same call without async/await: completes on the connection's event loop (the load tester uses it).
    ///
    /// The future fails with `RPCError`. Called on `eventLoop`, it takes no lock and makes no thread hop.
    public func unaryFuture<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        as: Response.Type = Response.self,
        options: CallOptions = CallOptions()
    ) -> EventLoopFuture<Response> {
        self.makeCall(method, request, options: options) { (response: Response, _) in response }.0
    }

    /// Same call with a completion callback, for callers already on `eventLoop` (the load tester): no promise,
    /// future or callback list per call, and `completion` runs on the loop when the call ends.
    ///
    /// - Precondition: called on `eventLoop`.
    @inlinable
    public func unaryOnEventLoop<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        as: Response.Type = Response.self,
        options: CallOptions = CallOptions(),
        completion: @escaping (Result<Response, RPCError>) -> Void
    ) {
        // Inlinable so that the caller's module specializes the two closures for its types: compiled generic,
        // they looked up `Result<Response, RPCError>`'s metadata at run time on every call.
        self.startOnEventLoop(
            method,
            options: options,
            encode: { request.encode(into: &$0) },
            complete: { result, requestID in completion(Self.decoded(result, requestID: requestID)) }
        )
    }

    @usableFromInline
    func startOnEventLoop(
        _ method: MethodDescriptor,
        options: CallOptions,
        encode: @escaping (inout ByteBuffer) -> Void,
        complete: @escaping (Result<ByteBuffer, RPCError>, _ requestID: String?) -> Void
    ) {
        self.eventLoop.preconditionInEventLoop()
        self.manager.value.start(
            PendingClientCall(method: method, options: options, encode: encode, complete: complete))
    }

    /// A call's outcome with its response bytes decoded; bytes that do not decode are INTERNAL.
    @inlinable
    static func decoded<Response: WireMessage>(_ result: Result<ByteBuffer, RPCError>, requestID: String?)
        -> Result<Response, RPCError>
    {
        switch result {
        case .success(var bytes):
            do throws(WireError) {
                return .success(try Response(decoding: &bytes))
            } catch {
                return .failure(
                    RPCError(
                        code: .internalError, message: "cannot decode the response: \(error.message)",
                        requestID: requestID))
            }
        case .failure(let error):
            return .failure(error)
        }
    }

    private func makeCall<Request: WireMessage, Response: WireMessage, Output: Sendable>(
        _ method: MethodDescriptor,
        _ request: Request,
        options: CallOptions,
        output: @escaping (Response, _ requestID: String?) -> Output
    ) -> (EventLoopFuture<Output>, LoopBoundCall) {
        let promise = self.eventLoop.makePromise(of: Output.self)
        let call = PendingClientCall(
            method: method,
            options: options,
            encode: { request.encode(into: &$0) },
            complete: { result, requestID in
                switch Self.decoded(result, requestID: requestID) as Result<Response, RPCError> {
                case .success(let response): promise.succeed(output(response, requestID))
                case .failure(let error): promise.fail(error)
                }
            }
        )
        let bound = LoopBoundCall(call: call, eventLoop: self.eventLoop)
        if self.eventLoop.inEventLoop {
            self.manager.value.start(call)
        } else {
            let manager = self.manager
            self.eventLoop.execute { manager.value.start(bound.value) }
        }
        return (promise.futureResult, bound)
    }

    /// Sends PING and completes with the round-trip time.
    public func ping() -> EventLoopFuture<Duration> {
        let promise = self.eventLoop.makePromise(of: Duration.self)
        self.eventLoop.execute { self.manager.value.ping(promise) }
        return promise.futureResult
    }

    /// Connects now (instead of on the first call) and completes once the connection is authenticated.
    public func connect() -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        self.eventLoop.execute { self.manager.value.connect(promise) }
        return promise.futureResult
    }

    /// Sends GOAWAY, lets in-flight calls finish, then closes; later calls fail with UNAVAILABLE.
    public func close() async {
        try? await self.beginClose().get()
    }

    /// Starts ``close()`` without waiting for it: at once when called on `eventLoop`, so a caller there orders it
    /// exactly against the calls it starts. Completes once every connection is gone.
    package func beginClose() -> EventLoopFuture<Void> {
        let promise = self.eventLoop.makePromise(of: Void.self)
        if self.eventLoop.inEventLoop {
            self.manager.value.close(promise)
        } else {
            let manager = self.manager
            self.eventLoop.execute { manager.value.close(promise) }
        }
        return promise.futureResult
    }
}

/// A unary call's response and what the server said about the call besides it.
public struct RPCResponse<Message: Sendable>: Sendable {
    /// The response message.
    public var message: Message
    /// The call's request id as the server recorded it (WIRE.md §7.3): the one sent in
    /// `CallOptions.requestID`, or the one the server assigned when none was sent.
    public var requestID: String

    /// Creates a response.
    public init(message: Message, requestID: String) {
        self.message = message
        self.requestID = requestID
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Carries a call to its event loop. The call is created off the loop but touched only on it (the
/// `execute` that starts it, and later cancellation hops), which is what makes the unchecked Sendable sound;
/// `value` checks it in debug builds.
struct LoopBoundCall: @unchecked Sendable {
    private let call: PendingClientCall
    let eventLoop: any EventLoop

    init(call: PendingClientCall, eventLoop: any EventLoop) {
        self.call = call
        self.eventLoop = eventLoop
    }

    var value: PendingClientCall {
        self.eventLoop.assertInEventLoop()
        return self.call
    }
}

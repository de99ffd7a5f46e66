public import IAMWire
public import NIOCore

/// What a handler knows about the call it serves.
///
/// Built by the connection for every call; handlers read it and never keep it beyond the call.
public struct ServerCallContext: Sendable {
    /// The event loop of the connection the call arrived on. Completing a deferred response on this
    /// loop avoids a thread hop.
    public let eventLoop: any EventLoop
    /// The method being called.
    public let method: MethodDescriptor
    /// The caller's request id (from CALL_START), or one the server made up when the caller sent none.
    public var requestID: String { self.requestIDParts.text }
    /// The request id as the connection keeps it (an assigned one is spelled out only when read).
    package let requestIDParts: CallRequestID
    /// Metadata the caller sent with CALL_START.
    public let metadata: Metadata
    /// When the caller stops waiting; the server ends the call with DEADLINE_EXCEEDED after it.
    public let deadline: NIODeadline?
    /// The access key id the connection authenticated with.
    public let accessKeyID: String
    /// The caller's address (nil when the call did not come over a socket, e.g. in-process).
    public let peerAddress: SocketAddress?

    /// Creates a context (the connection does this; tests and in-process transports may too).
    public init(
        eventLoop: any EventLoop,
        method: MethodDescriptor,
        requestID: String,
        metadata: Metadata,
        deadline: NIODeadline?,
        accessKeyID: String,
        peerAddress: SocketAddress? = nil
    ) {
        self.init(
            eventLoop: eventLoop, method: method, requestID: .caller(requestID), metadata: metadata, deadline: deadline,
            accessKeyID: accessKeyID, peerAddress: peerAddress)
    }

    /// Creates a context whose request id is kept in its parts (the connection does this).
    package init(
        eventLoop: any EventLoop,
        method: MethodDescriptor,
        requestID: CallRequestID,
        metadata: Metadata,
        deadline: NIODeadline?,
        accessKeyID: String,
        peerAddress: SocketAddress?
    ) {
        self.eventLoop = eventLoop
        self.method = method
        self.requestIDParts = requestID
        self.metadata = metadata
        self.deadline = deadline
        self.accessKeyID = accessKeyID
        self.peerAddress = peerAddress
    }
}

/// A handler's answer: ready now (served on the connection's event loop, no thread hop) or later.
public enum ServerResponse<Response: WireMessage>: Sendable {
    /// The answer is ready; the connection encodes it in the same event-loop turn that decoded the request.
    case immediate(Result<Response, RPCError>)
    /// The answer arrives later. Complete the future on `context.eventLoop` when you can, to avoid a hop.
    case deferred(EventLoopFuture<Response>)
    /// The answer arrives later from work that can stop early: the connection calls `cancel` when the call
    /// ends before the answer (the caller cancelled it, its deadline passed, the connection closed).
    /// ``async(_:_:)`` answers this way, cancelling its Task.
    case cancellable(EventLoopFuture<Response>, cancel: @Sendable () -> Void)

    /// Runs async work (e.g. a database call) in a Task and completes on the context's event loop.
    ///
    /// An `RPCError` thrown by `body` reaches the caller as is, an `RPCErrorConvertible` as its
    /// `rpcError`; any other error becomes INTERNAL with a generic message, because what crosses the
    /// trust boundary must not leak server internals.
    public static func async(
        _ context: ServerCallContext,
        _ body: @escaping @Sendable () async throws -> Response
    ) -> ServerResponse {
        let promise = context.eventLoop.makePromise(of: Response.self)
        let task = Task {
            do {
                promise.succeed(try await body())
            } catch let error as any RPCErrorConvertible {
                promise.fail(error.rpcError)
            } catch {
                promise.fail(error)
            }
        }
        return .cancellable(promise.futureResult, cancel: { task.cancel() })
    }

    /// A successful immediate answer.
    public static func ok(_ response: Response) -> ServerResponse { .immediate(.success(response)) }

    /// A failed immediate answer.
    public static func error(_ error: RPCError) -> ServerResponse { .immediate(.failure(error)) }
}

/// The type-erased outcome of invoking a method: the response already encoded, or a future of it.
@usableFromInline
package enum EncodedServerResponse {
    /// The response was appended to the scratch buffer passed to `invoke`.
    case encoded
    /// The call failed before or while being served.
    case failed(RPCError)
    /// The handler answers later; the future yields the encoded response. `cancel`, when given, stops the
    /// handler's work if the call ends first.
    case deferred(EventLoopFuture<ByteBuffer>, cancel: (@Sendable () -> Void)?)
}

/// One method a service serves, type-erased for the server's method table.
///
/// The entry owns the whole path of a call after its bytes arrive: decode the request, run the
/// interceptors bound to it (`intercepted(by:)`), run the handler, encode the answer. The connection
/// only calls `invoke`, so every transport (TLS connection, in-process) gets the same checks.
///
/// A class: every call's record holds its method, and one reference is one retain where the fields (a
/// descriptor, the interceptors, two closures) were seven.
public final class RPCServerMethod: Sendable {
    /// Decodes the request from the first buffer, runs the interceptors and the handler and, for an
    /// immediate answer, appends the encoded response to the second buffer (a scratch buffer the
    /// connection reuses, so a unary call allocates no response buffer of its own).
    @usableFromInline
    package typealias Invoke =
        @Sendable (inout ByteBuffer, ServerCallContext, inout ByteBuffer) -> EncodedServerResponse

    /// The method this entry serves.
    public let descriptor: MethodDescriptor
    /// The interceptors every call of this method passes through, in order (those whose
    /// `intercepts(_:)` accepted the descriptor).
    public let interceptors: [any ServerInterceptor]
    /// The bound call path (decode, interceptors, handler, encode).
    package let invoke: Invoke
    /// Builds `invoke` for a list of interceptors; kept so `intercepted(by:)` can rebind.
    private let bind: @Sendable ([any ServerInterceptor]) -> Invoke

    @usableFromInline
    init(descriptor: MethodDescriptor, bind: @escaping @Sendable ([any ServerInterceptor]) -> Invoke) {
        self.descriptor = descriptor
        self.interceptors = []
        self.bind = bind
        self.invoke = bind([])
    }

    private init(
        descriptor: MethodDescriptor,
        interceptors: [any ServerInterceptor],
        bind: @escaping @Sendable ([any ServerInterceptor]) -> Invoke
    ) {
        self.descriptor = descriptor
        self.interceptors = interceptors
        self.bind = bind
        self.invoke = bind(interceptors)
    }

    /// This method with `interceptors` appended to the ones it already runs, keeping only those whose
    /// `intercepts(_:)` accepts the descriptor (asked once, here, never per call).
    public func intercepted(by interceptors: [any ServerInterceptor]) -> RPCServerMethod {
        let applicable = interceptors.filter { $0.intercepts(self.descriptor) }
        guard !applicable.isEmpty else { return self }
        return RPCServerMethod(
            descriptor: self.descriptor, interceptors: self.interceptors + applicable, bind: self.bind)
    }

    /// A unary method: one request message in, one response message out, answered `.immediate` on the
    /// connection's event loop or `.deferred`.
    ///
    /// Inlinable, with the call path below it: the generated services then get a copy specialized to their
    /// request and response types, so a call pays no generic metadata lookups or value-witness calls.
    @inlinable
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerCallContext) -> ServerResponse<Response>
    ) -> RPCServerMethod {
        RPCServerMethod(descriptor: descriptor) { interceptors in
            Self.makeInvoke(interceptors: interceptors, handler: handler)
        }
    }

    /// A unary method whose handler is `async throws` (it awaits a store or another service).
    ///
    /// The request is decoded and the interceptors run on the connection's event loop before the handler
    /// starts, so a rejected call never creates a Task. The handler then runs in a Task; its answer is
    /// encoded back on the event loop. A thrown `RPCError` reaches the caller as is, an
    /// `RPCErrorConvertible` as its `rpcError`, anything else as INTERNAL with a generic message.
    public static func async<Request: WireMessage, Response: WireMessage>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerCallContext) async throws -> Response
    ) -> RPCServerMethod {
        .unary(descriptor) { (request: Request, context) -> ServerResponse<Response> in
            .async(context) { try await handler(request, context) }
        }
    }

    @inlinable
    static func makeInvoke<Request: WireMessage, Response: WireMessage>(
        interceptors: [any ServerInterceptor],
        handler: @escaping @Sendable (Request, ServerCallContext) -> ServerResponse<Response>
    ) -> Invoke {
        if interceptors.isEmpty {
            // The common unintercepted path stays exactly as short as before interceptors existed.
            return { requestBytes, context, scratch in
                let request: Request
                switch Self.decode(Request.self, from: &requestBytes) {
                case .success(let decoded): request = decoded
                case .failure(let error): return .failed(error)
                }
                return Self.deliver(handler(request, context), into: &scratch)
            }
        }
        return { requestBytes, context, scratch in
            let request: Request
            switch Self.decode(Request.self, from: &requestBytes) {
            case .success(let decoded): request = decoded
            case .failure(let error): return .failed(error)
            }
            switch InterceptorChain.run(interceptors[...], request, context) {
            case .proceed:
                return Self.deliver(handler(request, context), into: &scratch)
            case .reject(let error):
                return .failed(error)
            case .wait(let verdict):
                // An interceptor decides later: the handler runs (on the event loop) once every
                // interceptor has let the call pass, and the answer becomes deferred.
                let loop = context.eventLoop
                // (A handler's own cancellation is not wired through a waiting interceptor: the handler
                // starts only after the verdict, when the call may already be over.)
                return .deferred(
                    verdict.flatMap { () -> EventLoopFuture<ByteBuffer> in
                        switch handler(request, context) {
                        case .immediate(.success(let response)):
                            return loop.makeSucceededFuture(Self.encoded(response))
                        case .immediate(.failure(let error)):
                            return loop.makeFailedFuture(error)
                        case .deferred(let future), .cancellable(let future, _):
                            return future.map(Self.encoded)
                        }
                    },
                    cancel: nil
                )
            }
        }
    }

    @inlinable
    static func decode<Request: WireMessage>(
        _: Request.Type,
        from bytes: inout ByteBuffer
    ) -> Result<Request, RPCError> {
        do throws(WireError) {
            return .success(try Request(decoding: &bytes))
        } catch {
            return .failure(RPCError(code: .invalidArgument, message: "cannot decode request: \(error.message)"))
        }
    }

    @inlinable
    static func deliver<Response: WireMessage>(
        _ response: ServerResponse<Response>,
        into scratch: inout ByteBuffer
    ) -> EncodedServerResponse {
        switch response {
        case .immediate(.success(let response)):
            response.encode(into: &scratch)
            return .encoded
        case .immediate(.failure(let error)):
            return .failed(error)
        case .deferred(let future):
            return .deferred(future.map(Self.encoded), cancel: nil)
        case .cancellable(let future, let cancel):
            return .deferred(future.map(Self.encoded), cancel: cancel)
        }
    }

    @inlinable
    static func encoded<Response: WireMessage>(_ response: Response) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        response.encode(into: &buffer)
        return buffer
    }
}

/// What the server hosts; generated service protocols refine it and provide `methods` in an extension.
public protocol RPCService: Sendable {
    /// Every method this service serves.
    var methods: [RPCServerMethod] { get }
}

extension RPCError {
    /// The error a call fails with when its own message cannot be sent: a message too large for the
    /// peer's limits is RESOURCE_EXHAUSTED (WIRE.md §5), anything else keeps the wire error's status.
    init(sending error: WireError) {
        switch error.code {
        case .frameTooLarge, .messageTooLarge:
            self.init(code: .resourceExhausted, message: "message too large for the peer: \(error.message)")
        case .limitExceeded:
            self.init(code: .resourceExhausted, message: "cannot send the call: \(error.message)")
        case .malformedFrame:
            // The caller's own input (method name, request id, metadata) cannot be encoded.
            self.init(code: .invalidArgument, message: "cannot send the call: \(error.message)")
        default:
            self.init(code: error.code.statusCode, message: "cannot send the message: \(error.message)")
        }
    }
}

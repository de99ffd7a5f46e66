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
    public let requestID: String
    /// Metadata the caller sent with CALL_START.
    public let metadata: Metadata
    /// When the caller stops waiting; the server ends the call with DEADLINE_EXCEEDED after it.
    public let deadline: NIODeadline?
    /// The access key id the connection authenticated with.
    public let accessKeyID: String

    /// Creates a context (the connection does this; tests may too).
    public init(
        eventLoop: any EventLoop,
        method: MethodDescriptor,
        requestID: String,
        metadata: Metadata,
        deadline: NIODeadline?,
        accessKeyID: String
    ) {
        self.eventLoop = eventLoop
        self.method = method
        self.requestID = requestID
        self.metadata = metadata
        self.deadline = deadline
        self.accessKeyID = accessKeyID
    }
}

/// A handler's answer: ready now (served on the connection's event loop, no thread hop) or later.
public enum ServerResponse<Response: WireMessage>: Sendable {
    /// The answer is ready; the connection encodes it in the same event-loop turn that decoded the request.
    case immediate(Result<Response, RPCError>)
    /// The answer arrives later. Complete the future on `context.eventLoop` when you can, to avoid a hop.
    case deferred(EventLoopFuture<Response>)

    /// Runs async work (e.g. a database call) in a Task and completes on the context's event loop.
    ///
    /// An `RPCError` thrown by `body` reaches the caller as is; any other error becomes INTERNAL with a
    /// generic message, because what crosses the trust boundary must not leak server internals.
    public static func async(
        _ context: ServerCallContext,
        _ body: @escaping @Sendable () async throws -> Response
    ) -> ServerResponse {
        let promise = context.eventLoop.makePromise(of: Response.self)
        Task {
            do {
                promise.succeed(try await body())
            } catch {
                promise.fail(error)
            }
        }
        return .deferred(promise.futureResult)
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
    /// The handler answers later; the future yields the encoded response.
    case deferred(EventLoopFuture<ByteBuffer>)
}

/// One method a service serves, type-erased for the server's method table.
public struct RPCServerMethod: Sendable {
    /// The method this entry serves.
    public let descriptor: MethodDescriptor
    /// Decodes the request from the first buffer, runs the handler and, for an immediate answer,
    /// appends the encoded response to the second buffer (a scratch buffer the connection reuses,
    /// so a unary call allocates no response buffer of its own).
    package let invoke: @Sendable (inout ByteBuffer, ServerCallContext, inout ByteBuffer) -> EncodedServerResponse

    @usableFromInline
    init(
        descriptor: MethodDescriptor,
        invoke: @escaping @Sendable (inout ByteBuffer, ServerCallContext, inout ByteBuffer) -> EncodedServerResponse
    ) {
        self.descriptor = descriptor
        self.invoke = invoke
    }

    /// A unary method: one request message in, one response message out.
    ///
    /// Inlinable so that each generated service specializes it for its request and response types: the
    /// unspecialized closure looked up generic metadata on every call (tools/benchmarks/README.md).
    @inlinable
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ descriptor: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerCallContext) -> ServerResponse<Response>
    ) -> RPCServerMethod {
        RPCServerMethod(descriptor: descriptor) { requestBytes, context, scratch in
            let request: Request
            do throws(WireError) {
                request = try Request(decoding: &requestBytes)
            } catch {
                return .failed(RPCError(code: .invalidArgument, message: "cannot decode request: \(error.message)"))
            }
            switch handler(request, context) {
            case .immediate(.success(let response)):
                response.encode(into: &scratch)
                return .encoded
            case .immediate(.failure(let error)):
                return .failed(error)
            case .deferred(let future):
                let allocator = ByteBufferAllocator()
                return .deferred(
                    future.map { response in
                        var buffer = allocator.buffer(capacity: 64)
                        response.encode(into: &buffer)
                        return buffer
                    }
                )
            }
        }
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

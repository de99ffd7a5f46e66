public import IAMWire
public import NIOCore

/// A check every call of the methods it intercepts passes before its handler runs: authorization,
/// audit, rate limits. It knows the method (`context.method`), the authenticated access key id, the
/// peer's address, the request id, the metadata and the decoded request, and lets the call pass or
/// rejects it with an `RPCError`.
///
/// Interceptors run in the order they are registered (`RPCServerConfiguration.interceptors`), on the
/// connection's event loop, in the same turn that decoded the request: a synchronous verdict costs no
/// thread hop and no allocation of its own, which is what a per-call authorization check on the hot
/// path needs. Unlike gRPC's interceptors, which wrap an `async` `next` and so always run in a Task,
/// an interceptor here returns a verdict instead of calling the rest of the chain; one that must wait
/// for something returns `.decideLater`.
public protocol ServerInterceptor: Sendable {
    /// Whether calls of `method` pass through this interceptor. Asked once per method when the server
    /// starts (`RPCServerMethod.intercepted(by:)`), never per call. The default intercepts every method.
    func intercepts(_ method: MethodDescriptor) -> Bool

    /// Decides whether the call goes on. Runs on `context.eventLoop`; must not block it.
    ///
    /// - Parameters:
    ///   - request: The decoded request message (generic, so an interceptor that ignores it costs nothing).
    ///   - context: The call: method, access key id, peer address, request id, metadata, deadline.
    func intercept<Request: WireMessage>(_ request: Request, context: ServerCallContext) -> ServerInterceptorVerdict
}

extension ServerInterceptor {
    /// Intercepts every method.
    public func intercepts(_ method: MethodDescriptor) -> Bool { true }
}

/// An interceptor's answer for one call.
public enum ServerInterceptorVerdict: Sendable {
    /// The call goes on to the next interceptor, then to its handler.
    case proceed
    /// The call ends with this error; later interceptors and the handler do not run.
    case reject(RPCError)
    /// The verdict is not known yet: succeeding lets the call go on, failing rejects it (with the
    /// `RPCError` or `RPCErrorConvertible` the future fails with; any other error becomes INTERNAL).
    /// The rest of the chain and the handler then run on `context.eventLoop`.
    case decideLater(EventLoopFuture<Void>)
}

/// An error that knows how it crosses the wire. Handlers, interceptors and `ServerResponse.async`
/// bodies may throw one (e.g. a domain error type) instead of building an `RPCError` themselves.
public protocol RPCErrorConvertible: Error {
    /// The status, message and IAM error code the caller receives.
    var rpcError: RPCError { get }
}

/// Runs a list of interceptors over one call.
@usableFromInline
enum InterceptorChain {
    /// The chain's overall verdict.
    @usableFromInline
    enum Outcome {
        case proceed
        case reject(RPCError)
        /// Succeeds once every interceptor let the call pass; fails with the first rejection.
        case wait(EventLoopFuture<Void>)
    }

    @usableFromInline
    static func run<Request: WireMessage>(
        _ interceptors: ArraySlice<any ServerInterceptor>,
        _ request: Request,
        _ context: ServerCallContext
    ) -> Outcome {
        var index = interceptors.startIndex
        while index < interceptors.endIndex {
            switch interceptors[index].intercept(request, context: context) {
            case .proceed:
                index += 1
            case .reject(let error):
                return .reject(error)
            case .decideLater(let verdict):
                let rest = interceptors[(index + 1)...]
                let loop = context.eventLoop
                return .wait(
                    verdict.hop(to: loop)
                        .flatMapErrorThrowing { error in
                            throw (error as? any RPCErrorConvertible)?.rpcError ?? error
                        }
                        .flatMap { () -> EventLoopFuture<Void> in
                            switch Self.run(rest, request, context) {
                            case .proceed: loop.makeSucceededVoidFuture()
                            case .reject(let error): loop.makeFailedFuture(error)
                            case .wait(let later): later
                            }
                        }
                )
            }
        }
        return .proceed
    }
}

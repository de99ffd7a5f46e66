import Foundation
public import IAMRPC
public import IAMWire
public import NIOCore
import NIOPosix

/// A server without sockets or TLS: a request is encoded, run through the same method table and
/// interceptors a listener would run (`RPCServerMethod.intercepted(by:)`), and the answer decoded, as the
/// caller the test names by access key id. Service suites use it to test dispatch and authorization
/// fast; a small loopback suite keeps the real transport honest.
public struct InProcessServer: Sendable {
    private let methods: [String: RPCServerMethod]
    private let eventLoop: any EventLoop

    /// Binds `services` with `interceptors`, exactly as `RPCServer.start` does.
    public init(services: [any RPCService], interceptors: [any ServerInterceptor], eventLoop: (any EventLoop)? = nil) {
        var table: [String: RPCServerMethod] = [:]
        for service in services {
            for method in service.methods.map({ $0.intercepted(by: interceptors) }) {
                table[method.descriptor.fullName] = method
            }
        }
        self.methods = table
        self.eventLoop = eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()
    }

    /// Calls `method` with `request` as the holder of `accessKeyID` (already authenticated).
    public func call<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor, _ request: Request, as accessKeyID: String,
        responseType: Response.Type = Response.self
    ) async throws(RPCError) -> Response {
        guard let entry = self.methods[method.fullName] else {
            throw RPCError(code: .unimplemented, message: "method \(method.fullName) is not served")
        }
        let loop = self.eventLoop
        let requestID = UUID().uuidString
        let outcome: Result<ByteBuffer, RPCError>
        do {
            // Invoke on the event loop, as a connection does: interceptors may read loop-bound state.
            outcome = try await loop.submit { () -> EventLoopFuture<ByteBuffer> in
                var bytes = ByteBuffer()
                request.encode(into: &bytes)
                var scratch = ByteBuffer()
                let context = ServerCallContext(
                    eventLoop: loop, method: method, requestID: requestID, metadata: Metadata(), deadline: nil,
                    accessKeyID: accessKeyID)
                switch entry.invoke(&bytes, context, &scratch) {
                case .encoded: return loop.makeSucceededFuture(scratch)
                case .failed(let error): return loop.makeFailedFuture(error)
                case .deferred(let future, _): return future
                }
            }.flatMap { $0 }.map { Result.success($0) }.flatMapErrorThrowing { error in
                .failure((error as? RPCError) ?? RPCError(code: .internalError, message: "\(error)"))
            }.get()
        } catch {
            throw RPCError(code: .internalError, message: "\(error)")
        }
        switch outcome {
        case .success(var buffer):
            do throws(WireError) {
                return try Response(decoding: &buffer)
            } catch {
                throw RPCError(code: .internalError, message: "cannot decode the response: \(error.message)")
            }
        case .failure(let error):
            throw error
        }
    }
}

import IAMClient
import IAMRPC
import IAMServer
import IAMTestSupport
import IAMWire
import NIOCore
import Synchronization
import Testing

/// What an interceptor saw of one call.
struct SeenCall: Sendable, Equatable {
    var interceptor: String
    var method: MethodDescriptor
    var accessKeyID: String
    var peerHost: String?
    var requestID: String
    var metadata: [String: String]
    var payload: String
    var onEventLoop: Bool
}

/// Records every call it sees, then answers with `decide` (an access-key gate, a fixed verdict, ...).
final class RecordingInterceptor: ServerInterceptor {
    let name: String
    let methods: Set<MethodDescriptor>?
    let decide: @Sendable (ServerCallContext) -> ServerInterceptorVerdict
    let seen = Mutex<[SeenCall]>([])

    init(
        _ name: String,
        methods: Set<MethodDescriptor>? = nil,
        decide: @escaping @Sendable (ServerCallContext) -> ServerInterceptorVerdict = { _ in .proceed }
    ) {
        self.name = name
        self.methods = methods
        self.decide = decide
    }

    func intercepts(_ method: MethodDescriptor) -> Bool {
        self.methods?.contains(method) ?? true
    }

    func intercept<Request: WireMessage>(_ request: Request, context: ServerCallContext) -> ServerInterceptorVerdict {
        let payload = (request as? PingRequest).map { String(buffer: $0.payload) } ?? "<\(Request.self)>"
        let call = SeenCall(
            interceptor: self.name,
            method: context.method,
            accessKeyID: context.accessKeyID,
            peerHost: context.peerAddress?.ipAddress,
            requestID: context.requestID,
            metadata: Dictionary(context.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }),
            payload: payload,
            onEventLoop: context.eventLoop.inEventLoop
        )
        self.seen.withLock { $0.append(call) }
        return self.decide(context)
    }

    var calls: [SeenCall] { self.seen.withLock { $0 } }
}

/// Lets a call through only when the connection authenticated with one of `allowed`: the shape of the
/// authorizer IAMServer puts behind this seam.
struct AccessKeyGate: ServerInterceptor {
    let allowed: Set<String>

    func intercept<Request: WireMessage>(_ request: Request, context: ServerCallContext) -> ServerInterceptorVerdict {
        guard self.allowed.contains(context.accessKeyID) else {
            return .reject(
                RPCError(
                    code: .permissionDenied,
                    message: "\(context.accessKeyID) may not call \(context.method.method)",
                    iamErrorCode: "AccessDenied"
                )
            )
        }
        return .proceed
    }
}

/// A domain-style error that converts itself for the wire.
struct QuotaError: RPCErrorConvertible {
    var rpcError: RPCError { RPCError(code: .resourceExhausted, message: "quota", iamErrorCode: "LimitExceeded") }
}

/// Counts handler runs, so a test can prove a rejected call never reached its handler.
final class HandlerCounter: Sendable {
    private let count = Mutex(0)
    func increment() { self.count.withLock { $0 += 1 } }
    var value: Int { self.count.withLock { $0 } }
}

/// A service with one immediate and one `async throws` method that count their runs.
struct CountingService: RPCService {
    static let immediate = MethodDescriptor(service: "test.v1.Counting", method: "Immediate")
    static let asynchronous = MethodDescriptor(service: "test.v1.Counting", method: "Asynchronous")
    /// Throws `QuotaError` (an `RPCErrorConvertible`) from its async body.
    static let quota = MethodDescriptor(service: "test.v1.Counting", method: "Quota")
    /// Throws an error the wire must not see.
    static let secret = MethodDescriptor(service: "test.v1.Counting", method: "Secret")

    struct Internal: Error {}

    let counter: HandlerCounter

    var methods: [RPCServerMethod] {
        let counter = self.counter
        return [
            .unary(Self.immediate) { (request: PingRequest, context) -> ServerResponse<PingResponse> in
                counter.increment()
                precondition(context.eventLoop.inEventLoop)
                return .ok(PingResponse(payload: request.payload))
            },
            .async(Self.asynchronous) { (request: PingRequest, _) async throws -> PingResponse in
                counter.increment()
                try await Task.sleep(for: .milliseconds(1))
                return PingResponse(payload: request.payload)
            },
            .async(Self.quota) { (_: PingRequest, _) async throws -> PingResponse in
                throw QuotaError()
            },
            .async(Self.secret) { (_: PingRequest, _) async throws -> PingResponse in
                throw Internal()
            },
        ]
    }
}

func withInterceptedServer<T>(
    _ interceptors: [any ServerInterceptor],
    counter: HandlerCounter = HandlerCounter(),
    _ body: (LoopbackRPCServer) async throws -> T
) async throws -> T {
    let server = try await LoopbackRPCServer.start(
        services: [HealthService(), CountingService(counter: counter)],
        interceptors: interceptors
    )
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

@Suite("Server interceptors over loopback TLS")
struct InterceptorTests {
    @Test(
        "an access-key gate lets its key through and rejects another before the handler runs",
        arguments: [
            CountingService.immediate, CountingService.asynchronous,
        ])
    func accessKeyGate(method: MethodDescriptor) async throws {
        let counter = HandlerCounter()
        try await withInterceptedServer([AccessKeyGate(allowed: [TestCredentials.accessKeyID])], counter: counter) {
            server in
            let allowed = try server.makeClient()
            let response = try await allowed.unary(method, PingRequest("hi"), as: PingResponse.self)
            #expect(String(buffer: response.payload) == "hi")
            #expect(counter.value == 1)

            let denied = try server.makeClient(
                accessKeyID: TestCredentials.otherAccessKeyID,
                secretAccessKey: TestCredentials.otherSecretAccessKey
            )
            let error = await rejection {
                _ = try await denied.unary(method, PingRequest("hi"), as: PingResponse.self)
            }
            #expect(error?.code == .permissionDenied)
            #expect(error?.iamErrorCode == "AccessDenied")
            #expect(error?.message == "\(TestCredentials.otherAccessKeyID) may not call \(method.method)")
            #expect(counter.value == 1, "a rejected call must not reach its handler")

            // The gate guards every method, Health included; the connection stays usable after a rejection.
            let ping = await rejection { _ = try await HealthServiceClient(client: denied).ping(PingRequest()) }
            #expect(ping?.code == .permissionDenied)
            _ = try await HealthServiceClient(client: allowed).ping(PingRequest())
            await allowed.close()
            await denied.close()
        }
    }

    @Test(
        "an interceptor sees method, access key, peer address, request id, metadata and decoded request, on the event loop"
    )
    func seesTheCall() async throws {
        let recorder = RecordingInterceptor("recorder")
        try await withInterceptedServer([recorder]) { server in
            let client = try server.makeClient(
                accessKeyID: TestCredentials.otherAccessKeyID,
                secretAccessKey: TestCredentials.otherSecretAccessKey
            )
            _ = try await client.unary(
                CountingService.immediate,
                PingRequest("payload-1"),
                as: PingResponse.self,
                options: CallOptions(metadata: ["tenant": "blue"], requestID: "req-7")
            )
            _ = try await client.unary(CountingService.asynchronous, PingRequest("payload-2"), as: PingResponse.self)
            await client.close()
        }
        let calls = recorder.calls
        try #require(calls.count == 2)
        #expect(
            calls[0]
                == SeenCall(
                    interceptor: "recorder",
                    method: CountingService.immediate,
                    accessKeyID: TestCredentials.otherAccessKeyID,
                    peerHost: "127.0.0.1",
                    requestID: "req-7",
                    metadata: ["tenant": "blue"],
                    payload: "payload-1",
                    onEventLoop: true
                )
        )
        #expect(calls[1].method == CountingService.asynchronous)
        #expect(calls[1].payload == "payload-2")
        #expect(calls[1].onEventLoop, "interceptors of async handlers also run on the event loop, before the Task")
        #expect(!calls[1].requestID.isEmpty)
    }

    @Test("interceptors run in registration order and the first rejection stops the chain")
    func order() async throws {
        let first = RecordingInterceptor("first") { context in
            context.metadata["reject-at"] == "first"
                ? .reject(RPCError(code: .failedPrecondition, message: "first says no")) : .proceed
        }
        let second = RecordingInterceptor("second") { context in
            context.metadata["reject-at"] == "second"
                ? .reject(RPCError(code: .unauthenticated, message: "second says no")) : .proceed
        }
        let counter = HandlerCounter()
        try await withInterceptedServer([first, second], counter: counter) { server in
            let client = try server.makeClient()
            _ = try await client.unary(CountingService.immediate, PingRequest("a"), as: PingResponse.self)
            #expect(first.calls.count == 1 && second.calls.count == 1)

            let atFirst = await rejection {
                _ = try await client.unary(
                    CountingService.immediate, PingRequest("b"), as: PingResponse.self,
                    options: CallOptions(metadata: ["reject-at": "first"]))
            }
            #expect(atFirst == RPCError(code: .failedPrecondition, message: "first says no"))
            #expect(first.calls.count == 2 && second.calls.count == 1, "the second never saw the rejected call")

            let atSecond = await rejection {
                _ = try await client.unary(
                    CountingService.asynchronous, PingRequest("c"), as: PingResponse.self,
                    options: CallOptions(metadata: ["reject-at": "second"]))
            }
            #expect(atSecond == RPCError(code: .unauthenticated, message: "second says no"))
            #expect(first.calls.count == 3 && second.calls.count == 2)
            #expect(counter.value == 1)
            await client.close()
        }
    }

    @Test("intercepts(_:) binds an interceptor to some methods only")
    func subset() async throws {
        let onlyImmediate = RecordingInterceptor("only", methods: [CountingService.immediate]) { _ in
            .reject(RPCError(code: .permissionDenied, message: "no"))
        }
        try await withInterceptedServer([onlyImmediate]) { server in
            let client = try server.makeClient()
            let error = await rejection {
                _ = try await client.unary(CountingService.immediate, PingRequest(), as: PingResponse.self)
            }
            #expect(error?.code == .permissionDenied)
            _ = try await client.unary(CountingService.asynchronous, PingRequest("x"), as: PingResponse.self)
            _ = try await HealthServiceClient(client: client).ping(PingRequest())
            await client.close()
        }
        #expect(onlyImmediate.calls.map(\.method) == [CountingService.immediate])
    }

    @Test("a verdict decided later lets the call through or rejects it, and the rest of the chain runs after it")
    func decideLater() async throws {
        let later = RecordingInterceptor("later") { context in
            let promise = context.eventLoop.makePromise(of: Void.self)
            let reject = context.metadata["reject"]
            context.eventLoop.scheduleTask(in: .milliseconds(2)) {
                switch reject {
                case "rpc": promise.fail(RPCError(code: .permissionDenied, message: "later says no"))
                case "convertible": promise.fail(QuotaError())
                default: promise.succeed(())
                }
            }
            return .decideLater(promise.futureResult)
        }
        let after = RecordingInterceptor("after")
        let counter = HandlerCounter()
        try await withInterceptedServer([later, after], counter: counter) { server in
            let client = try server.makeClient()
            for method in [CountingService.immediate, CountingService.asynchronous] {
                let response = try await client.unary(method, PingRequest("ok"), as: PingResponse.self)
                #expect(String(buffer: response.payload) == "ok")
            }
            #expect(counter.value == 2)
            #expect(after.calls.count == 2)
            #expect(after.calls.allSatisfy { $0.onEventLoop })

            let denied = await rejection {
                _ = try await client.unary(
                    CountingService.immediate, PingRequest(), as: PingResponse.self,
                    options: CallOptions(metadata: ["reject": "rpc"]))
            }
            #expect(denied == RPCError(code: .permissionDenied, message: "later says no"))
            let converted = await rejection {
                _ = try await client.unary(
                    CountingService.asynchronous, PingRequest(), as: PingResponse.self,
                    options: CallOptions(metadata: ["reject": "convertible"]))
            }
            #expect(converted == QuotaError().rpcError)
            #expect(counter.value == 2, "rejected calls never reached a handler")
            #expect(after.calls.count == 2, "the interceptor after a rejection never ran")
            await client.close()
        }
    }

    @Test("async handlers: an RPCErrorConvertible crosses the wire as its rpcError, other errors as INTERNAL")
    func asyncErrors() async throws {
        try await withInterceptedServer([]) { server in
            let client = try server.makeClient()
            let quota = await rejection {
                _ = try await client.unary(CountingService.quota, PingRequest(), as: PingResponse.self)
            }
            #expect(quota == QuotaError().rpcError)
            let secret = await rejection {
                _ = try await client.unary(CountingService.secret, PingRequest(), as: PingResponse.self)
            }
            #expect(secret == RPCError(code: .internalError, message: "internal error"))
            await client.close()
        }
    }

    @Test("a bad request is refused before any interceptor sees it")
    func undecodableRequest() async throws {
        let recorder = RecordingInterceptor("recorder")
        try await withInterceptedServer([recorder]) { server in
            let session = try await RawSession.authenticated(server)
            var out = ByteBuffer()
            try session.encoder.writeCallStart(
                CallStart(method: CountingService.immediate.fullName, timeout: nil), streamID: 1, into: &out)
            // Field 1 (bytes) claims 100 bytes but only 1 follows.
            try session.encoder.writeMessage(
                ByteBuffer(bytes: [0x0A, 100, 0x00]), streamID: 1, endStream: true, into: &out)
            try await session.connection.write(out)
            let end = try await session.waitForFrame { $0.type == .callEnd }
            #expect(end.callEnd?.status == .invalidArgument)
        }
        #expect(recorder.calls.isEmpty)
    }
}

/// The error a call failed with, without the request id the server stamps on every CALL_END (checked to be
/// there), so tests can compare the status, message and IAM code an interceptor chose.
private func rejection(_ body: () async throws -> Void) async -> RPCError? {
    guard var error = await rpcError(body) else { return nil }
    #expect(error.requestID?.isEmpty == false, "every CALL_END carries the call's request id")
    error.requestID = nil
    return error
}

import Foundation
import IAMRPC
import IAMServer
import IAMTestSupport
import IAMWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Methods the RPC tests serve besides Health/Ping: each exercises one server-side path.
struct TestService: RPCService {
    static let echo = MethodDescriptor(service: "test.v1.Test", method: "Echo")
    /// Answers `.deferred` after `delay-ms` (metadata) milliseconds.
    static let slow = MethodDescriptor(service: "test.v1.Test", method: "Slow")
    /// Answers with the error named by metadata (`code`, `iam-code`).
    static let fail = MethodDescriptor(service: "test.v1.Test", method: "Fail")
    /// Answers through `ServerResponse.async` (a Task).
    static let asyncEcho = MethodDescriptor(service: "test.v1.Test", method: "AsyncEcho")
    /// Reports the caller's access key id and request id in the payload.
    static let whoAmI = MethodDescriptor(service: "test.v1.Test", method: "WhoAmI")
    /// Blocks the server's event loop for `delay-ms` milliseconds: a stalled server that answers nothing,
    /// not even PING.
    static let stall = MethodDescriptor(service: "test.v1.Test", method: "Stall")
    /// Answers through `ServerResponse.async` only when its Task is cancelled, and then records the `tag`
    /// (metadata) in ``cancelledHangs``: shows the server stops a handler whose call ended early.
    static let hang = MethodDescriptor(service: "test.v1.Test", method: "Hang")
    /// Answers `<loop> <bytes>`: which event loop served the call (an id, equal for equal loops) and how many
    /// payload bytes it got.
    static let loop = MethodDescriptor(service: "test.v1.Test", method: "Loop")
    /// The tags of Hang calls whose handler saw its Task cancelled.
    static let cancelledHangs = Mutex<Set<String>>([])

    var methods: [RPCServerMethod] {
        [
            .unary(Self.echo) { (request: PingRequest, _) -> ServerResponse<PingResponse> in
                .ok(PingResponse(payload: request.payload))
            },
            .unary(Self.slow) { (request: PingRequest, context) -> ServerResponse<PingResponse> in
                let delay = Int64(context.metadata["delay-ms"] ?? "100") ?? 100
                let promise = context.eventLoop.makePromise(of: PingResponse.self)
                context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                    promise.succeed(PingResponse(payload: request.payload))
                }
                return .deferred(promise.futureResult)
            },
            .unary(Self.fail) { (_: PingRequest, context) -> ServerResponse<PingResponse> in
                let code = StatusCode(rawValue: UInt8(context.metadata["code"] ?? "13") ?? 13) ?? .internalError
                return .error(
                    RPCError(code: code, message: "failed on purpose", iamErrorCode: context.metadata["iam-code"]))
            },
            .unary(Self.asyncEcho) { (request: PingRequest, context) -> ServerResponse<PingResponse> in
                .async(context) {
                    try await Task.sleep(for: .milliseconds(5))
                    if request.payload.readableBytes == 0 {
                        throw RPCError(
                            code: .invalidArgument, message: "empty payload", iamErrorCode: "ValidationError")
                    }
                    return PingResponse(payload: request.payload)
                }
            },
            .unary(Self.stall) { (request: PingRequest, context) -> ServerResponse<PingResponse> in
                let delay = Double(context.metadata["delay-ms"] ?? "100") ?? 100
                Thread.sleep(forTimeInterval: delay / 1000)
                return .ok(PingResponse(payload: request.payload))
            },
            .unary(Self.hang) { (_: PingRequest, context) -> ServerResponse<PingResponse> in
                let tag = context.metadata["tag"] ?? ""
                return .async(context) {
                    do {
                        // An hour: only cancellation ends it within any test.
                        try await Task.sleep(for: .seconds(3600))
                    } catch {
                        Self.cancelledHangs.withLock { _ = $0.insert(tag) }
                        throw error
                    }
                    return PingResponse()
                }
            },
            .unary(Self.loop) { (request: PingRequest, context) -> ServerResponse<PingResponse> in
                let loop = UInt(bitPattern: ObjectIdentifier(context.eventLoop).hashValue)
                return .ok(PingResponse(payload: ByteBuffer(string: "\(loop) \(request.payload.readableBytes)")))
            },
            .unary(Self.whoAmI) { (_: PingRequest, context) -> ServerResponse<PingResponse> in
                .ok(PingResponse(payload: ByteBuffer(string: "\(context.accessKeyID) \(context.requestID)")))
            },
        ]
    }
}

extension PingRequest {
    init(_ text: String) {
        self.init(payload: ByteBuffer(string: text))
    }
}

/// Starts a loopback server with Health and the test service, runs `body`, shuts the server down.
///
/// A handshake timeout left at its 10 s default becomes 10 minutes: tests that drive the handshake by
/// hand from a Task must not race the server's timer. On a loaded machine a Task can wait a minute for a
/// cooperative thread while CPU-bound tests hold them all (issue 6: at a load average of 23, raw sessions
/// met channels the server had closed at 10 s, then at 60 s). A test that sets another value (the
/// timeout's own test) keeps it.
func withServer<T>(
    connection: ConnectionOptions = ConnectionOptions(),
    group: MultiThreadedEventLoopGroup? = nil,
    offload: CallOffload = .none,
    _ body: (LoopbackRPCServer) async throws -> T
) async throws -> T {
    var connection = connection
    if connection.handshakeTimeout == ConnectionOptions().handshakeTimeout {
        connection.handshakeTimeout = .seconds(600)
    }
    let server = try await LoopbackRPCServer.start(
        services: [HealthService(), TestService()], connection: connection, group: group, offload: offload)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// Runs `body` and returns the RPCError it throws (nil when it succeeds; UNKNOWN naming the error when
/// it throws something that is not an RPCError, which the client API must never do).
func rpcError(_ body: () async throws -> Void) async -> RPCError? {
    do {
        try await body()
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        return RPCError(code: .unknown, message: "not an RPCError: \(error)")
    }
}

/// Polls `condition` every 5 ms for at most `timeout`.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A hand-driven protocol session over a raw TLS connection: it speaks exactly the bytes a test asks for.
struct RawSession {
    let connection: RawConnection
    var encoder = FrameEncoder()

    init(connection: RawConnection) {
        self.connection = connection
    }

    /// Sends preface + SETTINGS + AUTH_CLIENT_FIRST, answers AUTH_SERVER_FIRST, waits for AUTH_SERVER_FINAL.
    /// The connection runs on the server's group unless `clientGroup` is given.
    static func authenticated(
        _ server: LoopbackRPCServer,
        settings: ConnectionSettings = ConnectionSettings(maxConcurrentCalls: 0, compression: .zlib),
        clientGroup: (any EventLoopGroup)? = nil
    ) async throws -> RawSession {
        let connection =
            if let clientGroup {
                try await RawConnection.connect(
                    host: "127.0.0.1", port: server.port,
                    tls: server.certificates.clientConfiguration(serverName: "127.0.0.1"), group: clientGroup)
            } else {
                try await server.rawTLSConnection()
            }
        let session = RawSession(connection: connection)
        var scram = SCRAMClient(accessKeyID: TestCredentials.accessKeyID, secret: TestCredentials.secretAccessKey)
        var out = ByteBuffer()
        session.encoder.writePreface(.client, into: &out)
        session.encoder.writeSettings(settings, into: &out)
        session.encoder.writeAuthClientFirst(AuthClientFirst(message: try scram.firstMessage()), into: &out)
        try await session.connection.write(out)
        let first = try await session.waitForFrame { $0.type == .authServerFirst }
        let final = try scram.finalMessage(serverFirst: String(buffer: first.payload))
        out.clear()
        session.encoder.writeSettingsAck(into: &out)
        session.encoder.writeAuth(.authClientFinal, message: final, into: &out)
        try await session.connection.write(out)
        let serverFinal = try await session.waitForFrame { $0.type == .authServerFinal }
        try scram.verify(serverFinal: String(buffer: serverFinal.payload))
        return session
    }

    /// Every frame received so far (after the server's 8-byte preface), and whether the server closed.
    func frames() async throws -> (frames: [Frame], closed: Bool) {
        let snapshot = try await self.connection.snapshot()
        return (Self.decode(snapshot.received), snapshot.closed)
    }

    static func decode(_ received: ByteBuffer) -> [Frame] {
        var bytes = received
        guard bytes.readableBytes >= Preface.size else { return [] }
        bytes.moveReaderIndex(forwardBy: Preface.size)
        var frames: [Frame] = []
        while let frame = try? FrameDecoder.decodeFrame(from: &bytes, maxFrameSize: 1 << 24) {
            frames.append(frame)
        }
        return frames
    }

    /// Waits (at most 5 s) for a frame matching `predicate`.
    func waitForFrame(_ predicate: @escaping @Sendable (Frame) -> Bool) async throws -> Frame {
        let snapshot = try await self.connection.waitFor(timeout: .seconds(5)) { snapshot in
            snapshot.closed || Self.decode(snapshot.received).contains(where: predicate)
        }
        guard let frame = Self.decode(snapshot.received).first(where: predicate) else {
            throw RawSessionError(
                message:
                    "no matching frame; closed=\(snapshot.closed), frames=\(Self.decode(snapshot.received).map(\.type))"
            )
        }
        return frame
    }

    /// Waits (at most 5 s) for the server to close the connection; returns the frames it sent.
    func waitForClose() async throws -> (frames: [Frame], closed: Bool) {
        let snapshot = try await self.connection.waitFor(timeout: .seconds(5)) { $0.closed }
        return (Self.decode(snapshot.received), snapshot.closed)
    }

    /// Writes CALL_START + MESSAGE(END_STREAM) for `method` on `streamID`.
    func call(
        _ method: MethodDescriptor,
        _ request: PingRequest,
        streamID: UInt32,
        timeout: Duration? = nil,
        metadata: Metadata = Metadata()
    ) async throws {
        var out = ByteBuffer()
        try self.encodeCall(method, request, streamID: streamID, timeout: timeout, metadata: metadata, into: &out)
        try await self.connection.write(out)
    }

    /// Appends CALL_START + MESSAGE(END_STREAM) for `method` on `streamID` to `out` (several calls in one write
    /// reach the server in one read).
    func encodeCall(
        _ method: MethodDescriptor,
        _ request: PingRequest,
        streamID: UInt32,
        timeout: Duration? = nil,
        metadata: Metadata = Metadata(),
        into out: inout ByteBuffer
    ) throws {
        try self.encoder.writeCallStart(
            CallStart(method: method.fullName, timeout: timeout, metadata: metadata),
            streamID: streamID,
            into: &out
        )
        try self.encoder.writeMessage(request.encodedBuffer, streamID: streamID, endStream: true, into: &out)
    }
}

struct RawSessionError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

extension Frame {
    var callEnd: CallEnd? { self.type == .callEnd ? try? CallEnd(decoding: self.payload) : nil }
    var goAway: GoAway? { self.type == .goAway ? try? GoAway(decoding: self.payload) : nil }
}

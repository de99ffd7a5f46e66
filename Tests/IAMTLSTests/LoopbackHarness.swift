import Foundation
import IAMTLS
import IAMTestSupport
import NIOCore
import NIOPosix
import Synchronization

/// Errors a loopback server's connections reported, readable from the test.
final class ErrorLog: Sendable {
    private let errors = Mutex<[TLSError]>([])
    func append(_ error: TLSError) { self.errors.withLock { $0.append(error) } }
    var all: [TLSError] { self.errors.withLock { $0 } }
    var codes: [TLSError.Code] { self.all.map(\.code) }
}

/// Echoes what it reads (one flush per read burst); closes cleanly after reading "QUIT\n".
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let errors: ErrorLog
    private var tail: [UInt8] = []
    private var quit = false

    init(errors: ErrorLog) { self.errors = errors }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        self.tail.append(contentsOf: buffer.readableBytesView.suffix(5))
        self.tail = Array(self.tail.suffix(5))
        if self.tail == Array("QUIT\n".utf8) { self.quit = true }
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        if self.quit { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSError { self.errors.append(error) }
    }
}

/// A TLS echo server on 127.0.0.1, port 0.
struct LoopbackServer {
    let channel: any Channel
    let errors: ErrorLog
    var port: Int { self.channel.localAddress!.port! }

    static func start(_ configuration: TLSConfiguration) async throws -> LoopbackServer {
        let context = try TLSContext(configuration: configuration)
        let errors = ErrorLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        TLSHandler(context: context),
                        EchoHandler(errors: errors)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return LoopbackServer(channel: channel, errors: errors)
    }

    func stop() async throws { try await self.channel.close() }

    /// Waits (bounded) until the server has logged `count` errors.
    func waitForErrors(_ count: Int, within seconds: Double = 10) async throws -> [TLSError.Code] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while self.errors.all.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        return self.errors.codes
    }
}

struct TestTimeout: Error {}

/// Collects a TLS client's handshake event and the first `expectedBytes` bytes it receives.
final class ClientCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let expectedBytes: Int
    private let handshake: EventLoopPromise<TLSEvent>
    private let done: EventLoopPromise<ByteBuffer>
    private var received = ByteBuffer()
    private var finished = false
    private var handshakeDone = false
    private let manualRead: Bool

    init(
        expectedBytes: Int,
        handshake: EventLoopPromise<TLSEvent>,
        done: EventLoopPromise<ByteBuffer>,
        manualRead: Bool = false
    ) {
        self.manualRead = manualRead
        self.expectedBytes = expectedBytes
        self.handshake = handshake
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        // With autoRead off, this one read is all the TLS handler gets from us until data arrives.
        if self.manualRead { context.read() }
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if self.manualRead, !self.finished { context.read() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        self.received.writeBuffer(&buffer)
        if self.received.readableBytes >= self.expectedBytes { self.finish(.success(self.received)) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSEvent, case .handshakeCompleted = event, !self.handshakeDone {
            self.handshakeDone = true
            self.handshake.succeed(event)
            if self.expectedBytes == 0 { self.finish(.success(self.received)) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !self.handshakeDone {
            self.handshakeDone = true
            self.handshake.fail(error)
        }
        self.finish(.failure(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !self.handshakeDone {
            self.handshakeDone = true
            self.handshake.fail(ChannelError.eof)
        }
        self.finish(.failure(ChannelError.eof))
    }

    private func finish(_ result: Result<ByteBuffer, any Error>) {
        guard !self.finished else { return }
        self.finished = true
        self.done.completeWith(result)
    }
}

/// One TLS client connection to 127.0.0.1:`port` that sends `payload` after connecting and waits
/// (at most `timeout`) for `expectedBytes` back. Returns the handshake event and the bytes.
func runClient(
    port: Int,
    _ configuration: TLSConfiguration,
    serverName: String? = nil,
    payload: ByteBuffer,
    expectedBytes: Int,
    autoRead: Bool = true,
    timeout: TimeAmount = .seconds(20)
) async throws -> (event: TLSEvent, received: ByteBuffer) {
    let context = try TLSContext(configuration: configuration)
    let group = MultiThreadedEventLoopGroup.singleton
    let eventLoop = group.next()
    let handshake = eventLoop.makePromise(of: TLSEvent.self)
    let done = eventLoop.makePromise(of: ByteBuffer.self)
    let channel = try await ClientBootstrap(group: eventLoop)
        .channelOption(.autoRead, value: autoRead)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandlers(
                    TLSHandler(context: context, serverName: serverName),
                    ClientCollector(
                        expectedBytes: expectedBytes,
                        handshake: handshake,
                        done: done,
                        manualRead: !autoRead
                    )
                )
            }
        }
        .connect(host: "127.0.0.1", port: port)
        .get()
    // Written immediately: the TLS handler buffers it until the handshake completes.
    channel.writeAndFlush(payload, promise: nil)
    let timer = eventLoop.scheduleTask(in: timeout) {
        handshake.fail(TestTimeout())
        done.fail(TestTimeout())
    }
    defer {
        timer.cancel()
        channel.close(promise: nil)
    }
    let event = try await handshake.futureResult.get()
    let received = try await done.futureResult.get()
    return (event, received)
}

/// A plain TCP connection (no TLS) that sends `bytes` and reports when the server closed it.
func runRawClient(port: Int, sending bytes: ByteBuffer?, timeout: TimeAmount = .seconds(20)) async throws -> Duration {
    let start = ContinuousClock.now
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connect(host: "127.0.0.1", port: port)
        .get()
    if let bytes { try await channel.writeAndFlush(bytes) }
    let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    try await channel.closeFuture.get()
    timer.cancel()
    return ContinuousClock.now - start
}

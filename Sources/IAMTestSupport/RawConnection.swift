public import IAMTLS
public import NIOCore
import NIOPosix

/// A connection that writes exactly the bytes a test gives it and records everything it receives, for
/// testing how a server treats broken or hostile peers. Over TLS (the normal case) or plain TCP.
public final class RawConnection: Sendable {
    /// The channel.
    public let channel: any Channel
    private let collector: NIOLoopBoundBox<Collector>

    private init(channel: any Channel, collector: NIOLoopBoundBox<Collector>) {
        self.channel = channel
        self.collector = collector
    }

    /// Connects; with `tls`, completes once the TLS handshake is done.
    ///
    /// `firstBytes` are written by the event loop the moment the connection is up (TLS handshake done),
    /// not by the test's Task: a test racing a server timer that counts from the TCP accept must not
    /// depend on how soon a busy machine resumes it.
    public static func connect(
        host: String,
        port: Int,
        tls: TLSConfiguration?,
        group: any EventLoopGroup,
        firstBytes: [UInt8] = []
    ) async throws -> RawConnection {
        let context = try tls.map { configuration throws(TLSError) in try TLSContext(configuration: configuration) }
        let loop = group.next()
        let collector = NIOLoopBoundBox.makeBoxSendingValue(
            Collector(eventLoop: loop, firstBytes: firstBytes, waitsForTLS: tls != nil),
            eventLoop: loop
        )
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context, serverName: host))
                    }
                    try channel.pipeline.syncOperations.addHandler(collector.value)
                }
            }
            .connect(host: host, port: port)
            .get()
        let connection = RawConnection(channel: channel, collector: collector)
        if tls != nil {
            try await connection.waitFor(timeout: .seconds(5)) { $0.handshakeDone || $0.closed }
        }
        return connection
    }

    /// Writes and flushes `bytes`.
    public func write(_ bytes: [UInt8]) async throws {
        try await self.write(ByteBuffer(bytes: bytes))
    }

    /// Writes and flushes `buffer`. A failed write says what the connection had received and why it
    /// closed, so a test failing on a loaded machine explains itself.
    public func write(_ buffer: ByteBuffer) async throws {
        do {
            try await self.channel.writeAndFlush(buffer)
        } catch {
            let snapshot = try? await self.snapshot()
            throw RawConnectionError(
                message: "write failed (\(error)); closed: \(snapshot?.closed ?? true), pipeline error: "
                    + "\(snapshot?.error ?? "none"), received \(snapshot?.received.readableBytes ?? 0) bytes, last: "
                    + (snapshot.map { Array($0.received.readableBytesView.suffix(48)) }?.map { String($0, radix: 16) }
                        .joined(separator: " ") ?? "")
            )
        }
    }

    /// What arrived so far and whether the peer closed.
    public struct Snapshot: Sendable {
        /// Every byte received, in order.
        public var received: ByteBuffer
        /// The connection closed.
        public var closed: Bool
        /// The TLS handshake finished.
        public var handshakeDone: Bool
        /// The error the pipeline reported, if any.
        public var error: String?
    }

    /// The current snapshot.
    public func snapshot() async throws -> Snapshot {
        let collector = self.collector
        return try await self.channel.eventLoop.submit { collector.value.snapshot }.get()
    }

    /// Polls (every 5 ms) until `condition` holds or `timeout` passes; returns the last snapshot.
    @discardableResult
    public func waitFor(
        timeout: Duration,
        _ condition: @Sendable (Snapshot) -> Bool
    ) async throws -> Snapshot {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var snapshot = try await self.snapshot()
        while !condition(snapshot), clock.now < end {
            try await Task.sleep(for: .milliseconds(5))
            snapshot = try await self.snapshot()
        }
        return snapshot
    }

    /// Closes the connection.
    public func close() async {
        try? await self.channel.close()
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var received = ByteBuffer()
        var closed = false
        var handshakeDone = false
        var error: String?
        let eventLoop: any EventLoop
        private var firstBytes: [UInt8]
        private let waitsForTLS: Bool

        init(eventLoop: any EventLoop, firstBytes: [UInt8], waitsForTLS: Bool) {
            self.eventLoop = eventLoop
            self.firstBytes = firstBytes
            self.waitsForTLS = waitsForTLS
        }

        private func sendFirstBytes(_ context: ChannelHandlerContext) {
            guard !self.firstBytes.isEmpty else { return }
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: self.firstBytes)), promise: nil)
            self.firstBytes = []
        }

        func channelActive(context: ChannelHandlerContext) {
            if !self.waitsForTLS { self.sendFirstBytes(context) }
            context.fireChannelActive()
        }

        var snapshot: Snapshot {
            Snapshot(received: self.received, closed: self.closed, handshakeDone: self.handshakeDone, error: self.error)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = self.unwrapInboundIn(data)
            self.received.writeBuffer(&bytes)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .handshakeCompleted = event as? TLSEvent {
                self.handshakeDone = true
                self.sendFirstBytes(context)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.closed = true
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            self.error = "\(error)"
            context.close(promise: nil)
        }
    }
}

/// A raw connection's write failed; the message carries what it had seen.
public struct RawConnectionError: Error, CustomStringConvertible {
    /// What happened.
    public var message: String
    /// The message.
    public var description: String { self.message }
}

import IAMTLS
import IAMTestSupport
import NIOCore
import NIOEmbedded
import Testing

/// Records what reaches the top of an in-memory pipeline (only touched on the test's thread).
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    var received = ByteBuffer()
    var events: [TLSEvent] = []
    var tlsErrors: [TLSError] = []
    var otherErrors: [any Error] = []
    var inactive = false
    var readCount = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        self.readCount += 1
        self.received.writeBuffer(&buffer)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSEvent { self.events.append(event) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSError { self.tlsErrors.append(error) } else { self.otherErrors.append(error) }
    }

    func channelInactive(context: ChannelHandlerContext) { self.inactive = true }

    var handshake: (alpn: String?, version: String, subject: String?)? {
        for case .handshakeCompleted(let alpn, let version, let subject) in self.events {
            return (alpn, version, subject)
        }
        return nil
    }

    var receivedString: String { String(buffer: self.received) }
}

/// A client and a server TLSHandler on two EmbeddedChannels, connected by ``interact()``.
struct InMemoryPair {
    let client: EmbeddedChannel
    let server: EmbeddedChannel
    let clientRecorder = Recorder()
    let serverRecorder = Recorder()
    let clientHandler: TLSHandler
    let serverHandler: TLSHandler

    init(client: TLSConfiguration, server: TLSConfiguration, serverName: String? = nil) throws {
        self.client = EmbeddedChannel()
        self.server = EmbeddedChannel()
        self.serverHandler = try TLSHandler(context: TLSContext(configuration: server))
        self.clientHandler = try TLSHandler(context: TLSContext(configuration: client), serverName: serverName)
        try self.server.pipeline.syncOperations.addHandlers(
            self.serverHandler,
            self.serverRecorder
        )
        try self.client.pipeline.syncOperations.addHandlers(
            self.clientHandler,
            self.clientRecorder
        )
    }

    /// Activates both channels: the client's ClientHello is now waiting in its outbound buffer.
    func activate() throws {
        try self.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try self.client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
    }

    /// Shuttles bytes both ways until neither side has anything left to send (bounded).
    /// Returns the number of network writes moved.
    @discardableResult
    func interact(maxRounds: Int = 1000) throws -> Int {
        var total = 0
        for _ in 0..<maxRounds {
            let moved =
                try Self.move(from: self.client, to: self.server) + Self.move(from: self.server, to: self.client)
            total += moved
            if moved == 0 { return total }
        }
        Issue.record("in-memory TLS exchange did not settle after \(maxRounds) rounds")
        return total
    }

    /// Moves every pending outbound buffer of `from` into `to` (dropped if `to` is closed),
    /// cut into pieces by `split` (given the remaining length, returns the next piece's length).
    static func move(
        from: EmbeddedChannel,
        to: EmbeddedChannel,
        split: ((Int) -> Int)? = nil
    ) throws -> Int {
        var moved = 0
        while var buffer = try from.readOutbound(as: ByteBuffer.self) {
            moved += 1
            guard let split else {
                if to.isActive { try to.writeInbound(buffer) }
                continue
            }
            while buffer.readableBytes > 0, to.isActive {
                let length = max(1, min(buffer.readableBytes, split(buffer.readableBytes)))
                try to.writeInbound(buffer.readSlice(length: length)!)
            }
        }
        return moved
    }

    /// ``interact(maxRounds:)`` delivering every network write in pieces chosen by `split`.
    func interact(split: @escaping (Int) -> Int, maxRounds: Int = 1000) throws {
        for _ in 0..<maxRounds {
            let moved =
                try Self.move(from: self.client, to: self.server, split: split)
                + Self.move(from: self.server, to: self.client, split: split)
            if moved == 0 { return }
        }
        Issue.record("in-memory TLS exchange did not settle after \(maxRounds) rounds")
    }

    /// Activates, handshakes and checks that both sides completed.
    func handshake() throws {
        try self.activate()
        try self.interact()
        #expect(self.clientRecorder.handshake != nil, "client errors: \(self.clientRecorder.tlsErrors)")
        #expect(self.serverRecorder.handshake != nil, "server errors: \(self.serverRecorder.tlsErrors)")
    }

    /// Closes both sides (exchanging close_notify where still possible, then running out the
    /// close timers, so no close promise is left pending) and tears the channels down.
    func finish() {
        if self.client.isActive { self.client.close(promise: nil) }
        _ = try? self.interact()
        if self.server.isActive { self.server.close(promise: nil) }
        _ = try? self.interact()
        self.client.embeddedEventLoop.advanceTime(by: .seconds(60))
        self.server.embeddedEventLoop.advanceTime(by: .seconds(60))
        _ = try? self.client.finish(acceptAlreadyClosed: true)
        _ = try? self.server.finish(acceptAlreadyClosed: true)
    }
}

extension EmbeddedChannel {
    func writeString(_ string: String, flush: Bool = true) -> EventLoopFuture<Void> {
        let future = self.write(ByteBuffer(string: string))
        if flush { self.flush() }
        return future
    }
}

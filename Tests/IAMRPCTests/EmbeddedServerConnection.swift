import IAMServer
import IAMTLS
import IAMTestSupport
import IAMWire
import NIOCore
import NIOEmbedded
import Testing

@testable import IAMRPC

/// The server's real connection handler (decoder, state machine, handlers) on an `EmbeddedChannel`:
/// a test hands it bytes in exactly the pieces it wants and reads back every byte it wrote, with no
/// TLS, no sockets and no timing. Time only moves when the test advances the embedded loop.
final class EmbeddedServerConnection {
    let channel: EmbeddedChannel
    /// Every byte the server wrote so far (its preface first).
    private(set) var received = ByteBuffer()

    /// One store for every embedded connection: deriving its verifiers costs two PBKDF2 runs, and the
    /// split tests open hundreds of connections (CPU a loaded machine's other tests need).
    static let credentials = InMemoryCredentialStore(secrets: TestCredentials.secrets)

    init(connection: ConnectionOptions = ConnectionOptions(), services: [any RPCService]? = nil) throws {
        let configuration = RPCServerConfiguration(
            tls: TLSConfiguration(role: .server),
            credentialStore: Self.credentials,
            connection: connection
        )
        var methods: [String: RPCServerMethod] = [:]
        for service in services ?? [HealthService(), TestService()] {
            for method in service.methods { methods[method.descriptor.fullName] = method }
        }
        let shared = ServerShared(methods: methods, configuration: configuration)
        self.channel = EmbeddedChannel()
        try self.channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(shared: shared, connectionID: 1))
        try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    /// A connection that has finished its opening (SCRAM as `TestCredentials.accessKeyID`); its frames so
    /// far are the opening's.
    static func authenticated(connection: ConnectionOptions = ConnectionOptions()) throws -> EmbeddedServerConnection {
        let server = try EmbeddedServerConnection(connection: connection)
        var client = ClientOpening()
        try server.deliver(client.firstFlight())
        try server.deliver(client.secondFlight(answering: server.frames, ping: nil))
        try client.verify(server.frames)
        return server
    }

    /// The frames sent since the opening (or since `skipping` frames).
    func frames(after skipping: Int) -> [Frame] { Array(self.frames.dropFirst(skipping)) }

    /// Delivers `bytes` as one read (one `channelRead` + `channelReadComplete`).
    func deliver(_ bytes: some Sequence<UInt8>) throws {
        guard self.channel.isActive else { return }
        try self.channel.writeInbound(ByteBuffer(bytes: Array(bytes)))
        self.collect()
    }

    /// Delivers `bytes` cut at `cuts` (sorted offsets inside the bytes): one read per piece.
    func deliver(_ bytes: [UInt8], cutAt cuts: [Int]) throws {
        var start = 0
        for cut in cuts + [bytes.count] where cut > start {
            try self.deliver(bytes[start..<cut])
            start = cut
        }
    }

    /// Moves the embedded clock on, firing the timers that fall due.
    func advance(by amount: TimeAmount) {
        self.channel.embeddedEventLoop.advanceTime(by: amount)
        self.collect()
    }

    private func collect() {
        while let buffer = try? self.channel.readOutbound(as: ByteBuffer.self) {
            self.received.writeImmutableBuffer(buffer)
        }
    }

    /// The frames the server sent (after its preface).
    var frames: [Frame] { RawSession.decode(self.received) }

    /// Whether the server closed the connection.
    var isClosed: Bool { !self.channel.isActive }

    /// Delivers the frames `write` encodes, as one read.
    func deliver(_ write: (FrameEncoder, inout ByteBuffer) throws -> Void) throws {
        var out = ByteBuffer()
        try write(FrameEncoder(), &out)
        try self.deliver(Array(out.readableBytesView))
    }

    func close() {
        _ = try? self.channel.finish(acceptAlreadyClosed: true)
    }
}

/// The client's side of a connection opening (WIRE.md §2, §5, §6) built from the spec's frames, so a
/// test can cut it anywhere: the first flight (preface, SETTINGS, AUTH_CLIENT_FIRST) and the second
/// (SETTINGS ACK, AUTH_CLIENT_FINAL, then one Health.Ping call on stream 1).
struct ClientOpening {
    private var scram = SCRAMClient(accessKeyID: TestCredentials.accessKeyID, secret: TestCredentials.secretAccessKey)
    private let encoder = FrameEncoder()
    var settings = ConnectionSettings(maxConcurrentCalls: 0, compression: .zlib)

    /// Preface + SETTINGS + AUTH_CLIENT_FIRST.
    mutating func firstFlight() throws -> [UInt8] {
        var out = ByteBuffer()
        self.encoder.writePreface(.client, into: &out)
        self.encoder.writeSettings(self.settings, into: &out)
        self.encoder.writeAuthClientFirst(AuthClientFirst(message: try self.scram.firstMessage()), into: &out)
        return Array(out.readableBytesView)
    }

    /// SETTINGS ACK + AUTH_CLIENT_FINAL answering `frames` (the server's so far), plus a Health.Ping call
    /// with payload `ping` on stream 1 when `ping` is given.
    mutating func secondFlight(answering frames: [Frame], ping: String? = "opened") throws -> [UInt8] {
        guard let first = frames.first(where: { $0.type == .authServerFirst }) else {
            throw RawSessionError(message: "no AUTH_SERVER_FIRST among \(frames.map(\.type))")
        }
        var out = ByteBuffer()
        self.encoder.writeSettingsAck(into: &out)
        self.encoder.writeAuth(
            .authClientFinal,
            message: try self.scram.finalMessage(serverFirst: String(buffer: first.payload)),
            into: &out
        )
        if let ping {
            try self.encoder.writeCallStart(
                CallStart(method: IAMMethods.Health.ping.fullName),
                streamID: 1,
                into: &out
            )
            try self.encoder.writeMessage(
                PingRequest(ping).encodedBuffer, streamID: 1, endStream: true, into: &out)
        }
        return Array(out.readableBytesView)
    }

    /// Checks AUTH_SERVER_FINAL's signature (the server proved it knows the verifier).
    mutating func verify(_ frames: [Frame]) throws {
        guard let final = frames.first(where: { $0.type == .authServerFinal }) else {
            throw RawSessionError(message: "no AUTH_SERVER_FINAL among \(frames.map(\.type))")
        }
        try self.scram.verify(serverFinal: String(buffer: final.payload))
    }
}

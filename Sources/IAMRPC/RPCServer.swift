public import IAMTLS
import IAMWire
public import Logging
public import NIOCore
import NIOPosix
import IAMSync

/// How an `RPCServer` listens and whom it lets in.
public struct RPCServerConfiguration: Sendable {
    /// The address to bind (tests use 127.0.0.1).
    public var host: String
    /// The port to bind; 0 picks a free one (read it back from `RPCServer.port`).
    public var port: Int
    /// TLS settings (role `.server`, certificate chain and key).
    public var tls: TLSConfiguration
    /// Where the authentication exchange looks up access keys.
    public var credentialStore: any CredentialStore
    /// Per-connection limits and timers.
    public var connection: ConnectionOptions
    /// Where the server logs connection-level events (never call payloads).
    public var logger: Logger
    /// What every call passes through, in this order, between decoding its request and its handler
    /// (authorization, audit); each is bound to the methods it `intercepts` once, at start.
    public var interceptors: [any ServerInterceptor]
    /// Connections open at once, authenticated or not; one more is accepted and closed at once (counted in
    /// ``RPCServer/statistics`` and logged). The default holds 10,000 pooled clients with room to spare;
    /// each connection needs a file descriptor, so the process's descriptor limit must allow it too.
    public var maxConnections: Int
    /// Connections still in the TLS handshake, the preface or authentication at once; one more is
    /// accepted and closed at once. Bounds what a flood of connections that never finish opening
    /// (a slowloris) holds, while ``ConnectionOptions/handshakeTimeout`` bounds how long each one stays.
    public var maxHandshakingConnections: Int
    /// Heavy calls that may run on another event loop of the group than their connection's (none by default).
    public var offload: CallOffload

    /// Creates a server configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        tls: TLSConfiguration,
        credentialStore: any CredentialStore,
        connection: ConnectionOptions = ConnectionOptions(),
        logger: Logger = Logger(label: "iam.rpc.server", factory: { _ in SwiftLogNoOpLogHandler() }),
        interceptors: [any ServerInterceptor] = [],
        maxConnections: Int = RPCServerConfiguration.defaultMaxConnections,
        maxHandshakingConnections: Int = RPCServerConfiguration.defaultMaxHandshakingConnections,
        offload: CallOffload = .none
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.credentialStore = credentialStore
        self.connection = connection
        self.logger = logger
        self.interceptors = interceptors
        self.maxConnections = maxConnections
        self.maxHandshakingConnections = maxHandshakingConnections
        self.offload = offload
    }

    /// 16,384: 10,000 pooled clients plus room for reconnects and operators.
    public static let defaultMaxConnections = 16_384
    /// 4,096: a whole pool reconnecting at once after a restart mostly fits (a handshake takes
    /// milliseconds), while a flood of silent connections holds at most this many at a time.
    public static let defaultMaxHandshakingConnections = 4_096
}

/// What every connection of one server shares (immutable after start).
final class ServerShared: Sendable {
    let methods: [String: RPCServerMethod]
    let options: ConnectionOptions
    let settings: ConnectionSettings
    let credentialStore: any CredentialStore
    let decoySecret: [UInt8]
    let logger: Logger
    /// The server's open connections (nil for a connection handler tested without a server).
    let registry: ConnectionRegistry?
    /// Random per server start, so the request ids the server assigns (`<instance>-<connection>-<stream>`)
    /// do not repeat after a restart.
    let instanceID = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
    /// Where heavy calls may move (nil: every call stays on its connection's loop).
    let offloader: CallOffloader?

    init(
        methods: [String: RPCServerMethod], configuration: RPCServerConfiguration, registry: ConnectionRegistry? = nil,
        group: (any EventLoopGroup)? = nil
    ) {
        self.registry = registry
        self.offloader = group.flatMap { CallOffloader(configuration.offload, group: $0) }
        self.methods = methods
        self.options = configuration.connection
        self.settings = configuration.connection.settings(isServer: true)
        self.credentialStore = configuration.credentialStore
        self.decoySecret = Crypto.randomBytes(32)
        self.logger = configuration.logger
    }
}

/// A TLS server hosting `RPCService`s on one port.
///
/// Each accepted connection gets a TLS handler and a connection handler on one event loop of the group;
/// every call of that connection runs on that loop (heavy ones may move, see ``CallOffload``). `shutdown`
/// stops accepting, drains every connection (GOAWAY NO_ERROR, in-flight calls finish, new ones are refused)
/// and closes.
public final class RPCServer: Sendable {
    /// The bound address.
    public let localAddress: SocketAddress
    private let channel: any Channel
    private let registry: ConnectionRegistry

    /// The bound port (useful after binding port 0).
    public var port: Int { self.localAddress.port ?? 0 }

    private init(channel: any Channel, registry: ConnectionRegistry) {
        self.channel = channel
        self.localAddress = channel.localAddress!
        self.registry = registry
    }

    /// Binds and starts serving `services`, every call through `configuration.interceptors`.
    ///
    /// - Throws: `TLSError` for a bad certificate/key, `RPCServerError` when two services serve the
    ///   same method, or the bind error.
    public static func start(
        configuration: RPCServerConfiguration,
        services: [any RPCService],
        group: any EventLoopGroup
    ) async throws -> RPCServer {
        var methods: [String: RPCServerMethod] = [:]
        for service in services {
            for method in service.methods.map({ $0.intercepted(by: configuration.interceptors) }) {
                guard methods.updateValue(method, forKey: method.descriptor.fullName) == nil else {
                    throw RPCServerError(message: "method \(method.descriptor.fullName) is served twice")
                }
            }
        }
        // The connection's opening timeout counts from accept and covers the TLS handshake, so the TLS
        // handler's own timer may not cut a slow opener off sooner (a test or operator who set the opening
        // timeout to minutes would otherwise still lose silent connections at the TLS default of 10 s).
        var tls = configuration.tls
        tls.handshakeTimeout = max(tls.handshakeTimeout, TimeAmount(configuration.connection.handshakeTimeout))
        let tlsContext = try TLSContext(configuration: tls)
        let registry = ConnectionRegistry(
            maxConnections: configuration.maxConnections,
            maxHandshaking: configuration.maxHandshakingConnections,
            logger: configuration.logger
        )
        let shared = ServerShared(methods: methods, configuration: configuration, registry: registry, group: group)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // NIO keeps each connection's receive buffer for reuse, at the largest size the adaptive
            // allocator ever asked for (it never shrinks): a 1 KiB start (a ClientHello, a burst of small
            // calls) and a 16 KiB cap (one TLS record; NIO's default is 64 KiB) bound what an idle connection
            // keeps after a large message, at the price of more reads per large message.
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 16 * 1024)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A connection accepted while the server shuts down, or beyond a limit, is closed at
                    // once (before any handler or OpenSSL state exists) rather than missed by the drain.
                    let id: UInt64
                    switch registry.add(channel) {
                    case .accepted(let accepted): id = accepted
                    case .refused: throw ConnectionRefused()
                    }
                    channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tlsContext))
                    try channel.pipeline.syncOperations.addHandler(
                        ServerConnectionHandler(shared: shared, connectionID: id)
                    )
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return RPCServer(channel: channel, registry: registry)
    }

    /// How many connections are open now.
    public var connectionCount: Int { self.registry.count }

    /// Open and refused connection counts, for metrics and tests.
    public var statistics: RPCServerStatistics { self.registry.statistics }

    /// Stops accepting, drains every connection (GOAWAY NO_ERROR; calls in flight finish, up to the
    /// drain timeout) and closes them. Returns when every connection is closed. A connection still opening (TLS,
    /// preface, authentication) has no call to finish: it is closed at once, so a silent one cannot hold the
    /// shutdown for its whole handshake timeout.
    public func shutdown() async {
        try? await self.channel.close()
        let connections = self.registry.closeAndList()
        for (channel, handshaking) in connections {
            if handshaking {
                channel.close(promise: nil)
            } else {
                channel.triggerUserOutboundEvent(ServerDrainEvent(), promise: nil)
            }
        }
        for (channel, _) in connections {
            try? await channel.closeFuture.get()
        }
    }

    /// Closes the listener and every connection at once, without draining.
    public func close() async {
        try? await self.channel.close()
        let connections = self.registry.closeAndList()
        for (channel, _) in connections {
            try? await channel.close()
        }
    }
}

/// A server could not start.
public struct RPCServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// The message.
    public var description: String { self.message }
}

/// Connection counts of a running server.
public struct RPCServerStatistics: Sendable, Hashable {
    /// Connections open now.
    public var open: Int
    /// Of those, how many have not finished the TLS handshake, the preface and authentication.
    public var handshaking: Int
    /// Connections accepted and closed at once because ``RPCServerConfiguration/maxConnections`` were open.
    public var refusedOverConnectionLimit: Int
    /// Connections accepted and closed at once because ``RPCServerConfiguration/maxHandshakingConnections``
    /// were still opening.
    public var refusedOverHandshakeLimit: Int
}

/// Thrown from the child channel initializer to close a refused connection (no message to build: it is
/// thrown once per refused connection, and floods are what it is for).
struct ConnectionRefused: Error {}

/// The open connections of a server and its connection limits (touched on accept, authentication and
/// close only, never per call).
final class ConnectionRegistry: Sendable {
    private struct State {
        var next: UInt64 = 1
        var closed = false
        /// Every open connection, and whether it is still opening (counted against the handshake limit).
        var channels: [ObjectIdentifier: (channel: any Channel, handshaking: Bool)] = [:]
        var handshaking = 0
        var refusedOverConnectionLimit = 0
        var refusedOverHandshakeLimit = 0
        /// Refusals since the last log line, and when that line was written.
        var unreportedRefusals = 0
        var lastReport: ContinuousClock.Instant?
    }

    enum Admission {
        case accepted(UInt64)
        case refused
    }

    private let state = Locked(State())
    private let maxConnections: Int
    private let maxHandshaking: Int
    private let logger: Logger

    init(maxConnections: Int = .max, maxHandshaking: Int = .max, logger: Logger = Logger(label: "iam.rpc.server")) {
        self.maxConnections = maxConnections
        self.maxHandshaking = maxHandshaking
        self.logger = logger
    }

    /// Registers an accepted connection (as handshaking) and returns its id; refuses it once the server is
    /// shutting down or a limit is reached.
    func add(_ channel: any Channel) -> Admission {
        let (admission, report) = self.state.withLock { state -> (Admission, String?) in
            guard !state.closed else { return (.refused, nil) }
            if state.channels.count >= self.maxConnections {
                state.refusedOverConnectionLimit += 1
                return (.refused, Self.noteRefusal(&state))
            }
            if state.handshaking >= self.maxHandshaking {
                state.refusedOverHandshakeLimit += 1
                return (.refused, Self.noteRefusal(&state))
            }
            state.channels[ObjectIdentifier(channel)] = (channel, true)
            state.handshaking += 1
            defer { state.next += 1 }
            return (.accepted(state.next), nil)
        }
        if let report {
            self.logger.warning(
                "refusing connections: \(report) (limits: \(self.maxConnections) connections, \(self.maxHandshaking) opening)"
            )
        }
        return admission
    }

    /// Counts a refusal; returns the log line's text at most once a second, so a flood costs one line a
    /// second, not one per connection.
    private static func noteRefusal(_ state: inout State) -> String? {
        state.unreportedRefusals += 1
        let now = ContinuousClock.now
        if let last = state.lastReport, now - last < .seconds(1) { return nil }
        state.lastReport = now
        defer { state.unreportedRefusals = 0 }
        return
            "\(state.unreportedRefusals) refused since the last report; \(state.refusedOverConnectionLimit) over the connection limit and \(state.refusedOverHandshakeLimit) over the opening limit in all; \(state.channels.count) open, \(state.handshaking) opening"
    }

    /// The connection finished its opening (authenticated): it no longer counts against the handshake limit.
    func opened(_ channel: any Channel) {
        self.state.withLock { state in
            let key = ObjectIdentifier(channel)
            guard state.channels[key]?.handshaking == true else { return }
            state.channels[key]?.handshaking = false
            state.handshaking -= 1
        }
    }

    func remove(_ channel: any Channel) {
        self.state.withLock { state in
            if let removed = state.channels.removeValue(forKey: ObjectIdentifier(channel)), removed.handshaking {
                state.handshaking -= 1
            }
        }
    }

    /// Refuses further connections and returns the open ones, each with whether it is still opening.
    func closeAndList() -> [(channel: any Channel, handshaking: Bool)] {
        self.state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
    }

    var count: Int { self.state.withLock { $0.channels.count } }

    var statistics: RPCServerStatistics {
        self.state.withLock { state in
            RPCServerStatistics(
                open: state.channels.count,
                handshaking: state.handshaking,
                refusedOverConnectionLimit: state.refusedOverConnectionLimit,
                refusedOverHandshakeLimit: state.refusedOverHandshakeLimit
            )
        }
    }
}

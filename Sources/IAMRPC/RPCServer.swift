public import IAMTLS
import IAMWire
public import Logging
public import NIOCore
import NIOPosix
import Synchronization

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

    /// Creates a server configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        tls: TLSConfiguration,
        credentialStore: any CredentialStore,
        connection: ConnectionOptions = ConnectionOptions(),
        logger: Logger = Logger(label: "iam.rpc.server", factory: { _ in SwiftLogNoOpLogHandler() }),
        interceptors: [any ServerInterceptor] = []
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.credentialStore = credentialStore
        self.connection = connection
        self.logger = logger
        self.interceptors = interceptors
    }
}

/// What every connection of one server shares (immutable after start).
final class ServerShared: Sendable {
    let methods: [String: RPCServerMethod]
    let options: ConnectionOptions
    let settings: ConnectionSettings
    let credentialStore: any CredentialStore
    let decoySecret: [UInt8]
    let logger: Logger
    /// Random per server start, so the request ids the server assigns (`<instance>-<connection>-<stream>`)
    /// do not repeat after a restart.
    let instanceID = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)

    init(methods: [String: RPCServerMethod], configuration: RPCServerConfiguration) {
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
/// every call of that connection runs on that loop. `shutdown` stops accepting, drains every connection
/// (GOAWAY NO_ERROR, in-flight calls finish, new ones are refused) and closes.
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
        let tlsContext = try TLSContext(configuration: configuration.tls)
        let shared = ServerShared(methods: methods, configuration: configuration)
        let registry = ConnectionRegistry()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A connection accepted while the server shuts down is refused (closed) rather than
                    // missed by the drain.
                    guard let id = registry.add(channel) else {
                        throw RPCServerError(message: "the server is shutting down")
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

    /// Stops accepting, drains every connection (GOAWAY NO_ERROR; calls in flight finish, up to the
    /// drain timeout) and closes them. Returns when every connection is closed.
    public func shutdown() async {
        try? await self.channel.close()
        let channels = self.registry.closeAndList()
        for channel in channels {
            channel.triggerUserOutboundEvent(ServerDrainEvent(), promise: nil)
        }
        for channel in channels {
            try? await channel.closeFuture.get()
        }
    }

    /// Closes the listener and every connection at once, without draining.
    public func close() async {
        try? await self.channel.close()
        let channels = self.registry.closeAndList()
        for channel in channels {
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

/// The open connections of a server (touched on accept and close only, never per call).
final class ConnectionRegistry: Sendable {
    private let state = Mutex<(next: UInt64, closed: Bool, channels: [ObjectIdentifier: any Channel])>((1, false, [:]))

    /// Registers an accepted connection and returns its id, or nil once the server is shutting down.
    func add(_ channel: any Channel) -> UInt64? {
        self.state.withLock { state in
            guard !state.closed else { return nil }
            state.channels[ObjectIdentifier(channel)] = channel
            defer { state.next += 1 }
            return state.next
        }
    }

    func remove(_ channel: any Channel) {
        _ = self.state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Refuses further connections and returns the open ones.
    func closeAndList() -> [any Channel] {
        self.state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
    }
    var count: Int { self.state.withLock { $0.channels.count } }
}

import IAMTLS
public import NIOCore
import NIOHTTP1
import NIOPosix
import IAMSync

/// Where and how the AWS front door listens.
public struct QueryServerConfiguration: Sendable {
    /// The address to bind.
    public var host: String
    /// The port; 0 picks a free one (read it back from ``QueryServer/port``).
    public var port: Int
    /// The server certificate chain (PEM).
    public var certificateChainPath: String
    /// The server's private key (PEM).
    public var privateKeyPath: String

    /// Creates a configuration.
    public init(host: String, port: Int, certificateChainPath: String, privateKeyPath: String) {
        self.host = host
        self.port = port
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
    }
}

/// The HTTPS listener of the AWS front door: IAMTLS (ALPN `http/1.1`) and NIOHTTP1 on the same event loops as
/// the binary protocol's listener.
public final class QueryServer: Sendable {
    /// The bound port.
    public let port: Int
    private let channel: any Channel
    private let registry: ConnectionSet

    private init(port: Int, channel: any Channel, registry: ConnectionSet) {
        self.port = port
        self.channel = channel
        self.registry = registry
    }

    /// Binds and starts accepting, on `group` (default: NIO's shared group, which the RPC listener also uses).
    public static func start(
        configuration: QueryServerConfiguration, frontDoor: QueryFrontDoor, group: (any EventLoopGroup)? = nil
    ) async throws -> QueryServer {
        let group = group ?? MultiThreadedEventLoopGroup.singleton
        var tls = TLSConfiguration.server(
            certificateChainPath: configuration.certificateChainPath, privateKeyPath: configuration.privateKeyPath)
        // AWS's SDKs speak HTTP/1.1; a client that offers no ALPN at all is accepted too.
        tls.alpn = ["http/1.1"]
        let context = try TLSContext(configuration: tls)
        let registry = ConnectionSet()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    registry.add(channel)
                    channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(QueryHTTPHandler(frontDoor: frontDoor))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return QueryServer(
            port: channel.localAddress?.port ?? configuration.port, channel: channel, registry: registry)
    }

    /// Stops accepting and closes every connection (an HTTP request in flight is short; clients retry).
    public func shutdown() async {
        try? await self.channel.close()
        for connection in self.registry.all() {
            try? await connection.close()
        }
    }
}

/// The open connections, to close them at shutdown.
final class ConnectionSet: Sendable {
    private let channels = Locked<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) { self.channels.withLock { $0[ObjectIdentifier(channel)] = channel } }
    func remove(_ channel: any Channel) {
        _ = self.channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
    func all() -> [any Channel] { self.channels.withLock { Array($0.values) } }
}

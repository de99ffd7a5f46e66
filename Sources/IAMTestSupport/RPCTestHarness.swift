public import IAMRPC
import IAMTLS
import NIOCore
public import NIOPosix

/// Access keys the test harness's credential store knows.
public enum TestCredentials {
    /// An access key id the harness accepts.
    public static let accessKeyID = "AKIATESTKEY0000000001"
    /// Its secret.
    public static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    /// A second valid key.
    public static let otherAccessKeyID = "AKIATESTKEY0000000002"
    /// Its secret.
    public static let otherSecretAccessKey = "another-secret-for-the-second-test-key"
    /// A well-formed key id the store does not know.
    public static let unknownAccessKeyID = "AKIAUNKNOWNKEY000000"

    /// The secrets as the in-memory store takes them.
    public static let secrets = [accessKeyID: secretAccessKey, otherAccessKeyID: otherSecretAccessKey]
}

/// A real TLS server on 127.0.0.1 and an ephemeral port, hosting the given services, with certificates
/// from `TestCertificateChain` and the `TestCredentials` keys; plus clients for it.
///
/// Every test gets its own server (and event loop group), so tests run in parallel without sharing state.
public final class LoopbackRPCServer: Sendable {
    /// The group the server (and the clients made here) run on.
    public let group: MultiThreadedEventLoopGroup
    /// The running server.
    public let server: RPCServer
    /// The certificates the server presents and clients trust.
    public let certificates: TestCertificateChain
    /// The services it hosts (kept to restart it).
    private let services: [any RPCService]
    private let options: ConnectionOptions
    private let interceptors: [any ServerInterceptor]
    private let limits: (connections: Int, handshaking: Int)
    private let offload: CallOffload

    /// The bound port.
    public var port: Int { self.server.port }

    private init(
        group: MultiThreadedEventLoopGroup,
        server: RPCServer,
        certificates: TestCertificateChain,
        services: [any RPCService],
        options: ConnectionOptions,
        interceptors: [any ServerInterceptor],
        limits: (connections: Int, handshaking: Int),
        offload: CallOffload
    ) {
        self.limits = limits
        self.offload = offload
        self.group = group
        self.server = server
        self.certificates = certificates
        self.services = services
        self.options = options
        self.interceptors = interceptors
    }

    /// Starts a server on 127.0.0.1, port 0 (or `port`, to restart one on the same port), every call
    /// passing through `interceptors`, with the server-wide connection limits given.
    public static func start(
        services: [any RPCService],
        connection: ConnectionOptions = .forTests,
        interceptors: [any ServerInterceptor] = [],
        port: Int = 0,
        group: MultiThreadedEventLoopGroup? = nil,
        maxConnections: Int = RPCServerConfiguration.defaultMaxConnections,
        maxHandshakingConnections: Int = RPCServerConfiguration.defaultMaxHandshakingConnections,
        offload: CallOffload = .none
    ) async throws -> LoopbackRPCServer {
        let certificates = try await TestCertificateChain.loadShared()
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let configuration = RPCServerConfiguration(
            host: "127.0.0.1",
            port: port,
            tls: certificates.serverConfiguration(),
            credentialStore: InMemoryCredentialStore(secrets: TestCredentials.secrets),
            connection: connection,
            interceptors: interceptors,
            maxConnections: maxConnections,
            maxHandshakingConnections: maxHandshakingConnections,
            offload: offload
        )
        let server = try await RPCServer.start(configuration: configuration, services: services, group: group)
        return LoopbackRPCServer(
            group: group,
            server: server,
            certificates: certificates,
            services: services,
            options: connection,
            interceptors: interceptors,
            limits: (maxConnections, maxHandshakingConnections),
            offload: offload
        )
    }

    /// Starts a new server with the same services on the same port (after `stop`), sharing the group.
    public func restart() async throws -> LoopbackRPCServer {
        try await Self.start(
            services: self.services,
            connection: self.options,
            interceptors: self.interceptors,
            port: self.port,
            group: self.group,
            maxConnections: self.limits.connections,
            maxHandshakingConnections: self.limits.handshaking,
            offload: self.offload
        )
    }

    /// A client configuration for this server.
    public func clientConfiguration(
        accessKeyID: String = TestCredentials.accessKeyID,
        secretAccessKey: String = TestCredentials.secretAccessKey,
        connection: ConnectionOptions = .forTests
    ) -> RPCClientConfiguration {
        RPCClientConfiguration(
            host: "127.0.0.1",
            port: self.port,
            tls: self.certificates.clientConfiguration(serverName: "127.0.0.1"),
            accessKeyID: accessKeyID,
            secretAccessKey: secretAccessKey,
            connection: connection,
            connectTimeout: .seconds(30)
        )
    }

    /// A client of this server.
    public func makeClient(
        accessKeyID: String = TestCredentials.accessKeyID,
        secretAccessKey: String = TestCredentials.secretAccessKey,
        connection: ConnectionOptions = .forTests
    ) throws -> RPCClient {
        try RPCClient(
            configuration: self.clientConfiguration(
                accessKeyID: accessKeyID,
                secretAccessKey: secretAccessKey,
                connection: connection
            ),
            eventLoopGroup: self.group
        )
    }

    /// Drains and stops the server (the group keeps running, for a restart).
    public func stop() async {
        await self.server.shutdown()
    }

    /// Stops the server and its event loop group.
    public func shutdown() async {
        await self.server.shutdown()
        try? await self.group.shutdownGracefully()
    }

    /// A raw TLS connection to this server that sends whatever bytes a test crafts; `firstBytes` leave
    /// as soon as TLS is up, from the event loop (see `RawConnection.connect`).
    public func rawTLSConnection(firstBytes: [UInt8] = []) async throws -> RawConnection {
        try await RawConnection.connect(
            host: "127.0.0.1",
            port: self.port,
            tls: self.certificates.clientConfiguration(serverName: "127.0.0.1"),
            group: self.group,
            firstBytes: firstBytes
        )
    }

    /// A raw TCP connection (no TLS) to this server's port; `firstBytes` leave as soon as TCP is up.
    public func rawPlaintextConnection(firstBytes: [UInt8] = []) async throws -> RawConnection {
        try await RawConnection.connect(
            host: "127.0.0.1", port: self.port, tls: nil, group: self.group, firstBytes: firstBytes)
    }
}

extension ConnectionOptions {
    /// The defaults with the timeouts that only guard against dead peers stretched: on a shared machine at
    /// load 20-35 a test that drives the handshake from a Task can wait a minute for a cooperative thread, and
    /// a PING answer can take longer than the production defaults' 10 s (seen: a raw session met a channel the
    /// server had closed at 10 s, in a full-suite run at load 28). Tests of those timeouts set their own.
    public static var forTests: ConnectionOptions {
        var options = ConnectionOptions()
        options.handshakeTimeout = .seconds(600)
        options.keepaliveTimeout = .seconds(60)
        return options
    }
}

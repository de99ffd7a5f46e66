public import Foundation
import IAMRPC
import IAMTLS
public import Logging
import NIOPosix

/// What `iamd` needs to run: where to listen, where its data and TLS material live, and whose account
/// it serves.
public struct DaemonConfiguration: Sendable {
    /// The address to bind (default 127.0.0.1; use 0.0.0.0 deliberately).
    public var host: String = "127.0.0.1"
    /// The port (default 7443; 0 picks a free one, which is printed).
    public var port: Int = 7443
    /// The data folder: credential verifiers, and the root credentials on first start.
    public var dataDirectory: URL
    /// The server certificate chain (PEM).
    public var certificatePath: String
    /// The server's private key (PEM).
    public var privateKeyPath: String
    /// A CA file to require and verify client certificates with (mutual TLS); nil turns it off.
    public var clientCAPath: String?
    /// The 12-digit account the server's principals belong to.
    public var accountID: String = "123456789012"
    /// Where logs go.
    public var logger: Logger

    /// Creates a configuration.
    public init(dataDirectory: URL, certificatePath: String, privateKeyPath: String, logger: Logger) {
        self.dataDirectory = dataDirectory
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.logger = logger
    }
}

/// A failure to start the daemon, with a message for the operator.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    /// What went wrong and what to do about it.
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The running service: the RPC server with the services this build serves.
public final class Daemon: Sendable {
    /// The port the server listens on.
    public let port: Int
    private let server: RPCServer

    private init(port: Int, server: RPCServer) {
        self.port = port
        self.server = server
    }

    /// Starts serving. On first start it creates the root access key and says where it put it.
    public static func start(_ configuration: DaemonConfiguration) async throws -> Daemon {
        let logger = configuration.logger
        guard configuration.accountID.count == 12, configuration.accountID.allSatisfy(\.isASCII),
            configuration.accountID.allSatisfy(\.isNumber)
        else { throw DaemonError("--account-id must be 12 digits, got \"\(configuration.accountID)\"") }
        for path in [configuration.certificatePath, configuration.privateKeyPath]
            + [configuration.clientCAPath].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: path) {
            throw DaemonError("cannot read \(path) (make development certificates with certs/gen-certs.sh)")
        }
        try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
        let (store, created) = try FileCredentialStore.bootstrap(in: configuration.dataDirectory)
        if let created {
            logger.notice(
                "created the root access key \(created.accessKeyID); its secret is in \(configuration.dataDirectory.appendingPathComponent("root-credentials.json").path) (mode 0600): copy it and delete the file"
            )
        }

        var tls = TLSConfiguration(role: .server)
        tls.certificateChainPath = configuration.certificatePath
        tls.privateKeyPath = configuration.privateKeyPath
        if let clientCA = configuration.clientCAPath {
            tls.trustRootsPath = clientCA
            tls.verifyPeer = true
            tls.requireClientCertificate = true
        }
        let server = try await RPCServer.start(
            configuration: RPCServerConfiguration(
                host: configuration.host,
                port: configuration.port,
                tls: tls,
                credentialStore: store,
                logger: logger
            ),
            services: [HealthService(), AuthorizationService(accountID: configuration.accountID)],
            group: MultiThreadedEventLoopGroup.singleton
        )
        logger.notice("iamd listening on \(configuration.host):\(server.port)")
        return Daemon(port: server.port, server: server)
    }

    /// Stops accepting, lets calls in flight finish (GOAWAY + drain), then closes.
    public func shutdown() async {
        await server.shutdown()
    }
}

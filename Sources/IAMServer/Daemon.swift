public import Foundation
public import IAMDomain
public import IAMRPC
import IAMTLS
import NIOCore
public import Logging
import NIOPosix
public import ServiceLifecycle

/// What `iamd` needs to run: where to listen, where its data and TLS material live, and whose account
/// it serves.
public struct DaemonConfiguration: Sendable {
    /// The address to bind (default 127.0.0.1; use 0.0.0.0 deliberately).
    public var host: String = "127.0.0.1"
    /// The port (default 7443; 0 picks a free one, which is printed).
    public var port: Int = 7443
    /// The data folder: credential verifiers, and the root credentials on first start.
    public var dataDirectory: URL
    /// The server certificate chain (PEM). With ``privateKeyPath`` nil, the daemon uses (and on first
    /// start makes) a development CA and server certificate in `<dataDirectory>/tls/`.
    public var certificatePath: String?
    /// The server's private key (PEM); nil with ``certificatePath``.
    public var privateKeyPath: String?
    /// A CA file to require and verify client certificates with (mutual TLS); nil turns it off.
    public var clientCAPath: String?
    /// The 12-digit account the server's principals belong to.
    public var accountID: String = "123456789012"
    /// The key-encryption key that seals access-key secrets for SigV4 (32 bytes, raw or base64); nil uses
    /// (and on first start makes) `<dataDirectory>/kek` with mode 0600.
    public var kekPath: String?
    /// Where logs go.
    public var logger: Logger
    /// The durable store (iamd opens SQLite in the data folder); nil keeps everything in memory, for tests
    /// and throwaway servers.
    public var store: (any Store)?
    /// Connections open at once; beyond it a new one is accepted and closed at once (logged, counted).
    public var maxConnections: Int = RPCServerConfiguration.defaultMaxConnections
    /// Connections still in the TLS handshake, preface or authentication at once; beyond it likewise.
    public var maxHandshakingConnections: Int = RPCServerConfiguration.defaultMaxHandshakingConnections
    /// From TCP accept to authenticated: TLS handshake, preface, SETTINGS and SCRAM must finish within it.
    public var handshakeTimeout: Duration = .seconds(10)
    /// For a replica over a shared store: the newest revision the store is known to have (Health's lag).
    public var databaseRevision: (@Sendable () -> UInt64?)?
    /// The test mode (``TestMode``): moto's fixed credentials are a root key and ``Daemon/testControl`` resets
    /// the store. Refused unless ``host`` is a loopback address.
    public var testMode = false

    /// Creates a configuration.
    public init(dataDirectory: URL, certificatePath: String? = nil, privateKeyPath: String? = nil, logger: Logger) {
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
///
/// A swift-service-lifecycle `Service`: run it in a `ServiceGroup`, whose graceful shutdown (SIGTERM,
/// SIGINT) stops accepting, drains the calls in flight and then returns.
public final class Daemon: Service, Sendable {
    /// The port the server listens on.
    public let port: Int
    /// The services, interceptors and credential lookups the server runs (the AWS front door serves the same).
    public let assembly: ServerAssembly
    /// The server certificate chain and key files (PEM) the listener presents; the AWS front door presents them too.
    public let certificate: (chainPath: String, keyPath: String)
    /// The test mode's reset; nil unless the daemon runs in test mode.
    public let testControl: TestModeControl?
    private let server: RPCServer
    private let store: any Store
    private let logger: Logger

    private init(
        port: Int, assembly: ServerAssembly, certificate: (chainPath: String, keyPath: String), server: RPCServer,
        store: any Store, logger: Logger, testMode: Bool
    ) {
        self.port = port
        self.assembly = assembly
        self.certificate = certificate
        self.testControl = testMode ? TestModeControl(assembly: assembly) : nil
        self.server = server
        self.store = store
        self.logger = logger
    }

    /// Serves until the service group shuts down gracefully (or the task is cancelled), then drains.
    public func run() async throws {
        // Throws CancellationError when the group cancels instead of shutting down gracefully; the
        // drain below runs either way, so no call in flight is cut off without its CALL_END.
        try? await gracefulShutdown()
        logger.notice("shutting down: draining calls in flight")
        await shutdown()
    }

    /// Starts serving. On first start it creates the root access key and says where it put it.
    public static func start(_ configuration: DaemonConfiguration) async throws -> Daemon {
        let logger = configuration.logger
        guard configuration.accountID.count == 12, configuration.accountID.allSatisfy(\.isASCII),
            configuration.accountID.allSatisfy(\.isNumber)
        else { throw DaemonError("--account-id must be 12 digits, got \"\(configuration.accountID)\"") }
        if configuration.testMode, !TestMode.isLoopback(configuration.host) {
            throw DaemonError(
                "--test-mode listens on a loopback address only (127.0.0.1, ::1 or localhost), not \"\(configuration.host)\": it serves fixed credentials and an unauthenticated reset"
            )
        }
        try FileManager.default.createDirectory(at: configuration.dataDirectory, withIntermediateDirectories: true)
        let (certificatePath, privateKeyPath) = try Self.serverCertificate(configuration)
        for path in [certificatePath, privateKeyPath] + [configuration.clientCAPath].compactMap({ $0 })
        where !FileManager.default.isReadableFile(atPath: path) {
            throw DaemonError("cannot read \(path)")
        }
        var (rootStore, created) = try FileCredentialStore.bootstrap(in: configuration.dataDirectory)
        let kekPath = configuration.kekPath ?? configuration.dataDirectory.appendingPathComponent("kek").path
        // The KEK is made with the folder, on its first start only: a folder set up before has secrets sealed under
        // its KEK, and a new one would quietly make every one of them (root's included) unusable for SigV4.
        if configuration.kekPath == nil, created == nil, !FileManager.default.fileExists(atPath: kekPath) {
            throw DaemonError(
                "\(kekPath) is missing, but this data folder was set up before: the secrets sealed under it cannot be opened without it; restore it (or give --kek-file)"
            )
        }
        let sealer = try SecretSealer.load(
            path: kekPath, account: configuration.accountID, create: configuration.kekPath == nil)
        rootStore = try FileCredentialStore.sealRootSecrets(in: configuration.dataDirectory, sealer: sealer)
        if let created {
            logger.notice(
                "created the root access key \(created.accessKeyID); its secret is in \(configuration.dataDirectory.appendingPathComponent("root-credentials.json").path) (mode 0600): copy it and delete the file"
            )
        }

        guard configuration.maxConnections > 0, configuration.maxHandshakingConnections > 0 else {
            throw DaemonError("--max-connections and --max-handshaking-connections must be at least 1")
        }
        guard configuration.handshakeTimeout > .zero else {
            throw DaemonError("--handshake-timeout must be more than 0 seconds")
        }
        var tls = TLSConfiguration(role: .server)
        // The TLS handshake is the first part of the opening the connection's timeout covers.
        tls.handshakeTimeout = TimeAmount(configuration.handshakeTimeout)
        tls.certificateChainPath = certificatePath
        tls.privateKeyPath = privateKeyPath
        if let clientCA = configuration.clientCAPath {
            tls.trustRootsPath = clientCA
            tls.verifyPeer = true
            tls.requireClientCertificate = true
        }
        let account: AccountID
        do {
            account = try AccountID(configuration.accountID)
        } catch {
            throw DaemonError("--account-id must be 12 digits, got \"\(configuration.accountID)\"")
        }
        let store = configuration.store ?? InMemoryStore()
        var rootKeyIDs = Set(rootStore.accessKeyIDs)
        var rootSealedSecrets = rootStore.sealedSecrets
        if configuration.testMode {
            // Held in memory only: the data folder of a test-mode server is the same as any other's.
            rootKeyIDs.insert(TestMode.accessKeyID)
            rootSealedSecrets[TestMode.accessKeyID] = sealer.seal(
                TestMode.secretAccessKey, accessKeyID: TestMode.accessKeyID, purpose: .root)
        }
        let assembly: ServerAssembly
        do {
            assembly = try await ServerAssembly.make(
                store: store, account: account, root: rootStore, rootKeyIDs: rootKeyIDs,
                auditLogPath: configuration.dataDirectory.appendingPathComponent("audit.log").path, sealer: sealer,
                rootSealedSecrets: rootSealedSecrets, databaseRevision: configuration.databaseRevision)
        } catch {
            throw DaemonError("cannot load the store: \(error)")
        }
        var connection = ConnectionOptions()
        connection.handshakeTimeout = configuration.handshakeTimeout
        let server = try await RPCServer.start(
            configuration: RPCServerConfiguration(
                host: configuration.host,
                port: configuration.port,
                tls: tls,
                credentialStore: assembly.credentialStore,
                connection: connection,
                logger: logger,
                interceptors: assembly.interceptors,
                maxConnections: configuration.maxConnections,
                maxHandshakingConnections: configuration.maxHandshakingConnections,
                offload: ServerAssembly.heavyCalls
            ),
            services: assembly.services,
            group: MultiThreadedEventLoopGroup.singleton
        )
        let publisher = assembly.publisher
        logger.info(
            "snapshot loaded",
            metadata: [
                "read_ms": "\(Self.milliseconds(publisher.loadTimes.read))",
                "build_ms": "\(Self.milliseconds(publisher.loadTimes.build))",
            ])
        logger.notice("iamd listening on \(configuration.host):\(server.port) (store revision \(publisher.revision))")
        return Daemon(
            port: server.port, assembly: assembly, certificate: (certificatePath, privateKeyPath), server: server,
            store: store, logger: logger, testMode: configuration.testMode)
    }

    /// Whole milliseconds of `duration`, for the start-up log line.
    private static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The configured certificate and key, or the development ones in `<data-dir>/tls/`, made on first
    /// start through OpenSSL's API so a fresh machine needs nothing but the binary.
    private static func serverCertificate(_ configuration: DaemonConfiguration) throws -> (String, String) {
        switch (configuration.certificatePath, configuration.privateKeyPath) {
        case (let certificate?, let key?):
            return (certificate, key)
        case (nil, nil):
            let directory = configuration.dataDirectory.appendingPathComponent("tls")
            let existed = DevelopmentCertificates(directory: directory).exist
            let files = try DevelopmentCertificates.ensure(in: directory)
            if !existed {
                configuration.logger.notice(
                    "made a development CA and a certificate for localhost, 127.0.0.1 and ::1 in \(directory.path); clients trust \(files.caCertificatePath)"
                )
            }
            return (files.serverCertificatePath, files.serverKeyPath)
        default:
            throw DaemonError(
                "--tls-cert and --tls-key go together: give both, or neither for development certificates")
        }
    }

    /// Open and refused connection counts of the server.
    public var connectionStatistics: RPCServerStatistics { self.server.statistics }

    /// Stops accepting, lets calls in flight finish (GOAWAY + drain), then closes the store: every write a
    /// caller saw acknowledged is committed before the process exits.
    public func shutdown() async {
        await server.shutdown()
        // The key uses the last calls noted, before the store closes.
        await assembly.keyUses.flush()
        do {
            try await store.close()
        } catch {
            logger.error("closing the store failed: \(error)")
        }
    }
}

import Foundation
import IAMClient
import IAMServer
import IAMStoreSQLite
import IAMTestSupport
import Logging

/// A real daemon (TLS, SCRAM, SQLite in a temporary folder) in this process, and a client configuration
/// for it with the root key; `restart()` brings it back on the same port and data.
final class LiveServer: @unchecked Sendable {
    let chain: TestCertificateChain
    let data: URL
    private(set) var daemon: Daemon?
    private(set) var port: Int
    let root: RootCredentials

    private init(chain: TestCertificateChain, data: URL, daemon: Daemon, root: RootCredentials) {
        self.chain = chain
        self.data = data
        self.daemon = daemon
        self.port = daemon.port
        self.root = root
    }

    static func start() async throws -> LiveServer {
        let chain = try await TestCertificateChain.makeOffCooperativePool()
        let data = URL(fileURLWithPath: chain.directory).appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let daemon = try await Daemon.start(try configuration(chain: chain, data: data, port: 0))
        let root = try JSONDecoder().decode(
            RootCredentials.self, from: Data(contentsOf: data.appendingPathComponent("root-credentials.json")))
        return LiveServer(chain: chain, data: data, daemon: daemon, root: root)
    }

    private static func configuration(chain: TestCertificateChain, data: URL, port: Int) throws -> DaemonConfiguration {
        var logger = Logger(label: "iamd-test")
        logger.logLevel = .critical
        var configuration = DaemonConfiguration(
            dataDirectory: data, certificatePath: chain.serverCertificatePath, privateKeyPath: chain.serverKeyPath,
            logger: logger)
        configuration.port = port
        configuration.store = try SQLiteStore(path: data.appendingPathComponent("iam.sqlite").path)
        return configuration
    }

    /// Stops the daemon: GOAWAY to every connection, then the listener and the store close.
    func stop() async {
        await daemon?.shutdown()
        daemon = nil
    }

    /// Starts the daemon again on the same port and data folder.
    func restart() async throws {
        daemon = try await Daemon.start(try Self.configuration(chain: chain, data: data, port: port))
    }

    /// A configuration for this server with the root key and an empty environment (nothing of the
    /// test process's own `IAM_*` variables leaks in).
    func clientConfiguration(credentials: IAMCredentialProvider? = nil) throws -> IAMClientConfiguration {
        var configuration = try IAMClientConfiguration(
            endpoint: "127.0.0.1:\(port)",
            caFile: chain.caCertificatePath,
            credentials: credentials
                ?? .fixed(IAMCredentials(accessKeyID: root.accessKeyId, secretAccessKey: root.secretAccessKey)),
            environment: [:]
        )
        configuration.defaultTimeout = .seconds(60)
        return configuration
    }

    func remove() async {
        await stop()
        try? chain.remove()
    }
}

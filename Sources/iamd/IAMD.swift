import ArgumentParser
import Foundation
import IAMQueryAPI
import IAMServer
import IAMStorePostgres
import IAMStoreSQLite
import Logging
import ServiceLifecycle
import Synchronization

/// `iamd`: the swift-iam server. Parses its options and hands over to IAMServer.
@main
struct IAMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iamd",
        abstract: "The swift-iam server: AWS IAM's policy language over TLS."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 7443
    @Option(help: "Data folder (credential verifiers; root credentials on first start).") var dataDir = "data"
    @Option(
        help:
            "Server certificate chain (PEM). Without it and --tls-key, iamd makes a development CA and certificate in <data-dir>/tls on first start."
    )
    var tlsCert: String?
    @Option(help: "Server private key (PEM); goes with --tls-cert.") var tlsKey: String?
    @Option(help: "CA file for client certificates; turns on mutual TLS.") var clientCa: String?
    @Option(help: "The 12-digit account id of this server's principals.") var accountId = "123456789012"
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"
    @Option(help: "Connections open at once; beyond it a new one is accepted and closed at once (logged).")
    var maxConnections = 16_384
    @Option(
        help:
            "Connections still in the TLS handshake, preface or authentication at once; beyond it a new one is accepted and closed at once (logged)."
    )
    var maxHandshakingConnections = 4_096
    @Option(help: "Seconds from TCP accept by which TLS, the preface and authentication must be done.")
    var handshakeTimeout = 10.0

    @Flag(
        help:
            "Test mode for parity suites written against moto's server mode, on a loopback host only: moto's fixed credentials (FOOBARKEY / FOOBARSECRET) are a root key on the AWS front door, and POST /moto-api/reset deletes every entity. Never on a real server."
    )
    var testMode = false

    func validate() throws {
        if testMode, !TestMode.isLoopback(host) {
            throw ValidationError(
                "--test-mode listens on a loopback address only (127.0.0.1, ::1 or localhost), not '\(host)': it serves fixed credentials and an unauthenticated reset"
            )
        }
        // Checked here so a typo is a usage error, never an overflow trap further on.
        guard (1...10_000_000).contains(maxConnections) else {
            throw ValidationError("--max-connections must be 1...10000000, got \(maxConnections)")
        }
        guard (1...10_000_000).contains(maxHandshakingConnections) else {
            throw ValidationError(
                "--max-handshaking-connections must be 1...10000000, got \(maxHandshakingConnections)")
        }
        guard handshakeTimeout > 0, handshakeTimeout <= 3600 else {
            throw ValidationError("--handshake-timeout must be more than 0 and at most 3600 seconds")
        }
    }
    @Option(
        help:
            "Port of the AWS Query front door (HTTPS, SigV4; the aws CLI, boto3 and the SDKs with --endpoint-url): 0 picks a free one, 'off' disables it."
    )
    var queryPort = "7444"
    @Option(
        help:
            "Key-encryption key (32 bytes, raw or base64) sealing access-key secrets for SigV4. Without it iamd uses, and on first start makes, <data-dir>/kek (mode 0600)."
    )
    var kekFile: String?
    @Option(
        help:
            "The store: 'sqlite' (embedded, <data-dir>/iam.sqlite) or postgres://user@host:port/database for one of several replicas over one PostgreSQL (the password from PGPASSWORD or --store-password-file, never the URL)."
    )
    var store = "sqlite"
    @Option(help: "A file holding the PostgreSQL password (first line); overrides PGPASSWORD.")
    var storePasswordFile: String?

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "iamd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = DaemonConfiguration(
            dataDirectory: URL(fileURLWithPath: dataDir),
            certificatePath: tlsCert,
            privateKeyPath: tlsKey,
            logger: logger
        )
        configuration.host = host
        configuration.port = port
        configuration.clientCAPath = clientCa
        configuration.accountID = accountId
        configuration.maxConnections = maxConnections
        configuration.maxHandshakingConnections = maxHandshakingConnections
        configuration.handshakeTimeout = .milliseconds(Int64((handshakeTimeout * 1000).rounded()))
        Self.raiseDescriptorLimit(toHold: maxConnections, logger: logger)
        configuration.kekPath = kekFile
        configuration.testMode = testMode
        let queryPortNumber: Int?
        if queryPort == "off" {
            queryPortNumber = nil
        } else if let number = Int(queryPort), (0...65535).contains(number) {
            queryPortNumber = number
        } else {
            logger.critical("--query-port must be a port number, 0 or 'off', got '\(queryPort)'")
            throw ExitCode(1)
        }
        // The follower exists once the daemon's snapshot does; Health asks it for the database's revision.
        let follower = FollowerSlot()
        var postgres: PostgresStore?
        if store == "sqlite" {
            // The embedded default: one SQLite file in the data folder (WAL, synchronous=FULL).
            do {
                try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
                configuration.store = try SQLiteStore(
                    path: URL(fileURLWithPath: dataDir).appendingPathComponent("iam.sqlite").path)
            } catch {
                logger.critical("iamd could not open its store in \(dataDir): \(error)")
                throw ExitCode(1)
            }
        } else {
            do {
                let storeConfiguration = try PostgresStoreConfiguration(url: store, password: try storePassword())
                postgres = try await PostgresStore.connect(storeConfiguration, logger: logger)
                configuration.store = postgres
                configuration.databaseRevision = { follower.databaseRevision }
                logger.notice("store: PostgreSQL at \(storeConfiguration.redactedURL)")
            } catch {
                logger.critical("iamd could not open its store \(store): \(error)")
                throw ExitCode(1)
            }
        }
        let daemon: Daemon
        do {
            daemon = try await Daemon.start(configuration)
        } catch {
            logger.critical("iamd could not start: \(error)")
            throw ExitCode(1)
        }
        // One line on stdout that scripts and tests wait for.
        FileHandle.standardOutput.write(Data("listening \(host):\(daemon.port)\n".utf8))
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: daemon)]
        if let postgres {
            let feed = PostgresChangeFollower(store: postgres, publisher: daemon.assembly.publisher, logger: logger)
            follower.set(feed)
            services.append(.init(service: FollowerService(follower: feed)))
        }
        if let queryPortNumber {
            let query: QueryServer
            do {
                query = try await QueryServer.start(
                    configuration: QueryServerConfiguration(
                        host: host, port: queryPortNumber, certificateChainPath: daemon.certificate.chainPath,
                        privateKeyPath: daemon.certificate.keyPath),
                    frontDoor: QueryFrontDoor(assembly: daemon.assembly, testControl: daemon.testControl))
            } catch {
                logger.critical("iamd could not start the AWS front door on \(host):\(queryPortNumber): \(error)")
                await daemon.shutdown()
                throw ExitCode(1)
            }
            FileHandle.standardOutput.write(Data("query listening \(host):\(query.port)\n".utf8))
            if testMode {
                logger.warning(
                    "test mode: \(TestMode.accessKeyID) / \(TestMode.secretAccessKey) is a root key of the front door and POST \(TestMode.resetPath) deletes every entity"
                )
            }
            services.append(.init(service: QueryService(server: query)))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// The PostgreSQL password: the first line of --store-password-file, else PGPASSWORD, else none.
    func storePassword() throws -> String? {
        if let storePasswordFile {
            let text = try String(contentsOfFile: storePasswordFile, encoding: .utf8)
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment["PGPASSWORD"]
    }

    /// Each connection is a file descriptor, and the usual soft limit (1,024) is far below the connection
    /// limit: raise the soft limit towards the hard one, and say so when even that cannot hold them.
    static func raiseDescriptorLimit(toHold connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        // Room for the listener, the store, the audit log and the like.
        let wanted = rlim_t(connections + 256)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        if limit.rlim_cur < wanted {
            logger.warning(
                "the descriptor limit (\(limit.rlim_cur), hard limit \(limit.rlim_max)) holds fewer than --max-connections \(connections); raise it (ulimit -n) or lower the flag"
            )
        }
    }
}

/// Runs the AWS front door's listener until the service group shuts down.
struct QueryService: Service {
    let server: QueryServer

    func run() async throws {
        try? await gracefulShutdown()
        await self.server.shutdown()
    }
}

/// The replica's follower once it exists (it needs the daemon's snapshot, made after the store is opened).
final class FollowerSlot: Sendable {
    private let follower = Mutex<PostgresChangeFollower?>(nil)

    func set(_ follower: PostgresChangeFollower) { self.follower.withLock { $0 = follower } }

    /// The newest revision the database is known to have, for Health's lag.
    var databaseRevision: UInt64? { self.follower.withLock { $0?.databaseRevision.rawValue } }
}

/// Keeps this replica's snapshot following the PostgreSQL change log until the service group shuts down.
struct FollowerService: Service {
    let follower: PostgresChangeFollower

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follower.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}

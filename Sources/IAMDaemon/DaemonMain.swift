public import ArgumentParser
import Foundation
public import IAMDomain
import IAMQueryAPI
import IAMServer
import IAMStoreSQLite
public import Logging
import ServiceLifecycle
import IAMSync

/// `iamd`'s options: every executable that runs the daemon (`iamd`, and `iamd-pg` of `Packages/IAMPostgres`)
/// takes them through `@OptionGroup` and hands them to ``DaemonMain/run(_:stores:)``.
public struct DaemonOptions: ParsableArguments, Sendable {
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
            "The store: 'sqlite' (embedded, <data-dir>/iam.sqlite), or postgres://user@host:port/database for one of several replicas over one PostgreSQL, served by iamd-pg (Packages/IAMPostgres; the password from PGPASSWORD or --store-password-file, never the URL)."
    )
    var store = "sqlite"
    @Option(help: "A file holding the store's password (first line); for PostgreSQL it overrides PGPASSWORD.")
    var storePasswordFile: String?

    /// Options with every default.
    public init() {}

    /// Checks what can be checked before anything starts, so a typo is a usage error.
    public func validate() throws {
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
}

/// A store other than the embedded SQLite one, chosen by the scheme of `--store`'s URL. The main package
/// knows only SQLite; `Packages/IAMPostgres` adds PostgreSQL this way, so the main package never links
/// postgres-nio (and its TLS and crypto packages).
public struct StoreBackend: Sendable {
    /// The URL schemes it serves, lower-case (`postgres`, `postgresql`).
    public var schemes: Set<String>
    /// Opens the store at `url`; `passwordFile` is `--store-password-file`. Errors are shown to the operator.
    public var open: @Sendable (_ url: String, _ passwordFile: String?, _ logger: Logger) async throws -> OpenedStore

    /// Creates a backend.
    public init(
        schemes: Set<String>,
        open: @escaping @Sendable (_ url: String, _ passwordFile: String?, _ logger: Logger) async throws -> OpenedStore
    ) {
        self.schemes = schemes
        self.open = open
    }
}

/// A store a ``StoreBackend`` opened.
public struct OpenedStore: Sendable {
    /// The store.
    public var store: any Store
    /// For a replica over a shared store: makes what keeps the daemon's snapshot following the store, once
    /// that snapshot exists.
    public var follower: (@Sendable (SnapshotPublisher) -> StoreFollower)?

    /// Creates an opened store.
    public init(store: any Store, follower: (@Sendable (SnapshotPublisher) -> StoreFollower)? = nil) {
        self.store = store
        self.follower = follower
    }
}

/// A replica's follower: run beside the daemon until shutdown; Health asks it for the store's revision.
public struct StoreFollower: Sendable {
    /// Follows until its task is cancelled.
    public var run: @Sendable () async -> Void
    /// The newest revision the store is known to have (Health's lag).
    public var databaseRevision: @Sendable () -> UInt64

    /// Creates a follower.
    public init(run: @escaping @Sendable () async -> Void, databaseRevision: @escaping @Sendable () -> UInt64) {
        self.run = run
        self.databaseRevision = databaseRevision
    }
}

/// The daemon's composition: the store, IAMServer's ``Daemon``, the AWS front door and, for a replica, the
/// follower, run in one service group until SIGTERM or SIGINT.
public enum DaemonMain {
    /// Runs the daemon with `options`; `stores` are the stores besides SQLite this executable was built with.
    public static func run(_ options: DaemonOptions, stores: [StoreBackend] = []) async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "iamd")
        guard let level = Logger.Level(rawValue: options.logLevel.lowercased()) else {
            logger.critical(
                "--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(options.logLevel)'"
            )
            throw ExitCode(1)
        }
        logger.logLevel = level
        guard (0...65535).contains(options.port) else {
            logger.critical("--port must be a port number from 0 to 65535, got \(options.port)")
            throw ExitCode(1)
        }
        // A store this build does not serve is refused before anything is made.
        var backend: StoreBackend?
        if options.store != "sqlite" {
            let scheme = options.store.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
            guard let found = stores.first(where: { $0.schemes.contains(scheme) }) else {
                let hint =
                    ["postgres", "postgresql"].contains(scheme)
                    ? ": PostgreSQL replicas run iamd-pg, built from Packages/IAMPostgres" : ""
                logger.critical(
                    "iamd has no store '\(options.store.prefix(while: { $0 != ":" }))': 'sqlite' or a URL of a store this build serves\(hint)"
                )
                throw ExitCode(1)
            }
            backend = found
        }
        // Secrets live in the data folder (the root key's verifiers, the KEK, the store's sealed secrets): a new
        // folder is the owner's alone, and so are the database files in any folder.
        let lock: DataFolderLock
        do {
            if !FileManager.default.fileExists(atPath: options.dataDir) {
                try FileManager.default.createDirectory(
                    atPath: options.dataDir, withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o700])
            }
            lock = try DataFolderLock(directory: options.dataDir)
        } catch {
            logger.critical("iamd cannot use the data folder \(options.dataDir): \(error)")
            throw ExitCode(1)
        }
        var configuration = DaemonConfiguration(
            dataDirectory: URL(fileURLWithPath: options.dataDir),
            certificatePath: options.tlsCert,
            privateKeyPath: options.tlsKey,
            logger: logger
        )
        configuration.host = options.host
        configuration.port = options.port
        configuration.clientCAPath = options.clientCa
        configuration.accountID = options.accountId
        configuration.maxConnections = options.maxConnections
        configuration.maxHandshakingConnections = options.maxHandshakingConnections
        configuration.handshakeTimeout = .milliseconds(Int64((options.handshakeTimeout * 1000).rounded()))
        Self.raiseDescriptorLimit(toHold: options.maxConnections, logger: logger)
        configuration.kekPath = options.kekFile
        configuration.testMode = options.testMode
        let queryPortNumber: Int?
        if options.queryPort == "off" {
            queryPortNumber = nil
        } else if let number = Int(options.queryPort), (0...65535).contains(number) {
            queryPortNumber = number
        } else {
            logger.critical("--query-port must be a port number, 0 or 'off', got '\(options.queryPort)'")
            throw ExitCode(1)
        }
        // A replica's follower exists once the daemon's snapshot does; Health asks it for the store's revision.
        let follower = FollowerSlot()
        var makeFollower: (@Sendable (SnapshotPublisher) -> StoreFollower)?
        if options.store == "sqlite" {
            // The embedded default: one SQLite file in the data folder (WAL, synchronous=FULL).
            do {
                let path = URL(fileURLWithPath: options.dataDir).appendingPathComponent("iam.sqlite").path
                try Self.makePrivate(databaseAt: path)
                configuration.store = try SQLiteStore(path: path)
            } catch {
                logger.critical("iamd could not open its store in \(options.dataDir): \(error)")
                throw ExitCode(1)
            }
        } else if let backend {
            do {
                let opened = try await backend.open(options.store, options.storePasswordFile, logger)
                configuration.store = opened.store
                makeFollower = opened.follower
                if opened.follower != nil { configuration.databaseRevision = { follower.databaseRevision } }
            } catch {
                logger.critical("iamd could not open its store: \(error)")
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
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: daemon)]
        if let makeFollower {
            let feed = makeFollower(daemon.assembly.publisher)
            follower.set(feed)
            services.append(.init(service: FollowerService(follower: feed)))
        }
        var queryLine: String?
        if let queryPortNumber {
            let query: QueryServer
            do {
                query = try await QueryServer.start(
                    configuration: QueryServerConfiguration(
                        host: options.host, port: queryPortNumber, certificateChainPath: daemon.certificate.chainPath,
                        privateKeyPath: daemon.certificate.keyPath),
                    frontDoor: QueryFrontDoor(assembly: daemon.assembly, testControl: daemon.testControl))
            } catch {
                logger.critical(
                    "iamd could not start the AWS front door on \(options.host):\(queryPortNumber): \(error)")
                await daemon.shutdown()
                throw ExitCode(1)
            }
            queryLine = "query listening \(options.host):\(query.port)\n"
            if options.testMode {
                logger.warning(
                    "test mode: \(TestMode.accessKeyID) / \(TestMode.secretAccessKey) is a root key of the front door and POST \(TestMode.resetPath) deletes every entity"
                )
            }
            services.append(.init(service: QueryService(server: query)))
        }
        // The lines on stdout that scripts and tests wait for, once every listener is bound: a supervisor that
        // sees `listening` may count on the server being up.
        FileHandle.standardOutput.write(Data("listening \(options.host):\(daemon.port)\n".utf8))
        if let queryLine { FileHandle.standardOutput.write(Data(queryLine.utf8)) }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        withExtendedLifetime(lock) {}
    }

    /// The database file and its WAL companions readable by the owner alone (SQLite gives new -wal and -shm files
    /// the database file's mode): a new file is made 0600 before SQLite opens it, an existing one made so.
    static func makePrivate(databaseAt path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw DataFolderError("cannot create \(path)") }
        }
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
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
    private let follower = Locked<StoreFollower?>(nil)

    func set(_ follower: StoreFollower) { self.follower.withLock { $0 = follower } }

    /// The newest revision the store is known to have, for Health's lag.
    var databaseRevision: UInt64? { self.follower.withLock { $0?.databaseRevision() } }
}

/// Keeps a replica's snapshot following its store until the service group shuts down.
struct FollowerService: Service {
    let follower: StoreFollower

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.follower.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }
}

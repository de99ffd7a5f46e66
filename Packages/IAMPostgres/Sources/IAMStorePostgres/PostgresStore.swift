import Foundation
public import IAMDomain
public import Logging
import Dispatch
import NIOCore
import PostgresNIO
import IAMSync
import Synchronization

/// Where the PostgreSQL store connects: parsed from `postgres://user@host:port/database`.
public struct PostgresStoreConfiguration: Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The role to log in as.
    public var username: String
    /// The password (from the environment or a file, never the URL or a flag); nil for trust authentication.
    public var password: String?
    /// The database.
    public var database: String
    /// TLS to the server: off (`sslmode=disable`, the default, for a server on loopback or a private
    /// network) or required with the server's certificate and host name verified against the system's
    /// roots (`sslmode=require` or `verify-full`).
    public var requireTLS = false
    /// Connections (each with the thread its transaction bodies run on) at most; a follower's LISTEN connection is extra.
    public var maxConnections: Int = 8
    /// How many change-log revisions are kept behind the newest; older ones are compacted away.
    public var changeLogRetention: UInt64 = 100_000
    /// The least time between two catch-ups of a replica following the others' writes (`follow_spacing_ms=` in the
    /// URL): longer folds more writes into each catch-up, so following costs the replica less CPU, and makes
    /// them visible here later by up to as much.
    public var followSpacing: Duration = .milliseconds(10)

    /// Creates a configuration.
    public init(host: String, port: Int = 5432, username: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses `postgres://user@host:port/database` (or `postgresql://`). A password in the URL is refused:
    /// URLs end up in process listings and logs, so the password comes from `password` instead.
    public init(url text: String, password: String?) throws(IAMError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme,
            ["postgres", "postgresql"].contains(scheme.lowercased()), let host = url.host, !host.isEmpty
        else {
            throw .invalidInput("the store URL must look like postgres://user@host:port/database, got \"\(text)\"")
        }
        guard url.password == nil else {
            throw .invalidInput(
                "the store URL must not carry a password; set PGPASSWORD or use --store-password-file")
        }
        guard let user = url.user, !user.isEmpty else {
            throw .invalidInput("the store URL names no user: postgres://user@host:port/database")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !database.isEmpty else {
            throw .invalidInput("the store URL names no database: postgres://user@host:port/database")
        }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw .invalidInput("the store URL's port \(port) is out of range") }
        self.init(host: host, port: port, username: user, password: password, database: database)
        for item in url.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): self.requireTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): self.requireTLS = true
            case ("follow_spacing_ms", let value):
                guard let milliseconds = Int(value), (1...1000).contains(milliseconds) else {
                    throw .invalidInput("the store URL's follow_spacing_ms must be 1-1000, got \(value)")
                }
                self.followSpacing = .milliseconds(milliseconds)
            default:
                throw .invalidInput(
                    "the store URL takes only sslmode=disable|require|verify-full and follow_spacing_ms=1-1000, got \(item.name)=\(item.value ?? "")"
                )
            }
        }
    }

    /// The URL without any secret, for logs.
    public var redactedURL: String { "postgres://\(self.username)@\(self.host):\(self.port)/\(self.database)" }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            self.requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        var configuration = PostgresConnection.Configuration(
            host: self.host, port: self.port, username: self.username, password: self.password,
            database: self.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }
}

/// The ``Store`` on PostgreSQL (postgres-nio, no ORM), for several `iamd` replicas over one database.
///
/// **Same schema and rules as SQLite.** Entities are rows of one table keyed by kind with the record as JSON;
/// unique indexes on `(kind, name_folded)`, `arn` and `id` make the database, not a replica, pick exactly
/// one winner among racing creators.
///
/// **Revisions.** Every write transaction first locks the `revision` row of `meta` (`SELECT ... FOR
/// UPDATE`), runs its body, appends its change-log rows under `revision + 1`, stores it and commits, with a
/// `pg_notify` that PostgreSQL delivers at commit. The lock makes writers of every replica take turns, so
/// revisions are handed out once, commit in order, and a follower reading "the changes after N" never misses
/// one that commits later under a smaller number. READ COMMITTED is enough under that lock: each statement
/// sees everything committed before the writer got the lock, so quota and delete-conflict checks in
/// ``IAMDirectory`` see the truth. Reads run in REPEATABLE READ READ ONLY transactions: one revision each.
///
/// **Threads.** The protocol's transaction bodies are synchronous closures, and postgres-nio is
/// asynchronous. Each connection belongs to a ``PostgresWorker``, an actor whose executor is a serial
/// `DispatchQueue` of its own (GRDB runs SQLite the same way); a transaction body runs isolated to it and waits
/// there on postgres-nio's futures. The wait parks only that queue's thread, never an event loop (which must
/// answer the futures) or Swift's cooperative pool (two threads on a two-core machine, shared with the RPC
/// server's tasks). Being actor-isolated rather than submitted to a thread pool, the body need not escape,
/// which the protocol's `read` does not allow. The alternative, an asynchronous store protocol, would ripple
/// through ``IAMDirectory`` and the SQLite store for no gain there.
public final class PostgresStore: Store {
    /// The configuration the store connects with.
    public let configuration: PostgresStoreConfiguration
    private let logger: Logger
    private let pool: WorkerPool

    private init(configuration: PostgresStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pool = WorkerPool(
            (0..<max(1, configuration.maxConnections)).map {
                PostgresWorker(id: $0 + 1, configuration: configuration, logger: logger)
            })
    }

    /// Connects, migrates the schema to the current version (replicas starting together take turns under an
    /// advisory lock) and returns the store.
    public static func connect(_ configuration: PostgresStoreConfiguration, logger: Logger) async throws(IAMError)
        -> PostgresStore
    {
        let store = PostgresStore(configuration: configuration, logger: logger)
        do throws(IAMError) {
            try await store.withSession { session throws(IAMError) in try Self.migrate(session) }
        } catch {
            try? await store.close()
            throw error
        }
        return store
    }

    /// Runs `body` on one REPEATABLE READ snapshot. A read that lost its connection (PostgreSQL restarted)
    /// is run once more on a new one: reads have no effects, so the retry is safe.
    public func read<T: Sendable>(_ body: @Sendable (any StoreReader) throws(IAMError) -> T) async throws(IAMError)
        -> T
    {
        try await self.read(prefetchingChangesAfter: nil, body)
    }

    /// Runs `body` like ``read(_:)`` for a catch-up from `revision`. First without a transaction: one statement
    /// reads the page of changes after `revision`, the rows of the users it names, the revision and
    /// `compacted_through` (``ChangePrefetch/oneStatementSQL``), and `body` runs on that alone, which is all a
    /// catch-up over users' changes needs. When `body` asks for anything else (a group, a role, a policy, a key, a
    /// session, or a second page) it is run again in a REPEATABLE READ transaction whose first statement is the
    /// same one.
    public func readChanges<T: Sendable>(
        after revision: Revision, _ body: @Sendable (any StoreReader) throws(IAMError) -> T
    ) async throws(IAMError) -> T {
        if let value = try await self.readChangesInOneStatement(after: revision, body) { return value }
        return try await self.read(prefetchingChangesAfter: revision, body)
    }

    /// How many ``readChanges(after:_:)`` were answered by their one statement.
    package var oneStatementReads: Int { self.oneStatementCount.load(ordering: .relaxed) }
    private let oneStatementCount = Atomic<Int>(0)

    /// `body`'s value read from ``ChangePrefetch/oneStatementSQL`` alone; nil when it needs more, or when the
    /// statement failed (the transaction that follows reconnects and reports).
    private func readChangesInOneStatement<T: Sendable>(
        after revision: Revision, _ body: @Sendable (any StoreReader) throws(IAMError) -> T
    ) async throws(IAMError) -> T? {
        let outcome: Result<T, IAMError>? = try await self.withSession { session throws(IAMError) in
            guard let reader = try? Self.reader(session, changesAfter: revision) else { return nil }
            session.refusesStatements = true
            defer { session.refusesStatements = false }
            do throws(IAMError) {
                return .success(try body(reader))
            } catch {
                return session.refusedStatement ? nil : .failure(error)
            }
        }
        guard let outcome else { return nil }
        if case .success = outcome { self.oneStatementCount.add(1, ordering: .relaxed) }
        return try outcome.get()
    }

    private func read<T: Sendable>(
        prefetchingChangesAfter after: Revision?, _ body: @Sendable (any StoreReader) throws(IAMError) -> T
    ) async throws(IAMError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            let outcome: (result: Result<T, IAMError>, lost: Bool) = try await self.withSession {
                session throws(IAMError) in
                let result = Result { () throws(IAMError) -> T in
                    // BEGIN is not waited for: the next statement's answer comes after its own (see
                    // PostgresSession.send). That statement takes the snapshot every later one reads.
                    try session.send("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    do throws(IAMError) {
                        let value = try body(try Self.reader(session, changesAfter: after))
                        // Not waited for: the rows are read, a read-only COMMIT has nothing left to refuse, and the
                        // connection's next statement queues behind it.
                        try session.send("COMMIT")
                        return value
                    } catch {
                        if !session.connectionLost { _ = try? session.run("ROLLBACK") }
                        throw error
                    }
                }
                return (result, session.connectionLost)
            }
            if case .failure = outcome.result, outcome.lost, attempt < 2 { continue }
            return try outcome.result.get()
        }
    }

    /// Runs `body` in one transaction under the revision lock; returns when it is committed.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws(IAMError) -> T)
        async throws(IAMError)
        -> Committed<T>
    {
        try await self.withSession { session throws(IAMError) -> Committed<T> in
            try session.send("BEGIN ISOLATION LEVEL READ COMMITTED")
            do throws(IAMError) {
                let revision = try Self.readRevision(session, lock: true)
                let transaction = PostgresTransaction(session, revision: revision)
                let value: T
                do throws(IAMError) {
                    value = try body(transaction)
                } catch {
                    try session.run("ROLLBACK")
                    throw error
                }
                guard !transaction.pending.isEmpty else {
                    // Only noted key uses (if anything): kept, at the same revision and without a notification.
                    try session.run(transaction.notedUse ? "COMMIT" : "ROLLBACK")
                    return Committed(value: value, revision: revision, changes: [])
                }
                let next = revision.next
                var values: [SQLValue] = [.int(Int64(next.rawValue))]
                var rows: [String] = []
                var changes: [Change] = []
                for (seq, entry) in transaction.pending.enumerated() {
                    let columns = entry.entity.columns
                    let base = values.count
                    rows.append("($1, $\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4))")
                    values += [.int(Int64(seq)), .text(entry.kind.rawValue), .text(columns.kind), .text(columns.id)]
                    changes.append(Change(revision: next, kind: entry.kind, entity: entry.entity))
                }
                // Sent without waiting, as their results are not needed: COMMIT's answer comes after theirs, and if
                // one failed (the transaction then ends in a rollback), the COMMIT's run throws its error.
                try session.send(
                    "INSERT INTO change_log (revision, seq, kind, entity_kind, entity_id) VALUES "
                        + rows.joined(separator: ", "), values)
                try session.send("UPDATE meta SET value = $1 WHERE key = 'revision'", [.int(Int64(next.rawValue))])
                // Delivered at COMMIT only, so a woken follower always finds the change.
                try session.send(
                    "SELECT pg_notify('\(PostgresSchema.channel)', $1)", [.text(String(next.rawValue))])
                try session.run("COMMIT")
                return Committed(value: value, revision: next, changes: changes)
            } catch {
                if !session.connectionLost { _ = try? session.run("ROLLBACK") }
                throw error
            }
        }
    }

    /// Closes every connection; later calls fail with `ServiceFailure`.
    public func close() async throws(IAMError) {
        for worker in self.pool.close() { await worker.disconnect() }
    }

    /// Deletes change-log entries more than ``PostgresStoreConfiguration/changeLogRetention`` revisions behind
    /// the newest and records how far it went (`compacted_through`), so a follower that needs them learns to
    /// rebuild instead of skipping them. Returns the new `compacted_through`.
    @discardableResult
    public func compactChangeLog(keeping retention: UInt64? = nil) async throws(IAMError) -> Revision {
        let keep = retention ?? self.configuration.changeLogRetention
        return try await self.withSession { session throws(IAMError) -> Revision in
            try session.run("BEGIN ISOLATION LEVEL READ COMMITTED")
            do throws(IAMError) {
                let current = try Self.readRevision(session, lock: false)
                let through = current.rawValue > keep ? current.rawValue - keep : 0
                let old = try PostgresTransaction(session, revision: current).meta("compacted_through")
                guard through > old else {
                    try session.run("ROLLBACK")
                    return Revision(old)
                }
                // Marked first: a reader that still sees the old rows is told they are going, not handed a gap.
                try session.run(
                    "UPDATE meta SET value = $1 WHERE key = 'compacted_through'", [.int(Int64(through))])
                try session.run("DELETE FROM change_log WHERE revision <= $1", [.int(Int64(through))])
                try session.run("COMMIT")
                return Revision(through)
            } catch {
                if !session.connectionLost { _ = try? session.run("ROLLBACK") }
                throw error
            }
        }
    }

    /// The message of the error ``StoreReader/changes(after:limit:)`` throws when the entries were compacted.
    static let compactedMarker = "change log compacted"

    static func compactedError(after: Revision, compactedThrough: Revision) -> IAMError {
        .serviceFailure(
            "\(compactedMarker): entries after \(after) are needed but those through \(compactedThrough) are gone")
    }

    /// Whether `error` says the change-log entries a reader asked for were compacted away (rebuild instead).
    public static func isCompacted(_ error: IAMError) -> Bool {
        error.code == .serviceFailure && error.message.hasPrefix(compactedMarker)
    }

    // MARK: Sessions on the thread pool

    /// Takes a worker, runs `body` isolated to it (on its queue's thread) with its connection, and gives the
    /// worker back.
    private func withSession<R: Sendable>(_ body: @Sendable (PostgresSession) throws(IAMError) -> R)
        async throws(IAMError) -> R
    {
        let worker = try await self.pool.acquire()
        defer { self.pool.release(worker) }
        return try await worker.run(body)
    }

    static func readRevision(_ session: PostgresSession, lock: Bool) throws(IAMError) -> Revision {
        let sql = "SELECT value FROM meta WHERE key = 'revision'" + (lock ? " FOR UPDATE" : "")
        guard let row = try session.run(sql).first else {
            throw .serviceFailure("database has no revision row")
        }
        return Revision(UInt64(max(0, try decodeRow(row, Int64.self))))
    }

    /// A reader of the snapshot `session`'s next statement takes. That statement reads the revision and
    /// `compacted_through`, and with `after` also the page of changes after it and the rows of the users they
    /// name (``ChangePrefetch/oneStatement(_:after:limit:)``), which the reader answers from.
    static func reader(_ session: PostgresSession, changesAfter after: Revision?) throws(IAMError)
        -> PostgresTransaction
    {
        guard let after else {
            let (revision, compacted) = try Self.readRevisionAndCompaction(session)
            return PostgresTransaction(session, revision: revision, compactedThrough: compacted)
        }
        let read = try ChangePrefetch.oneStatement(session, after: after, limit: Self.changePage)
        return PostgresTransaction(
            session, revision: read.revision, compactedThrough: read.compactedThrough, prefetched: read.prefetch)
    }

    /// The revision and `compacted_through` in one statement: a follower's catch-up needs both, and each
    /// statement is a round trip.
    static func readRevisionAndCompaction(_ session: PostgresSession) throws(IAMError) -> (Revision, UInt64) {
        var revision: Int64?
        var compacted: Int64 = 0
        for row in try session.run("SELECT key, value FROM meta WHERE key IN ('revision', 'compacted_through')") {
            let (key, value) = try decodeRow(row, (String, Int64).self)
            if key == "revision" { revision = value } else { compacted = value }
        }
        guard let revision else { throw .serviceFailure("database has no revision row") }
        return (Revision(UInt64(max(0, revision))), UInt64(max(0, compacted)))
    }

    private static func migrate(_ session: PostgresSession) throws(IAMError) {
        try session.run("BEGIN")
        do throws(IAMError) {
            try session.run("SELECT pg_advisory_xact_lock($1)", [.int(PostgresSchema.migrationLock)])
            try session.run("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)")
            var applied = Set<String>()
            for row in try session.run("SELECT name FROM schema_migrations") {
                applied.insert(try decodeRow(row, String.self))
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try session.run(statement) }
                try session.run("INSERT INTO schema_migrations (name) VALUES ($1)", [.text(migration.name)])
            }
            try session.run("COMMIT")
        } catch {
            if !session.connectionLost { _ = try? session.run("ROLLBACK") }
            throw error
        }
    }

    // MARK: Errors

    /// Whether `error` means the connection is unusable (as opposed to the server refusing a statement).
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return !(error is IAMError) }
        return error.code != .server
    }

    static func map(_ error: any Error) -> IAMError {
        if let error = error as? IAMError { return error }
        if let error = error as? PSQLError {
            if error.code == .server, let info = error.serverInfo {
                let state = info[.sqlState] ?? "?"
                // 23505 unique_violation: the backstop behind the ON CONFLICT checks.
                if state == "23505" {
                    return IAMError(code: .entityAlreadyExists, message: "The entity already exists.")
                }
                return .serviceFailure("database: \(state) \(info[.message] ?? "")")
            }
            return .serviceFailure("database connection: \(error.code)")
        }
        return .serviceFailure("database: \(error)")
    }
}

/// One connection and the serial queue its transactions run on: the executor of the actor, so a body
/// isolated to it runs on that queue's thread and may block there (see ``PostgresStore``). A broken
/// connection is dropped after the transaction that found it broken and made anew by the next, which is how the
/// store recovers when PostgreSQL restarts.
actor PostgresWorker {
    private let executor: QueueExecutor
    private let id: Int
    private let configuration: PostgresStoreConfiguration
    private let logger: Logger
    private var connection: PostgresConnection?

    init(id: Int, configuration: PostgresStoreConfiguration, logger: Logger) {
        self.id = id
        self.executor = QueueExecutor(DispatchQueue(label: "iam-store-postgres-\(id)"))
        self.configuration = configuration
        self.logger = logger
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor { self.executor.asUnownedSerialExecutor() }

    /// Runs `body` with a session on this worker's connection, connecting first when there is none.
    func run<R: Sendable>(_ body: @Sendable (PostgresSession) throws(IAMError) -> R) async throws(IAMError) -> R {
        let connection = try await self.connected()
        let session = PostgresSession(connection: connection, logger: self.logger)
        defer {
            if session.connectionLost || connection.isClosed {
                self.connection = nil
                Self.close(connection)
            }
        }
        do {
            let result = try body(session)
            session.flush()
            return result
        } catch {
            session.discard()
            throw error
        }
    }

    private func connected() async throws(IAMError) -> PostgresConnection {
        if let connection = self.connection, !connection.isClosed { return connection }
        self.connection = nil
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try self.configuration.connectionConfiguration(), id: self.id, logger: self.logger)
            self.connection = connection
            return connection
        } catch {
            throw .serviceFailure(
                "cannot connect to PostgreSQL at \(self.configuration.redactedURL): \(PostgresStore.map(error).message)"
            )
        }
    }

    /// Closes the connection, if any.
    func disconnect() async {
        if let connection = self.connection { try? await connection.close() }
        self.connection = nil
    }

    /// Closes `connection` without waiting, holding it until it is closed: postgres-nio asserts (in debug
    /// builds, which is how tests run) that a connection is closed before it is freed, and a test process that
    /// trips it dies with every test in it.
    static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    deinit {
        // A store dropped without close() (a test that failed half-way, a daemon leaving on an error).
        if let connection = self.connection, !connection.isClosed { Self.close(connection) }
    }
}

/// A serial executor on a `DispatchQueue` (GRDB's `DispatchQueueActor` does the same on Linux).
final class QueueExecutor: SerialExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    init(_ queue: DispatchQueue) { self.queue = queue }

    func enqueue(_ job: UnownedJob) {
        self.queue.async { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    func checkIsolated() { dispatchPrecondition(condition: .onQueue(self.queue)) }
}

/// The workers, each lent to one transaction at a time; callers beyond them wait their turn.
final class WorkerPool: Sendable {
    private struct State {
        var idle: [PostgresWorker]
        var closed = false
        var waiters: [CheckedContinuation<PostgresWorker?, Never>] = []
    }

    private let all: [PostgresWorker]
    private let state: Locked<State>

    init(_ workers: [PostgresWorker]) {
        self.all = workers
        self.state = Locked(State(idle: workers))
    }

    func acquire() async throws(IAMError) -> PostgresWorker {
        let worker = await withCheckedContinuation { (continuation: CheckedContinuation<PostgresWorker?, Never>) in
            let now = self.state.withLock { state -> PostgresWorker?? in
                if state.closed { return .some(nil) }
                if let worker = state.idle.popLast() { return .some(worker) }
                state.waiters.append(continuation)
                return .none
            }
            if let now { continuation.resume(returning: now) }
        }
        guard let worker else { throw .serviceFailure("the PostgreSQL store is closed") }
        return worker
    }

    func release(_ worker: PostgresWorker) {
        let waiter = self.state.withLock { state -> CheckedContinuation<PostgresWorker?, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(worker)
            return nil
        }
        waiter?.resume(returning: worker)
    }

    /// Refuses later callers, wakes the waiting ones with a refusal, and returns every worker to disconnect.
    func close() -> [PostgresWorker] {
        let waiters = self.state.withLock { state in
            state.closed = true
            state.idle = []
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        return self.all
    }
}

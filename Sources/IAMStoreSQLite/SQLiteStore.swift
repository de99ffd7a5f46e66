import Foundation
import GRDB
public import IAMDomain
import IAMSync

/// The embedded default ``Store``: one SQLite file through GRDB's `DatabasePool` in WAL mode with
/// `synchronous=FULL`, so an acknowledged write survives `kill -9` and power loss.
///
/// Entities are rows with indexed columns (kind, id, case-folded name, path, ARN, boundary) and the whole
/// record as JSON, so new fields need no migration; a unique index on `(kind, name_folded)` makes the
/// case-insensitive name rule hold even if a check were missed.
///
/// **Group commit.** Writes queue up; one drainer takes every queued write and runs them in one SQLite
/// transaction, each inside its own savepoint (a failing write rolls back to its savepoint alone). Each
/// successful write still gets its own revision and change-log entries, but the batch costs one fsync,
/// and a caller is answered only after the COMMIT that made its write durable.
public final class SQLiteStore: Store {
    private let pool: DatabasePool
    private let queue: Locked<WriteQueue>

    /// The largest number of writes one transaction carries.
    public static let maxBatch = 128

    /// Opens (creating when needed) the database at `path` and migrates it to the current schema.
    public init(path: String) throws(IAMError) {
        var configuration = Configuration()
        configuration.label = "iam-store"
        configuration.prepareDatabase { db in
            // WAL is DatabasePool's default; FULL makes every commit durable, not only consistent.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            self.pool = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(self.pool)
        } catch {
            throw Self.map(error)
        }
        self.queue = Locked(WriteQueue())
    }

    /// Runs `body` on a WAL snapshot; readers never wait for the writer.
    public func read<T: Sendable>(_ body: @Sendable (any StoreReader) throws(IAMError) -> T) async throws(IAMError)
        -> T
    {
        do {
            return try await self.pool.read { db in
                let transaction = try SQLiteTransaction(db)
                return try body(transaction)
            }
        } catch {
            throw Self.map(error)
        }
    }

    /// Queues `body` for the next group commit and returns when it is durable.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws(IAMError) -> T)
        async throws(IAMError)
        -> Committed<T>
    {
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let request = WriteRequest(
                body: { writer throws(IAMError) in try body(writer) }, continuation: continuation)
            let startDrainer = self.queue.withLock { queue in
                queue.pending.append(request)
                defer { queue.draining = true }
                return !queue.draining
            }
            if startDrainer {
                Task { await self.drain() }
            }
        }
        switch outcome {
        case .success(let value, let revision, let changes):
            // The body returned a T; the erasure only carried it through the queue.
            return Committed(value: value as! T, revision: revision, changes: changes)
        case .failure(let error):
            throw error
        }
    }

    /// Closes the database; later calls fail with `ServiceFailure`. The WAL is checkpointed into the database file
    /// first (TRUNCATE), so after a clean shutdown `iam.sqlite` alone holds everything: the pool's read-only
    /// connections, closed last, could not checkpoint it, and a cold copy of the file alone missed the data.
    public func close() async throws(IAMError) {
        do {
            try await self.pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try self.pool.close()
        } catch {
            throw Self.map(error)
        }
    }

    // MARK: Group commit

    private enum Outcome: Sendable {
        case success(any Sendable, Revision, [Change])
        case failure(IAMError)
    }

    private struct WriteRequest: Sendable {
        var body: @Sendable (any StoreWriter) throws(IAMError) -> any Sendable
        var continuation: CheckedContinuation<Outcome, Never>
    }

    private struct WriteQueue: Sendable {
        var pending: [WriteRequest] = []
        var draining = false
    }

    private func drain() async {
        while true {
            let batch = self.queue.withLock { queue -> [WriteRequest] in
                let batch = Array(queue.pending.prefix(Self.maxBatch))
                queue.pending.removeFirst(batch.count)
                if batch.isEmpty { queue.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let outcomes: [Outcome]
            do {
                outcomes = try await self.pool.writeWithoutTransaction { db in
                    var outcomes: [Outcome] = []
                    try db.inTransaction(.immediate) {
                        var revision = try Schema.revision(db)
                        for request in batch {
                            outcomes.append(try Self.run(request, db: db, revision: &revision))
                        }
                        try db.cachedStatement(sql: "UPDATE meta SET value = ? WHERE key = 'revision'")
                            .execute(arguments: [revision.rawValue])
                        return .commit
                    }
                    return outcomes
                }
            } catch {
                // The COMMIT (or BEGIN) failed: nothing of the batch is durable.
                let failure = Self.map(error)
                for request in batch { request.continuation.resume(returning: .failure(failure)) }
                continue
            }
            for (request, outcome) in zip(batch, outcomes) { request.continuation.resume(returning: outcome) }
        }
    }

    /// Runs one write inside its own savepoint, so its failure leaves the batch's other writes intact.
    private static func run(_ request: WriteRequest, db: Database, revision: inout Revision) throws -> Outcome {
        var outcome = Outcome.failure(.serviceFailure("write did not run"))
        let next = revision.next
        // A savepoint that cannot be opened or released throws out of here and fails the whole batch.
        try db.inSavepoint {
            let transaction = try SQLiteTransaction(db, revision: revision)
            do {
                let value = try request.body(transaction)
                guard !transaction.pending.isEmpty else {
                    outcome = .success(value, revision, [])
                    return .commit
                }
                var changes: [Change] = []
                for (seq, entry) in transaction.pending.enumerated() {
                    let columns = entry.entity.columns
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO change_log (revision, seq, kind, entity_kind, entity_id)
                            VALUES (?, ?, ?, ?, ?)
                            """
                    ).execute(arguments: [next.rawValue, seq, entry.kind.rawValue, columns.kind, columns.id])
                    changes.append(Change(revision: next, kind: entry.kind, entity: entry.entity))
                }
                outcome = .success(value, next, changes)
                return .commit
            } catch {
                outcome = .failure(map(error))
                return .rollback
            }
        }
        if case .success(_, let produced, _) = outcome, produced == next { revision = next }
        return outcome
    }

    static func map(_ error: any Error) -> IAMError {
        if let error = error as? IAMError { return error }
        if let error = error as? DatabaseError,
            error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
                || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return IAMError(code: .entityAlreadyExists, message: "The entity already exists.")
        }
        return .serviceFailure("database: \(error)")
    }
}

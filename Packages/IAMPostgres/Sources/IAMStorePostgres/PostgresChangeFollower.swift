public import IAMDomain
public import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Keeps one replica's authorization snapshot following the database: other replicas' writes reach it
/// without anyone asking.
///
/// The change log is the truth and notifications are only a prompt: `LISTEN` on the store's channel wakes
/// a catch-up ("every change after my revision") at once, and a poll every ``pollInterval`` catches up
/// anyway, because a notification can be lost (a dropped connection, a replica that was down). When the
/// LISTEN connection breaks (PostgreSQL restarted), the follower reconnects with backoff and catches up from
/// where its snapshot was. A replica so far behind that the entries it needs were compacted rebuilds its
/// snapshot from the tables. Every ``compactionInterval`` it also compacts the change log (idempotent, so
/// every replica may).
public final class PostgresChangeFollower: Sendable {
    private let store: PostgresStore
    private let publisher: SnapshotPublisher
    private let logger: Logger
    /// How often the follower catches up without a notification.
    public let pollInterval: Duration
    /// How often it compacts the change log; nil never.
    public let compactionInterval: Duration?
    private let newestKnown = Atomic<UInt64>(0)
    private let connected = Atomic<Bool>(false)

    /// Creates a follower of `store` feeding `publisher`; ``run()`` does the work.
    public init(
        store: PostgresStore, publisher: SnapshotPublisher, logger: Logger, pollInterval: Duration = .seconds(1),
        compactionInterval: Duration? = .seconds(60)
    ) {
        self.store = store
        self.publisher = publisher
        self.logger = logger
        self.pollInterval = pollInterval
        self.compactionInterval = compactionInterval
        self.newestKnown.store(publisher.revision.rawValue, ordering: .relaxed)
    }

    /// The newest revision the database is known to have: from notifications and catch-ups.
    public var databaseRevision: Revision {
        Revision(max(self.newestKnown.load(ordering: .relaxed), self.publisher.revision.rawValue))
    }

    /// How many revisions the replica's snapshot is behind the newest the database is known to have.
    public var lag: UInt64 {
        let current = self.publisher.revision.rawValue
        let newest = self.newestKnown.load(ordering: .relaxed)
        return newest > current ? newest - current : 0
    }

    /// Whether the LISTEN connection is up.
    public var isListening: Bool { self.connected.load(ordering: .relaxed) }

    private func note(_ revision: UInt64) {
        var current = self.newestKnown.load(ordering: .relaxed)
        while revision > current {
            let (exchanged, original) = self.newestKnown.compareExchange(
                expected: current, desired: revision, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Follows until the task is cancelled.
    public func run() async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try self.store.configuration.connectionConfiguration(), id: 0, logger: self.logger)
                do {
                    try await connection.listen(on: PostgresSchema.channel) { notifications in
                        self.connected.store(true, ordering: .relaxed)
                        backoff = .milliseconds(100)
                        try await self.follow(notifications)
                    }
                } catch {
                    self.connected.store(false, ordering: .relaxed)
                    try? await connection.close()
                    throw error
                }
                self.connected.store(false, ordering: .relaxed)
                try? await connection.close()
            } catch {
                guard !Task.isCancelled else { break }
                self.logger.warning(
                    "replica: lost the PostgreSQL change feed, reconnecting",
                    metadata: ["error": "\(PostgresStore.map(error).message)"])
            }
            guard (try? await Task.sleep(for: backoff)) != nil else { break }
            backoff = min(backoff * 2, .seconds(2))
        }
    }

    private struct FeedEnded: Error {}

    private func follow(_ notifications: PostgresNotificationSequence) async throws {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        // LISTEN is active: whatever committed before it is found by this first catch-up.
        wake.yield()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await notification in notifications {
                    if let revision = UInt64(notification.payload) { self.note(revision) }
                    wake.yield()
                }
                throw FeedEnded()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: self.pollInterval)
                    wake.yield()
                }
            }
            if let interval = self.compactionInterval {
                group.addTask {
                    while true {
                        try await Task.sleep(for: interval)
                        do throws(IAMError) {
                            try await self.store.compactChangeLog()
                        } catch {
                            self.logger.warning("replica: compacting the change log failed: \(error.message)")
                        }
                    }
                }
            }
            group.addTask {
                for await _ in wakes {
                    await self.catchUp()
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// Moves the snapshot to the database's newest revision; rebuilds it when the changes it needs are gone.
    /// Failures are logged: the next wake-up or poll tries again.
    public func catchUp() async {
        do throws(IAMError) {
            let reached = try await self.publisher.catchUp()
            self.note(reached.rawValue)
        } catch  where PostgresStore.isCompacted(error) {
            self.logger.notice("replica: too far behind the compacted change log, rebuilding the snapshot")
            do throws(IAMError) {
                self.note(try await self.publisher.rebuild().rawValue)
            } catch {
                self.logger.warning("replica: rebuilding the snapshot failed: \(error.message)")
            }
        } catch {
            self.logger.warning("replica: catching up failed: \(error.message)")
        }
    }
}

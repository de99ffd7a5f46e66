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
/// where its snapshot was. Catch-ups start at most every ``catchUpSpacing``: under a steady stream of writes
/// each would otherwise carry one change and cost a transaction of its own (about 0.8 ms of the replica's
/// CPU per write at 500 writes/s, taken from its checks), while spaced ones carry a batch. When catch-ups take
/// long (the replica busy with checks, PostgreSQL slow), the spacing grows with them, to ``busySpacingFactor``
/// times the last one's duration (at most ``maxCatchUpSpacing``): following then takes at most about a
/// quarter of the replica's time, and each catch-up carries more changes for the same cost. A replica so far
/// behind that the entries it needs were compacted rebuilds its snapshot from the tables. Every
/// ``compactionInterval`` it also compacts the change log (idempotent, so every replica may).
public final class PostgresChangeFollower: Sendable {
    private let store: PostgresStore
    private let publisher: SnapshotPublisher
    private let logger: Logger
    /// How often the follower catches up without a notification.
    public let pollInterval: Duration
    /// How often it compacts the change log; nil never.
    public let compactionInterval: Duration?
    /// The least time between the starts of two catch-ups; what a write waits at most, beyond the catch-up
    /// itself, to become visible here, while catch-ups are quick.
    public let catchUpSpacing: Duration
    /// The most time between the starts of two catch-ups however long the last one took; by default
    /// ``defaultMaxCatchUpSpacing(for:)`` of ``catchUpSpacing``.
    public let maxCatchUpSpacing: Duration
    /// The next catch-up starts no sooner than this many times the last one's duration after the last one ended.
    public static let busySpacingFactor = 3

    /// The largest spacing a follower spaced `catchUpSpacing` apart grows to: 4 times that, and at least 40 ms,
    /// so a replica with the default 10 ms spacing waits at most 40 ms between catch-ups however busy it is.
    public static func defaultMaxCatchUpSpacing(for catchUpSpacing: Duration) -> Duration {
        max(.milliseconds(40), catchUpSpacing * 4)
    }
    private let newestKnown = Atomic<UInt64>(0)
    private let connected = Atomic<Bool>(false)

    /// Creates a follower of `store` feeding `publisher`; ``run()`` does the work.
    public init(
        store: PostgresStore, publisher: SnapshotPublisher, logger: Logger, pollInterval: Duration = .seconds(1),
        compactionInterval: Duration? = .seconds(60), catchUpSpacing: Duration = .milliseconds(10),
        maxCatchUpSpacing: Duration? = nil
    ) {
        self.store = store
        self.publisher = publisher
        self.logger = logger
        self.pollInterval = pollInterval
        self.compactionInterval = compactionInterval
        self.catchUpSpacing = catchUpSpacing
        self.maxCatchUpSpacing = max(
            catchUpSpacing, maxCatchUpSpacing ?? Self.defaultMaxCatchUpSpacing(for: catchUpSpacing))
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
        var current = self.newestKnown.load(ordering: .sequentiallyConsistent)
        while revision > current {
            let (exchanged, original) = self.newestKnown.compareExchange(
                expected: current, desired: revision, ordering: .sequentiallyConsistent)
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
                    try await self.follow(connection) {
                        self.connected.store(true, ordering: .relaxed)
                        backoff = .milliseconds(100)
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

    /// Set while a wake-up for a notified revision is on its way to the catch-up loop, and until that loop is
    /// about to catch up: notifications meanwhile only note their revision, which that catch-up will read.
    private let wakePending = Atomic<Bool>(false)

    /// Listens on `connection` and catches up on its notifications, polls and start, until the connection
    /// closes; `listening` runs once LISTEN is in place.
    private func follow(_ connection: PostgresConnection, listening: () -> Void) async throws {
        // A wake says whether it must catch up (a poll, the first one) or only if a notification named a revision
        // the snapshot does not have yet.
        let (wakes, wake) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1))
        // On the connection's event loop, once for every write on any replica: it wakes the catch-up loop only
        // when none is pending, so a burst of writes costs one task wake-up, not one each (at 500 writes/s a
        // wake-up per notification took more of the replica's time than the catch-ups themselves).
        let listener = connection.addListener(channel: PostgresSchema.channel) { _, notification in
            guard let revision = UInt64(notification.payload) else {
                wake.yield(true)
                return
            }
            self.note(revision)
            if revision > self.publisher.revision.rawValue,
                !self.wakePending.exchange(true, ordering: .sequentiallyConsistent)
            {
                wake.yield(false)
            }
        }
        defer { listener.stop() }
        _ = try await connection.query(
            PostgresQuery(unsafeSQL: "LISTEN \"\(PostgresSchema.channel)\""), logger: self.logger)
        listening()
        // LISTEN is active: whatever committed before it is found by this first catch-up.
        wake.yield(true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // A future's wait ignores cancellation: closing the connection is what ends it when the
                // follower stops (run() would close it next anyway).
                try await withTaskCancellationHandler {
                    try await connection.closeFuture.get()
                } onCancel: {
                    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                }
                throw FeedEnded()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: self.pollInterval)
                    wake.yield(true)
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
                let clock = ContinuousClock()
                var notBefore: ContinuousClock.Instant?
                for await always in wakes {
                    if !always {
                        // Cleared before looking, so a notification noted after the look wakes this loop again.
                        self.wakePending.store(false, ordering: .sequentiallyConsistent)
                        if self.publisher.revision.rawValue >= self.newestKnown.load(ordering: .sequentiallyConsistent)
                        {
                            continue
                        }
                    }
                    if let notBefore, notBefore > clock.now {
                        try await Task.sleep(until: notBefore, clock: clock)
                    }
                    // Notifications from here on wake the loop again; earlier ones are read by this catch-up.
                    self.wakePending.store(false, ordering: .sequentiallyConsistent)
                    let start = clock.now
                    await self.catchUp()
                    notBefore = Self.nextStart(
                        after: start, end: clock.now, spacing: self.catchUpSpacing, maxSpacing: self.maxCatchUpSpacing)
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// When the catch-up after one that ran from `start` to `end` may start: `spacing` after `start`, or
    /// ``busySpacingFactor`` times its duration after `end` when that is later, and never more than `maxSpacing`
    /// after `start`.
    public static func nextStart(
        after start: ContinuousClock.Instant, end: ContinuousClock.Instant, spacing: Duration, maxSpacing: Duration
    ) -> ContinuousClock.Instant {
        let busy = end + (end - start) * Self.busySpacingFactor
        return min(max(start + spacing, busy), start + maxSpacing)
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

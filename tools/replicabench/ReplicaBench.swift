import ArgumentParser
import Foundation
import IAMClient
import IAMWire

/// `iam-replica-bench`: the drivers of tools/benchmarks/replicas.sh (issue 11's speed figures). A client of
/// real iamd replicas over the wire; it links no server or store code.
@main
struct ReplicaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-replica-bench",
        abstract: "Drivers for the PostgreSQL replica benchmarks.",
        subcommands: [
            CreateUsers.self, DeleteUsers.self, TagWrites.self, WriteLoad.self, Propagation.self,
            HealthRevision.self,
        ]
    )
}

/// Where a replica is and whom to call it as.
struct Target: ParsableArguments {
    @Option(help: "The CA file that signed the replicas' certificate.") var ca: String
    @Option(help: "iamd's root-credentials.json (accessKeyId, secretAccessKey).") var credentials: String
    @Option(help: "A prefix for the user names this run creates (unique per run).") var prefix = "bench"

    func client(_ endpoint: String) throws -> IAMClient {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: credentials)))
        guard let object = json as? [String: Any], let id = object["accessKeyId"] as? String,
            let secret = object["secretAccessKey"] as? String
        else { throw ValidationError("\(credentials) has no accessKeyId/secretAccessKey") }
        var configuration = try IAMClientConfiguration(
            endpoint: endpoint, caFile: ca,
            credentials: .fixed(IAMCredentials(accessKeyID: id, secretAccessKey: secret)),
            environment: [:])
        configuration.retry.maximumAttempts = 1
        return IAMClient(configuration: configuration)
    }
}

func createUser(_ client: IAMClient, _ name: String) async throws -> UInt64 {
    var request = CreateUserRequest()
    request.userName = name
    return try await client.createUser(request).revision
}

/// One write that adds no entity: IAM allows 5,000 users per account, so the rate-driven and seeding writes
/// retag a fixed set of users instead of creating new ones. Each is a revision, a change-log row and a
/// snapshot update on every replica, as a CreateUser is.
func tagUser(_ client: IAMClient, _ name: String, _ value: Int) async throws -> UInt64 {
    try await client.tagUser(TagUserRequest(userName: name, tags: [Tag(key: "bench", value: String(value))])).revision
}

/// Runs `body(index)` for every index below `count` from `concurrency` writers; returns the failures.
func closedLoop(count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws
    -> Int
{
    try await withThrowingTaskGroup(of: Int.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var errors = 0
                for index in stride(from: worker, to: count, by: concurrency) {
                    do { try await body(index) } catch { errors += 1 }
                }
                return errors
            }
        }
        return try await group.reduce(0, +)
    }
}

/// The nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Closed loop: COUNT CreateUser calls from CONCURRENCY writers; prints the rate.
struct CreateUsers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "CreateUser/s with N concurrent writers.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica.") var endpoint: String
    @Option(help: "Users to create.") var count = 10_000
    @Option(help: "Concurrent writers (calls in flight).") var concurrency = 16

    func run() async throws {
        let client = try target.client(endpoint)
        let clock = ContinuousClock()
        let start = clock.now
        let prefix = target.prefix
        let errors = try await closedLoop(count: count, concurrency: concurrency) { index in
            _ = try await createUser(client, "\(prefix)-\(index)")
        }
        let elapsed = seconds(clock.now - start)
        await client.close()
        print(
            "created=\(count - errors) errors=\(errors) seconds=\(String(format: "%.2f", elapsed)) creates_per_s=\(String(format: "%.0f", Double(count - errors) / elapsed))"
        )
    }
}

/// Closed loop: deletes the users CreateUsers made with the same prefix and count (between runs, so the
/// account stays under IAM's 5,000-users quota). Not a figure.
struct DeleteUsers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete the users create-users made.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica.") var endpoint: String
    @Option(help: "Users to delete.") var count = 10_000
    @Option(help: "Concurrent writers (calls in flight).") var concurrency = 16

    func run() async throws {
        let client = try target.client(endpoint)
        let prefix = target.prefix
        let errors = try await closedLoop(count: count, concurrency: concurrency) { index in
            var request = DeleteUserRequest()
            request.userName = "\(prefix)-\(index)"
            _ = try await client.deleteUser(request)
        }
        await client.close()
        print("deleted=\(count - errors) errors=\(errors)")
    }
}

/// Closed loop: COUNT TagUser writes over the USERS users `create-users --prefix PREFIX` made; prints the rate.
struct TagWrites: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "TagUser writes over existing users.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica.") var endpoint: String
    @Option(help: "Writes.") var count = 10_000
    @Option(help: "Concurrent writers (calls in flight).") var concurrency = 16
    @Option(help: "How many users (PREFIX-0...) the writes go round.") var users = 100

    func run() async throws {
        let client = try target.client(endpoint)
        let clock = ContinuousClock()
        let start = clock.now
        let (prefix, users) = (target.prefix, max(1, self.users))
        let errors = try await closedLoop(count: count, concurrency: concurrency) { index in
            _ = try await tagUser(client, "\(prefix)-\(index % users)", index)
        }
        let elapsed = seconds(clock.now - start)
        await client.close()
        print(
            "writes=\(count - errors) errors=\(errors) seconds=\(String(format: "%.2f", elapsed)) writes_per_s=\(String(format: "%.0f", Double(count - errors) / elapsed))"
        )
    }
}

/// The users an open loop's writes go round: made first (PREFIX-pool-N), deleted after.
struct WritePool {
    static let size = 100

    static func make(_ client: IAMClient, prefix: String) async throws {
        let errors = try await closedLoop(count: size, concurrency: 16) { index in
            _ = try await createUser(client, "\(prefix)-pool-\(index)")
        }
        guard errors == 0 else { throw ValidationError("\(errors) of the \(size) pool users could not be made") }
    }

    static func remove(_ client: IAMClient, prefix: String) async throws {
        _ = try await closedLoop(count: size, concurrency: 16) { index in
            var request = DeleteUserRequest()
            request.userName = "\(prefix)-pool-\(index)"
            _ = try await client.deleteUser(request)
        }
    }

    /// Write `index`: a TagUser on one of the pool's users.
    static func write(_ client: IAMClient, prefix: String, _ index: Int) async throws -> UInt64 {
        try await tagUser(client, "\(prefix)-pool-\(index % size)", index)
    }
}

/// Open loop: TagUser writes (over a pool of users it makes first) at RATE per second for DURATION seconds (at
/// most 256 in flight).
struct WriteLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A steady stream of writes at a fixed rate.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica.") var endpoint: String
    @Option(help: "Writes per second.") var rate = 500.0
    @Option(help: "Seconds.") var duration = 10.0

    func run() async throws {
        let client = try target.client(endpoint)
        try await WritePool.make(client, prefix: target.prefix)
        let (done, errors) = try await openLoop(client, prefix: target.prefix, rate: rate, duration: duration) { _, _ in
        }
        try await WritePool.remove(client, prefix: target.prefix)
        await client.close()
        print("writes=\(done) errors=\(errors) writes_per_s=\(String(format: "%.0f", Double(done) / duration))")
    }
}

/// Writes at a fixed rate; `acknowledged` is told each write's revision and when its answer came.
func openLoop(
    _ client: IAMClient, prefix: String, rate: Double, duration: Double,
    acknowledged: @escaping @Sendable (UInt64, ContinuousClock.Instant) -> Void
) async throws -> (Int, Int) {
    let clock = ContinuousClock()
    let start = clock.now
    let total = Int(rate * duration)
    return try await withThrowingTaskGroup(of: Bool.self) { group in
        var done = 0
        var errors = 0
        var inFlight = 0
        for index in 0..<total {
            let due = start.advanced(by: .seconds(Double(index) / rate))
            if due > clock.now { try await Task.sleep(until: due, clock: clock) }
            while inFlight >= 256, let ok = try await group.next() {
                inFlight -= 1
                if ok { done += 1 } else { errors += 1 }
            }
            inFlight += 1
            group.addTask {
                guard let revision = try? await WritePool.write(client, prefix: prefix, index) else { return false }
                acknowledged(revision, clock.now)
                return true
            }
        }
        for try await ok in group {
            if ok { done += 1 } else { errors += 1 }
        }
        return (done, errors)
    }
}

/// Propagation: writes at RATE on the writer replica, and for each acknowledged write, when the reader replica
/// first has it. Two probes:
/// - `wait` (the default): right after each acknowledgement, an Authorize on the reader carrying the write's
///   revision as `min_revision`, which the reader answers once its snapshot has it: read-your-writes as a client
///   sees it, one round trip included. A reader behind the revision catches up at once for such a call, without
///   waiting for its follower, so this measures read-your-writes, not how fast the follower alone is;
/// - `poll`: Health/Ping on the reader, noting when its revision first reaches each write's: the follower alone.
///   Back to back (`--poll-every-ms 0`, the default) the poller keeps a core busy (its own and the reader's event
///   loop), which on a two-core machine takes CPU from PostgreSQL and both replicas and so lengthens what it
///   measures; paced (`--poll-every-ms 1`) it costs a few percent of a core and adds up to the pace to each figure.
struct Propagation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "From a write's acknowledgement on one replica to its visibility on another.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica written to.") var writer: String
    @Option(help: "host:port of the replica read from.") var reader: String
    @Option(help: "Writes per second.") var rate = 200.0
    @Option(help: "Seconds.") var duration = 10.0
    @Option(help: "How visibility is observed: wait (Authorize with min_revision) or poll (Health back to back).")
    var probe = "wait"
    @Option(help: "poll: milliseconds between the starts of two polls; 0 polls back to back.") var pollEveryMs = 0

    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var acks: [(UInt64, ContinuousClock.Instant)] = []
        var seen: [(UInt64, ContinuousClock.Instant)] = []
        /// wait: the latency in ms of each acknowledged write the reader had in time (the rest are not seen).
        var waited: [Double] = []
    }

    func validate() throws {
        guard ["wait", "poll"].contains(probe) else { throw ValidationError("--probe is wait or poll") }
        guard (0...1000).contains(pollEveryMs) else { throw ValidationError("--poll-every-ms is 0-1000") }
    }

    func run() async throws {
        let writeClient = try target.client(writer)
        let readClient = try target.client(reader)
        let log = Log()
        let clock = ContinuousClock()
        try await WritePool.make(writeClient, prefix: target.prefix)
        let pool0 = try await writeClient.getUser(GetUserRequest(userName: "\(target.prefix)-pool-0")).user
        guard let principal = pool0?.arn else { throw ValidationError("GetUser answered without the user") }
        let poller = Task {
            guard probe == "poll" else { return }
            var last: UInt64 = 0
            let pace = Duration.milliseconds(pollEveryMs)
            var next = clock.now
            while !Task.isCancelled {
                if pollEveryMs > 0 {
                    next = max(next.advanced(by: pace), clock.now)
                    guard (try? await Task.sleep(until: next, clock: clock)) != nil else { break }
                }
                guard let revision = try? await readClient.ping(PingRequest()).revision else { continue }
                let now = clock.now
                if revision > last {
                    last = revision
                    log.lock.withLock { log.seen.append((revision, now)) }
                }
            }
        }
        let waiting = probe == "wait"
        let (done, errors) = try await openLoop(writeClient, prefix: target.prefix, rate: rate, duration: duration) {
            revision, at in
            guard waiting else {
                log.lock.withLock { log.acks.append((revision, at)) }
                return
            }
            // The write's task goes on to its answer; the probe runs beside it.
            Task {
                var request = AuthorizeRequest()
                request.principalARN = principal
                request.action = "iam:GetUser"
                request.resource = "*"
                request.minRevision = revision
                guard (try? await readClient.authorize(request)) != nil else { return }
                let latency = max(0, seconds(clock.now - at)) * 1000
                log.lock.withLock { log.waited.append(latency) }
            }
        }
        // Room for the last writes to arrive (a min_revision wait is bounded at 2 s).
        try await Task.sleep(for: .seconds(3))
        poller.cancel()
        _ = await poller.value
        try await WritePool.remove(writeClient, prefix: target.prefix)
        await writeClient.close()
        await readClient.close()
        var latencies: [Double] = []
        var missing = 0
        if waiting {
            latencies = log.lock.withLock { log.waited }
            missing = done - latencies.count
        } else {
            let seen = log.seen
            for (revision, acknowledged) in log.acks {
                // seen is in increasing revision order: the first observation at or past the write's revision.
                var low = 0
                var high = seen.count
                while low < high {
                    let mid = (low + high) / 2
                    if seen[mid].0 >= revision { high = mid } else { low = mid + 1 }
                }
                guard low < seen.count else {
                    missing += 1
                    continue
                }
                latencies.append(max(0, seconds(seen[low].1 - acknowledged)) * 1000)
            }
        }
        latencies.sort()
        print(
            "probe=\(probe) poll_every_ms=\(pollEveryMs) writes=\(done) errors=\(errors) not_seen=\(missing) p50_ms=\(String(format: "%.2f", percentile(latencies, 0.5))) p99_ms=\(String(format: "%.2f", percentile(latencies, 0.99))) max_ms=\(String(format: "%.2f", latencies.last ?? .nan))"
        )
    }
}

/// A replica's Health: its snapshot's revision and lag.
struct HealthRevision: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revision", abstract: "Print a replica's snapshot revision and lag (Health/Ping).")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica.") var endpoint: String

    func run() async throws {
        let client = try target.client(endpoint)
        let health = try await client.ping(PingRequest())
        await client.close()
        print("revision=\(health.revision) lag=\(health.lag)")
    }
}

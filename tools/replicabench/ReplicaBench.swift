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
        subcommands: [CreateUsers.self, WriteLoad.self, Propagation.self, HealthRevision.self]
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
        let (count, concurrency) = (self.count, self.concurrency)
        let errors = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var errors = 0
                    for index in stride(from: worker, to: count, by: concurrency) {
                        do { _ = try await createUser(client, "\(prefix)-\(index)") } catch { errors += 1 }
                    }
                    return errors
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = seconds(clock.now - start)
        await client.close()
        print(
            "created=\(count - errors) errors=\(errors) seconds=\(String(format: "%.2f", elapsed)) creates_per_s=\(String(format: "%.0f", Double(count - errors) / elapsed))"
        )
    }
}

/// Open loop: CreateUser at RATE per second for DURATION seconds (at most 256 in flight).
struct WriteLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A steady stream of writes at a fixed rate.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica.") var endpoint: String
    @Option(help: "Writes per second.") var rate = 500.0
    @Option(help: "Seconds.") var duration = 10.0

    func run() async throws {
        let client = try target.client(endpoint)
        let (done, errors) = try await openLoop(client, prefix: target.prefix, rate: rate, duration: duration) { _, _ in
        }
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
                guard let revision = try? await createUser(client, "\(prefix)-\(index)") else { return false }
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

/// Propagation: writes at RATE on the writer replica; a poller on the reader replica calls Health/Ping back
/// to back and notes when its snapshot's revision first reaches each acknowledged write's.
struct Propagation: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "From a write's acknowledgement on one replica to its visibility on another.")
    @OptionGroup var target: Target
    @Option(help: "host:port of the replica written to.") var writer: String
    @Option(help: "host:port of the replica read from.") var reader: String
    @Option(help: "Writes per second.") var rate = 200.0
    @Option(help: "Seconds.") var duration = 10.0

    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var acks: [(UInt64, ContinuousClock.Instant)] = []
        var seen: [(UInt64, ContinuousClock.Instant)] = []
    }

    func run() async throws {
        let writeClient = try target.client(writer)
        let readClient = try target.client(reader)
        let log = Log()
        let clock = ContinuousClock()
        let poller = Task {
            var last: UInt64 = 0
            while !Task.isCancelled {
                guard let revision = try? await readClient.ping(PingRequest()).revision else { continue }
                let now = clock.now
                if revision > last {
                    last = revision
                    log.lock.withLock { log.seen.append((revision, now)) }
                }
            }
        }
        let (done, errors) = try await openLoop(writeClient, prefix: target.prefix, rate: rate, duration: duration) {
            revision, at in log.lock.withLock { log.acks.append((revision, at)) }
        }
        // Room for the last writes to arrive.
        try await Task.sleep(for: .seconds(2))
        poller.cancel()
        _ = await poller.value
        await writeClient.close()
        await readClient.close()
        var latencies: [Double] = []
        var missing = 0
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
        latencies.sort()
        print(
            "writes=\(done) errors=\(errors) not_seen=\(missing) p50_ms=\(String(format: "%.2f", percentile(latencies, 0.5))) p99_ms=\(String(format: "%.2f", percentile(latencies, 0.99))) max_ms=\(String(format: "%.2f", latencies.last ?? .nan))"
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

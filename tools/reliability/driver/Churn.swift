import ArgumentParser
import Foundation
import IAMClient
import IAMRPC
import IAMWire
import NIOCore
import NIOPosix
import Synchronization

/// Connection churn for the soak: `--rate` times a second a new connection connects (TLS + SCRAM), makes a
/// few calls (Health.Ping, GetCallerIdentity, Authorize) and closes. Prints one line of counts every `--report`
/// seconds and a summary at the end; exits 1 if any call failed.
struct Churn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn", abstract: "Connect, authenticate, a few calls, close; N times a second.")

    @Option(help: "iamd port.") var port: Int
    @Option(help: "CA file to trust (the data folder's tls/ca.pem).") var trust: String
    @Option(help: "Credentials file (accessKeyId, secretAccessKey).") var credentialsFile: String
    @Option(help: "A principal ARN that Authorize asks about.") var principalArn: String
    @Option(help: "Connections opened per second.") var rate = 100
    @Option(help: "Seconds to run.") var duration = 600
    @Option(help: "Seconds between progress lines.") var report = 30
    @Option(help: "Connections open at once at most (beyond it, the rate drops instead of piling up).")
    var maxOpen = 64

    func run() async throws {
        let (id, secret) = try Endpoint.credentials(self.credentialsFile)
        let endpoint = Endpoint(port: self.port, caFile: self.trust, accessKeyID: id, secret: secret)
        let group = MultiThreadedEventLoopGroup.singleton
        let stats = ChurnStats()
        let clock = ContinuousClock()
        let start = clock.now
        let interval = Duration.seconds(1) / self.rate
        var nextReport = start + .seconds(self.report)
        var tick = start
        try await withThrowingDiscardingTaskGroup { tasks in
            while clock.now - start < .seconds(self.duration) {
                tick = tick + interval
                try await clock.sleep(until: tick)
                if stats.open.load(ordering: .relaxed) >= self.maxOpen {
                    stats.counts.withLock { $0.skipped += 1 }
                    continue
                }
                stats.open.add(1, ordering: .relaxed)
                let principal = self.principalArn
                tasks.addTask {
                    defer { stats.open.subtract(1, ordering: .relaxed) }
                    let result = await Self.session(endpoint: endpoint, group: group, principal: principal)
                    stats.counts.withLock {
                        $0.connections += 1
                        $0.calls += result.calls
                        if let error = result.error {
                            $0.failed += 1
                            if $0.errors.count < 100 { $0.errors.append(error) }
                        }
                    }
                }
                if clock.now >= nextReport {
                    nextReport = nextReport + .seconds(self.report)
                    let c = stats.counts.withLock { $0 }
                    // Unbuffered, so progress reaches a log file while the run goes on.
                    let line =
                        "churn t=\((clock.now - start).components.seconds)s connections=\(c.connections) calls=\(c.calls)"
                        + " failed=\(c.failed) skipped=\(c.skipped)\n"
                    FileHandle.standardOutput.write(Data(line.utf8))
                }
            }
        }
        let c = stats.counts.withLock { $0 }
        print(
            "churn done connections=\(c.connections) calls=\(c.calls) failed=\(c.failed) skipped=\(c.skipped)")
        for error in c.errors.prefix(10) { print("  error: \(error)") }
        if c.failed > 0 { throw ExitCode(1) }
    }

    /// One connection's life.
    static func session(endpoint: Endpoint, group: any EventLoopGroup, principal: String) async -> (
        calls: Int, error: String?
    ) {
        var calls = 0
        let client: RPCClient
        do {
            client = try endpoint.client(group)
            try await client.connect().get()
        } catch {
            return (0, "connect: \(error)")
        }
        let options = CallOptions(timeout: .seconds(30))
        do {
            _ = try await HealthServiceClient(client: client).ping(PingRequest(), options: options)
            calls += 1
            _ = try await STSServiceClient(client: client).getCallerIdentity(
                GetCallerIdentityRequest(), options: options)
            calls += 1
            _ = try await AuthorizationServiceClient(client: client).authorize(
                AuthorizeRequest(principalARN: principal, action: "s3:GetObject", resource: "arn:aws:s3:::bucket/key"),
                options: options)
            calls += 1
        } catch {
            await client.close()
            return (calls, "call \(calls + 1): \(error)")
        }
        await client.close()
        return (calls, nil)
    }
}

/// What the churn sessions report, shared with their tasks.
final class ChurnStats: Sendable {
    /// `errors` keeps the first 100 messages; `failed` counts every failed session.
    let counts = Mutex<(connections: Int, calls: Int, failed: Int, errors: [String], skipped: Int)>((0, 0, 0, [], 0))
    /// Sessions running now.
    let open = Atomic<Int>(0)
}

import Foundation
import IAMClient
import IAMPostgresTestSupport
import IAMTestSupport
import IAMWire
import Testing

/// Real `iamd-pg` processes as replicas over one PostgreSQL database, and clients for them with the root key.
///
/// The first replica makes the root key, the key-encryption key and its verifier file; the others start with
/// copies of them, as an operator hands every replica the same secrets.
final class ReplicaHarness: @unchecked Sendable {
    let chain: TestCertificateChain
    let database: TestPostgres.Database
    private(set) var replicas: [Replica] = []
    private(set) var root: IAMCredentials?

    final class Replica: @unchecked Sendable {
        let data: URL
        var process: ChildProcess
        var endpoint: String
        init(data: URL, process: ChildProcess, endpoint: String) {
            self.data = data
            self.process = process
            self.endpoint = endpoint
        }
    }

    init(database: TestPostgres.Database) async throws {
        self.chain = try await TestCertificateChain.makeOffCooperativePool()
        self.database = database
    }

    static func binary(_ name: String) throws -> URL {
        try #require(ChildProcess.builtExecutable(named: name), "\(name) must be built next to the test bundle")
    }

    /// Starts one more replica; returns its index.
    @discardableResult
    func startReplica(passwordThroughFile: Bool = false) async throws -> Int {
        let index = self.replicas.count
        let data = URL(fileURLWithPath: self.chain.directory).appendingPathComponent("replica\(index)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        if let first = self.replicas.first {
            for file in ["credentials.json", "kek"] {
                try FileManager.default.copyItem(
                    at: first.data.appendingPathComponent(file), to: data.appendingPathComponent(file))
            }
        }
        let (process, endpoint) = try await self.launch(data: data, passwordThroughFile: passwordThroughFile)
        self.replicas.append(Replica(data: data, process: process, endpoint: endpoint))
        if self.root == nil {
            let file = data.appendingPathComponent("root-credentials.json")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: String]
            self.root = IAMCredentials(
                accessKeyID: try #require(json?["accessKeyId"]), secretAccessKey: try #require(json?["secretAccessKey"])
            )
        }
        return index
    }

    private func launch(data: URL, passwordThroughFile: Bool) async throws -> (ChildProcess, String) {
        var arguments = [
            "--port", "0", "--query-port", "off", "--data-dir", data.path, "--tls-cert",
            self.chain.serverCertificatePath,
            "--tls-key", self.chain.serverKeyPath, "--log-level", "notice", "--store", self.database.url,
        ]
        var environment: [String: String] = ["PGPASSWORD": ""]
        if passwordThroughFile {
            let file = data.appendingPathComponent("pgpassword")
            try Data((self.database.password ?? "").utf8).write(to: file)
            arguments += ["--store-password-file", file.path]
        } else {
            environment = self.database.environment
        }
        let process = try ChildProcess(try Self.binary("iamd-pg"), arguments, environment: environment)
        let line = try await process.waitForLine(startingWith: "listening ", timeout: .seconds(300))
        return (process, String(line.dropFirst("listening ".count)))
    }

    /// Kills replica `index` with `signal` and waits for it to go.
    func stop(_ index: Int, signal: Int32 = SIGTERM) async throws -> ProcessOutput {
        self.replicas[index].process.signal(signal)
        return try await self.replicas[index].process.waitForExit(timeout: .seconds(60))
    }

    /// Starts replica `index` again on its data folder (a new port).
    func restart(_ index: Int) async throws {
        let (process, endpoint) = try await self.launch(data: self.replicas[index].data, passwordThroughFile: false)
        self.replicas[index].process = process
        self.replicas[index].endpoint = endpoint
    }

    /// A client of replica `index` as `credentials` (the root key by default).
    func client(_ index: Int, as credentials: IAMCredentials? = nil) throws -> IAMClient {
        var configuration = try IAMClientConfiguration(
            endpoint: self.replicas[index].endpoint, caFile: self.chain.caCertificatePath,
            credentials: .fixed(try #require(credentials ?? self.root)), environment: [:])
        configuration.defaultTimeout = .seconds(60)
        // A test sees every failure as it is: no silent retries.
        configuration.retry.maximumAttempts = 1
        return IAMClient(configuration: configuration)
    }

    /// Replica `index`'s Health: the snapshot's revision and its lag.
    func health(_ index: Int) async throws -> PingResponse {
        let client = try self.client(index)
        defer { Task { await client.close() } }
        return try await client.ping(PingRequest())
    }

    /// Waits, polling Health, until replica `index`'s snapshot reaches `revision` on its own (no min_revision:
    /// this is the follower at work); fails after `timeout`.
    func waitForRevision(_ index: Int, _ revision: UInt64, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var last: UInt64 = 0
        while ContinuousClock.now < deadline {
            if let health = try? await self.health(index) {
                last = health.revision
                if last >= revision { return }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("replica \(index) stayed at revision \(last), below \(revision), for \(timeout)")
    }

    /// Sends SIGKILL to every replica still running, at once: a test calls it in a plain `defer`, because a
    /// `Task` started there may never run before the test process exits, and its replicas then outlived it (a
    /// dozen runs of the restart test left 17 of them running).
    func kill() {
        for replica in self.replicas where replica.process.isRunning { replica.process.signal(SIGKILL) }
    }

    func remove() async {
        for replica in self.replicas where replica.process.isRunning {
            replica.process.signal(SIGKILL)
            _ = try? await replica.process.waitForExit(timeout: .seconds(30))
        }
        try? self.chain.remove()
    }
}

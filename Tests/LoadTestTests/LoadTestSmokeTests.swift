import Foundation
import IAMTestSupport
import Testing

/// The built `iam-loadtest` against a real `iamd` (TLS, SQLite, SCRAM): short closed- and open-loop runs
/// whose reports must hold the fields scripts read and must have counted calls. No timing is asserted.
@Suite("iam-loadtest smoke runs", .serialized)
struct LoadTestSmokeTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("loadtest-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func binary(_ name: String) throws -> URL {
        try #require(ChildProcess.builtExecutable(named: name), "\(name) must be built next to the test bundle")
    }

    /// An iamd on a fresh data folder (development certificates), and its endpoint.
    func startDaemon() async throws -> (ChildProcess, String) {
        let daemon = try ChildProcess(
            try binary("iamd"),
            [
                "--port", "0", "--query-port", "off", "--data-dir", directory.appendingPathComponent("data").path,
                "--log-level", "warning",
            ])
        let line = try await daemon.waitForLine(startingWith: "listening ")
        return (daemon, String(line.dropFirst("listening ".count)))
    }

    /// Runs `iam-loadtest run` against `endpoint` with credentials and CA from the environment, as `iam` takes them.
    func loadtest(_ arguments: [String], endpoint: String) async throws -> ProcessOutput {
        let data = directory.appendingPathComponent("data")
        return try await ChildProcess.run(
            try binary("iam-loadtest"), ["run", "--endpoint", endpoint] + arguments,
            environment: [
                "IAM_CA_FILE": data.appendingPathComponent("tls/ca.pem").path,
                "IAM_CREDENTIALS_FILE": data.appendingPathComponent("root-credentials.json").path,
            ],
            timeout: .seconds(300))
    }

    func report(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The fields issue 8 names, with values a run that made calls must have.
    func checkReport(_ report: [String: Any], durationSeconds: Int) throws {
        let calls = try #require(report["calls"] as? Int)
        #expect(calls > 0)
        let seconds = try #require(report["seconds"] as? Double)
        #expect(seconds > 0)
        let rate = try #require(report["callsPerSecond"] as? Double)
        #expect(abs(rate - Double(calls) / seconds) < 0.01 * rate + 1)
        let latency = try #require(report["latencyMicros"] as? [String: Double])
        for key in ["p50", "p90", "p99", "p999", "p9999", "max"] {
            #expect(latency[key] != nil, "latencyMicros.\(key)")
        }
        let p50 = try #require(latency["p50"])
        let p99 = try #require(latency["p99"])
        let max = try #require(latency["max"])
        #expect(p50 > 0 && p50 <= p99 && p99 <= max)
        #expect(report["errors"] is [String: Int])
        let timeline = try #require(report["timeline"] as? [[String: Any]])
        #expect(timeline.filter { $0["warmup"] as? Bool == false }.count == durationSeconds)
        let percentiles = try #require(report["percentiles"] as? [[String: Double]])
        #expect(percentiles.last?["percentile"] == 100)
        #expect(percentiles.last?["micros"] == max)
    }

    @Test("closed loop: Ping on an iamd the load tester starts; server CPU is measured")
    func closedLoopSpawned() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = try await ChildProcess.run(
            try binary("iam-loadtest"),
            [
                "run", "--scenario", "ping", "--spawn-server", try binary("iamd").path, "--connections", "2",
                "--in-flight", "4", "--duration", "2", "--warmup", "1", "--json",
                directory.appendingPathComponent("ping.json").path,
            ],
            timeout: .seconds(300))
        #expect(output.status == 0, "\(output.errorOutput)")
        #expect(output.output.contains("calls_per_s="))
        let report = try report("ping.json")
        try checkReport(report, durationSeconds: 2)
        #expect((report["errors"] as? [String: Int])?.isEmpty == true, "\(output.output)")
        let cpu = try #require(report["cpu"] as? [String: Any])
        #expect((cpu["serverMicrosPerCall"] as? Double ?? 0) > 0)
        #expect((cpu["clientMicrosPerCall"] as? Double ?? 0) > 0)
        let settings = try #require(report["settings"] as? [String: Any])
        #expect(settings["connections"] as? Int == 2 && settings["inFlight"] as? Int == 4)
        #expect(settings["rate"] == nil)
    }

    @Test("--max-calls sends exactly that many measured calls, shared out among the connections, and ends there")
    func maxCalls() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (daemon, endpoint) = try await startDaemon()
        defer { daemon.signal() }
        for (pacing, name) in [(["--in-flight", "4"], "closed"), (["--rate", "400", "--in-flight", "4"], "open")] {
            let output = try await loadtest(
                ["--scenario", "ping", "--connections", "3", "--duration", "60", "--warmup", "1", "--max-calls", "301"]
                    + pacing + ["--json", directory.appendingPathComponent("\(name).json").path],
                endpoint: endpoint)
            #expect(output.status == 0, "\(output.errorOutput)")
            let report = try report("\(name).json")
            #expect(report["calls"] as? Int == 301, "\(name)")
            #expect((report["errors"] as? [String: Int])?.isEmpty == true, "\(output.output)")
            // The window closes with the last call, not at the 60 s the duration allows.
            let seconds = try #require(report["seconds"] as? Double)
            #expect(seconds > 0 && seconds < 30, "\(name): \(seconds) s")
        }
    }

    @Test("open loop: Authorize at a fixed rate on a data set it makes and removes; HTML report")
    func openLoopAuthorize() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (daemon, endpoint) = try await startDaemon()
        defer { daemon.signal() }
        let html = directory.appendingPathComponent("authorize.html")
        let output = try await loadtest(
            [
                "--scenario", "authorize", "--rate", "200", "--connections", "2", "--duration", "2", "--warmup", "1",
                "--users", "6", "--groups", "2", "--policies", "3", "--json",
                directory.appendingPathComponent("authorize.json").path, "--html", html.path,
            ],
            endpoint: endpoint)
        #expect(output.status == 0, "\(output.errorOutput)")
        let report = try report("authorize.json")
        try checkReport(report, durationSeconds: 2)
        #expect((report["errors"] as? [String: Int])?.isEmpty == true, "\(output.output)")
        // Open loop sends what the schedule says, never more: 200/s for 2 s (plus one per connection).
        #expect((report["calls"] as? Int ?? .max) <= 402)
        let settings = try #require(report["settings"] as? [String: Any])
        #expect(settings["rate"] as? Double == 200)
        #expect(settings["principals"] as? Int == 6)
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.components(separatedBy: "<svg").count == 3)
        #expect(!page.contains("<script") && !page.contains("src=\"http"))

        // The data set is gone: no users are left to ask about.
        let after = try await loadtest(
            ["--scenario", "get-user", "--use-existing", "--duration", "1", "--warmup", "0"], endpoint: endpoint)
        #expect(after.status != 0)
        #expect(after.errorOutput.contains("holds no users"), "\(after.errorOutput)")
    }

    @Test("mixed workload: each operation is counted; a bad --mix is refused clearly")
    func mixed() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let (daemon, endpoint) = try await startDaemon()
        defer { daemon.signal() }
        let output = try await loadtest(
            [
                "--scenario", "mixed", "--mix", "authorize=60,get-user=20,simulate=10,create-delete-user=10",
                "--connections", "1", "--in-flight", "4", "--duration", "2", "--warmup", "0", "--users", "4",
                "--groups", "1", "--policies", "2", "--json", directory.appendingPathComponent("mixed.json").path,
            ],
            endpoint: endpoint)
        #expect(output.status == 0, "\(output.errorOutput)")
        let report = try report("mixed.json")
        try checkReport(report, durationSeconds: 2)
        #expect((report["errors"] as? [String: Int])?.isEmpty == true, "\(output.output)")
        let operations = try #require(report["operations"] as? [String: [String: Any]])
        #expect(Set(operations.keys) == ["authorize", "get-user", "simulate", "create-delete-user"])
        let counted = operations.values.reduce(0) { $0 + ($1["calls"] as? Int ?? 0) }
        #expect(counted == report["calls"] as? Int)

        let bad = try await loadtest(
            ["--scenario", "mixed", "--mix", "authorize=90,delete-everything=10"], endpoint: endpoint)
        #expect(bad.status != 0)
        #expect(bad.errorOutput.contains("--mix takes NAME=WEIGHT"), "\(bad.errorOutput)")
    }
}

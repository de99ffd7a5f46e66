import ArgumentParser
import Foundation
import Histogram
import IAMClient
import IAMRPC
import IAMWire
import NIOCore
import NIOPosix

/// `iam-loadtest`: a load generator for iamd (closed and open loop, HdrHistogram latencies, JSON and HTML
/// reports), and a codec loop for profiles.
@main
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-loadtest",
        abstract: "Load-test iamd: Ping, Authorize, AuthorizeBatch, Simulate, GetUser or a mix, closed or open loop.",
        subcommands: [Run.self, Codec.self],
        defaultSubcommand: Run.self
    )
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply load to a running iamd (--endpoint) or to one started as a child; print and write a report.",
        discussion: """
            Closed loop (default): --connections x --in-flight calls are kept outstanding. Open loop (--rate R):
            R calls per second are due at fixed intervals whatever the server does, and latency is measured
            from when each call was due (corrected for coordinated omission).
            Scenarios other than ping ask about principals: by default the load tester makes a data set
            (--users, --groups, --policies with realistic statements and conditions) and deletes it
            afterwards; --use-existing takes the account's users, --principal-arn names principals.
            """
    )

    @Option(help: "What each call is: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: Scenario?
    @Option(help: .hidden) var workload: Scenario?
    @Option(
        help:
            "Weights of the mixed scenario's operations (\(MixedOperation.allCases.map(\.rawValue).joined(separator: ", ")))."
    )
    var mix = "authorize=90,get-user=8,create-delete-user=2"
    @Option(help: "Checks per AuthorizeBatch call.") var batch = 100
    @Option(help: "Principal ARN to ask about (repeat to cycle through several); skips making a data set.")
    var principalArn: [String] = []
    @Option(help: "Action an Authorize request checks (with --principal-arn).") var action = "s3:GetObject"
    @Option(help: "Resource an Authorize request checks (with --principal-arn).")
    var resource = "arn:aws:s3:::company-reports/2026/11/quarterly-summary.csv"
    @Option(help: "Users of the data set the load tester makes.") var users = 20
    @Option(help: "Groups of the data set (each user in up to two).") var groups = 4
    @Option(help: "Managed policies of the data set (attached to groups and users).") var policies = 6
    @Flag(help: "Ask about the users the account already holds instead of making a data set.") var useExisting = false
    @Flag(help: "Leave the data set in place after the run.") var keepData = false

    @OptionGroup var server: ServerOptions

    @Option(help: "Connections.") var connections = 1
    @Option(
        help: "Calls in flight per connection (closed loop; default 1). Open loop: the most outstanding (default 100).")
    var inFlight: Int?
    @Option(help: "Open loop: calls per second over all connections.") var rate: Double?
    @Option(help: "Ping payload bytes (0 = ping-pong, 1024 = 1 KiB echo).") var payload = 0
    @Option(help: "Compression: on or off (what the client announces; the server compresses only if both allow).")
    var compression = "off"
    @Option(help: "Measured seconds.") var duration = 10
    @Option(help: "Warm-up seconds (not measured).") var warmup = 1
    @Option(help: "Send at most this many measured calls (shared out among the connections), then stop.")
    var maxCalls = 50_000_000
    @Option(help: "Client event loop threads (default: min(connections, 2)).") var threads: Int?
    @Option(
        help:
            "Seconds one measured call may take before it fails DEADLINE_EXCEEDED (default: no deadline, so no timer per call on either side; the end-of-run drain still gives up after 10 s)."
    )
    var timeout: Int?
    @Option(help: "Write the report as JSON to this file.") var json: String?
    @Option(help: "Write a self-contained HTML report (latency percentiles, throughput over time) to this file.")
    var html: String?
    @Option(help: "Live progress line each second on standard error: auto (when it is a terminal), on, off.")
    var progress = "auto"

    func validate() throws {
        if let timeout = self.timeout, !(1...3600).contains(timeout) {
            throw ValidationError("--timeout must be 1...3600")
        }
        guard self.connections >= 1, self.connections <= 1000 else {
            throw ValidationError("--connections must be 1...1000")
        }
        if let inFlight = self.inFlight, !(1...10_000).contains(inFlight) {
            throw ValidationError("--in-flight must be 1...10000")
        }
        if let rate = self.rate, !(rate > 0 && rate <= 10_000_000) { throw ValidationError("--rate must be above 0") }
        guard (1...1000).contains(self.batch) else { throw ValidationError("--batch must be 1...1000") }
        guard self.duration >= 1, self.warmup >= 0 else { throw ValidationError("--duration must be at least 1 s") }
        guard ["on", "off"].contains(self.compression) else { throw ValidationError("--compression is on or off") }
        guard ["auto", "on", "off"].contains(self.progress) else {
            throw ValidationError("--progress is auto, on or off")
        }
        guard self.users >= 1, self.groups >= 0, self.policies >= 0 else {
            throw ValidationError("--users must be at least 1; --groups and --policies at least 0")
        }
        guard (0...(1 << 20)).contains(self.payload) else { throw ValidationError("--payload must be 0...1048576") }
        if let scenario = self.scenario, let workload = self.workload, scenario != workload {
            throw ValidationError("--scenario and --workload (its old name) disagree")
        }
    }

    func run() async throws {
        let scenario = self.scenario ?? self.workload ?? .ping
        let mix = scenario == .mixed ? try parseMix(self.mix) : []
        var spawned: SpawnedServer?
        if self.server.spawnServer != nil || !self.server.namesServer {
            guard let binary = self.server.spawnServer ?? SpawnedServer.defaultBinary() else {
                throw ValidationError(
                    "no server: give --endpoint HOST:PORT (or IAM_ENDPOINT), or --spawn-server PATH/TO/iamd")
            }
            spawned = try SpawnedServer(binary: binary)
        }
        defer { spawned?.stop() }
        let target = try Target.resolve(
            self.server, spawned: spawned, compression: self.compression == "on", timeout: self.timeout ?? 30)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.threads ?? min(self.connections, 2))
        do {
            try await self.run(
                scenario: scenario, mix: mix, target: target, group: group,
                serverPID: spawned?.pid ?? self.server.serverPID)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    func run(
        scenario: Scenario, mix: [(MixedOperation, Int)], target: Target, group: MultiThreadedEventLoopGroup,
        serverPID: Int32?
    ) async throws {
        // A separate connection sets up and removes the data set, so the measured ones carry only load.
        var adminConfiguration = target.configuration
        adminConfiguration.connection = ConnectionOptions(compression: false)
        let admin = IAMClient(configuration: adminConfiguration, eventLoopGroup: group)
        do {
            _ = try await admin.ping()
        } catch {
            await admin.close()
            throw LoadTestError(
                "cannot reach \(target.endpoint) (credentials \(target.configuration.credentials)): \(error)")
        }
        let prefix = "lt\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        let needsPrincipals = scenario.needsPrincipals && !(scenario == .mixed && mix.allSatisfy { $0.0 == .ping })
        var data = DataSet(users: [], accountID: "123456789012")
        if needsPrincipals {
            if !self.principalArn.isEmpty {
                data = .named(self.principalArn)
            } else if self.useExisting {
                data = try await DataSet.existing(client: admin)
            } else {
                let started = ContinuousClock.now
                data = try await DataSet.create(
                    client: admin, prefix: prefix, users: self.users, groups: self.groups, policies: self.policies)
                FileHandle.standardError.write(
                    Data(
                        "made \(self.users) users, \(self.groups) groups, \(self.policies) policies (\(prefix)-*) in \(ContinuousClock.now - started)\n"
                            .utf8))
            }
        }
        var cleaned = false
        func cleanUp() async {
            guard !cleaned, !self.keepData, !data.created.users.isEmpty || !data.created.policyARNs.isEmpty else {
                return
            }
            cleaned = true
            let failures = await data.cleanUp(client: admin)
            if failures > 0 {
                FileHandle.standardError.write(
                    Data("cleanup: \(failures) deletions failed (names start \(prefix)-)\n".utf8))
            }
        }
        do {
            try await self.measure(
                scenario: scenario, mix: mix, data: data, prefix: prefix, target: target, group: group,
                serverPID: serverPID)
        } catch {
            await cleanUp()
            await admin.close()
            throw error
        }
        await cleanUp()
        await admin.close()
    }

    func measure(
        scenario: Scenario, mix: [(MixedOperation, Int)], data: DataSet, prefix: String, target: Target,
        group: MultiThreadedEventLoopGroup, serverPID: Int32?
    ) async throws {
        let factory = RequestFactory(
            data: data, legacy: self.principalArn.isEmpty ? nil : (self.action, self.resource), batch: self.batch,
            payload: self.payload, prefix: prefix)
        let operations = factory.operations(scenario, mix: mix)
        let pacing: Pacing
        let inFlight: Int
        if let rate = self.rate {
            inFlight = self.inFlight ?? 100
            pacing = .open(callsPerSecondPerConnection: rate / Double(self.connections), maxInFlight: inFlight)
        } else {
            inFlight = self.inFlight ?? 1
            pacing = .closed(inFlight: inFlight)
        }
        let connections = (0..<self.connections).map { _ in target.makeClient(group: group) }
        var clients: [RPCClient] = []
        do {
            for connection in connections { clients.append(try await target.connect(connection)) }
        } catch {
            for connection in connections { await connection.close() }
            throw error
        }
        let options = self.timeout.map { CallOptions(timeout: .seconds(Int64($0))) } ?? CallOptions()

        let second: UInt64 = 1_000_000_000
        let origin = NIODeadline.now().uptimeNanoseconds
        let measureStart = origin + UInt64(self.warmup) * second
        let workers = clients.enumerated().map { index, client in
            Worker(
                client: client, operations: operations, pacing: pacing, options: options, index: index,
                stride: clients.count, measureStart: measureStart,
                measureEnd: measureStart + UInt64(self.duration) * second,
                budget: self.maxCalls / clients.count + (index < self.maxCalls % clients.count ? 1 : 0))
        }
        let interrupt = Interrupt()
        let showProgress = self.progress == "on" || (self.progress == "auto" && isatty(STDERR_FILENO) == 1)
        for worker in workers { worker.start(origin: origin) }

        var timeline: [Report.Second] = []
        var clientCPUStart = ownCPUMicroseconds()
        var serverCPUStart = serverPID.flatMap(processCPUMicroseconds)
        let totalSeconds = self.warmup + self.duration
        var end = origin + UInt64(totalSeconds) * second
        var tick = 1
        while tick <= totalSeconds {
            let due = origin + UInt64(tick) * second
            let now = NIODeadline.now().uptimeNanoseconds
            if due > now { try? await Task.sleep(nanoseconds: due - now) }
            var interval = makeHistogram()
            var calls = 0
            var errors = 0
            var budgetsDone = true
            var lastMeasuredCompletion: UInt64 = 0
            for worker in workers {
                let sample = try await worker.sample()
                interval.add(sample.intervalHistogram)
                calls += sample.intervalCalls
                errors += sample.intervalErrors
                budgetsDone = budgetsDone && sample.budgetDone
                lastMeasuredCompletion = max(lastMeasuredCompletion, sample.lastMeasuredCompletion)
            }
            let isWarmup = tick <= self.warmup
            timeline.append(
                Report.Second(
                    second: tick, warmup: isWarmup, calls: calls, errors: errors,
                    p50Micros: calls == 0 ? 0 : Double(interval.valueAtPercentile(50)) / 1000,
                    p99Micros: calls == 0 ? 0 : Double(interval.valueAtPercentile(99)) / 1000))
            if tick == self.warmup {
                clientCPUStart = ownCPUMicroseconds()
                serverCPUStart = serverPID.flatMap(processCPUMicroseconds)
            }
            if showProgress {
                let line =
                    String(format: "[%3ds] ", tick) + (isWarmup ? "warm-up " : "")
                    + String(
                        format: "%8d calls/s  p50 %8.1f µs  p99 %8.1f µs  errors %d", calls,
                        timeline[timeline.count - 1].p50Micros, timeline[timeline.count - 1].p99Micros, errors)
                FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
            }
            if interrupt.requested {
                end = NIODeadline.now().uptimeNanoseconds
                break
            }
            if budgetsDone {
                // Every measured call was sent and has completed: the window ends with the last of them, not at
                // this tick, so the idle rest of the second does not dilute calls/s.
                end = max(lastMeasuredCompletion, measureStart)
                break
            }
            tick += 1
        }
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        if end <= measureStart { end = NIODeadline.now().uptimeNanoseconds }

        var results: [WorkerResult] = []
        for worker in workers {
            results.append(try await worker.stop(end: end, drainTimeout: .seconds(Int64(self.timeout ?? 10) + 1)))
        }
        let clientCPU = ownCPUMicroseconds() - clientCPUStart
        let serverCPU = serverCPUStart.flatMap { start in serverPID.flatMap(processCPUMicroseconds).map { $0 - start } }
        for connection in connections { await connection.close() }

        let seconds = Double(end - min(end, measureStart)) / 1e9
        var total = makeHistogram()
        var byOperation: [String: Report.OperationReport] = [:]
        var errorsByStatus = [Int](repeating: 0, count: 18)
        for (position, (operation, _)) in operations.enumerated() {
            var histogram = makeHistogram()
            var calls = 0
            var errors = 0
            for result in results {
                histogram.add(result.histograms[position])
                calls += result.calls[position]
                errors += result.errorsByOperation[position]
            }
            total.add(histogram)
            byOperation[operation.name] = Report.OperationReport(
                calls: calls, errors: errors, latencyMicros: Percentiles(histogram))
        }
        for result in results {
            for (code, count) in result.errorsByStatus.enumerated() { errorsByStatus[code] += count }
            // Calls the drain gave up on failed as far as a user is concerned.
            errorsByStatus[Int(StatusCode.deadlineExceeded.rawValue)] += result.abandoned
        }
        var errors: [String: Int] = [:]
        for (code, count) in errorsByStatus.enumerated() where count > 0 { errors[Report.statusName(code)] = count }
        let calls = Int(total.totalCount)
        let checksPerCall = scenario == .authorizeBatch ? self.batch : 1
        let formatter = ISO8601DateFormatter()
        let report = Report(
            startedAt: formatter.string(from: Date(timeIntervalSinceNow: -Double(timeline.count))),
            settings: Report.Settings(
                scenario: scenario.rawValue, mix: scenario == .mixed ? self.mix : nil, endpoint: target.endpoint,
                connections: self.connections, inFlight: inFlight, rate: self.rate,
                compression: self.compression == "on", durationSeconds: self.duration, warmupSeconds: self.warmup,
                batch: scenario == .authorizeBatch ? self.batch : nil,
                payloadBytes: scenario == .ping ? self.payload : nil, principals: data.users.count),
            calls: calls, seconds: seconds, callsPerSecond: seconds > 0 ? Double(calls) / seconds : 0,
            checksPerSecond: checksPerCall > 1 && seconds > 0 ? Double(calls * checksPerCall) / seconds : nil,
            latencyMicros: Percentiles(total), errors: errors, operations: byOperation,
            cpu: Report.CPU(
                clientMicrosPerCall: calls > 0 ? Double(clientCPU) / Double(calls) : nil,
                serverMicrosPerCall: serverCPU.flatMap { calls > 0 ? Double($0) / Double(calls) : nil },
                clientMicros: clientCPU, serverMicros: serverCPU),
            timeline: timeline, percentiles: Report.percentileLadder(total),
            firstError: results.lazy.compactMap(\.firstError).first)
        print(report.textSummary())
        fflush(nil)
        if let path = self.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: path))
        }
        if let path = self.html {
            try Data(HTMLReport.render(report).utf8).write(to: URL(fileURLWithPath: path))
        }
    }
}

/// Ctrl-C ends the measured window early (the report and the cleanup still happen); a second one quits.
final class Interrupt: @unchecked Sendable {
    // Guarded by `lock`; the signal source keeps itself alive while installed.
    private var flag = false
    private let lock = NSLock()
    private var source: (any DispatchSourceSignal)?

    init() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in
            guard let self else { return }
            if self.requested { exit(130) }
            self.lock.withLock { self.flag = true }
        }
        source.resume()
        self.source = source
    }

    var requested: Bool { self.lock.withLock { self.flag } }

    deinit {
        self.source?.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

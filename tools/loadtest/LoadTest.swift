import ArgumentParser
import Foundation
import Histogram
import IAMClient
import IAMRPC
import IAMServer
import IAMTLS
import IAMWire
import NIOCore
import NIOPosix

/// `iam-loadtest`: a TLS server hosting Health, and a closed-loop load generator for it.
@main
struct LoadTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-loadtest",
        abstract: "Load-test the RPC layer: Health/Ping over TLS on loopback.",
        subcommands: [Serve.self, Run.self, Codec.self, SigV4Bench.self]
    )
}

/// The access key the load-test server accepts and the generator uses.
enum BenchCredentials {
    static let accessKeyID = "AKIALOADTEST00000001"
    static let secret = "loadtest-secret-not-for-production"
}

/// Makes a throwaway self-signed certificate for 127.0.0.1 with the openssl CLI.
enum BenchCertificates {
    static func make(in directory: String) throws -> (certificate: String, key: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/server.pem"
        let key = directory + "/server.key"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("openssl could not make a certificate in \(directory)")
        }
        return (certificate, key)
    }
}

/// Prints go to a pipe when `run` spawns the server; flush so the parent sees each line at once.
func flushOutput() {
    fflush(nil)
}

/// CPU time (user + system) of this process, in microseconds.
func ownCPUMicroseconds() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_utime.tv_sec * 1_000_000 + Int(usage.ru_utime.tv_usec) + usage.ru_stime.tv_sec * 1_000_000
        + Int(usage.ru_stime.tv_usec)
}

/// CPU time (user + system) of another process, in microseconds, from /proc/PID/stat.
func processCPUMicroseconds(pid: Int32) -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
    let ticks = sysconf(Int32(_SC_CLK_TCK))
    return (user + system) * 1_000_000 / max(ticks, 1)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve Health over TLS; prints PORT <n> and CERT <path>, and its CPU time on exit."
    )

    @Option(help: "Address to bind (loopback only is sensible).") var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 picks one.") var port = 0
    @Option(help: "Event loop threads.") var threads = 1
    @Option(help: "Certificate (PEM); made with openssl when omitted.") var certificate: String?
    @Option(help: "Private key (PEM).") var key: String?
    @Option(help: "Accept and send zlib-compressed messages: on or off.") var compression = "on"
    @Option(help: "Print CPU time every N seconds (0 = only at exit).") var reportInterval = 0
    @Option(help: "Exit after this many seconds (a bound for unattended runs).") var maxSeconds = 3600
    @Option(help: "Pass-through interceptors every call runs through (measures the interceptor seam).")
    var interceptors = 0

    func run() async throws {
        let (certificate, key): (String, String)
        var generatedDirectory: String?
        if let given = self.certificate, let givenKey = self.key {
            (certificate, key) = (given, givenKey)
        } else {
            let directory = NSTemporaryDirectory() + "iam-loadtest-\(getpid())"
            (certificate, key) = try BenchCertificates.make(in: directory)
            generatedDirectory = directory
        }
        // The throwaway key must not outlive the server (the client has loaded the certificate by then).
        defer { if let generatedDirectory { try? FileManager.default.removeItem(atPath: generatedDirectory) } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: self.threads)
        let configuration = RPCServerConfiguration(
            host: self.host,
            port: self.port,
            tls: TLSConfiguration.server(certificateChainPath: certificate, privateKeyPath: key),
            credentialStore: InMemoryCredentialStore(secrets: [BenchCredentials.accessKeyID: BenchCredentials.secret]),
            connection: ConnectionOptions(maxConcurrentCalls: 1000, compression: self.compression == "on"),
            interceptors: Array(repeating: PassThroughInterceptor(), count: self.interceptors)
        )
        let server = try await RPCServer.start(configuration: configuration, services: [HealthService()], group: group)
        print("PORT \(server.port)")
        print("CERT \(certificate)")
        print("PID \(getpid())")
        flushOutput()

        let signals = DispatchQueue(label: "signals")
        let stop = AsyncStream<Void>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signals)
            source.setEventHandler { stop.continuation.yield() }
            source.resume()
            sources.append(source)
        }
        signal(SIGUSR1, SIG_IGN)
        let report = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: signals)
        report.setEventHandler {
            print("CPU_US \(ownCPUMicroseconds())")
            flushOutput()
        }
        report.resume()
        let maxSeconds = self.maxSeconds
        let interval = self.reportInterval
        let ticker = Task {
            var elapsed = 0
            while elapsed < maxSeconds {
                try await Task.sleep(for: .seconds(1))
                elapsed += 1
                if interval > 0, elapsed % interval == 0 {
                    print("CPU_US \(ownCPUMicroseconds())")
                    flushOutput()
                }
            }
            stop.continuation.yield()
        }
        for await _ in stop.stream { break }
        ticker.cancel()
        await server.shutdown()
        try await group.shutdownGracefully()
        print("CPU_US \(ownCPUMicroseconds())")
        flushOutput()
        _ = sources
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Closed-loop load: N connections x M calls in flight of Health/Ping, Authorize or AuthorizeBatch; prints calls/s, latency, CPU."
    )

    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case ping
        case authorize
        case authorizeBatch = "authorize-batch"
        /// IAM GetUser of `--user-name` (the front door's benchmark runs the same call over HTTPS).
        case getUser = "get-user"
        /// SimulatePrincipalPolicy of the first `--principal-arn` for `--action`.
        case simulatePrincipalPolicy = "simulate-principal-policy"
    }

    @Option(help: "User a get-user call names.") var userName = "alice"

    @Option(help: "What each call is: ping, authorize or authorize-batch (the last two need --port and an iamd).")
    var workload = Workload.ping
    @Option(help: "Checks per AuthorizeBatch call.") var batch = 100
    @Option(
        help:
            "Access key to connect with: a JSON file with accessKeyId and secretAccessKey (iam-seed's output, or iamd's root-credentials.json); default: the built-in server's key."
    )
    var credentialsFile: String?
    @Option(help: "Principal ARN an Authorize request names (repeat to cycle through several principals).")
    var principalArn: [String] = []
    @Option(help: "Action an Authorize request checks.") var action = "s3:GetObject"
    @Option(help: "Resource an Authorize request checks.")
    var resource = "arn:aws:s3:::company-reports/2026/11/quarterly-summary.csv"

    @Option(help: "Server port; when omitted a server is started as a child process.") var port: Int?
    @Option(help: "Server pid (for its CPU time) when --port is given.") var serverPID: Int32?
    @Option(help: "CA / certificate file to trust when --port is given.") var trust: String?
    @Option(help: "Connections.") var connections = 1
    @Option(help: "Calls in flight per connection.") var inFlight = 1
    @Option(help: "Ping payload bytes (0 = ping-pong, 1024 = 1 KiB echo).") var payload = 0
    @Option(help: "Compression: on or off (both sides).") var compression = "off"
    @Option(help: "Measured seconds.") var duration = 10
    @Option(help: "Warm-up seconds (not measured).") var warmup = 1
    @Option(help: "Stop after this many measured calls.") var maxCalls = 50_000_000
    @Option(help: "Client event loop threads (default: min(connections, 2)).") var threads: Int?
    @Option(help: "Pass-through interceptors on the spawned server (see serve --interceptors).")
    var interceptors = 0

    func run() async throws {
        var child: Process?
        var port = self.port ?? 0
        var serverPID = self.serverPID
        var trust = self.trust
        if self.port == nil {
            let (process, childPort, certificate) = try self.spawnServer()
            child = process
            port = childPort
            serverPID = process.processIdentifier
            trust = certificate
        }
        defer {
            if let child, child.isRunning {
                child.interrupt()
                child.waitUntilExit()
            }
        }
        guard let trust else { throw ValidationError("--trust is required with --port") }
        if self.workload != .ping, self.workload != .getUser, self.principalArn.isEmpty {
            throw ValidationError("--workload \(self.workload.rawValue) needs at least one --principal-arn")
        }
        guard (1...1000).contains(self.batch) else { throw ValidationError("--batch must be 1...1000") }
        var accessKeyID = BenchCredentials.accessKeyID
        var secret = BenchCredentials.secret
        if let path = self.credentialsFile {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let id = object["accessKeyId"] as? String, let key = object["secretAccessKey"] as? String
            else { throw ValidationError("\(path) has no accessKeyId and secretAccessKey") }
            (accessKeyID, secret) = (id, key)
        }

        let threads = self.threads ?? min(self.connections, 2)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        var tls = TLSConfiguration.client(trustRootsPath: trust, serverName: "127.0.0.1")
        tls.minimumVersion = .tls13
        let clients = try (0..<self.connections).map { _ in
            try RPCClient(
                configuration: RPCClientConfiguration(
                    host: "127.0.0.1",
                    port: port,
                    tls: tls,
                    accessKeyID: accessKeyID,
                    secretAccessKey: secret,
                    connection: ConnectionOptions(compression: self.compression == "on")
                ),
                eventLoopGroup: group
            )
        }
        for client in clients { try await client.connect().get() }

        var payload = ByteBuffer()
        // Mildly compressible, like real requests (JSON-ish text), so compression has something to do.
        let text = Array("{\"UserName\":\"alice\",\"Path\":\"/engineering/\",\"Tags\":[{\"Key\":\"team\"}]} ".utf8)
        for index in 0..<self.payload { payload.writeInteger(text[index % text.count]) }
        let request = PingRequest(payload: payload)

        // Checks per call: the figures per check divide by it.
        let checksPerCall = self.workload == .authorizeBatch ? self.batch : 1
        let workers: [any LoadWorker]
        switch self.workload {
        case .ping:
            workers = clients.map {
                Worker(
                    client: $0, method: IAMMethods.Health.ping, requests: [request], response: PingResponse.self,
                    inFlight: self.inFlight)
            }
        case .authorize:
            let requests = self.authorizeRequests()
            print("request_bytes=\(requests[0].encodedSize)")
            workers = clients.map {
                Worker(
                    client: $0, method: IAMMethods.Authorization.authorize, requests: requests,
                    response: AuthorizeResponse.self, inFlight: self.inFlight)
            }
        case .authorizeBatch:
            let checks = self.authorizeRequests()
            // Each batch starts at another principal so every principal is asked about equally often.
            let requests = (0..<checks.count).map { offset in
                AuthorizeBatchRequest(requests: (0..<self.batch).map { checks[(offset + $0) % checks.count] })
            }
            print("request_bytes=\(requests[0].encodedSize)")
            workers = clients.map {
                Worker(
                    client: $0, method: IAMMethods.Authorization.authorizeBatch, requests: requests,
                    response: AuthorizeBatchResponse.self, inFlight: self.inFlight)
            }
        case .getUser:
            workers = clients.map {
                Worker(
                    client: $0, method: IAMMethods.IAM.getUser, requests: [GetUserRequest(userName: self.userName)],
                    response: GetUserResponse.self, inFlight: self.inFlight)
            }
        case .simulatePrincipalPolicy:
            var request = SimulatePrincipalPolicyRequest()
            request.policySourceARN = self.principalArn[0]
            request.actionNames = [self.action]
            workers = clients.map {
                Worker(
                    client: $0, method: IAMMethods.Authorization.simulatePrincipalPolicy, requests: [request],
                    response: SimulatePolicyResponse.self, inFlight: self.inFlight)
            }
        }
        // Warm up, then measure.
        for worker in workers { worker.start() }
        try await Task.sleep(for: .seconds(self.warmup))
        for worker in workers { try await worker.resetCounters() }
        let serverCPUStart = serverPID.flatMap(processCPUMicroseconds)
        let clientCPUStart = ownCPUMicroseconds()
        let clock = ContinuousClock()
        let start = clock.now
        let perWorkerLimit = self.maxCalls / workers.count
        var elapsed = Duration.zero
        while elapsed < .seconds(self.duration) {
            try await Task.sleep(for: .milliseconds(50))
            elapsed = clock.now - start
            var done = 0
            for worker in workers { done += try await worker.completed() }
            if done >= perWorkerLimit * workers.count { break }
        }
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var calls = 0
        var errors = 0
        for worker in workers {
            let result = try await worker.stop()
            histogram.add(result.histogram)
            calls += result.calls
            errors += result.errors
        }
        elapsed = clock.now - start
        let serverCPUEnd = serverPID.flatMap(processCPUMicroseconds)
        let clientCPU = ownCPUMicroseconds() - clientCPUStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        func micros(_ percentile: Double) -> String {
            String(format: "%.1f", Double(histogram.valueAtPercentile(percentile)) / 1000)
        }
        print(
            "workload=\(self.workload.rawValue) connections=\(self.connections) in_flight=\(self.inFlight) payload=\(self.payload) compression=\(self.compression)"
                + (self.workload == .authorizeBatch ? " batch=\(self.batch)" : "")
        )
        print(
            String(
                format: "calls=%d errors=%d seconds=%.2f calls_per_s=%.0f", calls, errors, seconds,
                Double(calls) / seconds))
        print(
            "latency_us p50=\(micros(50)) p99=\(micros(99)) p99.9=\(micros(99.9)) max=\(String(format: "%.1f", Double(histogram.max) / 1000))"
        )
        if let serverCPUStart, let serverCPUEnd, calls > 0 {
            print(String(format: "server_cpu_us_per_call=%.2f", Double(serverCPUEnd - serverCPUStart) / Double(calls)))
        }
        if calls > 0 {
            print(String(format: "client_cpu_us_per_call=%.2f", Double(clientCPU) / Double(calls)))
        }
        if checksPerCall > 1 {
            print(String(format: "checks_per_s=%.0f", Double(calls * checksPerCall) / seconds))
            if let serverCPUStart, let serverCPUEnd, calls > 0 {
                print(
                    String(
                        format: "server_cpu_us_per_check=%.3f",
                        Double(serverCPUEnd - serverCPUStart) / Double(calls * checksPerCall)))
            }
        }
        for client in clients { await client.close() }
        try await group.shutdownGracefully()
    }

    /// One Authorize request per principal: the action, the resource and two context entries of a typical
    /// backend check (about 226 bytes encoded with a user ARN).
    func authorizeRequests() -> [AuthorizeRequest] {
        self.principalArn.map { arn in
            var request = AuthorizeRequest()
            request.principalARN = arn
            request.action = self.action
            request.resource = self.resource
            var ip = ContextEntry()
            ip.contextKeyName = "aws:SourceIp"
            ip.contextKeyValues = ["203.0.113.9"]
            ip.contextKeyType = .ip
            var region = ContextEntry()
            region.contextKeyName = "aws:RequestedRegion"
            region.contextKeyValues = ["us-east-1"]
            region.contextKeyType = .string
            request.contextEntries = [ip, region]
            return request
        }
    }

    /// Starts `iam-loadtest serve` as a child and reads its port and certificate.
    func spawnServer() throws -> (Process, Int, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = [
            "serve", "--compression", self.compression, "--max-seconds", "\(self.duration + self.warmup + 120)",
            "--interceptors", "\(self.interceptors)",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var port: Int?
        var certificate: String?
        var buffered = ""
        let handle = output.fileHandleForReading
        // Bounded: the server prints both lines right after binding.
        for _ in 0..<200 where port == nil || certificate == nil {
            let data = handle.availableData
            if data.isEmpty { break }
            buffered += String(decoding: data, as: UTF8.self)
            for line in buffered.split(separator: "\n") {
                if line.hasPrefix("PORT ") { port = Int(line.dropFirst(5)) }
                if line.hasPrefix("CERT ") { certificate = String(line.dropFirst(5)) }
            }
        }
        guard let port, let certificate else {
            process.terminate()
            throw ValidationError("the server did not report its port")
        }
        return (process, port, certificate)
    }
}

/// Keeps `inFlight` calls outstanding on one client, from its event loop: each completion records its
/// latency and issues the next call in the same callback (no Task, no lock, no thread hop).
protocol LoadWorker: Sendable {
    func start()
    func resetCounters() async throws
    func completed() async throws -> Int
    func stop() async throws -> (histogram: Histogram<UInt64>, calls: Int, errors: Int)
}

/// Generic over the call so Ping, Authorize and AuthorizeBatch share the loop; each instantiation is
/// specialized, so Ping's client path is the same code as before. Requests cycle in order.
final class Worker<Request: WireMessage, Response: WireMessage>: LoadWorker {
    let client: RPCClient
    let method: MethodDescriptor
    let requests: [Request]
    let inFlight: Int
    private let state: NIOLoopBoundBox<State>

    final class State {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var calls = 0
        var errors = 0
        var running = true
        var outstanding = 0
        var next = 0
        var drained: EventLoopPromise<Void>?
    }

    init(client: RPCClient, method: MethodDescriptor, requests: [Request], response: Response.Type, inFlight: Int) {
        precondition(!requests.isEmpty)
        self.client = client
        self.method = method
        self.requests = requests
        self.inFlight = inFlight
        self.state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: client.eventLoop)
    }

    func start() {
        self.client.eventLoop.execute {
            for _ in 0..<self.inFlight { self.issue() }
        }
    }

    private func issue() {
        let state = self.state.value
        guard state.running else { return }
        state.outstanding += 1
        let request = self.requests[state.next]
        state.next = state.next + 1 == self.requests.count ? 0 : state.next + 1
        let start = NIODeadline.now().uptimeNanoseconds
        self.client.unaryFuture(self.method, request, as: Response.self).assumeIsolated()
            .whenComplete { result in
                let state = self.state.value
                state.outstanding -= 1
                switch result {
                case .success:
                    _ = state.histogram.record(NIODeadline.now().uptimeNanoseconds - start)
                    state.calls += 1
                case .failure(let error):
                    if state.errors == 0 {
                        // The first failure says why (a denied key, an unknown principal); the rest only count.
                        print("first_error=\(error)")
                        flushOutput()
                    }
                    state.errors += 1
                }
                if state.running {
                    self.issue()
                } else if state.outstanding == 0 {
                    state.drained?.succeed(())
                }
            }
    }

    func resetCounters() async throws {
        try await self.client.eventLoop.submit {
            let state = self.state.value
            state.histogram.reset()
            state.calls = 0
            state.errors = 0
        }.get()
    }

    func completed() async throws -> Int {
        try await self.client.eventLoop.submit { self.state.value.calls }.get()
    }

    func stop() async throws -> (histogram: Histogram<UInt64>, calls: Int, errors: Int) {
        // Counters are read at the moment of stopping; calls still in flight finish but are not counted.
        let (histogram, calls, errors, drained) = try await self.client.eventLoop.submit {
            let state = self.state.value
            state.running = false
            let promise = self.client.eventLoop.makePromise(of: Void.self)
            if state.outstanding == 0 { promise.succeed(()) } else { state.drained = promise }
            return (state.histogram, state.calls, state.errors, promise.futureResult)
        }.get()
        try await drained.get()
        return (histogram, calls, errors)
    }
}

/// What an authorizer does before it evaluates anything: read the call's action and caller, and let
/// it pass. Measures what the interceptor seam itself costs per call.
struct PassThroughInterceptor: ServerInterceptor {
    func intercept<Request: WireMessage>(_ request: Request, context: ServerCallContext) -> ServerInterceptorVerdict {
        context.accessKeyID.isEmpty && context.method.action != nil
            ? .reject(RPCError(code: .unauthenticated, message: "no caller")) : .proceed
    }
}

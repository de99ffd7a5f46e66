import ArgumentParser
import Foundation
import IAMClient
import IAMRPC
import IAMWire
import NIOPosix
import Synchronization

/// One crash trial: iamd on a fresh data folder, `--connections` writers each running the sequence
/// CreateUser (3 tags) → TagUser (5 tags) → AttachUserPolicy → PutUserPolicy for user after user; a
/// `kill -9` at a random moment; iamd restarted on the same folder; then every user checked against what
/// was acknowledged: each acknowledged step is there, a step in flight at the kill is all there or not at
/// all (the user and its 3 tags, the 5 tags, the attachment, the inline document), nothing later than the
/// step in flight exists, no user appears that was never asked for, and the restarted authorization
/// snapshot agrees with the store (the attached policy and the inline policy decide Authorize).
struct CrashTrial: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-trial", abstract: "Writes, kill -9, restart, verify (prints one result line).")

    @Option(help: "The iamd executable.") var iamd: String
    @Option(help: "A fresh data folder for this trial.") var dataDir: String
    @Option(help: "Random seed (picks the kill moment).") var seed: UInt64 = 1
    @Option(help: "Writer connections.") var connections = 16
    @Option(help: "Earliest kill, in ms after the writers started.") var minKillMs = 300
    @Option(help: "Latest kill, in ms after the writers started.") var maxKillMs = 3000

    static let policyARN = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    static let inlineDocument =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#

    func run() async throws {
        var generator = SplitMix(seed: self.seed)
        let killAfter = self.minKillMs + Int(generator.next() % UInt64(max(1, self.maxKillMs - self.minKillMs)))
        let log = self.dataDir + "/iamd.log"
        try FileManager.default.createDirectory(atPath: self.dataDir, withIntermediateDirectories: true)
        let group = MultiThreadedEventLoopGroup.singleton

        let daemon = try await Daemon(executable: self.iamd, dataDir: self.dataDir, log: log)
        defer { daemon.stop() }  // only if something threw before the kill
        let (id, secret) = try Endpoint.credentials(self.dataDir + "/root-credentials.json")
        var endpoint = Endpoint(
            port: daemon.port, caFile: self.dataDir + "/tls/ca.pem", accessKeyID: id, secret: secret)
        let ledger = Ledger()
        let clients = try (0..<self.connections).map { _ in try endpoint.client(group) }
        for client in clients { try await client.connect().get() }

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (index, client) in clients.enumerated() {
                tasks.addTask { await Self.write(client: client, worker: index, ledger: ledger) }
            }
            try await Task.sleep(for: .milliseconds(killAfter))
            ledger.markKilled()
            daemon.kill9()
            try await tasks.waitForAll()
        }
        for client in clients { await client.close() }
        let unexpected = ledger.unexpectedErrors()
        guard unexpected.isEmpty else {
            throw ValidationError("writes failed before the kill: \(unexpected.prefix(5).joined(separator: "; "))")
        }

        let restarted = try await Daemon(executable: self.iamd, dataDir: self.dataDir, log: log)
        defer { restarted.stop() }
        endpoint.port = restarted.port
        let checker = try endpoint.client(group)
        try await checker.connect().get()
        let failures = try await Self.verify(ledger.snapshot(), client: checker)
        await checker.close()
        let records = ledger.snapshot()
        let acked = records.values.reduce(0) { $0 + $1.acked }
        let inDoubt = records.values.filter { $0.inFlight != nil }.count
        print(
            "trial seed=\(self.seed) kill_after_ms=\(killAfter) users=\(records.count) acknowledged_steps=\(acked)"
                + " in_doubt=\(inDoubt) failures=\(failures.count)")
        if !failures.isEmpty {
            for failure in failures.prefix(20) { print("  FAIL \(failure)") }
            throw ExitCode(1)
        }
    }

    /// One writer: users one after another, each through the four steps, until the server dies.
    static func write(client: RPCClient, worker: Int, ledger: Ledger) async {
        let iam = IAMServiceClient(client: client)
        let options = CallOptions(timeout: .seconds(60))
        var index = 0
        while true {
            let name = "crash-w\(worker)-u\(index)"
            index += 1
            for step in 1...4 {
                ledger.begin(name, step: step)
                do {
                    switch step {
                    case 1:
                        _ = try await iam.createUser(
                            CreateUserRequest(path: "/crash/", userName: name, tags: Self.createTags(name)),
                            options: options)
                    case 2:
                        _ = try await iam.tagUser(
                            TagUserRequest(userName: name, tags: Self.moreTags(name)), options: options)
                    case 3:
                        _ = try await iam.attachUserPolicy(
                            AttachUserPolicyRequest(userName: name, policyARN: Self.policyARN), options: options)
                    default:
                        _ = try await iam.putUserPolicy(
                            PutUserPolicyRequest(
                                userName: name, policyName: "inline", policyDocument: Self.inlineDocument),
                            options: options)
                    }
                    ledger.acknowledge(name, step: step)
                } catch {
                    // After the kill every call fails; before it, none may.
                    if !ledger.isKilled {
                        ledger.unexpected("\(name) step \(step): \(error)")
                    }
                    return
                }
            }
        }
    }

    static func createTags(_ name: String) -> [Tag] {
        (0..<3).map { Tag(key: "create\($0)", value: "\(name)-c\($0)") }
    }

    static func moreTags(_ name: String) -> [Tag] {
        (0..<5).map { Tag(key: "more\($0)", value: "\(name)-m\($0)") }
    }

    /// Compares the restarted server with the ledger; returns what is wrong.
    static func verify(_ records: [String: Ledger.Record], client: RPCClient) async throws -> [String] {
        let iam = IAMServiceClient(client: client)
        let authorization = AuthorizationServiceClient(client: client)
        var failures: [String] = []
        let account = try await STSServiceClient(client: client).getCallerIdentity(GetCallerIdentityRequest()).account
        // Every user under /crash/ must be one a writer asked for.
        var marker = ""
        var listed = Set<String>()
        repeat {
            let page = try await iam.listUsers(ListUsersRequest(pathPrefix: "/crash/", marker: marker, maxItems: 1000))
            listed.formUnion(page.users.map(\.userName))
            marker = page.isTruncated ? page.marker : ""
        } while !marker.isEmpty
        for name in listed where records[name] == nil {
            failures.append("\(name) exists but was never created")
        }
        for (name, record) in records.sorted(by: { $0.key < $1.key }) {
            // Each step's effect must be there if acknowledged, may be there (whole) if in flight, and must not
            // be there otherwise.
            func expect(_ step: Int, present: Bool, _ what: String) {
                if step <= record.acked, !present { failures.append("\(name): acknowledged \(what) is missing") }
                if step > record.acked, step != record.inFlight, present {
                    failures.append("\(name): \(what) is there but was never sent")
                }
            }
            let exists = listed.contains(name)
            expect(1, present: exists, "CreateUser")
            guard exists else { continue }
            let tags = try await iam.listUserTags(ListUserTagsRequest(userName: name, maxItems: 100)).tags
            let have = Set(tags.map { "\($0.key)=\($0.value)" })
            let created = Set(Self.createTags(name).map { "\($0.key)=\($0.value)" })
            let more = Set(Self.moreTags(name).map { "\($0.key)=\($0.value)" })
            if !created.isSubset(of: have) {
                failures.append("\(name): CreateUser's tags half there: \(have.sorted())")
            }
            let moreThere = have.intersection(more)
            if !moreThere.isEmpty, moreThere != more {
                failures.append("\(name): TagUser half applied: \(have.sorted())")
            }
            if !have.subtracting(created).subtracting(more).isEmpty {
                failures.append("\(name): unknown tags \(have.sorted())")
            }
            expect(2, present: moreThere == more, "TagUser")

            let attached = try await iam.listAttachedUserPolicies(ListAttachedUserPoliciesRequest(userName: name))
                .attachedPolicies.map(\.policyARN)
            expect(3, present: attached == [Self.policyARN], "AttachUserPolicy")
            if !attached.isEmpty, attached != [Self.policyARN] { failures.append("\(name): attached \(attached)") }

            let inline = try await iam.listUserPolicies(ListUserPoliciesRequest(userName: name)).policyNames
            expect(4, present: inline == ["inline"], "PutUserPolicy")
            if inline == ["inline"] {
                let document = try await iam.getUserPolicy(GetUserPolicyRequest(userName: name, policyName: "inline"))
                    .policyDocument
                if document != Self.inlineDocument { failures.append("\(name): inline document differs: \(document)") }
            }

            // The snapshot rebuilt at start-up must decide as the store says.
            let arn = "arn:aws:iam::\(account):user/crash/\(name)"
            let viaAttached = try await authorization.authorize(
                AuthorizeRequest(principalARN: arn, action: "iam:GetRole", resource: "*")
            ).decision
            if (viaAttached == .allowed) != (attached == [Self.policyARN]) {
                failures.append("\(name): Authorize iam:GetRole is \(viaAttached) with attachments \(attached)")
            }
            let viaInline = try await authorization.authorize(
                AuthorizeRequest(principalARN: arn, action: "sqs:SendMessage", resource: "*")
            ).decision
            if (viaInline == .allowed) != (inline == ["inline"]) {
                failures.append("\(name): Authorize sqs:SendMessage is \(viaInline) with inline \(inline)")
            }
        }
        return failures
    }
}

/// What each user's writer sent and had acknowledged; shared by the writers.
final class Ledger: Sendable {
    struct Record: Sendable {
        /// The last step acknowledged (0: none).
        var acked = 0
        /// The step sent and not acknowledged (it may or may not have been applied).
        var inFlight: Int?
    }

    private let state = Mutex<(records: [String: Record], unexpected: [String], killed: Bool)>(([:], [], false))

    /// The kill was sent: from now on failed calls are expected.
    func markKilled() { self.state.withLock { $0.killed = true } }

    var isKilled: Bool { self.state.withLock { $0.killed } }

    func begin(_ name: String, step: Int) {
        self.state.withLock { $0.records[name, default: Record()].inFlight = step }
    }

    func acknowledge(_ name: String, step: Int) {
        self.state.withLock {
            $0.records[name]?.acked = step
            $0.records[name]?.inFlight = nil
        }
    }

    func unexpected(_ message: String) {
        self.state.withLock { $0.unexpected.append(message) }
    }

    func unexpectedErrors() -> [String] { self.state.withLock { $0.unexpected } }

    func snapshot() -> [String: Record] { self.state.withLock { $0.records } }
}

/// A small deterministic generator, so a seed names a trial.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

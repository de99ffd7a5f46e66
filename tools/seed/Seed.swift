import ArgumentParser
import Foundation
import IAMDomain
import IAMRPC
import IAMStoreSQLite

/// `iam-seed`: fills an iamd data folder's SQLite store with a synthetic account for benchmarks: N users,
/// G groups and P customer managed policies (each user in a few groups, each group and user with a few
/// attached policies), plus one checker user whose access key may call `iam:Authorize*`.
///
/// Bulk rows go through the store's own write primitives in large transactions (one `Store.write` per
/// batch), so they get revisions and change-log entries like any write and 100,000 users seed in seconds
/// rather than one fsync each. The checker goes through ``IAMDirectory`` so its documents are validated.
@main
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-seed",
        abstract: "Seed an iamd data folder with users, groups, policies and a checker access key (benchmarks).",
        discussion: """
            Prints the checker's credentials once, as one JSON object on stdout (accessKeyId, \
            secretAccessKey, principalArn): redirect it to a file of mode 0600. Progress and timings go to stderr.
            """
    )

    @Option(help: "The iamd data folder (iam.sqlite is created in it).") var dataDir: String
    @Option(help: "Users.") var users = 10
    @Option(help: "Groups.") var groups = 4
    @Option(help: "Customer managed policies.") var policies = 8
    @Option(help: "Groups each user belongs to (at most 10, AWS's quota).") var groupsPerUser = 3
    @Option(help: "Managed policies attached to each group.") var policiesPerGroup = 2
    @Option(help: "Managed policies attached to each user directly.") var policiesPerUser = 1
    @Option(help: "Rows per write transaction.") var batch = 5_000
    @Option(help: "The 12-digit account id (iamd's --account-id).") var accountId = "123456789012"
    @Option(
        help:
            "After seeding, also measure CreateUser through IAMDirectory with this many concurrent writers (store level, durable; 0 = skip)."
    )
    var createWriters = 0
    @Option(help: "Users the CreateUser measurement creates.") var createCount = 4_000

    func validate() throws {
        guard users >= 1, groups >= 1, policies >= 1 else { throw ValidationError("need at least one of each") }
        guard (0...10).contains(groupsPerUser), groupsPerUser <= groups else {
            throw ValidationError("--groups-per-user must be 0...10 and at most --groups")
        }
        guard (0...10).contains(policiesPerGroup), (0...9).contains(policiesPerUser),
            policiesPerGroup <= policies, policiesPerUser <= policies
        else {
            throw ValidationError("at most 10 managed policies per entity (AWS's default quota), and <= --policies")
        }
        guard batch >= 1 else { throw ValidationError("--batch must be positive") }
    }

    func run() async throws {
        let account = try AccountID(accountId)
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: URL(fileURLWithPath: dataDir).appendingPathComponent("iam.sqlite").path)
        guard try await store.read({ tx throws(IAMError) in try tx.count(User.self) }) == 0 else {
            throw ValidationError("\(dataDir) already holds users; seed an empty folder")
        }
        let clock = ContinuousClock()
        let start = clock.now
        let now = Date()

        // The checker first: the identity a backend service calls Authorize with. IAMDirectory enforces AWS's
        // quotas (5,000 users per account), which the bulk rows below go past on purpose.
        let directory = IAMDirectory(store: store, account: account)
        let checkerName = try EntityName("bench-checker", kind: .user)
        let checker = try await directory.createUser(name: checkerName).value
        let checkerPolicy = try await directory.createPolicy(
            name: try EntityName("AuthorizationChecks", kind: .policy),
            document: """
                {"Version":"2012-10-17","Statement":[{"Sid":"Check","Effect":"Allow",\
                "Action":["iam:Authorize","iam:AuthorizeBatch"],"Resource":"*"}]}
                """
        ).value
        _ = try await directory.attachPolicy(checkerPolicy.arn, to: .user, named: checkerName)
        let secret = SecretAccessKey.generate()
        let keyID = AccessKeyID.generate()
        let credential = SCRAMCredential.derive(secret: secret)
        _ = try await directory.createAccessKey(
            userName: checkerName, id: keyID,
            verifier: SCRAMVerifier(
                salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                serverKey: credential.serverKey))
        // Policies.
        let policyARNs = try (0..<policies).map { index throws(IAMError) in
            ARN.policy(account: account, path: .root, name: try EntityName(Self.policyName(index), kind: .policy))
        }
        try await self.inBatches(0..<policies, store: store) { index throws(IAMError) in
            let name = try EntityName(Self.policyName(index), kind: .policy)
            return .policy(
                ManagedPolicy(
                    id: .generate(.managedPolicy), name: name, path: .root, arn: policyARNs[index], createDate: now,
                    document: Self.policyDocument(index, account: account.rawValue), description: nil))
        }
        report("policies: \(policies) in \(Self.seconds(clock.now - start)) s")

        // Groups, each with its attached policies.
        let groupStart = clock.now
        var groupIDs: [UniqueID] = []
        groupIDs.reserveCapacity(groups)
        for _ in 0..<groups { groupIDs.append(.generate(.group)) }
        let fixedGroupIDs = groupIDs
        try await self.inBatches(0..<groups, store: store) { index throws(IAMError) in
            let name = try EntityName("group-" + Self.padded(index, 6), kind: .group)
            let path = try IAMPath("/team-\(index % 50)/")
            let group = Group(
                id: fixedGroupIDs[index], name: name, path: path, arn: .group(account: account, path: path, name: name),
                createDate: now)
            let owner = OwnerRef(.group, fixedGroupIDs[index])
            let attached = Self.spread(index, count: self.policiesPerGroup, over: self.policies, stride: 7)
            return .group(group, attached.map { Attachment(owner: owner, policyARN: policyARNs[$0]) })
        }
        report("groups: \(groups) in \(Self.seconds(clock.now - groupStart)) s")

        // Users, each with its memberships and attached policies.
        let userStart = clock.now
        try await self.inBatches(0..<users, store: store) { index throws(IAMError) in
            let name = try EntityName(Self.userName(index), kind: .user)
            let path = try IAMPath(Self.userPath(index))
            let user = User(
                id: .generate(.user), name: name, path: path, arn: .user(account: account, path: path, name: name),
                createDate: now)
            let owner = OwnerRef(.user, user.id)
            let memberships = Self.spread(index, count: self.groupsPerUser, over: self.groups, stride: 7919).map {
                Membership(userID: user.id, groupID: fixedGroupIDs[$0])
            }
            let attached = Self.spread(index &+ 3, count: self.policiesPerUser, over: self.policies, stride: 13).map {
                Attachment(owner: owner, policyARN: policyARNs[$0])
            }
            return .user(user, memberships, attached)
        }
        report("users: \(users) in \(Self.seconds(clock.now - userStart)) s")

        let revision = try await store.revision()
        report(
            "seeded \(users) users, \(groups) groups, \(policies) policies in \(Self.seconds(clock.now - start)) s (store revision \(revision.rawValue))"
        )
        let credentials: [String: String] = [
            "accessKeyId": keyID.rawValue, "secretAccessKey": secret, "principalArn": checker.arn.description,
        ]
        // Slashes as they are: a secret copied out of the file by hand must not carry JSON's `\/`.
        let json = try JSONSerialization.data(
            withJSONObject: credentials, options: [.sortedKeys, .withoutEscapingSlashes])
        FileHandle.standardOutput.write(json + Data("\n".utf8))

        if createWriters > 0 { try await self.measureCreateUser(directory) }
        try await store.close()
    }

    /// CreateUser through IAMDirectory (validation, name and quota checks, one durable transaction each, group
    /// commit) with `createWriters` concurrent writers: the store-level part of issue 7 §8's write figure.
    func measureCreateUser(_ directory: IAMDirectory) async throws {
        let writers = createWriters
        let perWriter = max(createCount / writers, 1)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        let name = try EntityName("created-\(writer)-\(index)", kind: .user)
                        _ = try await directory.createUser(name: name)
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Self.seconds(clock.now - start)
        let total = perWriter * writers
        report(
            String(
                format:
                    "STORE-LEVEL CreateUser (IAMDirectory + SQLiteStore, durable, no RPC): writers=%d users=%d seconds=%.2f creates_per_s=%.0f",
                writers, total, seconds, Double(total) / seconds))
    }

    enum Row: Sendable {
        case policy(ManagedPolicy)
        case group(Group, [Attachment])
        case user(User, [Membership], [Attachment])
    }

    /// Writes the rows `make` builds for `range`, `batch` per transaction.
    func inBatches(
        _ range: Range<Int>, store: SQLiteStore, make: (Int) throws(IAMError) -> Row
    ) async throws {
        var lower = range.lowerBound
        while lower < range.upperBound {
            let upper = min(lower + batch, range.upperBound)
            var rows: [Row] = []
            rows.reserveCapacity(upper - lower)
            for index in lower..<upper { rows.append(try make(index)) }
            let fixed = rows
            _ = try await store.write { tx throws(IAMError) in
                for row in fixed {
                    switch row {
                    case .policy(let policy):
                        try tx.insert(policy)
                    case .group(let group, let attachments):
                        try tx.insert(group)
                        for attachment in attachments { try tx.attach(attachment) }
                    case .user(let user, let memberships, let attachments):
                        try tx.insert(user)
                        for membership in memberships { try tx.addMembership(membership) }
                        for attachment in attachments { try tx.attach(attachment) }
                    }
                }
            }
            lower = upper
        }
    }

    /// `count` distinct indexes in `0..<total`, spread by a stride so neighbours share little.
    static func spread(_ seed: Int, count: Int, over total: Int, stride: Int) -> [Int] {
        var chosen: [Int] = []
        var start = (seed &* 31) % total
        var candidate = start
        while chosen.count < count {  // ends: count <= total, and every cycle of the stride moves on by one
            if !chosen.contains(candidate) { chosen.append(candidate) }
            candidate = (candidate + stride) % total
            if candidate == start {
                start = (start + 1) % total
                candidate = start
            }
        }
        return chosen
    }

    static func userName(_ index: Int) -> String { "user-" + padded(index, 6) }
    static func userPath(_ index: Int) -> String { "/dept-\(index % 20)/" }
    static func policyName(_ index: Int) -> String { "policy-" + padded(index, 5) }

    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(width - digits.count, 0)) + digits
    }

    /// A realistic document of four or five statements: exact S3 actions on one bucket, an EC2 Describe*
    /// wildcard, a Deny on a secrets prefix, a DynamoDB statement with an IP condition, and (every fourth
    /// policy) the shared reports statement the load tester's Authorize request hits.
    static func policyDocument(_ index: Int, account: String) -> String {
        let bucket = "bucket-\(index % 500)"
        var statements = [
            """
            {"Sid":"ReadBucket","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket","s3:GetObjectVersion"],\
            "Resource":["arn:aws:s3:::\(bucket)","arn:aws:s3:::\(bucket)/*"]}
            """,
            """
            {"Sid":"Describe","Effect":"Allow","Action":["ec2:Describe*","cloudwatch:Get*"],"Resource":"*"}
            """,
            """
            {"Sid":"DenySecrets","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::secrets-\(index % 100)/*"}
            """,
            """
            {"Sid":"Table","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","dynamodb:PutItem"],\
            "Resource":"arn:aws:dynamodb:us-east-1:\(account):table/table-\(index % 1000)",\
            "Condition":{"IpAddress":{"aws:SourceIp":"10.\(index % 256).0.0/16"}}}
            """,
        ]
        if index % 4 == 0 {
            statements.append(
                """
                {"Sid":"Reports","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::company-reports/*",\
                "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"},"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}
                """)
        }
        return "{\"Version\":\"2012-10-17\",\"Statement\":[" + statements.joined(separator: ",") + "]}"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

func report(_ message: String) {
    FileHandle.standardError.write(Data("iam-seed: \(message)\n".utf8))
}

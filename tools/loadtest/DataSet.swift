import Foundation
import IAMClient
import IAMRPC
import IAMWire

/// The principals a run asks about: made for the run (and removed afterwards), taken from what the account
/// holds, or named on the command line.
struct DataSet: Sendable {
    struct User: Sendable {
        var name: String
        var arn: String
        var team: String
    }

    var users: [User]
    /// The account of the principals (from their ARNs), for resource ARNs that name one.
    var accountID: String
    /// What to delete afterwards; empty when the data set was not made by this run.
    var created = Created()

    struct Created: Sendable {
        var users: [String] = []
        var groups: [String] = []
        var policyARNs: [String] = []
        var memberships: [(group: String, user: String)] = []
        var userAttachments: [(user: String, policyARN: String)] = []
        var groupAttachments: [(group: String, policyARN: String)] = []
    }

    static let teams = ["payments", "search", "analytics", "platform", "mobile", "billing"]

    /// Principals named by ARN (today's `--principal-arn`); get-user asks for the name after the last `/`.
    static func named(_ arns: [String]) -> DataSet {
        let users = arns.enumerated().map { offset, arn in
            User(
                name: String(arn.split(separator: "/").last ?? Substring(arn)), arn: arn,
                team: teams[offset % teams.count])
        }
        return DataSet(users: users, accountID: Self.account(of: arns.first ?? ""))
    }

    static func account(of arn: String) -> String {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count > 4 && !parts[4].isEmpty ? String(parts[4]) : "123456789012"
    }

    /// Up to `limit` users of the account, following ListUsers' pagination.
    static func existing(client: IAMClient, limit: Int = 10_000) async throws -> DataSet {
        var users: [User] = []
        var marker = ""
        repeat {
            var request = ListUsersRequest()
            request.marker = marker
            request.maxItems = 1000
            let page = try await client.call(IAMMethods.IAM.listUsers, request, as: ListUsersResponse.self)
            for user in page.users {
                let segments = user.path.split(separator: "/")
                users.append(
                    User(name: user.userName, arn: user.arn, team: segments.last.map(String.init) ?? "default"))
            }
            marker = page.isTruncated ? page.marker : ""
        } while !marker.isEmpty && users.count < limit
        guard !users.isEmpty else {
            throw LoadTestError(
                "the account holds no users; drop --use-existing to let the load tester make a data set")
        }
        return DataSet(users: Array(users.prefix(limit)), accountID: Self.account(of: users[0].arn))
    }

    /// A policy a team would write: reads of its report prefix from the office networks in two regions,
    /// writes under the caller's own prefix over TLS only, its DynamoDB tables, and a deny of deletes
    /// without MFA.
    static func policyDocument(team: String) -> String {
        #"""
        {"Version":"2012-10-17","Statement":[
         {"Sid":"ReadTeamReports","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],
          "Resource":["arn:aws:s3:::company-reports","arn:aws:s3:::company-reports/\#(team)/*"],
          "Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","198.51.100.0/24"]},
                       "StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}},
         {"Sid":"WriteOwnPrefix","Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload"],
          "Resource":"arn:aws:s3:::company-reports/\#(team)/${aws:username}/*",
          "Condition":{"Bool":{"aws:SecureTransport":"true"}}},
         {"Sid":"TeamTables","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","dynamodb:PutItem"],
          "Resource":"arn:aws:dynamodb:*:*:table/\#(team)-*"},
         {"Sid":"DenyDeleteWithoutMFA","Effect":"Deny","Action":["s3:DeleteObject","dynamodb:DeleteTable"],
          "Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}
        ]}
        """#
    }

    /// Makes `users` users in `groups` groups with `policies` managed policies attached to groups and
    /// users (each user in up to two groups and attached to one policy directly), `parallel` writes at a
    /// time. Names start with `prefix` so a crashed run's leftovers are easy to find.
    static func create(
        client: IAMClient, prefix: String, users userCount: Int, groups groupCount: Int, policies policyCount: Int,
        parallel: Int = 8
    ) async throws -> DataSet {
        var created = Created()
        var policyARNs: [String] = []
        var policyTeams: [String] = []
        // Policies first (users and groups attach them), in order so policy i is the i-th ARN.
        for index in 0..<policyCount {
            var request = CreatePolicyRequest()
            request.policyName = "\(prefix)-policy-\(index)"
            request.path = "/loadtest/"
            let team = teams[index % teams.count]
            request.policyDocument = policyDocument(team: team)
            request.description = "iam-loadtest: \(team) team access"
            let response = try await client.call(IAMMethods.IAM.createPolicy, request, as: CreatePolicyResponse.self)
            let arn = response.policy?.arn ?? ""
            policyARNs.append(arn)
            policyTeams.append(team)
            created.policyARNs.append(arn)
        }
        let groupNames = (0..<groupCount).map { "\(prefix)-group-\($0)" }
        try await forEach(groupNames.indices, parallel: parallel) { index in
            var request = CreateGroupRequest()
            request.groupName = groupNames[index]
            request.path = "/loadtest/"
            _ = try await client.call(IAMMethods.IAM.createGroup, request, as: CreateGroupResponse.self)
        }
        created.groups = groupNames
        if !policyARNs.isEmpty {
            created.groupAttachments = groupNames.indices.map { (groupNames[$0], policyARNs[$0 % policyARNs.count]) }
            try await forEach(created.groupAttachments.indices, parallel: parallel) { [created] index in
                var request = AttachGroupPolicyRequest()
                (request.groupName, request.policyARN) = created.groupAttachments[index]
                _ = try await client.call(
                    IAMMethods.IAM.attachGroupPolicy, request, as: AttachGroupPolicyResponse.self)
            }
        }
        let names = (0..<userCount).map { "\(prefix)-user-\($0)" }
        let userTeams = (0..<userCount).map {
            policyTeams.isEmpty ? teams[$0 % teams.count] : policyTeams[$0 % policyTeams.count]
        }
        let arns = ArnCollector(count: userCount)
        try await forEach(names.indices, parallel: parallel) { index in
            var request = CreateUserRequest()
            request.userName = names[index]
            request.path = "/loadtest/\(userTeams[index])/"
            var tag = Tag()
            tag.key = "team"
            tag.value = userTeams[index]
            request.tags = [tag]
            let response = try await client.call(IAMMethods.IAM.createUser, request, as: CreateUserResponse.self)
            arns.set(index, response.user?.arn ?? "")
        }
        created.users = names
        if groupCount > 0 {
            created.memberships = names.indices.flatMap { index in
                Set([index % groupCount, (index + 1) % groupCount]).sorted().map { (groupNames[$0], names[index]) }
            }
            try await forEach(created.memberships.indices, parallel: parallel) { [created] index in
                var request = AddUserToGroupRequest()
                (request.groupName, request.userName) = created.memberships[index]
                _ = try await client.call(IAMMethods.IAM.addUserToGroup, request, as: AddUserToGroupResponse.self)
            }
        }
        if !policyARNs.isEmpty {
            created.userAttachments = names.indices.map { (names[$0], policyARNs[$0 % policyARNs.count]) }
            try await forEach(created.userAttachments.indices, parallel: parallel) { [created] index in
                var request = AttachUserPolicyRequest()
                (request.userName, request.policyARN) = created.userAttachments[index]
                _ = try await client.call(IAMMethods.IAM.attachUserPolicy, request, as: AttachUserPolicyResponse.self)
            }
        }
        let arnList = arns.values
        let users = names.indices.map { User(name: names[$0], arn: arnList[$0], team: userTeams[$0]) }
        return DataSet(users: users, accountID: account(of: arnList.first ?? ""), created: created)
    }

    /// Deletes what `create` made, in dependency order; goes on past failures and returns how many there were.
    func cleanUp(client: IAMClient, parallel: Int = 8) async -> Int {
        let failures = Counter()
        let created = self.created
        @Sendable func attempt(_ body: @escaping @Sendable () async throws -> Void) async {
            do { try await body() } catch { failures.add(error) }
        }
        try? await forEach(created.memberships.indices, parallel: parallel) { index in
            await attempt {
                var request = RemoveUserFromGroupRequest()
                (request.groupName, request.userName) = created.memberships[index]
                _ = try await client.call(
                    IAMMethods.IAM.removeUserFromGroup, request, as: RemoveUserFromGroupResponse.self)
            }
        }
        try? await forEach(created.userAttachments.indices, parallel: parallel) { index in
            await attempt {
                var request = DetachUserPolicyRequest()
                (request.userName, request.policyARN) = created.userAttachments[index]
                _ = try await client.call(IAMMethods.IAM.detachUserPolicy, request, as: DetachUserPolicyResponse.self)
            }
        }
        try? await forEach(created.groupAttachments.indices, parallel: parallel) { index in
            await attempt {
                var request = DetachGroupPolicyRequest()
                (request.groupName, request.policyARN) = created.groupAttachments[index]
                _ = try await client.call(
                    IAMMethods.IAM.detachGroupPolicy, request, as: DetachGroupPolicyResponse.self)
            }
        }
        try? await forEach(created.users.indices, parallel: parallel) { index in
            await attempt {
                var request = DeleteUserRequest()
                request.userName = created.users[index]
                _ = try await client.call(IAMMethods.IAM.deleteUser, request, as: DeleteUserResponse.self)
            }
        }
        try? await forEach(created.groups.indices, parallel: parallel) { index in
            await attempt {
                var request = DeleteGroupRequest()
                request.groupName = created.groups[index]
                _ = try await client.call(IAMMethods.IAM.deleteGroup, request, as: DeleteGroupResponse.self)
            }
        }
        try? await forEach(created.policyARNs.indices, parallel: parallel) { index in
            await attempt {
                var request = DeletePolicyRequest()
                request.policyARN = created.policyARNs[index]
                _ = try await client.call(IAMMethods.IAM.deletePolicy, request, as: DeletePolicyResponse.self)
            }
        }
        return failures.count
    }
}

/// A failure the operator can act on, printed as is.
struct LoadTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` for every element, at most `parallel` at a time; the first error cancels the rest.
func forEach<C: Collection & Sendable>(
    _ items: C, parallel: Int, _ body: @escaping @Sendable (C.Element) async throws -> Void
) async throws where C.Element: Sendable {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var iterator = items.makeIterator()
        for _ in 0..<max(1, parallel) {
            guard let item = iterator.next() else { break }
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if let item = iterator.next() { group.addTask { try await body(item) } }
        }
    }
}

/// Results filled in by concurrent tasks.
private final class ArnCollector: @unchecked Sendable {
    // Guarded by `lock`.
    private var storage: [String]
    private let lock = NSLock()
    init(count: Int) { self.storage = [String](repeating: "", count: count) }
    func set(_ index: Int, _ value: String) { self.lock.withLock { self.storage[index] = value } }
    var values: [String] { self.lock.withLock { self.storage } }
}

private final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private var value = 0
    private var first: String?
    private let lock = NSLock()
    func add(_ error: any Error) {
        self.lock.withLock {
            self.value += 1
            if self.first == nil { self.first = "\(error)" }
        }
    }
    var count: Int { self.lock.withLock { self.value } }
}

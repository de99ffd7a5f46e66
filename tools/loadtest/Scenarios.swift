import ArgumentParser
import IAMRPC
import IAMWire
import NIOCore

/// What each call is.
enum Scenario: String, ExpressibleByArgument, CaseIterable, Sendable {
    case ping
    case authorize
    case authorizeBatch = "authorize-batch"
    case simulate
    case getUser = "get-user"
    case mixed

    /// Whether the scenario asks about principals (and so needs a data set).
    var needsPrincipals: Bool { self != .ping }
}

/// One operation of `--mix`.
enum MixedOperation: String, CaseIterable, Sendable {
    case ping
    case authorize
    case authorizeBatch = "authorize-batch"
    case simulate
    case getUser = "get-user"
    case createDeleteUser = "create-delete-user"
}

/// Parses `authorize=90,get-user=8,create-delete-user=2`.
func parseMix(_ text: String) throws -> [(MixedOperation, Int)] {
    var mix: [(MixedOperation, Int)] = []
    for part in text.split(separator: ",") {
        let pair = part.split(separator: "=", maxSplits: 1)
        guard pair.count == 2, let operation = MixedOperation(rawValue: String(pair[0])), let weight = Int(pair[1]),
            weight >= 0
        else {
            throw ValidationError(
                "--mix takes NAME=WEIGHT,... with NAME one of \(MixedOperation.allCases.map(\.rawValue).joined(separator: ", ")); got \"\(part)\""
            )
        }
        if weight > 0 { mix.append((operation, weight)) }
    }
    guard !mix.isEmpty else { throw ValidationError("--mix names no operation with a weight above 0") }
    return mix
}

/// The requests of a run, made once before it starts (the hot path only picks one by index).
struct RequestFactory: Sendable {
    var data: DataSet
    /// `--principal-arn` runs keep today's single action and resource so earlier figures stay comparable.
    var legacy: (action: String, resource: String)?
    var batch: Int
    var payload: Int
    /// Prefix of users create-delete-user makes (unique per run).
    var prefix: String

    /// Context every check carries: the caller's address, region and TLS, as a backend would pass them.
    static func context() -> [ContextEntry] {
        func entry(_ name: String, _ value: String, _ type: ContextKeyType) -> ContextEntry {
            var entry = ContextEntry()
            entry.contextKeyName = name
            entry.contextKeyValues = [value]
            entry.contextKeyType = type
            return entry
        }
        return [
            entry("aws:SourceIp", "203.0.113.9", .ip), entry("aws:RequestedRegion", "us-east-1", .string),
            entry("aws:SecureTransport", "true", .boolean),
        ]
    }

    /// (action, resource) pairs for one user: allowed reads and writes, an explicit deny, an implicit deny.
    func checks(for user: DataSet.User) -> [(String, String)] {
        if let legacy { return [legacy] }
        let account = self.data.accountID
        return [
            ("s3:GetObject", "arn:aws:s3:::company-reports/\(user.team)/2026/11/quarterly-summary.csv"),
            ("s3:PutObject", "arn:aws:s3:::company-reports/\(user.team)/\(user.name)/draft.csv"),
            ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:\(account):table/\(user.team)-orders"),
            ("s3:GetObject", "arn:aws:s3:::company-reports/\(user.team)/2026/10/monthly.csv"),
            ("s3:DeleteObject", "arn:aws:s3:::company-reports/\(user.team)/2026/01/old.csv"),
            ("sqs:SendMessage", "arn:aws:sqs:us-east-1:\(account):jobs"),
        ]
    }

    func authorizeRequests() -> [AuthorizeRequest] {
        let context = Self.context()
        let legacyContext = Array(context.prefix(2))
        var requests: [AuthorizeRequest] = []
        // Interleaved (user 0 check 0, user 1 check 0, ...) so consecutive calls ask about different principals.
        let perUser = self.data.users.map { self.checks(for: $0) }
        for check in 0..<(perUser.first?.count ?? 0) {
            for (index, user) in self.data.users.enumerated() {
                var request = AuthorizeRequest()
                request.principalARN = user.arn
                (request.action, request.resource) = perUser[index][check]
                request.contextEntries = self.legacy == nil ? context : legacyContext
                requests.append(request)
            }
        }
        return requests
    }

    func authorizeBatchRequests() -> [AuthorizeBatchRequest] {
        let checks = self.authorizeRequests()
        // Each batch starts at another check so every principal is asked about equally often.
        return (0..<min(checks.count, 256)).map { offset in
            AuthorizeBatchRequest(requests: (0..<self.batch).map { checks[(offset + $0) % checks.count] })
        }
    }

    func simulateRequests() -> [SimulatePrincipalPolicyRequest] {
        self.data.users.map { user in
            var request = SimulatePrincipalPolicyRequest()
            request.policySourceARN = user.arn
            let checks = self.checks(for: user)
            request.actionNames = Array(Set(checks.map(\.0))).sorted()
            request.resourceARNs = [checks[0].1]
            request.contextEntries = Self.context()
            return request
        }
    }

    func getUserRequests() -> [GetUserRequest] {
        self.data.users.map { user in
            var request = GetUserRequest()
            request.userName = user.name
            return request
        }
    }

    func pingRequests() -> [PingRequest] {
        var payload = ByteBuffer()
        // Mildly compressible, like real requests (JSON-ish text), so compression has something to do.
        let text = Array("{\"UserName\":\"alice\",\"Path\":\"/engineering/\",\"Tags\":[{\"Key\":\"team\"}]} ".utf8)
        for index in 0..<self.payload { payload.writeInteger(text[index % text.count]) }
        return [PingRequest(payload: payload)]
    }

    /// The operation for `kind`.
    func operation(_ kind: MixedOperation) -> Operation {
        switch kind {
        case .ping:
            return .unary("ping", IAMMethods.Health.ping, requests: self.pingRequests(), response: PingResponse.self)
        case .authorize:
            return .unary(
                "authorize", IAMMethods.Authorization.authorize, requests: self.authorizeRequests(),
                response: AuthorizeResponse.self)
        case .authorizeBatch:
            return .unary(
                "authorize-batch", IAMMethods.Authorization.authorizeBatch, requests: self.authorizeBatchRequests(),
                response: AuthorizeBatchResponse.self)
        case .simulate:
            return .unary(
                "simulate", IAMMethods.Authorization.simulatePrincipalPolicy, requests: self.simulateRequests(),
                response: SimulatePolicyResponse.self)
        case .getUser:
            return .unary(
                "get-user", IAMMethods.IAM.getUser, requests: self.getUserRequests(), response: GetUserResponse.self)
        case .createDeleteUser:
            let prefix = self.prefix
            // A write and its undo, timed together: the account ends the run as it started.
            return Operation(name: "create-delete-user") { client, sequence, options, done in
                var create = CreateUserRequest()
                create.userName = "\(prefix)-cd-\(sequence)"
                create.path = "/loadtest/churn/"
                client.unaryFuture(IAMMethods.IAM.createUser, create, as: CreateUserResponse.self, options: options)
                    .assumeIsolated()
                    .whenComplete { result in
                        if case .failure(let error) = result { return done(error) }
                        var delete = DeleteUserRequest()
                        delete.userName = create.userName
                        client.unaryFuture(
                            IAMMethods.IAM.deleteUser, delete, as: DeleteUserResponse.self, options: options
                        )
                        .assumeIsolated()
                        .whenComplete { result in
                            switch result {
                            case .success: done(nil)
                            case .failure(let error): done(error)
                            }
                        }
                    }
            }
        }
    }

    /// The weighted operations of `scenario`.
    func operations(_ scenario: Scenario, mix: [(MixedOperation, Int)]) -> [(Operation, weight: Int)] {
        switch scenario {
        case .ping: [(self.operation(.ping), 1)]
        case .authorize: [(self.operation(.authorize), 1)]
        case .authorizeBatch: [(self.operation(.authorizeBatch), 1)]
        case .simulate: [(self.operation(.simulate), 1)]
        case .getUser: [(self.operation(.getUser), 1)]
        case .mixed: mix.map { (self.operation($0.0), $0.1) }
        }
    }
}

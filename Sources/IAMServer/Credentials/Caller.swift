import Foundation
import IAMDomain
import IAMPolicy
import IAMRPC
import IAMWire
import NIOCore
import NIOPosix

/// The access key ids of the account's root user: kept in the daemon's credential file, outside the store,
/// so the account can always be administered even with an empty or damaged store.
struct RootKeys: Sendable {
    let ids: Set<String>
}

/// Who is calling: the account's root, or a user or role session from the snapshot.
struct Caller: Sendable {
    enum Kind: Sendable {
        case root
        case principal(SnapshotPrincipal)
    }

    let kind: Kind
    let account: AccountID
    /// The access key the call authenticated with.
    let accessKeyID: String
    /// When that key stops authenticating: a role session's end; nil for long-term and root keys.
    var expiration: Date? = nil

    /// `arn:aws:iam::<account>:root`, the user's ARN, or the session's `assumed-role` ARN (built when asked:
    /// most calls never need the text).
    var arn: String {
        switch self.kind {
        case .root: "arn:aws:iam::\(self.account.rawValue):root"
        case .principal(let principal): principal.arn.description
        }
    }

    /// `aws:userid`: the account id for root, `AIDA...` for a user, `AROA...:session` for a session.
    var userID: String {
        switch self.kind {
        case .root: self.account.rawValue
        case .principal(let principal): principal.userID
        }
    }

    /// Resolves an authenticated access key id against the current snapshot. A key that is gone, inactive
    /// or expired fails with the code AWS answers for it, so a key deactivated after the connection
    /// authenticated stops working at its next call.
    static func resolve(_ accessKeyID: String, snapshot: AuthorizationSnapshot, rootKeys: RootKeys, account: AccountID)
        -> Result<Caller, RPCError>
    {
        if rootKeys.ids.contains(accessKeyID) {
            return .success(Caller(kind: .root, account: account, accessKeyID: accessKeyID))
        }
        guard let id = try? AccessKeyID(accessKeyID), let credential = snapshot.credential(accessKeyID: id),
            credential.isActive
        else { return .failure(Self.invalidToken) }
        if let expiration = credential.expiration, expiration <= Date() {
            return .failure(
                RPCError(
                    code: .unauthenticated, message: "The security token included in the request is expired",
                    iamErrorCode: "ExpiredToken"))
        }
        guard let principal = snapshot.principal(accessKeyID: id, credential: credential) else {
            return .failure(Self.invalidToken)
        }
        return .success(
            Caller(
                kind: .principal(principal), account: account, accessKeyID: accessKeyID,
                expiration: credential.expiration))
    }

    static let invalidToken = RPCError(
        code: .unauthenticated, message: "The security token included in the request is invalid.",
        iamErrorCode: "InvalidClientTokenId")

    /// The keys every request of one second shares: `aws:CurrentTime`, `aws:EpochTime` and
    /// `aws:SecureTransport` (every call arrives over TLS). `aws:MultiFactorAuthPresent` stays absent, as for
    /// long-term access keys in AWS; `aws:SourceIp` comes from the connection (``requestContext(for:now:)``).
    static func clockValues(at now: Date) -> [String: ContextValue] {
        [
            "aws:CurrentTime": .string(UTCTime.iso8601(now)),
            "aws:EpochTime": .string(String(Int(now.timeIntervalSince1970.rounded(.down)))),
            "aws:SecureTransport": .string("true"),
        ]
    }

    /// ``clockValues(at:)`` as a request context, built once a second per thread and shared by every check the
    /// thread makes in that second. Per thread rather than behind one lock: every Authorize reads it, and event
    /// loops on different cores would otherwise contend for the lock's cache line on each check.
    static func clockContext(at now: Date = Date()) -> RequestContext {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        if let cached = Self.clock.currentValue, cached.second == second { return cached.context }
        let context = RequestContext(Self.clockValues(at: now))
        Self.clock.currentValue = ClockContext(second: second, context: context)
        return context
    }

    private final class ClockContext: Sendable {
        let second: Int64
        let context: RequestContext

        init(second: Int64, context: RequestContext) {
            self.second = second
            self.context = context
        }
    }

    private static let clock = ThreadSpecificVariable<ClockContext>()

    /// The context of a call authorized by ``Authorizer``: the principal's keys (built once per principal),
    /// the clock's (once a second), the connection's source address, the region every IAM call is made in, and
    /// the request's own keys (its tags, the policy it names, its resource's tags).
    func requestContext(
        for call: ServerCallContext, now: Date = Date(), requestKeys: [(key: String, value: ContextValue)] = []
    ) -> RequestContext {
        var layers: [RequestContext] = []
        layers.reserveCapacity(5)
        if case .principal(let principal) = self.kind { layers.append(principal.evaluation.context) }
        layers.append(Self.clockContext(at: now))
        if let ip = call.peerAddress?.ipAddress {
            layers.append(RequestContext(pairs: [("aws:SourceIp", .string(ip))]))
        }
        layers.append(Self.iamCallKeys)
        if !requestKeys.isEmpty { layers.append(RequestContext(pairs: requestKeys)) }
        return RequestContext(layers: layers)
    }

    /// `aws:RequestedRegion`: IAM and STS are global, and AWS fills `us-east-1` for their calls.
    static let iamCallKeys = RequestContext(["aws:RequestedRegion": .string("us-east-1")])
}

/// Names in requests resolved against the snapshot, for ``IAMResourceNaming``.
struct SnapshotDirectory: IAMEntityDirectory {
    /// The snapshot by reference: the directory travels as an existential, which holds one reference inline
    /// but would box a copy of the snapshot's tables on the heap.
    let published: PublishedSnapshot
    var snapshot: AuthorizationSnapshot { self.published.snapshot }

    init(_ published: PublishedSnapshot) { self.published = published }

    func arn(of kind: IAMEntityKind, named name: String) -> String? {
        switch kind {
        case .user:
            return (try? EntityName(name, kind: .user)).flatMap { self.snapshot.userARN(named: $0) }?.description
        case .group:
            return (try? EntityName(name, kind: .group)).flatMap { self.snapshot.groupARN(named: $0) }?.description
        case .role:
            return (try? EntityName(name, kind: .role)).flatMap { self.snapshot.roleARN(named: $0) }?.description
        case .instanceProfile:
            return (try? EntityName(name, kind: .instanceProfile)).flatMap {
                self.snapshot.instanceProfileARN(named: $0)
            }?.description
        }
    }

    func ownerARN(ofAccessKey accessKeyID: String) -> String? {
        guard let id = try? AccessKeyID(accessKeyID) else { return nil }
        return self.snapshot.credential(accessKeyID: id)?.principalARN.description
    }
}

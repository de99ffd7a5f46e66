import Foundation
import IAMDomain
import IAMPolicy
import IAMRPC
import IAMWire
import NIOCore
import Synchronization

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
        guard let principal = snapshot.principal(accessKeyID: id) else { return .failure(Self.invalidToken) }
        return .success(Caller(kind: .principal(principal), account: account, accessKeyID: accessKeyID))
    }

    static let invalidToken = RPCError(
        code: .unauthenticated, message: "The security token included in the request is invalid.",
        iamErrorCode: "InvalidClientTokenId")

    /// `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport` (every call arrives over TLS) and
    /// `aws:SourceIp` from the connection's peer. `aws:MultiFactorAuthPresent` stays absent, as for
    /// long-term access keys in AWS.
    static func addRequestKeys(_ values: inout [String: ContextValue], peer: SocketAddress?, now: Date = Date()) {
        for (key, value) in Self.clockValues(at: now) { values[key] = value }
        if let ip = peer?.ipAddress { values["aws:SourceIp"] = .string(ip) }
    }

    /// The keys every request of one second shares.
    static func clockValues(at now: Date) -> [String: ContextValue] {
        [
            "aws:CurrentTime": .string(Self.iso8601(now)),
            "aws:EpochTime": .string(String(Int(now.timeIntervalSince1970.rounded(.down)))),
            "aws:SecureTransport": .string("true"),
        ]
    }

    /// ``clockValues(at:)`` as a request context, built once a second and shared by every check in it.
    static func clockContext(at now: Date = Date()) -> RequestContext {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        return Self.clock.withLock { cached in
            if let cached = cached, cached.second == second { return cached.context }
            let context = RequestContext(Self.clockValues(at: now))
            cached = (second, context)
            return context
        }
    }

    private static let clock = Mutex<(second: Int64, context: RequestContext)?>(nil)

    /// The context of a call authorized by ``Authorizer``: the principal's keys (built once per principal),
    /// the clock's (once a second) and the connection's source address.
    func requestContext(for call: ServerCallContext, now: Date = Date()) -> RequestContext {
        var layers: [RequestContext] = []
        layers.reserveCapacity(3)
        if case .principal(let principal) = self.kind { layers.append(principal.evaluation.context) }
        layers.append(Self.clockContext(at: now))
        if let ip = call.peerAddress?.ipAddress { layers.append(RequestContext(["aws:SourceIp": .string(ip)])) }
        return RequestContext(layers: layers)
    }

    static func iso8601(_ date: Date) -> String {
        // Every authorized call sets aws:CurrentTime (twice for Authorize: the authorizer and the check), so
        // this is on the hot path: Foundation's ISO8601FormatStyle plus a TimeZone lookup cost microseconds
        // per call on Linux, the arithmetic below tens of nanoseconds. Same text: yyyy-MM-ddTHH:mm:ssZ.
        let seconds = date.timeIntervalSince1970.rounded(.down)
        // From 1970 to 9999 (before 1582 Foundation's calendar is Julian, so older dates take its path).
        guard seconds >= 0, seconds < 253_402_300_800 else {
            var formatter = Date.ISO8601FormatStyle()
            formatter.timeZone = TimeZone(identifier: "UTC")!
            return date.formatted(formatter)
        }
        let total = Int(seconds)
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondOfDay = total - days * 86_400
        // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return String(unsafeUninitializedCapacity: 20) { buffer in
            func put(_ value: Int, digits: Int, at offset: Int) {
                var value = value
                for position in stride(from: offset + digits - 1, through: offset, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, digits: 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(month, digits: 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(day, digits: 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, digits: 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, digits: 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, digits: 2, at: 17)
            buffer[19] = UInt8(ascii: "Z")
            return 20
        }
    }
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
        }
    }

    func ownerARN(ofAccessKey accessKeyID: String) -> String? {
        guard let id = try? AccessKeyID(accessKeyID) else { return nil }
        return self.snapshot.credential(accessKeyID: id)?.principalARN.description
    }
}

import Foundation
import IAMDomain
import IAMPolicy
import IAMRPC
import IAMWire
import NIOCore

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
    /// `arn:aws:iam::<account>:root`, the user's ARN, or the session's `assumed-role` ARN.
    let arn: String
    /// `aws:userid`: the account id for root, `AIDA...` for a user, `AROA...:session` for a session.
    let userID: String
    /// The access key the call authenticated with.
    let accessKeyID: String

    /// Resolves an authenticated access key id against the current snapshot. A key that is gone, inactive
    /// or expired fails with the code AWS answers for it, so a key deactivated after the connection
    /// authenticated stops working at its next call.
    static func resolve(_ accessKeyID: String, snapshot: AuthorizationSnapshot, rootKeys: RootKeys, account: AccountID)
        -> Result<Caller, RPCError>
    {
        if rootKeys.ids.contains(accessKeyID) {
            return .success(
                Caller(
                    kind: .root, arn: "arn:aws:iam::\(account.rawValue):root", userID: account.rawValue,
                    accessKeyID: accessKeyID))
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
        return .success(
            Caller(
                kind: .principal(principal), arn: principal.arn.description, userID: principal.userID,
                accessKeyID: accessKeyID))
    }

    static let invalidToken = RPCError(
        code: .unauthenticated, message: "The security token included in the request is invalid.",
        iamErrorCode: "InvalidClientTokenId")

    /// The global condition keys of this call: the principal's own (`aws:username`, `aws:PrincipalTag/...`,
    /// fixed when the snapshot compiled it) plus the request's time, transport and source address.
    func context(for call: ServerCallContext) -> [String: ContextValue] {
        var values: [String: ContextValue]
        switch self.kind {
        case .root: values = [:]
        case .principal(let principal): values = principal.context
        }
        Self.addRequestKeys(&values, peer: call.peerAddress)
        return values
    }

    /// `aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport` (every call arrives over TLS) and
    /// `aws:SourceIp` from the connection's peer. `aws:MultiFactorAuthPresent` stays absent, as for
    /// long-term access keys in AWS.
    static func addRequestKeys(_ values: inout [String: ContextValue], peer: SocketAddress?, now: Date = Date()) {
        values["aws:CurrentTime"] = .string(Self.iso8601(now))
        values["aws:EpochTime"] = .string(String(Int(now.timeIntervalSince1970)))
        values["aws:SecureTransport"] = .string("true")
        if let ip = peer?.ipAddress { values["aws:SourceIp"] = .string(ip) }
    }

    static func iso8601(_ date: Date) -> String {
        var formatter = Date.ISO8601FormatStyle()
        formatter.timeZone = TimeZone(identifier: "UTC")!
        return date.formatted(formatter)
    }
}

/// Names in requests resolved against the snapshot, for ``IAMResourceNaming``.
struct SnapshotDirectory: IAMEntityDirectory {
    let snapshot: AuthorizationSnapshot

    init(_ snapshot: AuthorizationSnapshot) { self.snapshot = snapshot }

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

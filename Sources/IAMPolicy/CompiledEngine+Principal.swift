/// How strongly a resource-based policy's `Principal` names the caller; it decides which other policies must
/// also allow (D:reference_policies_evaluation-logic.html, same-account table).
enum PrincipalStrength: Int, Sendable, Comparable {
    /// Not named: the statement does not apply to this caller.
    case none = 0
    /// The caller's account is named: authority is delegated, the identity policies must still allow.
    case account = 1
    /// The role of the calling session is named: identity policies need not allow, the boundary must.
    case roleARN = 2
    /// The caller itself (user, session, service, `*`) is named: nothing else needs to allow.
    case direct = 3

    static func < (a: PrincipalStrength, b: PrincipalStrength) -> Bool { a.rawValue < b.rawValue }
}

/// Which statements of resource-based and trust policies name the caller, and how directly.
extension CompiledEngine {
    /// How directly `principals` names the caller. `denyWithBoundary` is a `Deny` statement evaluated for a
    /// caller that carries a permissions boundary: NotPrincipal then excludes no IAM principal ("The NotPrincipal
    /// element with a Deny effect will always deny any IAM principal that has a permissions boundary policy
    /// attached, regardless of the values specified in the NotPrincipal element").
    static func strength(
        of principals: Statement.Principals?,
        for principal: Principal,
        denyWithBoundary: Bool = false
    ) -> PrincipalStrength {
        guard let principals else { return .none }
        let account = principal.effectiveAccount
        switch principals {
        case .include(let set):
            if set.isWildcard { return .direct }
            var best = PrincipalStrength.none
            for entry in set.entries {
                best = max(best, strength(of: entry, principal: principal, account: account))
            }
            return best
        case .exclude(let set):
            // NotPrincipal excludes a caller only when every identity in its chain is listed: the user (or the
            // session and its role) and its account (D:reference_policies_elements_notprincipal.html).
            if set.isWildcard { return .none }
            if denyWithBoundary && principal.kind != .service { return .direct }
            func listed(_ type: String, _ value: String?) -> Bool {
                guard let value else { return false }
                return set.entries.contains { $0.type == type && ($0.value == value || $0.value == "*") }
            }
            let accountListed =
                account.map { listed("AWS", $0) || listed("AWS", "arn:aws:iam::\($0):root") } ?? false
            let excluded: Bool
            switch principal.kind {
            case .user: excluded = listed("AWS", principal.arn) && accountListed
            case .assumedRole:
                excluded = listed("AWS", principal.arn) && listed("AWS", principal.roleARN) && accountListed
            case .service:
                excluded = set.entries.contains {
                    $0.type == "Service" && ($0.value == principal.arn || $0.value == principal.name)
                }
            }
            return excluded ? .none : .direct
        }
    }

    static func strength(of entry: PrincipalSet.Entry, principal: Principal, account: String?) -> PrincipalStrength {
        switch entry.type {
        case "AWS":
            if entry.value == "*" { return .direct }
            if principal.kind != .service && entry.value == principal.arn { return .direct }
            if principal.kind == .assumedRole, let role = principal.roleARN, entry.value == role { return .roleARN }
            if principal.kind != .service, let id = principal.id, entry.value.hasPrefix("A"),
                PolicyParser.isPrincipalUniqueID(entry.value)
            {
                // A policy may name a user or role by unique id; a session's id is "<role id>:<session>".
                if id == entry.value { return .direct }
                if principal.kind == .assumedRole, id.hasPrefix(entry.value + ":") { return .roleARN }
            }
            if let account, principal.kind != .service {
                if entry.value == account { return .account }
                let parts = entry.value.split(separator: ":", omittingEmptySubsequences: false)
                if parts.count == 6, parts[0] == "arn", parts[2] == "iam", parts[4] == account, parts[5] == "root" {
                    return .account
                }
            }
            return .none
        case "Service":
            // Service principals are case-sensitive ("Do not try to guess the service principal, because it is
            // case sensitive"), and "Service": "*" names no service.
            guard principal.kind == .service else { return .none }
            return entry.value == principal.arn || entry.value == principal.name ? .direct : .none
        default:
            // Federated and CanonicalUser principals are named by their exact identifier.
            return entry.value == principal.arn || entry.value == "*" ? .direct : .none
        }
    }
}

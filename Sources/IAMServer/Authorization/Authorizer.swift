import Foundation
import IAMDomain
import IAMPolicy
import IAMRPC
import IAMSync
import IAMWire
import NIOCore
import NIOPosix

/// Authorizes every call before its handler runs, as AWS does: the caller's access key must still be
/// usable (a key deactivated or deleted, or whose user is gone, stops working at its next call, also on a
/// connection that authenticated earlier), and the caller's policies must allow the method's action
/// (`iam:CreateUser`, ...) on the resource the request names.
///
/// Runs on the connection's event loop against the current authorization snapshot: no thread hop, no
/// lock beyond the snapshot's one retain. The account's root key may do everything; Health needs
/// authentication only; `sts:GetCallerIdentity` needs no permission and `sts:AssumeRole` is decided by the
/// STS service, which evaluates the caller's policies together with the role's trust policy.
struct Authorizer: ServerInterceptor {
    let publisher: SnapshotPublisher
    let account: AccountID
    let rootKeys: RootKeys
    let audit: AuditLog?
    /// Where a user's key is noted as used (GetAccessKeyLastUsed); nil notes nothing.
    var keyUses: AccessKeyUses? = nil
    let verdicts = AllowedVerdicts()

    func intercept<Request: WireMessage>(_ request: Request, context: ServerCallContext) -> ServerInterceptorVerdict {
        let published = self.publisher.published
        let now = Date()
        let caller: Caller
        let callerARN: String
        switch self.caller(context.accessKeyID, in: published, at: now) {
        case .success(let resolved): (caller, callerARN) = (resolved.caller, resolved.arn)
        case .failure(let error):
            self.audit?.record(context: context, caller: nil, resource: nil, error: error)
            return .reject(error)
        }
        let method = context.method
        if caller.expiration == nil, case .principal = caller.kind {
            // A user's long-term key (root keys are not in the store, sessions have no last use), noted before
            // the permission check: a denied call used the key all the same.
            self.keyUses?.note(context.accessKeyID, method: method, at: now)
        }
        guard let action = method.action,
            action != "sts:GetCallerIdentity", action != "sts:AssumeRole"
        else { return .proceed }
        guard case .principal(let principal) = caller.kind else { return .proceed }  // the root key

        guard let naming = ResourceNamingTable.naming(request) else {
            // Authorization's calls name no resource: their action is checked on "*".
            if let error = self.check(
                principal, caller: caller, action: action, resource: "*", context: context, now: now)
            {
                return .reject(error)
            }
            return .proceed
        }
        let namingContext = self.namingContext(callerARN: callerARN, in: published)
        let resource = naming.resource(in: namingContext)
        let keys = Self.conditionKeys(of: naming, resource: resource, in: published.snapshot)
        if let error = self.check(
            principal, caller: caller, action: action, resource: resource, keys: keys, context: context, now: now)
        {
            return .reject(error)
        }
        // A second action some calls need (iam:PassRole for AddRoleToInstanceProfile); none for almost all.
        for permission in naming.additionalPermissions(in: namingContext) {
            if let error = self.check(
                principal, caller: caller, action: permission.action, resource: permission.resource,
                context: context, now: now)
            {
                return .reject(error)
            }
        }
        return .proceed
    }

    /// The caller `accessKeyID` is against `published`, with its ARN: as this thread resolved it before, else
    /// resolved now and kept for the thread's next calls (``ResolvedCallers``).
    private func caller(_ accessKeyID: String, in published: PublishedSnapshot, at now: Date) -> Result<
        ResolvedCallers.Entry, RPCError
    > {
        if let resolved = ResolvedCallers.lookup(accessKeyID, in: published, at: now) { return .success(resolved) }
        return Caller.resolve(accessKeyID, snapshot: published.snapshot, rootKeys: self.rootKeys, account: self.account)
            .map { ResolvedCallers.remember($0, in: published) }
    }

    /// Where a request's names become ARNs, for a call by `callerARN` (the resource of calls that name no user).
    private func namingContext(callerARN: String, in published: PublishedSnapshot) -> ResourceNamingContext {
        ResourceNamingContext(
            account: self.account.rawValue, callerARN: callerARN, directory: SnapshotDirectory(published))
    }

    /// Who makes a write and what it acts on, as ``intercept(_:context:)`` named them when it authorized the call
    /// (the audit log's caller and resource). Asked before the write runs: after it, a key that deactivated or
    /// deleted itself no longer resolves to its holder, and a deleted entity has lost its path.
    func subject(of request: some WireMessage, context: ServerCallContext) -> WriteSubject {
        let published = self.publisher.published
        guard case .success(let caller) = self.caller(context.accessKeyID, in: published, at: Date()) else {
            return WriteSubject()
        }
        let resource = ResourceNamingTable.naming(request).map {
            $0.resource(in: self.namingContext(callerARN: caller.arn, in: published))
        }
        return WriteSubject(callerARN: caller.arn, resource: resource)
    }

    /// The request's own condition keys (``IAMResourceNaming/requestConditionKeys``) and, when the resource is a
    /// user or a role, its tags as `aws:ResourceTag/<key>` and `iam:ResourceTag/<key>`.
    static func conditionKeys(
        of naming: any IAMResourceNaming, resource: String, in snapshot: AuthorizationSnapshot
    ) -> [(key: String, value: ContextValue)] {
        naming.requestConditionKeys + RequestConditionKeys.resourceTags(of: resource, in: snapshot)
    }

    /// Nil when `principal` may do `action` on `resource`, with the request's own condition `keys`; otherwise AWS's
    /// AccessDenied, audited.
    private func check(
        _ principal: SnapshotPrincipal, caller: Caller, action: String, resource: String,
        keys: [(key: String, value: ContextValue)] = [], context: ServerCallContext, now: Date
    ) -> RPCError? {
        // A verdict is kept only for calls whose answer depends on nothing but principal, action, resource, peer and
        // second: not for a call with keys of its own (its tags, the policy it names, its resource's tags).
        let keepsVerdicts = keys.isEmpty
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        if keepsVerdicts
            && self.verdicts.allows(
                principal, action: action, resource: resource, peer: context.peerAddress, second: second)
        {
            return nil
        }
        let check = AuthorizationRequest(
            action: action, resource: resource,
            context: caller.requestContext(for: context, now: now, requestKeys: keys))
        switch principal.evaluation.compiled.decide(check) {
        case .allowed:
            if keepsVerdicts {
                self.verdicts.remember(
                    principal, action: action, resource: resource, peer: context.peerAddress, second: second)
            }
            return nil
        case let decision:
            let error = Self.accessDenied(
                caller: caller.arn, action: action, resource: resource, decision: decision,
                result: principal.compiled.evaluate(check), sources: principal.sources)
            self.audit?.record(context: context, caller: caller, resource: resource, error: error)
            return error
        }
    }

    /// AWS's AccessDenied message: who, what, on which resource, and which kind of policy said no.
    static func accessDenied(
        caller: String, action: String, resource: String, decision: Decision, result: EvaluationResult,
        sources: [String: PolicySource]
    ) -> RPCError {
        let reason: String
        if decision == .explicitDeny {
            let kinds = Set(result.matched.compactMap { sources[$0.policyID]?.kind })
            if kinds.contains(.boundary) {
                reason = "with an explicit deny in a permissions boundary"
            } else if kinds.contains(.session) {
                reason = "with an explicit deny in a session policy"
            } else {
                reason = "with an explicit deny in an identity-based policy"
            }
        } else {
            // An implicit deny: name the kind of policy whose allow is missing. An identity-based allow comes first;
            // with one, what is missing is the boundary's or, for a session, the session policy's.
            let allowedBy = Set(result.matched.compactMap { sources[$0.policyID]?.kind })
            let has = Set(sources.values.map(\.kind))
            if !allowedBy.contains(where: { $0 != .boundary && $0 != .session }) {
                reason = "because no identity-based policy allows the \(action) action"
            } else if has.contains(.boundary) && !allowedBy.contains(.boundary) {
                reason = "because no permissions boundary allows the \(action) action"
            } else if has.contains(.session) && !allowedBy.contains(.session) {
                reason = "because no session policy allows the \(action) action"
            } else {
                reason = "because no identity-based policy allows the \(action) action"
            }
        }
        return RPCError(
            code: .permissionDenied,
            message: "User: \(caller) is not authorized to perform: \(action) on resource: \(resource) \(reason)",
            iamErrorCode: "AccessDenied")
    }
}

/// Access keys the Authorizer resolved against one published snapshot, per thread (the event loops, and the tasks
/// that name a write's caller for the audit log): a call on a connection resolves the same key against the same
/// snapshot as the call before it, so the key's parse, its two table lookups and the caller's ARN text are done once
/// per key and snapshot instead of once per call.
///
/// Every entry belongs to the snapshot it was resolved against; a publication (a key deactivated or deleted, a
/// user removed, new policies) makes the next call on each thread start afresh. Only what cannot change while the
/// snapshot stands is reused: an expiring credential (a role session's) is resolved again, with its error, once its
/// time has passed. Per thread rather than shared, so event loops on different cores neither lock nor share cache
/// lines; the table is immutable and replaced on a miss (misses are rare: a new key or a new snapshot).
///
/// A thread's table keeps its snapshot alive until the thread's next call resolves a key against a newer one. That
/// pins at most one superseded snapshot per such thread, and of it only what later writes changed: snapshots share
/// their unchanged shards (IAMDomain's `ShardedMap`).
final class ResolvedCallers: Sendable {
    struct Entry: Sendable {
        let caller: Caller
        /// ``Caller/arn``, built once.
        let arn: String
    }

    /// The snapshot every entry was resolved against (kept, so its identity cannot be reused while cached).
    let published: PublishedSnapshot
    let entries: [String: Entry]

    /// Bounds one thread's table; a thread serving more keys than this resolves the rest per call.
    static let capacity = 256

    private init(published: PublishedSnapshot, entries: [String: Entry]) {
        self.published = published
        self.entries = entries
    }

    private static let current = ThreadSpecificVariable<ResolvedCallers>()

    /// The caller `accessKeyID` resolved to against `published`, if this thread resolved it before and its
    /// credential has not expired since.
    static func lookup(_ accessKeyID: String, in published: PublishedSnapshot, at now: Date) -> Entry? {
        guard let table = Self.current.currentValue, table.published === published,
            let entry = table.entries[accessKeyID]
        else { return nil }
        if let expiration = entry.caller.expiration, expiration <= now { return nil }
        return entry
    }

    /// Keeps `caller`, just resolved against `published`, for this thread's next calls; returns its entry.
    @discardableResult
    static func remember(_ caller: Caller, in published: PublishedSnapshot) -> Entry {
        let entry = Entry(caller: caller, arn: caller.arn)
        var entries: [String: Entry] = [:]
        if let table = Self.current.currentValue, table.published === published, table.entries.count < Self.capacity {
            entries = table.entries
        }
        entries[caller.accessKeyID] = entry
        Self.current.currentValue = ResolvedCallers(published: published, entries: entries)
        return entry
    }
}

/// The Authorizer's allows of the current second. A verdict depends only on the principal as the snapshot
/// compiled it (policies and its own keys), the action, the resource and the request's other keys: the clock's,
/// which change once a second, and the connection's source address. So a principal's repeated calls within one
/// second from one address reuse the first one's verdict instead of evaluating again: the common case of a
/// backend calling Authorize thousands of times a second. Only allows are kept; a denial builds its message and
/// audit record every time. The caller's key is still checked on every call, before this.
///
/// Each event-loop thread keeps its own table, so the hot path takes no lock and shares no cache line with
/// the other loops (one shared, locked table had every call of every loop write the same mutex); a thread
/// learns a verdict once a second for itself. The verdict a thread found last is compared field by field
/// before the table is hashed: a connection mostly repeats one call.
final class AllowedVerdicts: Sendable {
    private struct Key: Hashable {
        let principal: ObjectIdentifier
        let action: String
        let resource: String
        let peer: SocketAddress?
    }

    /// One thread's verdicts; only that thread ever touches it.
    private final class State: @unchecked Sendable {
        /// Whose verdicts these are (held, so no later instance can take its identity while this is current).
        let owner: AllowedVerdicts
        var second: Int64 = 0
        /// The principal is kept so its identity cannot be reused by another while it is cached.
        var allowed: [Key: SnapshotPrincipal] = [:]
        /// The key of the allow this thread found last (one of `allowed`'s).
        var last: Key?

        init(owner: AllowedVerdicts) { self.owner = owner }
    }

    /// Bounds the memory of one second's verdicts, per thread.
    static let capacity = 4096

    /// One thread-specific slot for the process, not one per instance: each instance would hold a pthread key
    /// (a few hundred per process) for as long as any thread kept its value. A thread's state belongs to one
    /// instance; another instance's call on that thread starts it afresh (a process has one Authorizer).
    private static let states = ThreadSpecificVariable<State>()

    private var state: State {
        if let state = Self.states.currentValue, state.owner === self { return state }
        let state = State(owner: self)
        Self.states.currentValue = state
        return state
    }

    func allows(
        _ principal: SnapshotPrincipal, action: String, resource: String, peer: SocketAddress?, second: Int64
    ) -> Bool {
        let state = self.state
        guard state.second == second else { return false }
        if let last = state.last, last.principal == principal.identity, last.action == action,
            last.resource == resource, last.peer == peer
        {
            return true
        }
        let key = Key(principal: principal.identity, action: action, resource: resource, peer: peer)
        guard state.allowed[key] != nil else { return false }
        state.last = key
        return true
    }

    func remember(
        _ principal: SnapshotPrincipal, action: String, resource: String, peer: SocketAddress?, second: Int64
    ) {
        let state = self.state
        if state.second != second {
            state.second = second
            state.allowed.removeAll(keepingCapacity: true)
            state.last = nil
        }
        guard state.allowed.count < Self.capacity else { return }
        let key = Key(principal: principal.identity, action: action, resource: resource, peer: peer)
        state.allowed[key] = principal
        state.last = key
    }
}

public import Foundation
public import IAMPolicy
import IAMSync

/// Where a policy that a compiled principal holds came from, so answers can name it
/// (SimulatePrincipalPolicy's `SourcePolicyId` / `SourcePolicyType`, audit reasons).
public struct PolicySource: Hashable, Sendable {
    /// AWS's `SourcePolicyType` values, plus the roles a policy plays here.
    public enum Kind: String, Hashable, Sendable {
        /// An inline policy of the user.
        case user
        /// An inline policy of one of the user's groups.
        case group
        /// An inline policy of the role.
        case role
        /// A customer managed policy (attached to the entity or one of its groups).
        case customerManaged = "aws-managed-customer"
        /// An AWS managed policy.
        case awsManaged = "aws-managed"
        /// The permissions boundary.
        case boundary
        /// The session policy of a role session.
        case session
    }

    /// What kind of source.
    public var kind: Kind
    /// The policy's name (inline name or managed policy name).
    public var name: String
    /// The managed policy's ARN, when managed.
    public var arn: ARN?
    /// For group policies, the group's name.
    public var groupName: String?
}

/// One principal of the snapshot: everything a check needs, gathered once per change and compiled on first use.
///
/// A class, immutable: checks pass principals around (the Authorizer's resolved callers, lookups by ARN or key),
/// and a copy is then one retain instead of one per field.
public final class SnapshotPrincipal: Sendable {
    /// What kind of principal.
    public enum Kind: String, Hashable, Sendable {
        /// An IAM user.
        case user
        /// An IAM role, evaluated with its own permissions (Authorize / SimulatePrincipalPolicy by role ARN).
        case role
        /// A role session from AssumeRole.
        case session
        /// An IAM group, only as SimulatePrincipalPolicy's source: its inline and attached policies.
        case group
    }

    /// User, role, session (or a group being simulated).
    public let kind: Kind
    /// The principal's ARN (a session's `arn:aws:sts::...:assumed-role/role/session`).
    public let arn: ARN
    /// `aws:userid`: `AIDA...`, `AROA...`, or `AROA...:session`.
    public let userID: String
    /// User or role name (a session's role name).
    public let name: EntityName
    /// The role's ARN for roles and sessions.
    public let roleARN: ARN?
    /// Tags of the user or role.
    public let tags: [Tag]
    /// When a session's credentials expire.
    public let expiration: Date?
    /// A session's access key id.
    public let sessionKeyID: AccessKeyID?
    /// The compiled policies (identity, boundary, session), compiled on first use and then kept: start-up
    /// and writes only gather each principal's policies, and principals never checked cost no compile.
    public var compiled: CompiledPrincipal { self.box.value.compiled }
    /// ``compiled`` with ``context`` as a request context, both built on first use and then kept, so a check
    /// adds only its own keys (``IAMPolicy/RequestContext/init(layers:)``) to the principal's.
    public var evaluation: (compiled: CompiledPrincipal, context: RequestContext) {
        let ready = self.box.value
        return (ready.compiled, ready.context)
    }
    /// Identifies this principal as compiled: a write that changes its policies or keys makes a new one, so
    /// while a caller holds this principal, a verdict cached under its identity stays right.
    public var identity: ObjectIdentifier { ObjectIdentifier(self.box) }
    /// The principal as the policy engine names it (ARN, kind, id), without compiling its policies.
    public var policyPrincipal: Principal { self.box.principal }
    /// The policies ``compiled`` is built from.
    public var policies: [PolicyInput] { self.box.inputs }
    let box: LazyCompiledPrincipal
    /// Each ``IAMPolicy/PolicyInput/id`` in ``compiled`` → where it came from.
    public var sources: [String: PolicySource] { self.box.gathered.sources }
    /// The global context keys this principal fixes (`aws:username`, `aws:userid`, `aws:PrincipalArn`,
    /// `aws:PrincipalType`, `aws:PrincipalAccount`, `aws:PrincipalTag/<key>`), computed once; the server
    /// adds the per-request ones (time, transport, source address).
    public let context: [String: ContextValue]

    init(
        kind: Kind, arn: ARN, userID: String, name: EntityName, roleARN: ARN?, tags: [Tag], expiration: Date?,
        sessionKeyID: AccessKeyID?, box: LazyCompiledPrincipal, context: [String: ContextValue]
    ) {
        self.kind = kind
        self.arn = arn
        self.userID = userID
        self.name = name
        self.roleARN = roleARN
        self.tags = tags
        self.expiration = expiration
        self.sessionKeyID = sessionKeyID
        self.box = box
        self.context = context
    }
}

/// A principal's policies and context keys and, once someone asked, their compiled forms.
final class LazyCompiledPrincipal: Sendable {
    struct Ready: Sendable {
        let compiled: CompiledPrincipal
        let context: RequestContext
    }

    /// One policy as the principal gets it, and where it came from.
    struct Slot: Sendable {
        let input: PolicyInput
        let source: PolicySource
    }

    /// The policies in the order evaluation lists them, without repeats, and each one's source.
    struct Gathered: Sendable {
        let inputs: [PolicyInput]
        let sources: [String: PolicySource]
    }

    let principal: Principal
    /// The policies in gathering order as the lists they come in: the principal's own, each of its groups'
    /// (one list shared by every member) and its boundary. Where two carry one id (a managed policy attached to
    /// the user and to a group), the first counts. Start-up and writes keep only these lists; the flat,
    /// de-duplicated form is made when a check or a simulation first needs it.
    let parts: [[Slot]]
    let context: [String: ContextValue]
    private let cache = Locked<Ready?>(nil)
    private let flat = Locked<Gathered?>(nil)

    init(principal: Principal, parts: [[Slot]], context: [String: ContextValue]) {
        self.principal = principal
        self.parts = parts
        self.context = context
    }

    var inputs: [PolicyInput] { self.gathered.inputs }

    var gathered: Gathered {
        self.flat.withLock { flat in
            if let flat { return flat }
            var inputs: [PolicyInput] = []
            var sources: [String: PolicySource] = [:]
            for part in self.parts {
                for slot in part where sources[slot.input.id] == nil {
                    inputs.append(slot.input)
                    sources[slot.input.id] = slot.source
                }
            }
            let gathered = Gathered(inputs: inputs, sources: sources)
            flat = gathered
            return gathered
        }
    }

    var value: Ready {
        // Compiling under the lock: a second caller for the same principal would only compile it again. (The
        // gathering lock is taken inside this one, never the other way round.)
        self.cache.withLock { cache in
            if let ready = cache { return ready }
            let ready = Ready(
                compiled: CompiledPrincipal(principal: self.principal, policies: self.inputs),
                context: RequestContext(self.context))
            cache = ready
            return ready
        }
    }
}

/// An access key as authentication needs it: the verifier, whether it may be used, and whose it is.
public struct CredentialEntry: Sendable, Hashable {
    /// The key id.
    public let accessKeyID: AccessKeyID
    /// The SCRAM verifier.
    public let verifier: SCRAMVerifier
    /// Whether the key is Active (sessions are always active until they expire).
    public let isActive: Bool
    /// A session key's expiry.
    public let expiration: Date?
    /// The principal the key authenticates (a user, or a role session).
    public let principalARN: ARN
    /// ``principalARN``'s text, the key of the snapshot's principals, made once here rather than on every call.
    let principalKey: String
    /// The secret sealed under the server's key-encryption key (SigV4); nil if the key predates sealing.
    public var sealedSecret: [UInt8]? = nil
    /// SHA-256 of a session's token; nil for long-term keys.
    public var sessionTokenHash: [UInt8]? = nil

    /// Whether the key may authenticate a call at `now`: active and unexpired.
    public func isUsable(at now: Date) -> Bool {
        self.isActive && (self.expiration.map { now < $0 } ?? true)
    }
}

/// The immutable authorization state at one revision: principals by ARN and by access key, compiled.
///
/// Build one with ``SnapshotPublisher``; a write produces a new snapshot that shares every untouched
/// principal with the old one (dictionaries of references are copy-on-write), so a write recompiles only
/// the principals it touched and checks never wait for it.
public struct AuthorizationSnapshot: Sendable {
    /// The store revision the snapshot reflects.
    public internal(set) var revision: Revision
    /// The account.
    public let account: AccountID

    var principalsByARN: ShardedMap<String, SnapshotPrincipal> = ShardedMap()
    var sessionPrincipals: ShardedMap<AccessKeyID, SnapshotPrincipal> = ShardedMap()
    var credentials: ShardedMap<AccessKeyID, CredentialEntry> = ShardedMap()
    /// The ARN each user or role is compiled under, to drop it after a rename or delete.
    var compiledARN: ShardedMap<UniqueID, String> = ShardedMap()
    var model: SnapshotModel

    /// The user, role or (most recent) session with this ARN.
    public func principal(arn: String) -> SnapshotPrincipal? { self.principalsByARN[arn] }

    /// The principal an access key authenticates: its user, or its role session.
    public func principal(accessKeyID: AccessKeyID) -> SnapshotPrincipal? {
        guard let credential = self.credentials[accessKeyID] else { return self.sessionPrincipals[accessKeyID] }
        return self.principal(accessKeyID: accessKeyID, credential: credential)
    }

    /// The principal of a key whose credential the caller already looked up (one lookup fewer per call).
    public func principal(accessKeyID: AccessKeyID, credential: CredentialEntry) -> SnapshotPrincipal? {
        // Only a session's credential expires; a long-term key's principal is its user.
        if credential.expiration != nil, let session = self.sessionPrincipals[accessKeyID] { return session }
        return self.principalsByARN[credential.principalKey]
    }

    /// The credential of an access key id (long-term or session), for SCRAM.
    public func credential(accessKeyID: AccessKeyID) -> CredentialEntry? { self.credentials[accessKeyID] }

    /// How many principals (users, roles, sessions by ARN) the snapshot holds.
    public var principalCount: Int { self.principalsByARN.count }

    /// How many access keys (long-term and session) the snapshot holds.
    public var credentialCount: Int { self.credentials.count }
}

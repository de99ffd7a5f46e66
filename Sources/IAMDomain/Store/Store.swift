public import Foundation

/// A position in the store's history: every committed mutation bumps it by one, across the whole store.
///
/// A write returns the revision it produced; a snapshot says which revision it reflects, so a check can
/// demand "at least the revision of my last write".
public struct Revision: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The number; 0 is the empty store.
    public var rawValue: UInt64

    /// Creates a revision.
    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The empty store's revision.
    public static let zero = Revision(0)

    /// The next revision.
    public var next: Revision { Revision(self.rawValue + 1) }

    /// Orders by number.
    public static func < (lhs: Revision, rhs: Revision) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The number.
    public var description: String { String(self.rawValue) }
}

/// The thing a change touched. Relations are reported on both ends (attaching a policy to a user touches
/// the user and the policy), so a follower of the change log knows whom to recompile.
public enum ChangedEntity: Hashable, Sendable {
    /// A user, by unique id.
    case user(UniqueID)
    /// A group, by unique id.
    case group(UniqueID)
    /// A role, by unique id.
    case role(UniqueID)
    /// A managed policy, by ARN (AWS managed policies have no row but can be attached).
    case policy(ARN)
    /// An instance profile, by unique id.
    case instanceProfile(UniqueID)
    /// A long-term access key.
    case accessKey(AccessKeyID)
    /// An STS session.
    case session(AccessKeyID)

    /// The `change_log` columns: kind and id text.
    public var columns: (kind: String, id: String) {
        switch self {
        case .user(let id): ("user", id.rawValue)
        case .group(let id): ("group", id.rawValue)
        case .role(let id): ("role", id.rawValue)
        case .policy(let arn): ("policy", arn.description)
        case .instanceProfile(let id): ("instance-profile", id.rawValue)
        case .accessKey(let id): ("access-key", id.rawValue)
        case .session(let id): ("session", id.rawValue)
        }
    }

    /// Reads the `change_log` columns back; nil for text this version does not know.
    public init?(kind: String, id: String) {
        switch kind {
        case "user":
            guard let id = try? UniqueID(id) else { return nil }
            self = .user(id)
        case "group":
            guard let id = try? UniqueID(id) else { return nil }
            self = .group(id)
        case "role":
            guard let id = try? UniqueID(id) else { return nil }
            self = .role(id)
        case "policy":
            guard let arn = try? ARN(parsing: id) else { return nil }
            self = .policy(arn)
        case "instance-profile":
            guard let id = try? UniqueID(id) else { return nil }
            self = .instanceProfile(id)
        case "access-key":
            guard let id = try? AccessKeyID(id) else { return nil }
            self = .accessKey(id)
        case "session":
            guard let id = try? AccessKeyID(id) else { return nil }
            self = .session(id)
        default: return nil
        }
    }

    /// The entity a ``NamedEntity`` record is, for the change log.
    public static func of<E: NamedEntity>(_ entity: E) -> ChangedEntity {
        switch E.kind {
        case .group: .group(entity.id)
        case .role: .role(entity.id)
        case .policy: .policy(entity.arn)
        case .instanceProfile: .instanceProfile(entity.id)
        default: .user(entity.id)
        }
    }

    /// The owner of a relation, for the change log.
    public static func of(_ owner: OwnerRef) -> ChangedEntity {
        switch owner.kind {
        case .group: .group(owner.id)
        case .role: .role(owner.id)
        default: .user(owner.id)
        }
    }
}

/// One entry of the change log: which revision touched what, and how.
public struct Change: Hashable, Sendable {
    /// How the entity was touched.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// It came into being.
        case created
        /// It (or one of its relations) changed.
        case updated
        /// It is gone.
        case deleted
    }

    /// The revision of the write.
    public var revision: Revision
    /// How.
    public var kind: Kind
    /// What.
    public var entity: ChangedEntity

    /// Creates an entry.
    public init(revision: Revision, kind: Kind, entity: ChangedEntity) {
        self.revision = revision
        self.kind = kind
        self.entity = entity
    }
}

/// A committed write: the body's result, the revision it produced, and what it changed.
public struct Committed<Value: Sendable>: Sendable {
    /// What the write body returned.
    public var value: Value
    /// The revision after the write (unchanged when the body changed nothing).
    public var revision: Revision
    /// The change-log entries the write appended (empty when it changed nothing).
    public var changes: [Change]

    /// Creates a result.
    public init(value: Value, revision: Revision, changes: [Change]) {
        self.value = value
        self.revision = revision
        self.changes = changes
    }
}

/// Durable IAM state: users, groups, roles, managed policies, instance profiles, relations, access keys and
/// sessions.
///
/// Semantics every implementation keeps (the conformance suite in `Tests/IAMStoreConformance` pins them):
/// - `write` runs its body in one serializable transaction. If the body throws, nothing of it is kept.
///   If it changed anything, the store's revision goes up by exactly one and every change is appended to
///   the change log under that revision; then the call returns. When `write` returns, the write is durable.
///   The one write outside the revisions is ``StoreWriter/noteAccessKeyUse(id:date:service:)``'s.
/// - Names of users, groups, roles, customer managed policies and instance profiles are unique per kind,
///   case-insensitively
///   (two racing creators of `Alice` and `alice` leave exactly one, the other gets `EntityAlreadyExists`).
/// - `read` sees one consistent revision.
/// - Lists are ordered by case-folded name and paged by ``Marker``.
public protocol Store: Sendable {
    /// Runs `body` on a consistent read view.
    func read<T: Sendable>(_ body: @Sendable (any StoreReader) throws(IAMError) -> T) async throws(IAMError) -> T

    /// Runs `body` on a consistent read view, like ``read(_:)``, for a body that starts by asking for the changes
    /// after `revision` (``StoreReader/changes(after:limit:)`` with a limit of ``changePage``) and then for the
    /// states of the users they name (``StoreReader/userStates(_:)``), as a snapshot catching up does. A store whose
    /// every statement is a round trip may fetch those with the view's first one; the answers are the same.
    func readChanges<T: Sendable>(after revision: Revision, _ body: @Sendable (any StoreReader) throws(IAMError) -> T)
        async throws(IAMError) -> T

    /// Runs `body` in one write transaction; see the protocol's rules.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws(IAMError) -> T) async throws(IAMError)
        -> Committed<T>

    /// Closes the store; later calls fail with `ServiceFailure`.
    func close() async throws(IAMError)
}

extension Store {
    /// How many change-log entries a catch-up reads at a time.
    public static var changePage: Int { 10_000 }

    /// Runs ``read(_:)``: stores that answer in process need nothing fetched ahead.
    public func readChanges<T: Sendable>(
        after revision: Revision, _ body: @Sendable (any StoreReader) throws(IAMError) -> T
    ) async throws(IAMError) -> T {
        try await self.read(body)
    }

    /// The current revision.
    public func revision() async throws(IAMError) -> Revision {
        try await self.read { reader throws(IAMError) in reader.revision }
    }

    /// Change-log entries after `revision`, oldest first, at most `limit` (ends at a revision boundary only
    /// when `limit` is not hit; callers page until they get fewer than `limit`).
    public func changes(after revision: Revision, limit: Int = 10_000) async throws(IAMError) -> [Change] {
        try await self.read { reader throws(IAMError) in try reader.changes(after: revision, limit: limit) }
    }

    /// Everything in the store at one revision, for building the authorization snapshot at start.
    public func loadAll() async throws(IAMError) -> StoreContents {
        try await self.read { reader throws(IAMError) in try reader.contents() }
    }
}

/// The whole store at one revision.
public struct StoreContents: Sendable {
    /// The revision the contents reflect.
    public var revision: Revision
    /// Every user.
    public var users: [User]
    /// Every group.
    public var groups: [Group]
    /// Every role.
    public var roles: [Role]
    /// Every customer managed policy.
    public var policies: [ManagedPolicy]
    /// Every inline policy.
    public var inlinePolicies: [InlinePolicy]
    /// Every attachment.
    public var attachments: [Attachment]
    /// Every group membership (user id, group id).
    public var memberships: [Membership]
    /// Every access key.
    public var accessKeys: [AccessKey]
    /// Every STS session (also expired ones not yet purged).
    public var sessions: [SessionCredentials]
    /// Every instance profile.
    public var instanceProfiles: [InstanceProfile]
    /// Every role held by an instance profile.
    public var instanceProfileRoles: [InstanceProfileRole]

    /// Creates contents.
    public init(
        revision: Revision, users: [User] = [], groups: [Group] = [], roles: [Role] = [],
        policies: [ManagedPolicy] = [], inlinePolicies: [InlinePolicy] = [], attachments: [Attachment] = [],
        memberships: [Membership] = [], accessKeys: [AccessKey] = [], sessions: [SessionCredentials] = [],
        instanceProfiles: [InstanceProfile] = [], instanceProfileRoles: [InstanceProfileRole] = []
    ) {
        self.revision = revision
        self.users = users
        self.groups = groups
        self.roles = roles
        self.policies = policies
        self.inlinePolicies = inlinePolicies
        self.attachments = attachments
        self.memberships = memberships
        self.accessKeys = accessKeys
        self.sessions = sessions
        self.instanceProfiles = instanceProfiles
        self.instanceProfileRoles = instanceProfileRoles
    }
}

/// A user's membership in a group.
public struct Membership: Hashable, Sendable, Codable {
    /// The user's unique id.
    public var userID: UniqueID
    /// The group's unique id.
    public var groupID: UniqueID

    /// Creates a membership.
    public init(userID: UniqueID, groupID: UniqueID) {
        self.userID = userID
        self.groupID = groupID
    }
}

/// The read primitives of a transaction. Every call sees the transaction's revision.
public protocol StoreReader {
    /// The revision this view reflects.
    var revision: Revision { get }

    /// The user, group, role, customer managed policy or instance profile with unique id `id`.
    func entity<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> E?
    /// The entity named `name`, compared case-insensitively.
    func entity<E: NamedEntity>(_ type: E.Type, named name: EntityName) throws(IAMError) -> E?
    /// The customer managed policy with ARN `arn` (AWS managed ones are not stored).
    func policy(arn: ARN) throws(IAMError) -> ManagedPolicy?
    /// A page of entities whose path starts with `pathPrefix`, in case-folded name order.
    func entities<E: NamedEntity>(_ type: E.Type, pathPrefix: PathPrefix, page: PageRequest) throws(IAMError) -> Page<E>
    /// How many entities of `type` exist.
    func count<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> Int

    /// The inline policies of `owner`, in name order.
    func inlinePolicies(of owner: OwnerRef) throws(IAMError) -> [InlinePolicy]
    /// The ARNs of the managed policies attached to `owner`, in attachment order.
    func attachedPolicies(of owner: OwnerRef) throws(IAMError) -> [ARN]
    /// The entities `policy` is attached to.
    func attachments(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef]
    /// The users and roles whose permissions boundary is `policy`.
    func boundaryUses(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef]
    /// The groups `user` belongs to.
    func groups(ofUser user: UniqueID) throws(IAMError) -> [UniqueID]
    /// The members of `group`.
    func members(ofGroup group: UniqueID) throws(IAMError) -> [UniqueID]
    /// The roles held by instance profile `instanceProfile`, in id order.
    func roles(ofInstanceProfile instanceProfile: UniqueID) throws(IAMError) -> [UniqueID]
    /// The instance profiles holding `role`, in id order.
    func instanceProfiles(ofRole role: UniqueID) throws(IAMError) -> [UniqueID]

    /// The access key with `id`.
    func accessKey(id: AccessKeyID) throws(IAMError) -> AccessKey?
    /// The access keys of `user`, oldest first.
    func accessKeys(ofUser user: UniqueID) throws(IAMError) -> [AccessKey]
    /// The STS session whose key is `id`.
    func session(id: AccessKeyID) throws(IAMError) -> SessionCredentials?
    /// The sessions of role `role`.
    func sessions(ofRole role: UniqueID) throws(IAMError) -> [SessionCredentials]

    /// Change-log entries after `revision`, oldest first, at most `limit`.
    func changes(after revision: Revision, limit: Int) throws(IAMError) -> [Change]
    /// Each user's row and what its permissions are gathered from (``UserState``), for a snapshot catching up
    /// with a batch of changes; an absent user has a nil ``UserState/user``. The default asks per user; a
    /// store where every statement is a round trip answers in a few statements for the whole batch.
    func userStates(_ ids: [UniqueID]) throws(IAMError) -> [UniqueID: UserState]
    /// Everything, for ``Store/loadAll()``.
    func contents() throws(IAMError) -> StoreContents
}

/// The write primitives of a transaction. Each records its change-log entries itself; rules that span
/// several primitives (quotas, delete conflicts) live in ``IAMDirectory``, written once for every store.
public protocol StoreWriter: StoreReader {
    /// Inserts a new entity; throws `EntityAlreadyExists` when its folded name (or id) is taken.
    func insert<E: NamedEntity>(_ entity: E) throws(IAMError)
    /// Replaces the entity with the same id; throws `NoSuchEntity` when absent and `EntityAlreadyExists`
    /// when a rename collides.
    func update<E: NamedEntity>(_ entity: E) throws(IAMError)
    /// Deletes the entity with `id` (relations are the caller's to remove first); returns whether it existed.
    @discardableResult
    func delete<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> Bool

    /// Creates or replaces the owner's inline policy of the same name.
    func putInlinePolicy(_ policy: InlinePolicy) throws(IAMError)
    /// Deletes an inline policy; returns whether it existed.
    @discardableResult
    func deleteInlinePolicy(of owner: OwnerRef, named name: EntityName) throws(IAMError) -> Bool
    /// Attaches a managed policy; returns false (and changes nothing) when already attached.
    @discardableResult
    func attach(_ attachment: Attachment) throws(IAMError) -> Bool
    /// Detaches; returns whether it was attached.
    @discardableResult
    func detach(_ attachment: Attachment) throws(IAMError) -> Bool
    /// Adds a membership; returns false when it existed.
    @discardableResult
    func addMembership(_ membership: Membership) throws(IAMError) -> Bool
    /// Removes a membership; returns whether it existed.
    @discardableResult
    func removeMembership(_ membership: Membership) throws(IAMError) -> Bool
    /// Puts a role in an instance profile (quotas are ``IAMDirectory``'s); returns false when it was there.
    @discardableResult
    func addRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool
    /// Takes a role out of an instance profile; returns whether it was there.
    @discardableResult
    func removeRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool

    /// Inserts a new access key.
    func insertAccessKey(_ key: AccessKey) throws(IAMError)
    /// Replaces the key with the same id (status, last used).
    func updateAccessKey(_ key: AccessKey) throws(IAMError)
    /// Deletes a key; returns whether it existed.
    @discardableResult
    func deleteAccessKey(id: AccessKeyID) throws(IAMError) -> Bool
    /// Notes that key `id` authenticated a call at `date` to `service` (GetAccessKeyLastUsed), unless it holds a
    /// later use already (a last use never goes back); returns whether the key exists. Not a change a snapshot follows: it appends nothing to the change log and moves no revision, so
    /// a key's use never changes the revision the checks it made answer with. It is kept all the same when the
    /// write commits (a write whose only work is this commits without a new revision).
    @discardableResult
    func noteAccessKeyUse(id: AccessKeyID, date: Date, service: String) throws(IAMError) -> Bool
    /// Inserts an STS session.
    func insertSession(_ session: SessionCredentials) throws(IAMError)
    /// Deletes a session; returns whether it existed.
    @discardableResult
    func deleteSession(id: AccessKeyID) throws(IAMError) -> Bool
}

/// A user as a snapshot needs it after a change: the user itself (nil when gone) with its inline policies,
/// attached policies and groups (all empty when gone).
public struct UserState: Sendable {
    /// The user; nil when it no longer exists.
    public var user: User?
    /// Its inline policies, in name order.
    public var inlinePolicies: [InlinePolicy]
    /// Its attached managed policies, in attachment order.
    public var attachedPolicies: [ARN]
    /// The groups it belongs to.
    public var groups: [UniqueID]

    /// A user's state.
    public init(user: User?, inlinePolicies: [InlinePolicy], attachedPolicies: [ARN], groups: [UniqueID]) {
        self.user = user
        self.inlinePolicies = inlinePolicies
        self.attachedPolicies = attachedPolicies
        self.groups = groups
    }
}

extension StoreReader {
    /// One user's state at a time, from the per-entity reads.
    public func userStates(_ ids: [UniqueID]) throws(IAMError) -> [UniqueID: UserState] {
        var out: [UniqueID: UserState] = [:]
        for id in ids {
            guard let user = try self.entity(User.self, id: id) else {
                out[id] = UserState(user: nil, inlinePolicies: [], attachedPolicies: [], groups: [])
                continue
            }
            let owner = OwnerRef(.user, id)
            out[id] = UserState(
                user: user, inlinePolicies: try self.inlinePolicies(of: owner),
                attachedPolicies: try self.attachedPolicies(of: owner), groups: try self.groups(ofUser: id))
        }
        return out
    }
}

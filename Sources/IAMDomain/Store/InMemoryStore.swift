import Foundation
import IAMSync

/// The ``Store`` in memory: the same semantics as the SQLite store without durability, for tests and for
/// tools that need a throwaway account.
///
/// A write runs on a copy of the state under a mutex and replaces the state only when its body returns,
/// so a throwing body leaves nothing behind (the dictionaries are copy-on-write, so the copy is cheap).
public final class InMemoryStore: Store {
    private let state: Locked<State>

    /// An empty store at revision 0.
    public init() {
        self.state = Locked(State())
    }

    /// Runs `body` on the current state.
    public func read<T: Sendable>(_ body: @Sendable (any StoreReader) throws(IAMError) -> T) async throws(IAMError)
        -> T
    {
        let current = try self.state.withLock { state throws(IAMError) -> State in
            guard !state.closed else { throw Self.closedError }
            return state
        }
        return try body(InMemoryTransaction(current))
    }

    /// Runs `body` on a copy of the state and installs the copy when the body returns.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws(IAMError) -> T)
        async throws(IAMError)
        -> Committed<T>
    {
        try self.state.withLock { state throws(IAMError) -> Committed<T> in
            guard !state.closed else { throw Self.closedError }
            let transaction = InMemoryTransaction(state)
            let value = try body(transaction)
            guard !transaction.pending.isEmpty else {
                // Only noted key uses (if anything): kept, at the same revision.
                if transaction.notedUse { state = transaction.state }
                return Committed(value: value, revision: state.revision, changes: [])
            }
            var next = transaction.state
            next.revision = state.revision.next
            let changes = transaction.pending.map { Change(revision: next.revision, kind: $0.kind, entity: $0.entity) }
            next.changeLog.append(contentsOf: changes)
            state = next
            return Committed(value: value, revision: next.revision, changes: changes)
        }
    }

    /// Refuses further calls.
    public func close() async throws(IAMError) {
        self.state.withLock { $0.closed = true }
    }

    private static let closedError = IAMError.serviceFailure("the store is closed")
}

struct EntityTable: Sendable {
    var byID: [UniqueID: any NamedEntity] = [:]
    var idByFoldedName: [String: UniqueID] = [:]
}

struct State: Sendable {
    var revision = Revision.zero
    var closed = false
    var tables: [EntityKind: EntityTable] = [:]
    var policyIDByARN: [ARN: UniqueID] = [:]
    var inline: [OwnerRef: [String: InlinePolicy]] = [:]
    /// Attachments in attachment order, indexed from both ends.
    var attachedByOwner: [OwnerRef: [ARN]] = [:]
    var ownersByPolicy: [ARN: [OwnerRef]] = [:]
    var groupsByUser: [UniqueID: Set<UniqueID>] = [:]
    var usersByGroup: [UniqueID: Set<UniqueID>] = [:]
    var rolesByInstanceProfile: [UniqueID: Set<UniqueID>] = [:]
    var instanceProfilesByRole: [UniqueID: Set<UniqueID>] = [:]
    var accessKeys: [AccessKeyID: AccessKey] = [:]
    var sessions: [AccessKeyID: SessionCredentials] = [:]
    var changeLog: [Change] = []
}

/// One transaction's view. Reads and writes share it; a read-only transaction is simply never written.
final class InMemoryTransaction: StoreWriter {
    var state: State
    var pending: [(kind: Change.Kind, entity: ChangedEntity)] = []
    /// Whether the body noted a key's use, the one write that is kept without a change.
    var notedUse = false

    init(_ state: State) {
        self.state = state
    }

    var revision: Revision { self.state.revision }

    private func record(_ kind: Change.Kind, _ entity: ChangedEntity) {
        self.pending.append((kind, entity))
    }

    // MARK: Reads

    func entity<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> E? {
        self.state.tables[E.kind]?.byID[id] as? E
    }

    func entity<E: NamedEntity>(_ type: E.Type, named name: EntityName) throws(IAMError) -> E? {
        guard let id = self.state.tables[E.kind]?.idByFoldedName[name.folded] else { return nil }
        return try self.entity(type, id: id)
    }

    func policy(arn: ARN) throws(IAMError) -> ManagedPolicy? {
        guard let id = self.state.policyIDByARN[arn] else { return nil }
        return try self.entity(ManagedPolicy.self, id: id)
    }

    func entities<E: NamedEntity>(_ type: E.Type, pathPrefix: PathPrefix, page: PageRequest) throws(IAMError)
        -> Page<E>
    {
        let all = (self.state.tables[E.kind]?.byID.values.compactMap { $0 as? E } ?? [])
            .filter { $0.path.hasPrefix(pathPrefix) }
            .sorted { $0.name.folded < $1.name.folded }
        return Page(sorted: all, key: { $0.name.folded }, request: page)
    }

    func count<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> Int {
        self.state.tables[E.kind]?.byID.count ?? 0
    }

    func inlinePolicies(of owner: OwnerRef) throws(IAMError) -> [InlinePolicy] {
        (self.state.inline[owner]?.values.map { $0 } ?? []).sorted { $0.name.rawValue < $1.name.rawValue }
    }

    func attachedPolicies(of owner: OwnerRef) throws(IAMError) -> [ARN] {
        self.state.attachedByOwner[owner] ?? []
    }

    func attachments(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef] {
        self.state.ownersByPolicy[policy] ?? []
    }

    func boundaryUses(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef] {
        var out: [OwnerRef] = []
        for kind in [EntityKind.user, .role] {
            guard let table = self.state.tables[kind] else { continue }
            for entity in table.byID.values where entity.permissionsBoundary == policy {
                out.append(OwnerRef(kind, entity.id))
            }
        }
        return out.sorted()
    }

    func groups(ofUser user: UniqueID) throws(IAMError) -> [UniqueID] {
        (self.state.groupsByUser[user] ?? []).sorted()
    }

    func members(ofGroup group: UniqueID) throws(IAMError) -> [UniqueID] {
        (self.state.usersByGroup[group] ?? []).sorted()
    }

    func roles(ofInstanceProfile instanceProfile: UniqueID) throws(IAMError) -> [UniqueID] {
        (self.state.rolesByInstanceProfile[instanceProfile] ?? []).sorted()
    }

    func instanceProfiles(ofRole role: UniqueID) throws(IAMError) -> [UniqueID] {
        (self.state.instanceProfilesByRole[role] ?? []).sorted()
    }

    func accessKey(id: AccessKeyID) throws(IAMError) -> AccessKey? { self.state.accessKeys[id] }

    func accessKeys(ofUser user: UniqueID) throws(IAMError) -> [AccessKey] {
        self.state.accessKeys.values.filter { $0.userID == user }.sorted {
            ($0.createDate, $0.id) < ($1.createDate, $1.id)
        }
    }

    func session(id: AccessKeyID) throws(IAMError) -> SessionCredentials? { self.state.sessions[id] }

    func sessions(ofRole role: UniqueID) throws(IAMError) -> [SessionCredentials] {
        self.state.sessions.values.filter { $0.roleID == role }.sorted { $0.accessKeyID < $1.accessKeyID }
    }

    func changes(after revision: Revision, limit: Int) throws(IAMError) -> [Change] {
        let start = self.state.changeLog.partitionPoint { $0.revision > revision }
        return Array(self.state.changeLog[start...].prefix(max(0, limit)))
    }

    func contents() throws(IAMError) -> StoreContents {
        func all<E: NamedEntity>(_ type: E.Type) -> [E] {
            // Folding each name once, not once per comparison.
            (self.state.tables[E.kind]?.byID.values.compactMap { $0 as? E } ?? [])
                .map { ($0.name.folded, $0) }
                .sorted { $0.0 < $1.0 }
                .map(\.1)
        }
        return StoreContents(
            revision: self.state.revision, users: all(User.self), groups: all(Group.self), roles: all(Role.self),
            policies: all(ManagedPolicy.self),
            inlinePolicies: self.state.inline.values.flatMap(\.values).sorted {
                ($0.owner, $0.name.rawValue) < ($1.owner, $1.name.rawValue)
            },
            attachments: self.state.attachedByOwner.sorted { $0.key < $1.key }.flatMap { owner, arns in
                arns.map { Attachment(owner: owner, policyARN: $0) }
            },
            memberships: self.state.groupsByUser.flatMap { user, groups in
                groups.map { Membership(userID: user, groupID: $0) }
            }.sorted { ($0.userID, $0.groupID) < ($1.userID, $1.groupID) },
            accessKeys: self.state.accessKeys.values.sorted { $0.id < $1.id },
            sessions: self.state.sessions.values.sorted { $0.accessKeyID < $1.accessKeyID },
            instanceProfiles: all(InstanceProfile.self),
            instanceProfileRoles: self.state.rolesByInstanceProfile.flatMap { profile, roles in
                roles.map { InstanceProfileRole(instanceProfileID: profile, roleID: $0) }
            }.sorted { ($0.instanceProfileID, $0.roleID) < ($1.instanceProfileID, $1.roleID) })
    }

    // MARK: Writes

    func insert<E: NamedEntity>(_ entity: E) throws(IAMError) {
        let taken = self.state.tables[E.kind].map {
            $0.idByFoldedName[entity.name.folded] != nil || $0.byID[entity.id] != nil
        }
        guard taken != true, E.kind != .policy || self.state.policyIDByARN[entity.arn] == nil else {
            throw .entityAlreadyExists(E.kind, name: entity.name.rawValue)
        }
        if E.kind == .policy { self.state.policyIDByARN[entity.arn] = entity.id }
        // Mutated in place: copying a table out and back would copy all of it on every insert.
        self.state.tables[E.kind, default: EntityTable()].byID[entity.id] = entity
        self.state.tables[E.kind, default: EntityTable()].idByFoldedName[entity.name.folded] = entity.id
        self.record(.created, .of(entity))
    }

    func update<E: NamedEntity>(_ entity: E) throws(IAMError) {
        guard let old = self.state.tables[E.kind]?.byID[entity.id] else {
            throw .noSuchEntity(E.kind, name: entity.name.rawValue)
        }
        if old.name.folded != entity.name.folded {
            guard self.state.tables[E.kind]?.idByFoldedName[entity.name.folded] == nil else {
                throw .entityAlreadyExists(E.kind, name: entity.name.rawValue)
            }
            self.state.tables[E.kind]?.idByFoldedName[old.name.folded] = nil
            self.state.tables[E.kind]?.idByFoldedName[entity.name.folded] = entity.id
        }
        if E.kind == .policy, old.arn != entity.arn {
            self.state.policyIDByARN[old.arn] = nil
            self.state.policyIDByARN[entity.arn] = entity.id
        }
        self.state.tables[E.kind]?.byID[entity.id] = entity
        self.record(.updated, .of(entity))
    }

    @discardableResult
    func delete<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> Bool {
        guard let old = self.state.tables[E.kind]?.byID.removeValue(forKey: id) else { return false }
        self.state.tables[E.kind]?.idByFoldedName[old.name.folded] = nil
        if E.kind == .policy { self.state.policyIDByARN[old.arn] = nil }
        self.record(.deleted, .of(old))
        return true
    }

    func putInlinePolicy(_ policy: InlinePolicy) throws(IAMError) {
        self.state.inline[policy.owner, default: [:]][policy.name.rawValue] = policy
        self.record(.updated, .of(policy.owner))
    }

    @discardableResult
    func deleteInlinePolicy(of owner: OwnerRef, named name: EntityName) throws(IAMError) -> Bool {
        guard self.state.inline[owner]?.removeValue(forKey: name.rawValue) != nil else { return false }
        if self.state.inline[owner]?.isEmpty == true { self.state.inline[owner] = nil }
        self.record(.updated, .of(owner))
        return true
    }

    @discardableResult
    func attach(_ attachment: Attachment) throws(IAMError) -> Bool {
        guard self.state.attachedByOwner[attachment.owner]?.contains(attachment.policyARN) != true else { return false }
        self.state.attachedByOwner[attachment.owner, default: []].append(attachment.policyARN)
        self.state.ownersByPolicy[attachment.policyARN, default: []].append(attachment.owner)
        self.record(.updated, .of(attachment.owner))
        self.record(.updated, .policy(attachment.policyARN))
        return true
    }

    @discardableResult
    func detach(_ attachment: Attachment) throws(IAMError) -> Bool {
        guard let index = self.state.attachedByOwner[attachment.owner]?.firstIndex(of: attachment.policyARN) else {
            return false
        }
        self.state.attachedByOwner[attachment.owner]?.remove(at: index)
        if self.state.attachedByOwner[attachment.owner]?.isEmpty == true {
            self.state.attachedByOwner[attachment.owner] = nil
        }
        self.state.ownersByPolicy[attachment.policyARN]?.removeAll { $0 == attachment.owner }
        if self.state.ownersByPolicy[attachment.policyARN]?.isEmpty == true {
            self.state.ownersByPolicy[attachment.policyARN] = nil
        }
        self.record(.updated, .of(attachment.owner))
        self.record(.updated, .policy(attachment.policyARN))
        return true
    }

    @discardableResult
    func addMembership(_ membership: Membership) throws(IAMError) -> Bool {
        guard self.state.groupsByUser[membership.userID, default: []].insert(membership.groupID).inserted else {
            return false
        }
        self.state.usersByGroup[membership.groupID, default: []].insert(membership.userID)
        self.record(.updated, .user(membership.userID))
        self.record(.updated, .group(membership.groupID))
        return true
    }

    @discardableResult
    func removeMembership(_ membership: Membership) throws(IAMError) -> Bool {
        guard self.state.groupsByUser[membership.userID]?.remove(membership.groupID) != nil else { return false }
        if self.state.groupsByUser[membership.userID]?.isEmpty == true {
            self.state.groupsByUser[membership.userID] = nil
        }
        self.state.usersByGroup[membership.groupID]?.remove(membership.userID)
        if self.state.usersByGroup[membership.groupID]?.isEmpty == true {
            self.state.usersByGroup[membership.groupID] = nil
        }
        self.record(.updated, .user(membership.userID))
        self.record(.updated, .group(membership.groupID))
        return true
    }

    @discardableResult
    func addRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool {
        guard self.state.rolesByInstanceProfile[link.instanceProfileID, default: []].insert(link.roleID).inserted
        else { return false }
        self.state.instanceProfilesByRole[link.roleID, default: []].insert(link.instanceProfileID)
        self.record(.updated, .instanceProfile(link.instanceProfileID))
        self.record(.updated, .role(link.roleID))
        return true
    }

    @discardableResult
    func removeRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool {
        guard self.state.rolesByInstanceProfile[link.instanceProfileID]?.remove(link.roleID) != nil else {
            return false
        }
        if self.state.rolesByInstanceProfile[link.instanceProfileID]?.isEmpty == true {
            self.state.rolesByInstanceProfile[link.instanceProfileID] = nil
        }
        self.state.instanceProfilesByRole[link.roleID]?.remove(link.instanceProfileID)
        if self.state.instanceProfilesByRole[link.roleID]?.isEmpty == true {
            self.state.instanceProfilesByRole[link.roleID] = nil
        }
        self.record(.updated, .instanceProfile(link.instanceProfileID))
        self.record(.updated, .role(link.roleID))
        return true
    }

    func insertAccessKey(_ key: AccessKey) throws(IAMError) {
        guard self.state.accessKeys[key.id] == nil else {
            throw IAMError(code: .entityAlreadyExists, message: "Access key \(key.id) already exists.")
        }
        self.state.accessKeys[key.id] = key
        self.record(.created, .accessKey(key.id))
    }

    func updateAccessKey(_ key: AccessKey) throws(IAMError) {
        guard self.state.accessKeys[key.id] != nil else { throw .noSuchAccessKey(key.id) }
        self.state.accessKeys[key.id] = key
        self.record(.updated, .accessKey(key.id))
    }

    @discardableResult
    func deleteAccessKey(id: AccessKeyID) throws(IAMError) -> Bool {
        guard self.state.accessKeys.removeValue(forKey: id) != nil else { return false }
        self.record(.deleted, .accessKey(id))
        return true
    }

    @discardableResult
    func noteAccessKeyUse(id: AccessKeyID, date: Date, service: String) throws(IAMError) -> Bool {
        guard var key = self.state.accessKeys[id] else { return false }
        guard key.noteUse(at: date, service: service) else { return true }
        self.state.accessKeys[id] = key
        self.notedUse = true
        return true
    }

    func insertSession(_ session: SessionCredentials) throws(IAMError) {
        guard self.state.sessions[session.accessKeyID] == nil else {
            throw IAMError(code: .entityAlreadyExists, message: "Session \(session.accessKeyID) already exists.")
        }
        self.state.sessions[session.accessKeyID] = session
        self.record(.created, .session(session.accessKeyID))
    }

    @discardableResult
    func deleteSession(id: AccessKeyID) throws(IAMError) -> Bool {
        guard self.state.sessions.removeValue(forKey: id) != nil else { return false }
        self.record(.deleted, .session(id))
        return true
    }
}

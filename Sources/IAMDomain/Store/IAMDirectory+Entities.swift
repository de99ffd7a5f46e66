public import Foundation
import IAMPolicy

// Reads, updates, tags and boundaries for users, groups and roles; lists for policies and relations.
extension IAMDirectory {
    // MARK: Generic helpers

    /// Loads the entity named `name`, applies `change` and stores it, in one transaction.
    func modify<E: NamedEntity>(
        _ type: E.Type, named name: EntityName,
        _ change: @escaping @Sendable (inout E, any StoreWriter) throws(IAMError) -> Void
    ) async throws(IAMError) -> Committed<E> {
        try await store.write { tx throws(IAMError) in
            var entity = try Self.require(E.self, name, tx)
            let before = entity
            try change(&entity, tx)
            if entity != before { try tx.update(entity) }
            return entity
        }
    }

    // MARK: Users

    /// ListGroupsForUser.
    public func groups(ofUser name: EntityName, page: PageRequest = .first) async throws(IAMError) -> Page<Group> {
        try await store.read { tx throws(IAMError) in
            let user = try Self.require(User.self, name, tx)
            var groups: [Group] = []
            for id in try tx.groups(ofUser: user.id) {
                if let group = try tx.entity(Group.self, id: id) { groups.append(group) }
            }
            return Page(
                sorted: groups.sorted { $0.name.folded < $1.name.folded }, key: { $0.name.folded }, request: page)
        }
    }

    // MARK: Groups

    /// GetGroup: the group and a page of its users.
    public func group(named name: EntityName, page: PageRequest = .first) async throws(IAMError)
        -> (group: Group, users: Page<User>)
    {
        try await store.read { tx throws(IAMError) in
            let group = try Self.require(Group.self, name, tx)
            var users: [User] = []
            for id in try tx.members(ofGroup: group.id) {
                if let user = try tx.entity(User.self, id: id) { users.append(user) }
            }
            let sorted = users.sorted { $0.name.folded < $1.name.folded }
            return (group, Page(sorted: sorted, key: { $0.name.folded }, request: page))
        }
    }

    /// ListGroups.
    public func listGroups(pathPrefix: PathPrefix = .all, page: PageRequest = .first) async throws(IAMError)
        -> Page<Group>
    {
        try await store.read { tx throws(IAMError) in try tx.entities(Group.self, pathPrefix: pathPrefix, page: page) }
    }

    // MARK: Roles

    /// GetRole.
    public func role(named name: EntityName) async throws(IAMError) -> Role {
        try await store.read { tx throws(IAMError) in try Self.require(Role.self, name, tx) }
    }

    /// ListRoles.
    public func listRoles(pathPrefix: PathPrefix = .all, page: PageRequest = .first) async throws(IAMError)
        -> Page<Role>
    {
        try await store.read { tx throws(IAMError) in try tx.entities(Role.self, pathPrefix: pathPrefix, page: page) }
    }

    // MARK: Policies

    /// The users, groups and roles a policy is attached to (ListEntitiesForPolicy).
    public struct PolicyEntities: Sendable {
        /// Users, in name order.
        public var users: [User]
        /// Groups, in name order.
        public var groups: [Group]
        /// Roles, in name order.
        public var roles: [Role]
    }

    /// ListEntitiesForPolicy (`asBoundary`: PolicyUsageFilter=PermissionsBoundary).
    public func entities(forPolicy arn: ARN, asBoundary: Bool = false) async throws(IAMError) -> PolicyEntities {
        try await store.read { tx throws(IAMError) in
            _ = try self.resolvePolicy(arn, tx)
            var out = PolicyEntities(users: [], groups: [], roles: [])
            for owner in asBoundary ? try tx.boundaryUses(ofPolicy: arn) : try tx.attachments(ofPolicy: arn) {
                switch owner.kind {
                case .user: if let user = try tx.entity(User.self, id: owner.id) { out.users.append(user) }
                case .group: if let group = try tx.entity(Group.self, id: owner.id) { out.groups.append(group) }
                case .role: if let role = try tx.entity(Role.self, id: owner.id) { out.roles.append(role) }
                default: break
                }
            }
            out.users.sort { $0.name.folded < $1.name.folded }
            out.groups.sort { $0.name.folded < $1.name.folded }
            out.roles.sort { $0.name.folded < $1.name.folded }
            return out
        }
    }

    // MARK: Relations of one entity

    // MARK: Access keys and sessions

    /// GetAccessKeyLastUsed: the key and its user's name (nil when the user is gone).
    public func accessKeyLastUsed(_ id: AccessKeyID) async throws(IAMError) -> (key: AccessKey, userName: EntityName?) {
        try await store.read { tx throws(IAMError) in
            guard let key = try tx.accessKey(id: id) else { throw .noSuchAccessKey(id) }
            return (key, try tx.entity(User.self, id: key.userID)?.name)
        }
    }

    /// Records that a key authenticated a call (GetAccessKeyLastUsed); false when the key is gone. A durable write
    /// outside the revisions (``StoreWriter/noteAccessKeyUse(id:date:service:)``): callers throttle it (once per key
    /// in a few minutes), not run it per check.
    @discardableResult
    public func recordAccessKeyUse(_ id: AccessKeyID, service: String, now: Date = Date()) async throws(IAMError)
        -> Bool
    {
        try await store.write { tx throws(IAMError) in
            try tx.noteAccessKeyUse(id: id, date: now, service: service)
        }.value
    }

    /// Stores an AssumeRole session after the caller checked the trust policy and the duration; the role
    /// must still exist (a role deleted meanwhile fails with `NoSuchEntity`). Records the role's last use.
    public func createSession(_ session: SessionCredentials) async throws(IAMError) -> Committed<SessionCredentials> {
        try await store.write { tx throws(IAMError) in
            guard var role = try tx.entity(Role.self, id: session.roleID) else {
                throw .noSuchEntity(
                    .role, name: session.roleARN.iamEntity?.name.rawValue ?? session.roleARN.description)
            }
            try tx.insertSession(session)
            role.lastUsedDate = session.createDate
            try tx.update(role)
            return session
        }
    }

    /// Deletes sessions that expired before `now`; returns how many.
    public func purgeExpiredSessions(now: Date = Date()) async throws(IAMError) -> Committed<Int> {
        try await store.write { tx throws(IAMError) in
            var purged = 0
            for session in try tx.contents().sessions where session.isExpired(at: now) {
                if try tx.deleteSession(id: session.accessKeyID) { purged += 1 }
            }
            return purged
        }
    }

    // MARK: Account

}

public import Foundation
import IAMPolicy

extension IAMDirectory {
    // MARK: Users

    /// CreateUser: a unique (case-insensitive) name within the account's quota; the boundary may be a customer or
    /// an AWS managed policy.
    public func createUser(
        name: EntityName, path: IAMPath = .root, permissionsBoundary: ARN? = nil, tags: [Tag] = [],
        now: Date = Date()
    ) async throws(IAMError) -> Committed<User> {
        let tags = try Tags.merge(tags, into: [], caseInsensitiveKeys: true, limit: quotas.tagsPerEntity)
        let user = User(
            id: .generate(.user), name: name, path: path, arn: .user(account: account, path: path, name: name),
            createDate: now, permissionsBoundary: permissionsBoundary, tags: tags)
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            guard try tx.entity(User.self, named: name) == nil else {
                throw .entityAlreadyExists(.user, name: name.rawValue)
            }
            guard try tx.count(User.self) < quotas.usersPerAccount else {
                throw .quotaExceeded("UsersPerAccount", quotas.usersPerAccount)
            }
            if let permissionsBoundary { try Self.requireBoundary(permissionsBoundary, tx) }
            try tx.insert(user)
            return user
        }
    }

    /// UpdateUser: renames and/or moves a user; its ARN follows, its id, keys and relations stay.
    public func updateUser(named name: EntityName, newPath: IAMPath?, newName: EntityName?) async throws(IAMError)
        -> Committed<Void>
    {
        let account = self.account
        return try await store.write { tx throws(IAMError) in
            var user = try Self.require(User.self, name, tx)
            if let newName, newName.folded != user.name.folded, try tx.entity(User.self, named: newName) != nil {
                throw .entityAlreadyExists(.user, name: newName.rawValue)
            }
            let updated = (name: newName ?? user.name, path: newPath ?? user.path)
            guard updated.name.rawValue != user.name.rawValue || updated.path != user.path else { return }
            let old = user.arn
            user.name = updated.name
            user.path = updated.path
            user.arn = .user(account: account, path: updated.path, name: updated.name)
            try tx.update(user)
            try Self.renameTrustPrincipal(old, to: user.arn, tx)
        }
    }

    /// ListGroupsForUser, in case-folded name order.
    public func groupsForUser(named name: EntityName, page: PageRequest = .first) async throws(IAMError) -> Page<Group>
    {
        try await store.read { tx throws(IAMError) in
            let user = try Self.require(User.self, name, tx)
            var groups: [Group] = []
            for id in try tx.groups(ofUser: user.id) {
                if let group = try tx.entity(Group.self, id: id) { groups.append(group) }
            }
            groups.sort { $0.name < $1.name }
            return Page(sorted: groups, key: { $0.name.folded }, request: page)
        }
    }

    // MARK: Groups

    /// GetGroup: the group and a page of its members in case-folded name order.
    public func groupWithMembers(named name: EntityName, page: PageRequest = .first) async throws(IAMError)
        -> (group: Group, users: Page<User>)
    {
        try await store.read { tx throws(IAMError) in
            let group = try Self.require(Group.self, name, tx)
            var users: [User] = []
            for id in try tx.members(ofGroup: group.id) {
                if let user = try tx.entity(User.self, id: id) { users.append(user) }
            }
            users.sort { $0.name < $1.name }
            return (group, Page(sorted: users, key: { $0.name.folded }, request: page))
        }
    }

    /// UpdateGroup: renames and/or moves a group.
    public func updateGroup(named name: EntityName, newPath: IAMPath?, newName: EntityName?) async throws(IAMError)
        -> Committed<Void>
    {
        let account = self.account
        return try await store.write { tx throws(IAMError) in
            var group = try Self.require(Group.self, name, tx)
            if let newName, newName.folded != group.name.folded, try tx.entity(Group.self, named: newName) != nil {
                throw .entityAlreadyExists(.group, name: newName.rawValue)
            }
            let updated = (name: newName ?? group.name, path: newPath ?? group.path)
            guard updated.name.rawValue != group.name.rawValue || updated.path != group.path else { return }
            group.name = updated.name
            group.path = updated.path
            group.arn = .group(account: account, path: updated.path, name: updated.name)
            try tx.update(group)
        }
    }

    // MARK: Boundaries

    /// The policy `arn` as a permissions boundary: it must exist (customer or AWS managed) and be attachable.
    static func requireBoundary(_ arn: ARN, _ tx: any StoreReader) throws(IAMError) {
        let policy = try resolvePolicy(arn, tx)
        guard policy.isAttachable else {
            throw .policyNotAttachable("Policy \(arn) is not attachable as a permissions boundary.")
        }
    }
}

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

    /// UpdateUser: a new name and/or path (the ARN follows; relations follow the unique id).
    public func updateUser(named name: EntityName, newName: EntityName? = nil, newPath: IAMPath? = nil)
        async throws(IAMError) -> Committed<User>
    {
        let account = self.account
        return try await modify(User.self, named: name) { user, tx throws(IAMError) in
            if let newName, newName.folded != user.name.folded, try tx.entity(User.self, named: newName) != nil {
                throw .entityAlreadyExists(.user, name: newName.rawValue)
            }
            user.name = newName ?? user.name
            user.path = newPath ?? user.path
            user.arn = .user(account: account, path: user.path, name: user.name)
        }
    }

    /// TagUser: keys compare case-insensitively; a new value replaces the old.
    public func tagUser(named name: EntityName, tags: [Tag]) async throws(IAMError) -> Committed<User> {
        let limit = quotas.tagsPerEntity
        return try await modify(User.self, named: name) { user, _ throws(IAMError) in
            user.tags = try Tags.merge(tags, into: user.tags, caseInsensitiveKeys: true, limit: limit)
        }
    }

    /// UntagUser.
    public func untagUser(named name: EntityName, keys: [String]) async throws(IAMError) -> Committed<User> {
        try await modify(User.self, named: name) { user, _ throws(IAMError) in
            user.tags = Tags.remove(keys, from: user.tags, caseInsensitiveKeys: true)
        }
    }

    /// PutUserPermissionsBoundary / DeleteUserPermissionsBoundary (`nil`).
    public func setUserPermissionsBoundary(named name: EntityName, to boundary: ARN?) async throws(IAMError)
        -> Committed<User>
    {
        try await modify(User.self, named: name) { user, tx throws(IAMError) in
            if let boundary { _ = try self.resolvePolicy(boundary, tx) }
            user.permissionsBoundary = boundary
        }
    }

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

    /// UpdateGroup: a new name and/or path.
    public func updateGroup(named name: EntityName, newName: EntityName? = nil, newPath: IAMPath? = nil)
        async throws(IAMError) -> Committed<Group>
    {
        let account = self.account
        return try await modify(Group.self, named: name) { group, tx throws(IAMError) in
            if let newName, newName.folded != group.name.folded, try tx.entity(Group.self, named: newName) != nil {
                throw .entityAlreadyExists(.group, name: newName.rawValue)
            }
            group.name = newName ?? group.name
            group.path = newPath ?? group.path
            group.arn = .group(account: account, path: group.path, name: group.name)
        }
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

    /// UpdateAssumeRolePolicy: the new trust policy is validated as a trust document.
    public func updateAssumeRolePolicy(roleName: EntityName, document: String) async throws(IAMError)
        -> Committed<Role>
    {
        let trust = try Self.parse(document, kind: .trust)
        return try await modify(Role.self, named: roleName) { role, tx throws(IAMError) in
            try Self.checkTrustPrincipals(trust, account: role.arn.account, tx)
            role.assumeRolePolicyDocument = document
        }
    }

    /// UpdateRole / UpdateRoleDescription: description and/or MaxSessionDuration (3,600..43,200).
    public func updateRole(roleName: EntityName, description: String? = nil, maxSessionDuration: Int? = nil)
        async throws(IAMError) -> Committed<Role>
    {
        if let duration = maxSessionDuration, !quotas.maxSessionDurationRange.contains(duration) {
            throw .validation(
                field: "maxSessionDuration", value: String(duration),
                constraint: "have value between \(quotas.maxSessionDurationRange.lowerBound) and "
                    + "\(quotas.maxSessionDurationRange.upperBound)")
        }
        if let description, description.count > quotas.descriptionLength {
            throw .validation(
                field: "description", value: description,
                constraint: "have length less than or equal to \(quotas.descriptionLength)")
        }
        return try await modify(Role.self, named: roleName) { role, _ throws(IAMError) in
            if let description { role.description = description }
            if let maxSessionDuration { role.maxSessionDuration = maxSessionDuration }
        }
    }

    /// TagRole: keys compare case-insensitively.
    public func tagRole(named name: EntityName, tags: [Tag]) async throws(IAMError) -> Committed<Role> {
        let limit = quotas.tagsPerEntity
        return try await modify(Role.self, named: name) { role, _ throws(IAMError) in
            role.tags = try Tags.merge(tags, into: role.tags, caseInsensitiveKeys: true, limit: limit)
        }
    }

    /// UntagRole.
    public func untagRole(named name: EntityName, keys: [String]) async throws(IAMError) -> Committed<Role> {
        try await modify(Role.self, named: name) { role, _ throws(IAMError) in
            role.tags = Tags.remove(keys, from: role.tags, caseInsensitiveKeys: true)
        }
    }

    /// PutRolePermissionsBoundary / DeleteRolePermissionsBoundary (`nil`).
    public func setRolePermissionsBoundary(named name: EntityName, to boundary: ARN?) async throws(IAMError)
        -> Committed<Role>
    {
        try await modify(Role.self, named: name) { role, tx throws(IAMError) in
            if let boundary { _ = try self.resolvePolicy(boundary, tx) }
            role.permissionsBoundary = boundary
        }
    }

    // MARK: Policies

    /// ListPolicies' `Scope`.
    public enum PolicyScope: String, Sendable, CaseIterable {
        /// Customer and AWS managed.
        case all = "All"
        /// AWS managed only.
        case aws = "AWS"
        /// Customer managed only.
        case local = "Local"
    }

    /// ListPolicies: AWS managed ones (from the catalog) and customer ones, filtered, in name order; each with
    /// its attachment count.
    public func listPolicies(
        scope: PolicyScope = .all, onlyAttached: Bool = false, pathPrefix: PathPrefix = .all,
        page: PageRequest = .first
    ) async throws(IAMError) -> Page<(policy: ManagedPolicy, attachmentCount: Int)> {
        let shipped = self.awsManagedPolicies.values
        return try await store.read { tx throws(IAMError) in
            var all: [ManagedPolicy] = []
            if scope != .local { all += shipped }
            if scope != .aws {
                all += try tx.entities(
                    ManagedPolicy.self, pathPrefix: .all, page: PageRequest(unchecked: nil, maxItems: .max)
                ).items  // every customer policy: at most the account quota
            }
            var rows: [(policy: ManagedPolicy, attachmentCount: Int)] = []
            for policy in all where policy.path.hasPrefix(pathPrefix) {
                let count = try tx.attachments(ofPolicy: policy.arn).count
                if onlyAttached, count == 0 { continue }
                rows.append((policy, count))
            }
            // The ARN keeps AWS and customer policies of one name apart.
            rows.sort {
                ($0.policy.name.folded, $0.policy.arn.description) < ($1.policy.name.folded, $1.policy.arn.description)
            }
            return Page(sorted: rows, key: { "\($0.policy.name.folded) \($0.policy.arn)" }, request: page)
        }
    }

    /// GetPolicyVersion.
    public func policyVersion(policyARN: ARN, versionID: String) async throws(IAMError) -> PolicyVersion {
        try PolicyVersion.validateID(versionID)
        return try await store.read { tx throws(IAMError) in
            guard let version = try self.resolvePolicy(policyARN, tx).version(versionID) else {
                throw .noSuchPolicyVersion(policyARN, versionID: versionID)
            }
            return version
        }
    }

    /// TagPolicy: policy tag keys are case-sensitive (id_tags.html).
    public func tagPolicy(arn: ARN, tags: [Tag]) async throws(IAMError) -> Committed<ManagedPolicy> {
        let limit = quotas.tagsPerEntity
        return try await store.write { tx throws(IAMError) in
            var policy = try self.modifiablePolicy(arn, tx)
            policy.tags = try Tags.merge(tags, into: policy.tags, caseInsensitiveKeys: false, limit: limit)
            try tx.update(policy)
            return policy
        }
    }

    /// UntagPolicy.
    public func untagPolicy(arn: ARN, keys: [String]) async throws(IAMError) -> Committed<ManagedPolicy> {
        try await store.write { tx throws(IAMError) in
            var policy = try self.modifiablePolicy(arn, tx)
            policy.tags = Tags.remove(keys, from: policy.tags, caseInsensitiveKeys: false)
            try tx.update(policy)
            return policy
        }
    }

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

    /// ListAttachedUserPolicies / ...GroupPolicies / ...RolePolicies: (name, ARN) pairs, PathPrefix-filtered.
    public func attachedPolicies(
        of kind: EntityKind, named name: EntityName, pathPrefix: PathPrefix = .all, page: PageRequest = .first
    ) async throws(IAMError) -> Page<(name: EntityName, arn: ARN)> {
        try await store.read { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            var rows: [(name: EntityName, arn: ARN)] = []
            for arn in try tx.attachedPolicies(of: owner) {
                guard let entity = arn.iamEntity, entity.path.hasPrefix(pathPrefix) else { continue }
                rows.append((entity.name, arn))
            }
            rows.sort { $0.arn.description < $1.arn.description }
            return Page(sorted: rows, key: { $0.arn.description }, request: page)
        }
    }

    /// GetUserPolicy / GetGroupPolicy / GetRolePolicy.
    public func inlinePolicy(_ policyName: EntityName, of kind: EntityKind, named name: EntityName)
        async throws(IAMError) -> InlinePolicy
    {
        try await store.read { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            guard let policy = try tx.inlinePolicies(of: owner).first(where: { $0.name == policyName }) else {
                throw .noSuchInlinePolicy(owner: kind, policyName: policyName.rawValue)
            }
            return policy
        }
    }

    /// ListUserPolicies / ListGroupPolicies / ListRolePolicies.
    public func inlinePolicyNames(of kind: EntityKind, named name: EntityName, page: PageRequest = .first)
        async throws(IAMError) -> Page<EntityName>
    {
        try await store.read { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            let names = try tx.inlinePolicies(of: owner).map(\.name).sorted { $0.rawValue < $1.rawValue }
            return Page(sorted: names, key: { $0.rawValue }, request: page)
        }
    }

    // MARK: Access keys and sessions

    /// ListAccessKeys.
    public func accessKeys(ofUser name: EntityName) async throws(IAMError) -> [AccessKey] {
        try await store.read { tx throws(IAMError) in
            try tx.accessKeys(ofUser: try Self.require(User.self, name, tx).id)
        }
    }

    /// GetAccessKeyLastUsed: the key and its user's name (nil when the user is gone).
    public func accessKeyLastUsed(_ id: AccessKeyID) async throws(IAMError) -> (key: AccessKey, userName: EntityName?) {
        try await store.read { tx throws(IAMError) in
            guard let key = try tx.accessKey(id: id) else { throw .noSuchAccessKey(id) }
            return (key, try tx.entity(User.self, id: key.userID)?.name)
        }
    }

    /// Records that a key authenticated a call (GetAccessKeyLastUsed). A write: callers should throttle it
    /// (e.g. once per key per connection or per minute), not run it per check.
    public func recordAccessKeyUse(_ id: AccessKeyID, service: String, now: Date = Date()) async throws(IAMError)
        -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            guard var key = try tx.accessKey(id: id) else { throw .noSuchAccessKey(id) }
            key.lastUsedDate = now
            key.lastUsedService = service
            try tx.updateAccessKey(key)
        }
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

    /// GetAccountSummary's entity counts and quotas, with AWS's key names.
    public func accountSummary() async throws(IAMError) -> [String: Int] {
        let quotas = self.quotas
        return try await store.read { tx throws(IAMError) in
            [
                "Users": try tx.count(User.self), "UsersQuota": quotas.usersPerAccount,
                "Groups": try tx.count(Group.self), "GroupsQuota": quotas.groupsPerAccount,
                "Roles": try tx.count(Role.self), "RolesQuota": quotas.rolesPerAccount,
                "Policies": try tx.count(ManagedPolicy.self), "PoliciesQuota": quotas.customerManagedPoliciesPerAccount,
                "GroupsPerUserQuota": quotas.groupsPerUser,
                "AttachedPoliciesPerUserQuota": quotas.managedPoliciesPerUser,
                "AttachedPoliciesPerGroupQuota": quotas.managedPoliciesPerGroup,
                "AttachedPoliciesPerRoleQuota": quotas.managedPoliciesPerRole,
                "AccessKeysPerUserQuota": quotas.accessKeysPerUser,
                "PolicyVersionsInUseQuota": quotas.versionsPerPolicy,
                "PolicySizeQuota": quotas.managedPolicySize, "UserPolicySizeQuota": quotas.inlinePolicySizePerUser,
                "GroupPolicySizeQuota": quotas.inlinePolicySizePerGroup,
                "RolePolicySizeQuota": quotas.inlinePolicySizePerRole,
                "AssumeRolePolicySizeQuota": quotas.trustPolicySize,
            ]
        }
    }
}

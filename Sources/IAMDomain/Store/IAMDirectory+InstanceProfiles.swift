public import Foundation

/// An instance profile with the roles it holds (none or one), as GetInstanceProfile and the listings show it.
public struct InstanceProfileDetail: Sendable, Hashable {
    /// The instance profile.
    public var profile: InstanceProfile
    /// Its roles, whole (AWS's answers carry every member of each role).
    public var roles: [Role]

    /// Creates a detail.
    public init(profile: InstanceProfile, roles: [Role]) {
        self.profile = profile
        self.roles = roles
    }
}

// Instance profiles: AWS's rules (API_CreateInstanceProfile.html, API_AddRoleToInstanceProfile.html, ...), each
// operation one transaction over the store's primitives so every store behaves alike.
extension IAMDirectory {
    /// CreateInstanceProfile: the name is unique case-insensitively; at most ``Quotas/instanceProfilesPerAccount``.
    public func createInstanceProfile(name: EntityName, path: IAMPath = .root, tags: [Tag] = [], now: Date = Date())
        async throws(IAMError) -> Committed<InstanceProfile>
    {
        let tags = try Tags.merge(tags, into: [], caseInsensitiveKeys: false, limit: quotas.tagsPerEntity)
        let profile = InstanceProfile(
            id: .generate(.instanceProfile), name: name, path: path,
            arn: .instanceProfile(account: account, path: path, name: name), createDate: now, tags: tags)
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            guard try tx.entity(InstanceProfile.self, named: name) == nil else {
                throw .entityAlreadyExists(.instanceProfile, name: name.rawValue)
            }
            guard try tx.count(InstanceProfile.self) < quotas.instanceProfilesPerAccount else {
                throw .quotaExceeded("InstanceProfilesPerAccount", quotas.instanceProfilesPerAccount)
            }
            try tx.insert(profile)
            return profile
        }
    }

    /// GetInstanceProfile: the profile with its role.
    public func instanceProfile(named name: EntityName) async throws(IAMError) -> InstanceProfileDetail {
        try await store.read { tx throws(IAMError) in
            try Self.detail(try Self.require(InstanceProfile.self, name, tx), tx)
        }
    }

    /// ListInstanceProfiles, each with its role.
    public func listInstanceProfiles(pathPrefix: PathPrefix = .all, page: PageRequest = .first)
        async throws(IAMError) -> Page<InstanceProfileDetail>
    {
        try await store.read { tx throws(IAMError) in
            let profiles = try tx.entities(InstanceProfile.self, pathPrefix: pathPrefix, page: page)
            var details: [InstanceProfileDetail] = []
            for profile in profiles.items { details.append(try Self.detail(profile, tx)) }
            return Page(items: details, isTruncated: profiles.isTruncated, marker: profiles.marker)
        }
    }

    /// ListInstanceProfilesForRole: the profiles holding the role, by name.
    public func instanceProfiles(forRole roleName: EntityName, page: PageRequest = .first) async throws(IAMError)
        -> Page<InstanceProfileDetail>
    {
        try await store.read { tx throws(IAMError) in
            let role = try Self.require(Role.self, roleName, tx)
            var details: [InstanceProfileDetail] = []
            for id in try tx.instanceProfiles(ofRole: role.id) {
                if let profile = try tx.entity(InstanceProfile.self, id: id) {
                    details.append(try Self.detail(profile, tx))
                }
            }
            return Page(
                sorted: details.sorted { $0.profile.name.folded < $1.profile.name.folded },
                key: { $0.profile.name.folded }, request: page)
        }
    }

    /// DeleteInstanceProfile: refused with `DeleteConflict` while it holds a role.
    public func deleteInstanceProfile(named name: EntityName) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let profile = try Self.require(InstanceProfile.self, name, tx)
            guard try tx.roles(ofInstanceProfile: profile.id).isEmpty else {
                throw .deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
            }
            try tx.delete(InstanceProfile.self, id: profile.id)
        }
    }

    /// AddRoleToInstanceProfile: a profile holds at most one role, so adding to a profile that has one (also the
    /// same role again) is `LimitExceeded: Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1`.
    public func addRole(_ roleName: EntityName, toInstanceProfile name: EntityName) async throws(IAMError)
        -> Committed<Void>
    {
        let limit = self.quotas.rolesPerInstanceProfile
        return try await store.write { tx throws(IAMError) in
            let profile = try Self.require(InstanceProfile.self, name, tx)
            let role = try Self.require(Role.self, roleName, tx)
            guard try tx.roles(ofInstanceProfile: profile.id).count < limit else {
                throw .quotaExceeded("InstanceSessionsPerInstanceProfile", limit)
            }
            try tx.addRole(InstanceProfileRole(instanceProfileID: profile.id, roleID: role.id))
        }
    }

    /// RemoveRoleFromInstanceProfile: `NoSuchEntity` for an unknown profile or role, and for a role the profile
    /// does not hold.
    public func removeRole(_ roleName: EntityName, fromInstanceProfile name: EntityName) async throws(IAMError)
        -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            let profile = try Self.require(InstanceProfile.self, name, tx)
            let role = try Self.require(Role.self, roleName, tx)
            guard try tx.removeRole(InstanceProfileRole(instanceProfileID: profile.id, roleID: role.id)) else {
                throw .noSuchEntity(.role, name: roleName.rawValue)
            }
        }
    }

    /// The profile with its roles read in the same transaction.
    static func detail(_ profile: InstanceProfile, _ tx: any StoreReader) throws(IAMError) -> InstanceProfileDetail {
        var roles: [Role] = []
        for id in try tx.roles(ofInstanceProfile: profile.id) {
            if let role = try tx.entity(Role.self, id: id) { roles.append(role) }
        }
        return InstanceProfileDetail(profile: profile, roles: roles)
    }
}

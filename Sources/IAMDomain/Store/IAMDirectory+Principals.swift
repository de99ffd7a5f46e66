/// Entities tagged by name: users, roles and instance profiles. Each tag write is one generic function over
/// them rather than a copy per kind; the kinds differ only in how tag keys compare.
public protocol TaggedEntity: NamedEntity {
    /// The entity's tags.
    var tags: [Tag] { get set }
    /// Whether tag keys compare case-insensitively (AWS: for users and roles, the new spelling kept).
    static var tagKeysIgnoreCase: Bool { get }
}

/// Users and roles: tagged, and given a permissions boundary alike.
public protocol PrincipalEntity: TaggedEntity {
    /// The managed policy used as the permissions boundary, if any.
    var permissionsBoundary: ARN? { get set }
}

extension User: PrincipalEntity {
    /// AWS folds user tag keys.
    public static var tagKeysIgnoreCase: Bool { true }
}

extension Role: PrincipalEntity {
    /// AWS folds role tag keys.
    public static var tagKeysIgnoreCase: Bool { true }
}

extension InstanceProfile: TaggedEntity {
    /// Instance profile tag keys are case-sensitive, as for every resource but users and roles.
    public static var tagKeysIgnoreCase: Bool { false }
}

extension IAMDirectory {
    /// TagUser / TagRole / TagInstanceProfile: a tag with an existing key (compared as the kind compares keys)
    /// replaces its value in place; the per-entity quota holds.
    public func tag<E: TaggedEntity>(_ type: E.Type, named name: EntityName, tags: [Tag]) async throws(IAMError)
        -> Committed<Void>
    {
        let limit = quotas.tagsPerEntity
        return try await store.write { tx throws(IAMError) in
            var entity = try Self.require(E.self, name, tx)
            let merged = try Tags.merge(tags, into: entity.tags, caseInsensitiveKeys: E.tagKeysIgnoreCase, limit: limit)
            guard merged != entity.tags else { return }
            entity.tags = merged
            try tx.update(entity)
        }
    }

    /// UntagUser / UntagRole / UntagInstanceProfile (unknown keys are ignored).
    public func untag<E: TaggedEntity>(_ type: E.Type, named name: EntityName, keys: [String])
        async throws(IAMError) -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            var entity = try Self.require(E.self, name, tx)
            let kept = Tags.remove(keys, from: entity.tags, caseInsensitiveKeys: E.tagKeysIgnoreCase)
            guard kept != entity.tags else { return }
            entity.tags = kept
            try tx.update(entity)
        }
    }

    /// Put/Delete{User,Role}PermissionsBoundary (`nil` deletes): one boundary, a new one replaces it; it must
    /// be an attachable customer or AWS managed policy.
    public func setPermissionsBoundary<E: PrincipalEntity>(_ type: E.Type, named name: EntityName, to boundary: ARN?)
        async throws(IAMError) -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            var entity = try Self.require(E.self, name, tx)
            if let boundary { try Self.requireBoundary(boundary, tx) }
            guard entity.permissionsBoundary != boundary else { return }
            entity.permissionsBoundary = boundary
            try tx.update(entity)
        }
    }
}

/// Users and roles: the entities IAM tags (keys compared case-insensitively, the new spelling kept) and gives
/// a permissions boundary alike, so each of those writes is one generic function rather than a copy per kind.
public protocol PrincipalEntity: NamedEntity {
    /// The entity's tags.
    var tags: [Tag] { get set }
    /// The managed policy used as the permissions boundary, if any.
    var permissionsBoundary: ARN? { get set }
}

extension User: PrincipalEntity {}
extension Role: PrincipalEntity {}

extension IAMDirectory {
    /// TagUser / TagRole: a tag with an existing key (in any case) replaces it; the per-entity quota holds.
    public func tag<E: PrincipalEntity>(_ type: E.Type, named name: EntityName, tags: [Tag]) async throws(IAMError)
        -> Committed<Void>
    {
        let limit = quotas.tagsPerEntity
        return try await store.write { tx throws(IAMError) in
            var entity = try Self.require(E.self, name, tx)
            let merged = try Tags.merge(tags, into: entity.tags, caseInsensitiveKeys: true, limit: limit)
            guard merged != entity.tags else { return }
            entity.tags = merged
            try tx.update(entity)
        }
    }

    /// UntagUser / UntagRole (unknown keys are ignored).
    public func untag<E: PrincipalEntity>(_ type: E.Type, named name: EntityName, keys: [String])
        async throws(IAMError) -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            var entity = try Self.require(E.self, name, tx)
            let kept = Tags.remove(keys, from: entity.tags, caseInsensitiveKeys: true)
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

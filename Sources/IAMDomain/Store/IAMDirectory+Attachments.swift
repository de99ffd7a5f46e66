import Foundation

extension IAMDirectory {
    /// Attach{User,Group,Role}Policy for customer and AWS managed policies alike (``attachPolicy(_:to:named:)``
    /// finds customer managed ones only): the policy must exist and be attachable; at most 10 per entity;
    /// re-attaching is a silent success.
    public func attachManagedPolicy(_ policyARN: ARN, to kind: EntityKind, named name: EntityName)
        async throws(IAMError) -> Committed<Void>
    {
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            let policy = try Self.resolvePolicy(policyARN, tx)
            guard policy.isAttachable else {
                throw .policyNotAttachable("Policy \(policyARN) is not attachable.")
            }
            let attached = try tx.attachedPolicies(of: owner)
            guard !attached.contains(policyARN) else { return }
            let (limit, quotaName) = quotas.managedPolicies(for: kind)
            guard attached.count < limit else { throw .quotaExceeded(quotaName, limit) }
            try tx.attach(Attachment(owner: owner, policyARN: policyARN))
        }
    }

    /// ListAttached{User,Group,Role}Policies: (ARN, name) in attachment order, filtered by the policy's path.
    public func attachedPolicies(
        of kind: EntityKind, named name: EntityName, pathPrefix: PathPrefix = .all,
        page: PageRequest = .first
    ) async throws(IAMError) -> Page<(arn: ARN, name: EntityName)> {
        try await store.read { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            var rows: [(arn: ARN, name: EntityName)] = []
            for arn in try tx.attachedPolicies(of: owner) {
                guard let entity = arn.iamEntity, entity.path.hasPrefix(pathPrefix) else { continue }
                rows.append((arn, entity.name))
            }
            return Page(indexed: rows, request: page)
        }
    }

    // MARK: Inline policies

    /// Get{User,Group,Role}Policy: the owner's name as stored and the document.
    public func inlinePolicy(_ policyName: EntityName, on kind: EntityKind, named name: EntityName)
        async throws(IAMError) -> (ownerName: EntityName, policy: InlinePolicy)
    {
        try await store.read { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            guard let policy = try tx.inlinePolicies(of: owner).first(where: { $0.name.folded == policyName.folded })
            else { throw .noSuchInlinePolicy(owner: kind, policyName: policyName.rawValue) }
            return (try Self.ownerName(owner, tx) ?? name, policy)
        }
    }

    /// List{User,Group,Role}Policies: the names in name order.
    public func inlinePolicyNames(on kind: EntityKind, named name: EntityName, page: PageRequest = .first)
        async throws(IAMError) -> Page<EntityName>
    {
        try await store.read { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            let names = try tx.inlinePolicies(of: owner).map(\.name).sorted()
            return Page(sorted: names, key: { $0.folded }, request: page)
        }
    }

    /// The stored name of an owner (the request may spell it in another case).
    static func ownerName(_ owner: OwnerRef, _ tx: any StoreReader) throws(IAMError) -> EntityName? {
        switch owner.kind {
        case .user: try tx.entity(User.self, id: owner.id)?.name
        case .group: try tx.entity(Group.self, id: owner.id)?.name
        case .role: try tx.entity(Role.self, id: owner.id)?.name
        default: nil
        }
    }
}

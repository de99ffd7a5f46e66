import Foundation

/// A managed policy with how it is used, as GetPolicy and ListPolicies report it.
public struct PolicyUsage: Sendable, Hashable {
    /// The policy (customer or AWS managed).
    public var policy: ManagedPolicy
    /// Users, groups and roles it is attached to (`AttachmentCount`).
    public var attachmentCount: Int
    /// Users and roles using it as their permissions boundary (`PermissionsBoundaryUsageCount`).
    public var boundaryUsageCount: Int

    /// Creates a usage record.
    public init(policy: ManagedPolicy, attachmentCount: Int, boundaryUsageCount: Int) {
        self.policy = policy
        self.attachmentCount = attachmentCount
        self.boundaryUsageCount = boundaryUsageCount
    }
}

/// Which managed policies ListPolicies returns (`Scope`).
public enum PolicyScope: Sendable, Hashable {
    /// AWS and customer managed.
    case all
    /// AWS managed only.
    case aws
    /// Customer managed only.
    case local
}

/// How a managed policy is used (`PolicyUsageFilter`).
public enum PolicyUsageFilter: Sendable, Hashable {
    /// Attached as a permissions policy.
    case permissionsPolicy
    /// Used as a permissions boundary.
    case permissionsBoundary
}

/// A user, group or role a policy is attached to or bounds (ListEntitiesForPolicy).
public struct PolicyEntity: Sendable, Hashable {
    /// `.user`, `.group` or `.role`.
    public var kind: EntityKind
    /// The entity's unique id.
    public var id: UniqueID
    /// The entity's name.
    public var name: EntityName
}

extension IAMDirectory {
    /// The customer managed policy in the store or the shipped AWS managed policy with `arn`, or `NoSuchEntity`.
    public static func resolvePolicy(_ arn: ARN, _ tx: any StoreReader) throws(IAMError) -> ManagedPolicy {
        if arn.account == "aws" {
            guard let policy = AWSManagedPolicies.policy(arn: arn) else { throw .noSuchPolicy(arn) }
            return policy
        }
        return try requirePolicy(arn, tx)
    }

    /// A policy ARN from a request: an IAM `policy/` ARN of this account or of `aws`; `InvalidInput` otherwise.
    public func policyARN(_ text: String, field: String = "policyArn") throws(IAMError) -> ARN {
        let (arn, _) = try ARN.parseIAM(text, type: .policy, field: field)
        return arn
    }

    /// GetPolicy: the policy with its attachment and boundary counts.
    public func policyUsage(arn: ARN) async throws(IAMError) -> PolicyUsage {
        try await store.read { tx throws(IAMError) in
            let policy = try Self.resolvePolicy(arn, tx)
            return PolicyUsage(
                policy: policy, attachmentCount: try tx.attachments(ofPolicy: arn).count,
                boundaryUsageCount: try tx.boundaryUses(ofPolicy: arn).count)
        }
    }

    /// ListPolicies: AWS and/or customer managed policies under `pathPrefix`, optionally only those in use, in
    /// case-folded name order (AWS managed first on a tie), paged.
    public func listPolicies(
        scope: PolicyScope = .all, onlyAttached: Bool = false, pathPrefix: PathPrefix = .all,
        usage: PolicyUsageFilter? = nil, page: PageRequest = .first
    ) async throws(IAMError) -> Page<PolicyUsage> {
        try await store.read { tx throws(IAMError) in
            var candidates: [ManagedPolicy] = []
            if scope != .local {
                candidates += AWSManagedPolicies.all.filter { $0.path.hasPrefix(pathPrefix) }
            }
            if scope != .aws {
                candidates += try Self.all(ManagedPolicy.self, pathPrefix: pathPrefix, tx)
            }
            var rows: [(key: String, usage: PolicyUsage)] = []
            for policy in candidates {
                let attachments = try tx.attachments(ofPolicy: policy.arn).count
                let boundaries = try tx.boundaryUses(ofPolicy: policy.arn).count
                let inUse: Bool =
                    switch usage {
                    case .none: attachments + boundaries > 0
                    case .permissionsPolicy: attachments > 0
                    case .permissionsBoundary: boundaries > 0
                    }
                // Without OnlyAttached, the usage filter still narrows the list as AWS's does.
                if onlyAttached || usage != nil, !inUse { continue }
                let key = policy.name.folded + "\u{1}" + (policy.isAWSManaged ? "0" : "1")
                rows.append(
                    (key, PolicyUsage(policy: policy, attachmentCount: attachments, boundaryUsageCount: boundaries)))
            }
            rows.sort { $0.key < $1.key }
            return Page(sorted: rows, key: { $0.key }, request: page).map { $0.usage }
        }
    }

    /// ListEntitiesForPolicy: the groups, users and roles `arn` is attached to (and/or bounds), filtered by kind
    /// and path, in that kind order and by name within a kind, paged.
    public func entitiesForPolicy(
        arn: ARN, kind: EntityKind? = nil, pathPrefix: PathPrefix = .all, usage: PolicyUsageFilter? = nil,
        page: PageRequest = .first
    ) async throws(IAMError) -> Page<PolicyEntity> {
        try await store.read { tx throws(IAMError) in
            _ = try Self.resolvePolicy(arn, tx)
            var owners: Set<OwnerRef> = []
            if usage != .permissionsBoundary { owners.formUnion(try tx.attachments(ofPolicy: arn)) }
            if usage != .permissionsPolicy { owners.formUnion(try tx.boundaryUses(ofPolicy: arn)) }
            var rows: [(key: String, entity: PolicyEntity)] = []
            for owner in owners where kind == nil || kind == owner.kind {
                let found: (name: EntityName, path: IAMPath)?
                switch owner.kind {
                case .user: found = try tx.entity(User.self, id: owner.id).map { ($0.name, $0.path) }
                case .group: found = try tx.entity(Group.self, id: owner.id).map { ($0.name, $0.path) }
                case .role: found = try tx.entity(Role.self, id: owner.id).map { ($0.name, $0.path) }
                default: found = nil
                }
                guard let found, found.path.hasPrefix(pathPrefix) else { continue }
                let order = owner.kind == .group ? "0" : owner.kind == .user ? "1" : "2"
                rows.append(
                    (order + found.name.folded, PolicyEntity(kind: owner.kind, id: owner.id, name: found.name)))
            }
            rows.sort { $0.key < $1.key }
            return Page(sorted: rows, key: { $0.key }, request: page).map { $0.entity }
        }
    }

    /// GetPolicyVersion.
    public func policyVersion(arn: ARN, versionID: String) async throws(IAMError) -> PolicyVersion {
        try PolicyVersion.validateID(versionID)
        return try await store.read { tx throws(IAMError) in
            guard let version = try Self.resolvePolicy(arn, tx).version(versionID) else {
                throw .noSuchPolicyVersion(arn, versionID: versionID)
            }
            return version
        }
    }

    /// ListPolicyVersions: newest first, as AWS lists them.
    public func listPolicyVersions(arn: ARN, page: PageRequest = .first) async throws(IAMError) -> Page<PolicyVersion> {
        try await store.read { tx throws(IAMError) in
            let versions = try Self.resolvePolicy(arn, tx).versions.reversed()
            return Page(indexed: Array(versions), request: page)
        }
    }

    /// TagPolicy (keys compared exactly on policies).
    public func tagPolicy(arn: ARN, tags: [Tag]) async throws(IAMError) -> Committed<Void> {
        let limit = quotas.tagsPerEntity
        return try await store.write { tx throws(IAMError) in
            var policy = try Self.requirePolicy(arn, tx)
            let merged = try Tags.merge(tags, into: policy.tags, caseInsensitiveKeys: false, limit: limit)
            guard merged != policy.tags else { return }
            policy.tags = merged
            try tx.update(policy)
        }
    }

    /// UntagPolicy.
    public func untagPolicy(arn: ARN, keys: [String]) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            var policy = try Self.requirePolicy(arn, tx)
            let kept = Tags.remove(keys, from: policy.tags, caseInsensitiveKeys: false)
            guard kept != policy.tags else { return }
            policy.tags = kept
            try tx.update(policy)
        }
    }

    /// Every entity of `type` under `pathPrefix`, for listings that filter or merge before paging.
    static func all<E: NamedEntity>(_ type: E.Type, pathPrefix: PathPrefix = .all, _ tx: any StoreReader)
        throws(IAMError) -> [E]
    {
        // Quotas bound every kind to a few thousand, so one unpaged read is small.
        try tx.entities(type, pathPrefix: pathPrefix, page: PageRequest(unchecked: nil, maxItems: 1_000_000_000)).items
    }
}

extension IAMError {
    /// `AccessDenied` for a write to an AWS managed policy: the policy belongs to account `aws`, and no policy in
    /// this account can grant a change to another account's resource (AWS's cross-account wording).
    public static func awsManagedPolicyIsReadOnly(principal: String, action: String, policy: ARN) -> IAMError {
        IAMError(
            code: .accessDenied,
            message: "User: \(principal) is not authorized to perform: \(action) on resource: policy \(policy) "
                + "because no resource-based policy allows the \(action) action")
    }
}

extension Page {
    /// Pages `items` in their given order (tags, versions, attachment order), the marker being the position.
    public init(indexed items: [Item], request: PageRequest) {
        let keyed = items.enumerated().map { (key: Self.positionKey($0.offset), item: $0.element) }
        self = Page<(key: String, item: Item)>(sorted: keyed, key: { $0.key }, request: request).map { $0.item }
    }

    private static func positionKey(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }
}

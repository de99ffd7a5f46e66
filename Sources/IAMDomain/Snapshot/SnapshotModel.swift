import Foundation
import IAMPolicy

/// The store's state as the snapshot keeps it, indexed for "who depends on this?" so a change finds the
/// principals to recompile without scanning.
struct SnapshotModel: Sendable {
    var users: ShardedMap<UniqueID, User> = ShardedMap()
    var groups: ShardedMap<UniqueID, Group> = ShardedMap()
    var roles: ShardedMap<UniqueID, Role> = ShardedMap()
    /// Customer managed policies from the store and AWS managed ones from the catalog, by ARN.
    var policies: ShardedMap<ARN, ManagedPolicy> = ShardedMap()
    /// The parsed default version of each policy in ``policies``.
    var parsedPolicies: ShardedMap<ARN, PolicyDocument> = ShardedMap()
    /// Each policy of ``parsedPolicies`` as a principal it is attached to gets it, made once per policy and
    /// shared by every principal (its id text included).
    var managedSlots: ShardedMap<ARN, LazyCompiledPrincipal.Slot> = ShardedMap()
    var inline: ShardedMap<UniqueID, [(name: EntityName, document: PolicyDocument)]> = ShardedMap()
    var attached: ShardedMap<UniqueID, [ARN]> = ShardedMap()
    var attachedOwners: ShardedMap<ARN, Set<OwnerRef>> = ShardedMap()
    var boundaryOwners: ShardedMap<ARN, Set<OwnerRef>> = ShardedMap()
    var groupsOfUser: ShardedMap<UniqueID, [UniqueID]> = ShardedMap()
    var membersOfGroup: ShardedMap<UniqueID, Set<UniqueID>> = ShardedMap()
    var keys: ShardedMap<AccessKeyID, AccessKey> = ShardedMap()
    var keysOfUser: ShardedMap<UniqueID, Set<AccessKeyID>> = ShardedMap()
    var sessions: ShardedMap<AccessKeyID, SessionCredentials> = ShardedMap()
    var sessionsOfRole: ShardedMap<UniqueID, Set<AccessKeyID>> = ShardedMap()
    /// AWS managed policies shipped with the server; they never come from the store.
    var catalog: ShardedMap<ARN, ManagedPolicy> = ShardedMap()
    /// Case-folded name → id, so a request naming an entity finds its ARN without a scan.
    var userNames: ShardedMap<String, UniqueID> = ShardedMap()
    var groupNames: ShardedMap<String, UniqueID> = ShardedMap()
    var roleNames: ShardedMap<String, UniqueID> = ShardedMap()
    /// Instance profiles by unique id and ids by folded name: so requests naming a profile are authorized on its
    /// real path, with its tags as `aws:ResourceTag/*`; profiles grant nothing themselves.
    var instanceProfiles: ShardedMap<UniqueID, InstanceProfile> = ShardedMap()
    var instanceProfileNames: ShardedMap<String, UniqueID> = ShardedMap()

    mutating func setUser(_ id: UniqueID, _ user: User?) {
        if let old = self.users[id] { self.userNames[old.name.folded] = nil }
        self.users[id] = user
        if let user { self.userNames[user.name.folded] = id }
    }

    mutating func setGroup(_ id: UniqueID, _ group: Group?) {
        if let old = self.groups[id] { self.groupNames[old.name.folded] = nil }
        self.groups[id] = group
        if let group { self.groupNames[group.name.folded] = id }
    }

    mutating func setInstanceProfile(_ id: UniqueID, _ profile: InstanceProfile?) {
        if let old = self.instanceProfiles[id] { self.instanceProfileNames[old.name.folded] = nil }
        self.instanceProfiles[id] = profile
        if let profile { self.instanceProfileNames[profile.name.folded] = id }
    }

    mutating func setRole(_ id: UniqueID, _ role: Role?) {
        if let old = self.roles[id] { self.roleNames[old.name.folded] = nil }
        self.roles[id] = role
        if let role { self.roleNames[role.name.folded] = id }
    }

    /// Parses a stored document; stored documents were validated on write, so a failure means a document
    /// from an older, looser validator. It then contributes nothing rather than failing the whole snapshot.
    static func parse(_ text: String, kind: PolicyDocumentKind) -> PolicyDocument? {
        try? PolicyDocument.parse(text, kind: kind)
    }

    static func inlineKind(_ owner: EntityKind) -> PolicyDocumentKind {
        switch owner {
        case .group: .inlineGroup
        case .role: .inlineRole
        default: .inlineUser
        }
    }

    /// Records customer managed policy `policy` whose default version parses as `parsed`.
    mutating func setPolicy(_ arn: ARN, _ policy: ManagedPolicy, parsed: PolicyDocument?) {
        guard arn.account != "aws" else { return self.setPolicy(arn, policy) }
        self.policies[arn] = policy
        self.parsedPolicies[arn] = parsed
        self.managedSlots[arn] = Self.slot(arn, policy, parsed)
    }

    private static func slot(_ arn: ARN, _ policy: ManagedPolicy?, _ document: PolicyDocument?)
        -> LazyCompiledPrincipal.Slot?
    {
        guard let policy, let document else { return nil }
        return LazyCompiledPrincipal.Slot(
            input: PolicyInput(id: arn.description, role: .identity, document: document),
            source: PolicySource(
                kind: policy.isAWSManaged ? .awsManaged : .customerManaged, name: policy.name.rawValue, arn: arn))
    }

    mutating func setPolicy(_ arn: ARN, _ policy: ManagedPolicy?) {
        let policy = policy ?? self.catalog[arn]
        self.policies[arn] = policy
        self.parsedPolicies[arn] = policy.flatMap { policy in
            // AWS's own policies are over the customer size quota (ReadOnlyAccess is ~90,000 characters).
            arn.account == "aws"
                ? try? PolicyDocument.parseAWSManaged(policy.defaultVersion.document)
                : Self.parse(policy.defaultVersion.document, kind: .identity)
        }
        self.managedSlots[arn] = Self.slot(arn, policy, self.parsedPolicies[arn])
    }

    mutating func setBoundary(_ owner: OwnerRef, old: ARN?, new: ARN?) {
        guard old != new else { return }
        if let old { self.boundaryOwners[old]?.remove(owner) }
        if let new { self.boundaryOwners[new, default: []].insert(owner) }
    }

    mutating func setInline(_ owner: UniqueID, kind: EntityKind, _ policies: [InlinePolicy]) {
        let parsed = policies.compactMap { policy in
            Self.parse(policy.document, kind: Self.inlineKind(kind)).map { (policy.name, $0) }
        }
        self.inline[owner] = parsed.isEmpty ? nil : parsed
    }

    mutating func setAttached(_ owner: OwnerRef, _ arns: [ARN]) {
        for old in self.attached[owner.id] ?? [] { self.attachedOwners[old]?.remove(owner) }
        for arn in arns {
            self.attachedOwners[arn, default: []].insert(owner)
            if self.policies[arn] == nil, let shipped = self.catalog[arn] { self.setPolicy(arn, shipped) }
        }
        self.attached[owner.id] = arns.isEmpty ? nil : arns
    }

    mutating func setGroups(ofUser user: UniqueID, _ groups: [UniqueID]) {
        for old in self.groupsOfUser[user] ?? [] { self.membersOfGroup[old]?.remove(user) }
        for group in groups { self.membersOfGroup[group, default: []].insert(user) }
        self.groupsOfUser[user] = groups.isEmpty ? nil : groups
    }

    mutating func setKey(_ id: AccessKeyID, _ key: AccessKey?) {
        if let old = self.keys[id] { self.keysOfUser[old.userID]?.remove(id) }
        self.keys[id] = key
        if let key { self.keysOfUser[key.userID, default: []].insert(id) }
    }

    mutating func setSession(_ id: AccessKeyID, _ session: SessionCredentials?) {
        if let old = self.sessions[id] { self.sessionsOfRole[old.roleID]?.remove(id) }
        self.sessions[id] = session
        if let session { self.sessionsOfRole[session.roleID, default: []].insert(id) }
    }

    /// The users and roles whose permissions depend on `arn`, and the sessions of those roles.
    func dependents(ofPolicy arn: ARN) -> Set<OwnerRef> {
        var out = Set<OwnerRef>()
        for owner in (self.attachedOwners[arn] ?? []).union(self.boundaryOwners[arn] ?? []) {
            if owner.kind == .group {
                for member in self.membersOfGroup[owner.id] ?? [] { out.insert(OwnerRef(.user, member)) }
            } else {
                out.insert(owner)
            }
        }
        return out
    }
}

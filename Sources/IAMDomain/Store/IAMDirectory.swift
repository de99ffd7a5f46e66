public import Foundation
public import IAMPolicy

/// IAM's rules over any ``Store``: the operations the service handlers call, each one transaction with
/// AWS's checks (names, quotas, delete conflicts, version rules), written once so every store behaves alike.
///
/// Inputs arrive validated as identifier types; policy documents are validated here with IAMPolicy's parser
/// (so a `MalformedPolicyDocument` names the element). Every mutation returns ``Committed`` with the revision.
public struct IAMDirectory: Sendable {
    /// The store.
    public let store: any Store
    /// The account every entity belongs to.
    public let account: AccountID
    /// The quotas enforced.
    public let quotas: Quotas
    /// The AWS managed policies shipped with the server (`arn:aws:iam::aws:policy/...`), by ARN: attachable
    /// and usable as boundaries, never stored, never modifiable.
    public let awsManagedPolicies: [ARN: ManagedPolicy]

    /// Creates a directory over `store` for `account`.
    public init(
        store: any Store, account: AccountID, quotas: Quotas = Quotas(), awsManagedPolicies: [ManagedPolicy] = []
    ) {
        self.store = store
        self.account = account
        self.quotas = quotas
        self.awsManagedPolicies = Dictionary(awsManagedPolicies.map { ($0.arn, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The customer managed policy in the store or the AWS managed one shipped with the server.
    func resolvePolicy(_ arn: ARN, _ tx: any StoreReader) throws(IAMError) -> ManagedPolicy {
        if let shipped = self.awsManagedPolicies[arn] { return shipped }
        return try Self.requirePolicy(arn, tx)
    }

    /// A customer managed policy that may be changed: AWS managed ones are refused with
    /// `UnmodifiableEntity`, unknown ARNs with `NoSuchEntity`.
    func modifiablePolicy(_ arn: ARN, _ tx: any StoreReader) throws(IAMError) -> ManagedPolicy {
        if self.awsManagedPolicies[arn] != nil || arn.isAWSManagedPolicy {
            throw .unmodifiable("Cannot modify AWS managed policy \(arn).")
        }
        return try Self.requirePolicy(arn, tx)
    }

    // MARK: Users

    /// GetUser.
    public func user(named name: EntityName) async throws(IAMError) -> User {
        try await store.read { tx throws(IAMError) in try Self.require(User.self, name, tx) }
    }

    /// ListUsers.
    public func listUsers(pathPrefix: PathPrefix = .all, page: PageRequest = .first) async throws(IAMError)
        -> Page<User>
    {
        try await store.read { tx throws(IAMError) in try tx.entities(User.self, pathPrefix: pathPrefix, page: page) }
    }

    /// DeleteUser: refused with `DeleteConflict` while the user has access keys, inline or attached
    /// policies, or group memberships (API_DeleteUser.html).
    public func deleteUser(named name: EntityName) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let user = try Self.require(User.self, name, tx)
            let owner = OwnerRef(.user, user.id)
            if try !tx.accessKeys(ofUser: user.id).isEmpty {
                throw .deleteConflict("Cannot delete entity, must delete access keys first.")
            }
            if try !tx.inlinePolicies(of: owner).isEmpty {
                throw .deleteConflict("Cannot delete entity, must delete policies first.")
            }
            if try !tx.attachedPolicies(of: owner).isEmpty {
                throw .deleteConflict("Cannot delete entity, must detach all policies first.")
            }
            if try !tx.groups(ofUser: user.id).isEmpty {
                throw .deleteConflict("Cannot delete entity, must remove user from all groups first.")
            }
            try tx.delete(User.self, id: user.id)
            try Self.orphanTrustPrincipal(user.arn, id: user.id, tx)
        }
    }

    // MARK: Groups

    /// CreateGroup.
    public func createGroup(name: EntityName, path: IAMPath = .root, now: Date = Date()) async throws(IAMError)
        -> Committed<Group>
    {
        let group = Group(
            id: .generate(.group), name: name, path: path, arn: .group(account: account, path: path, name: name),
            createDate: now)
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            guard try tx.entity(Group.self, named: name) == nil else {
                throw .entityAlreadyExists(.group, name: name.rawValue)
            }
            guard try tx.count(Group.self) < quotas.groupsPerAccount else {
                throw .quotaExceeded("GroupsPerAccount", quotas.groupsPerAccount)
            }
            try tx.insert(group)
            return group
        }
    }

    /// AddUserToGroup: at most 10 groups per user.
    public func addUser(_ userName: EntityName, toGroup groupName: EntityName) async throws(IAMError)
        -> Committed<Void>
    {
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            let group = try Self.require(Group.self, groupName, tx)
            let user = try Self.require(User.self, userName, tx)
            let current = try tx.groups(ofUser: user.id)
            guard !current.contains(group.id) else { return }
            guard current.count < quotas.groupsPerUser else {
                throw .quotaExceeded("GroupsPerUser", quotas.groupsPerUser)
            }
            try tx.addMembership(Membership(userID: user.id, groupID: group.id))
        }
    }

    /// RemoveUserFromGroup.
    public func removeUser(_ userName: EntityName, fromGroup groupName: EntityName) async throws(IAMError)
        -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            let group = try Self.require(Group.self, groupName, tx)
            let user = try Self.require(User.self, userName, tx)
            guard try tx.removeMembership(Membership(userID: user.id, groupID: group.id)) else {
                throw .noSuchEntity(.user, name: userName.rawValue)
            }
        }
    }

    /// DeleteGroup: refused while it has members or policies.
    public func deleteGroup(named name: EntityName) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let group = try Self.require(Group.self, name, tx)
            let owner = OwnerRef(.group, group.id)
            if try !tx.members(ofGroup: group.id).isEmpty {
                throw .deleteConflict("Cannot delete entity, must remove users from group first.")
            }
            if try !tx.inlinePolicies(of: owner).isEmpty {
                throw .deleteConflict("Cannot delete entity, must delete policies first.")
            }
            if try !tx.attachedPolicies(of: owner).isEmpty {
                throw .deleteConflict("Cannot delete entity, must detach all policies first.")
            }
            try tx.delete(Group.self, id: group.id)
        }
    }

    // MARK: Roles

    /// DeleteRole: refused while it has policies or an instance profile holds it; its sessions end with it.
    public func deleteRole(named name: EntityName) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let role = try Self.require(Role.self, name, tx)
            let owner = OwnerRef(.role, role.id)
            if try !tx.inlinePolicies(of: owner).isEmpty {
                throw .deleteConflict("Cannot delete entity, must delete policies first.")
            }
            if try !tx.attachedPolicies(of: owner).isEmpty {
                throw .deleteConflict("Cannot delete entity, must detach all policies first.")
            }
            if try !tx.instanceProfiles(ofRole: role.id).isEmpty {
                throw .deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
            }
            for session in try tx.sessions(ofRole: role.id) { try tx.deleteSession(id: session.accessKeyID) }
            try tx.delete(Role.self, id: role.id)
            try Self.orphanTrustPrincipal(role.arn, id: role.id, tx)
        }
    }

    // MARK: Managed policies

    /// CreatePolicy: `v1` is the default version.
    public func createPolicy(
        name: EntityName, path: IAMPath = .root, document: String, description: String? = nil, tags: [Tag] = [],
        now: Date = Date()
    ) async throws(IAMError) -> Committed<ManagedPolicy> {
        _ = try Self.parse(document, kind: .identity)
        if let description, description.count > quotas.descriptionLength {
            throw .validation(
                field: "description", value: description,
                constraint: "have length less than or equal to \(quotas.descriptionLength)")
        }
        let tags = try Tags.merge(tags, into: [], caseInsensitiveKeys: false, limit: quotas.tagsPerEntity)
        let policy = ManagedPolicy(
            id: .generate(.managedPolicy), name: name, path: path,
            arn: .policy(account: account, path: path, name: name), createDate: now, document: document,
            description: description, tags: tags)
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            guard try tx.entity(ManagedPolicy.self, named: name) == nil else {
                throw .entityAlreadyExists(.policy, name: name.rawValue)
            }
            guard try tx.count(ManagedPolicy.self) < quotas.customerManagedPoliciesPerAccount else {
                throw .quotaExceeded("PoliciesPerAccount", quotas.customerManagedPoliciesPerAccount)
            }
            try tx.insert(policy)
            return policy
        }
    }

    /// GetPolicy, with its attachment count.
    public func policy(arn: ARN) async throws(IAMError) -> (policy: ManagedPolicy, attachmentCount: Int) {
        try await store.read { tx throws(IAMError) in
            (try self.resolvePolicy(arn, tx), try tx.attachments(ofPolicy: arn).count)
        }
    }

    /// CreatePolicyVersion: at most 5 versions; `setAsDefault` makes it operative.
    public func createPolicyVersion(policyARN: ARN, document: String, setAsDefault: Bool, now: Date = Date())
        async throws(IAMError) -> Committed<PolicyVersion>
    {
        _ = try Self.parse(document, kind: .identity)
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            var policy = try self.modifiablePolicy(policyARN, tx)
            guard policy.versions.count < quotas.versionsPerPolicy else {
                throw .policyVersionsExceeded(quotas.versionsPerPolicy)
            }
            let version = PolicyVersion(
                versionID: "v\(policy.nextVersionNumber)", document: document, isDefault: setAsDefault,
                createDate: now)
            if setAsDefault { for index in policy.versions.indices { policy.versions[index].isDefault = false } }
            policy.versions.append(version)
            policy.nextVersionNumber += 1
            policy.updateDate = now
            try tx.update(policy)
            return version
        }
    }

    /// SetDefaultPolicyVersion.
    public func setDefaultPolicyVersion(policyARN: ARN, versionID: String) async throws(IAMError) -> Committed<Void> {
        try PolicyVersion.validateID(versionID)
        return try await store.write { tx throws(IAMError) in
            var policy = try self.modifiablePolicy(policyARN, tx)
            guard policy.version(versionID) != nil else { throw .noSuchPolicyVersion(policyARN, versionID: versionID) }
            guard policy.defaultVersionID != versionID else { return }
            for index in policy.versions.indices {
                policy.versions[index].isDefault = policy.versions[index].versionID == versionID
            }
            try tx.update(policy)
        }
    }

    /// DeletePolicyVersion: the default version cannot be deleted.
    public func deletePolicyVersion(policyARN: ARN, versionID: String) async throws(IAMError) -> Committed<Void> {
        try PolicyVersion.validateID(versionID)
        return try await store.write { tx throws(IAMError) in
            var policy = try self.modifiablePolicy(policyARN, tx)
            guard let version = policy.version(versionID) else {
                throw .noSuchPolicyVersion(policyARN, versionID: versionID)
            }
            guard !version.isDefault else { throw .deleteConflict("Cannot delete the default version of a policy.") }
            policy.versions.removeAll { $0.versionID == versionID }
            try tx.update(policy)
        }
    }

    /// DeletePolicy: only when attached nowhere (also not as a boundary) and only the default version is left.
    public func deletePolicy(arn: ARN) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let policy = try self.modifiablePolicy(arn, tx)
            guard try tx.attachments(ofPolicy: arn).isEmpty, try tx.boundaryUses(ofPolicy: arn).isEmpty else {
                throw .deleteConflict("Cannot delete a policy attached to entities.")
            }
            guard policy.versions.count == 1 else {
                throw .deleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must delete the policy's "
                        + "versions. The default version is deleted with the policy.")
            }
            try tx.delete(ManagedPolicy.self, id: policy.id)
        }
    }

    /// AttachUserPolicy / AttachGroupPolicy / AttachRolePolicy: the policy must exist and be attachable; at
    /// most 10 per entity. Re-attaching is a silent success.
    public func attachPolicy(_ policyARN: ARN, to kind: EntityKind, named name: EntityName) async throws(IAMError)
        -> Committed<Void>
    {
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            let policy = try self.resolvePolicy(policyARN, tx)
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

    /// DetachUserPolicy / DetachGroupPolicy / DetachRolePolicy.
    public func detachPolicy(_ policyARN: ARN, from kind: EntityKind, named name: EntityName) async throws(IAMError)
        -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            guard try tx.detach(Attachment(owner: owner, policyARN: policyARN)) else {
                throw .policyNotAttached(policyARN)
            }
        }
    }

    // MARK: Inline policies

    /// PutUserPolicy / PutGroupPolicy / PutRolePolicy: replaces a same-named policy; the aggregate size of
    /// the entity's inline policies is bounded (user 2,048, group 5,120, role 10,240).
    public func putInlinePolicy(
        _ policyName: EntityName, document: String, on kind: EntityKind, named name: EntityName
    ) async throws(IAMError) -> Committed<Void> {
        let documentKind: PolicyDocumentKind =
            switch kind {
            case .group: .inlineGroup
            case .role: .inlineRole
            default: .inlineUser
            }
        let limit = quotas.inlinePolicySize(for: kind)
        // One document over the limit is refused as the aggregate is, naming the entity (AWS's message).
        guard PolicyDocument.awsCharacterCount(document) <= limit else {
            throw .inlinePolicySizeExceeded(kind, name: name.rawValue, limit: limit)
        }
        _ = try Self.parse(document, kind: documentKind)
        return try await store.write { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            let others = try tx.inlinePolicies(of: owner).filter { $0.name != policyName }
            let total = others.reduce(PolicyDocument.awsCharacterCount(document)) {
                $0 + PolicyDocument.awsCharacterCount($1.document)
            }
            guard total <= limit else { throw .inlinePolicySizeExceeded(kind, name: name.rawValue, limit: limit) }
            try tx.putInlinePolicy(InlinePolicy(owner: owner, name: policyName, document: document))
        }
    }

    /// DeleteUserPolicy / DeleteGroupPolicy / DeleteRolePolicy.
    public func deleteInlinePolicy(_ policyName: EntityName, on kind: EntityKind, named name: EntityName)
        async throws(IAMError) -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            let owner = try Self.owner(kind, name, tx)
            guard try tx.deleteInlinePolicy(of: owner, named: policyName) else {
                throw .noSuchInlinePolicy(owner: kind, policyName: policyName.rawValue)
            }
        }
    }

    // MARK: Access keys

    /// CreateAccessKey: stores only `verifier`; at most 2 keys per user. The caller generated the id and the
    /// secret (``AccessKeyID/generate(temporary:)``, ``SecretAccessKey/generate()``) and derived the verifier.
    public func createAccessKey(
        userName: EntityName, id: AccessKeyID, verifier: SCRAMVerifier, sealedSecret: [UInt8]? = nil, now: Date = Date()
    ) async throws(IAMError) -> Committed<AccessKey> {
        let quotas = self.quotas
        return try await store.write { tx throws(IAMError) in
            let user = try Self.require(User.self, userName, tx)
            guard try tx.accessKeys(ofUser: user.id).count < quotas.accessKeysPerUser else {
                throw .quotaExceeded("AccessKeysPerUser", quotas.accessKeysPerUser)
            }
            var key = AccessKey(id: id, userID: user.id, createDate: now, verifier: verifier)
            key.sealedSecret = sealedSecret
            try tx.insertAccessKey(key)
            return key
        }
    }

    /// UpdateAccessKey.
    public func updateAccessKey(userName: EntityName, id: AccessKeyID, status: AccessKeyStatus)
        async throws(IAMError) -> Committed<Void>
    {
        try await store.write { tx throws(IAMError) in
            let user = try Self.require(User.self, userName, tx)
            guard var key = try tx.accessKey(id: id), key.userID == user.id else { throw .noSuchAccessKey(id) }
            guard key.status != status else { return }
            key.status = status
            try tx.updateAccessKey(key)
        }
    }

    /// DeleteAccessKey.
    public func deleteAccessKey(userName: EntityName, id: AccessKeyID) async throws(IAMError) -> Committed<Void> {
        try await store.write { tx throws(IAMError) in
            let user = try Self.require(User.self, userName, tx)
            guard let key = try tx.accessKey(id: id), key.userID == user.id else { throw .noSuchAccessKey(id) }
            try tx.deleteAccessKey(id: key.id)
        }
    }

    // MARK: Helpers for handlers written on the primitives

    /// The entity named `name` or `NoSuchEntity` in AWS's words.
    public static func require<E: NamedEntity>(_ type: E.Type, _ name: EntityName, _ tx: any StoreReader)
        throws(IAMError) -> E
    {
        guard let entity = try tx.entity(type, named: name) else { throw .noSuchEntity(E.kind, name: name.rawValue) }
        return entity
    }

    /// The customer managed policy `arn` or `NoSuchEntity` (`Policy ... does not exist or is not attachable.`).
    @discardableResult
    public static func requirePolicy(_ arn: ARN, _ tx: any StoreReader) throws(IAMError) -> ManagedPolicy {
        guard let policy = try tx.policy(arn: arn) else { throw .noSuchPolicy(arn) }
        return policy
    }

    /// The user, group or role named `name`, as an owner reference.
    public static func owner(_ kind: EntityKind, _ name: EntityName, _ tx: any StoreReader) throws(IAMError)
        -> OwnerRef
    {
        switch kind {
        case .user: OwnerRef(.user, try require(User.self, name, tx).id)
        case .group: OwnerRef(.group, try require(Group.self, name, tx).id)
        case .role: OwnerRef(.role, try require(Role.self, name, tx).id)
        default: throw .invalidInput("\(kind.rawValue) cannot own policies.")
        }
    }

    /// Parses a document with IAMPolicy, mapping its error to ``IAMError``.
    public static func parse(_ text: String, kind: PolicyDocumentKind) throws(IAMError) -> PolicyDocument {
        do {
            return try PolicyDocument.parse(text, kind: kind)
        } catch {
            throw IAMError(error)
        }
    }
}

extension IAMError {
    /// The IAM error for a policy-engine refusal (`MalformedPolicyDocument` or `LimitExceeded`).
    public init(_ error: PolicyError) {
        self.init(code: Code(awsCode: error.code) ?? .malformedPolicyDocument, message: error.message)
    }
}

import Foundation
import IAMPolicy

extension AuthorizationSnapshot {
    /// The snapshot of `contents`, with the AWS managed policies of `catalog` available for attachment.
    public init(contents: StoreContents, account: AccountID, catalog: [ManagedPolicy] = []) {
        var model = SnapshotModel()
        for policy in catalog { model.catalog[policy.arn] = policy }
        for policy in catalog { model.setPolicy(policy.arn, policy) }
        // Every customer managed policy's default version, parsed on all cores.
        let parsed = Parallel.map(contents.policies.count, minimum: 512) { range in
            range.map { SnapshotModel.parse(contents.policies[$0].defaultVersion.document, kind: .identity) }
        }
        for (policy, document) in zip(contents.policies, parsed) {
            model.setPolicy(policy.arn, policy, parsed: document)
        }
        for user in contents.users {
            model.setUser(user.id, user)
            model.setBoundary(OwnerRef(.user, user.id), old: nil, new: user.permissionsBoundary)
        }
        for group in contents.groups { model.setGroup(group.id, group) }
        for role in contents.roles {
            model.setRole(role.id, role)
            model.setBoundary(OwnerRef(.role, role.id), old: nil, new: role.permissionsBoundary)
        }
        var inlineByOwner: [OwnerRef: [InlinePolicy]] = [:]
        for policy in contents.inlinePolicies { inlineByOwner[policy.owner, default: []].append(policy) }
        for (owner, policies) in inlineByOwner { model.setInline(owner.id, kind: owner.kind, policies) }
        var attachedByOwner: [OwnerRef: [ARN]] = [:]
        for attachment in contents.attachments {
            attachedByOwner[attachment.owner, default: []].append(attachment.policyARN)
        }
        for (owner, arns) in attachedByOwner { model.setAttached(owner, arns) }
        var groupsByUser: [UniqueID: [UniqueID]] = [:]
        for membership in contents.memberships {
            groupsByUser[membership.userID, default: []].append(membership.groupID)
        }
        for (user, groups) in groupsByUser { model.setGroups(ofUser: user, groups) }
        for profile in contents.instanceProfiles { model.setInstanceProfile(profile.id, profile) }
        for key in contents.accessKeys { model.setKey(key.id, key) }
        for session in contents.sessions { model.setSession(session.accessKeyID, session) }

        self.init(revision: contents.revision, account: account, model: model)
        self.compileUsers(model.users.values)
        var groups = GroupPolicies()
        for id in model.roles.keys { self.recompile(OwnerRef(.role, id), groups: &groups) }
        for id in model.keys.keys { self.refreshKey(id) }
        for id in model.sessions.keys { self.refreshSession(id) }
    }

    init(revision: Revision, account: AccountID, model: SnapshotModel) {
        self.revision = revision
        self.account = account
        self.model = model
    }

    // MARK: Compiling

    /// One policy as a principal gets it, with where it came from.
    typealias Slot = LazyCompiledPrincipal.Slot

    /// Adds the principals of `users` (none of them in the snapshot yet), gathered on all cores: each user's
    /// gathering reads the model only, and each core keeps its own memo of group policies.
    private mutating func compileUsers(_ users: [User]) {
        let snapshot = self
        let principals = Parallel.map(users.count) { range in
            var groups = GroupPolicies()
            return range.map { snapshot.compileUser(users[$0], groups: &groups) }
        }
        for (user, principal) in zip(users, principals) {
            let arn = user.arn.description
            self.principalsByARN[arn] = principal
            self.compiledARN[user.id] = arn
        }
    }

    /// Each group's policies as its members get them, gathered once per build or batch of changes and then
    /// shared by every member: a user's gathering was mostly its groups' managed policies looked up by ARN again
    /// for each member (a fifth of start-up with 100,000 users in 20,000 groups). Only valid for one model state:
    /// make a new one after changing the model.
    struct GroupPolicies {
        var byGroup: [UniqueID: [Slot]] = [:]
    }

    /// Rebuilds the compiled principal of a user or role (and a role's sessions) from the model; removes it
    /// when the entity is gone. Old ARNs (after a rename or delete) are dropped. `groups` memoizes group
    /// policies across the calls of one build or batch.
    mutating func recompile(_ owner: OwnerRef, groups: inout GroupPolicies) {
        switch owner.kind {
        case .user:
            self.dropARN(of: owner)
            guard let user = self.model.users[owner.id] else { return }
            let principal = self.compileUser(user, groups: &groups)
            self.principalsByARN[user.arn.description] = principal
            self.compiledARN[owner.id] = user.arn.description
        case .role:
            self.dropARN(of: owner)
            for session in self.model.sessionsOfRole[owner.id] ?? [] { self.refreshSession(session) }
            guard let role = self.model.roles[owner.id] else { return }
            self.principalsByARN[role.arn.description] = self.compileRole(role, session: nil)
            self.compiledARN[owner.id] = role.arn.description
        default:
            return
        }
    }

    private mutating func dropARN(of owner: OwnerRef) {
        if let old = self.compiledARN.removeValue(forKey: owner.id) { self.principalsByARN[old] = nil }
    }

    /// Rebuilds a long-term key's credential entry.
    mutating func refreshKey(_ id: AccessKeyID) {
        guard let key = self.model.keys[id], let user = self.model.users[key.userID] else {
            self.credentials[id] = nil
            return
        }
        self.credentials[id] = CredentialEntry(
            accessKeyID: id, verifier: key.verifier, isActive: key.status == .active, expiration: nil,
            principalARN: user.arn, principalKey: user.arn.description, sealedSecret: key.sealedSecret)
    }

    /// Rebuilds a session's compiled principal and credential entry.
    mutating func refreshSession(_ id: AccessKeyID) {
        if let old = self.sessionPrincipals.removeValue(forKey: id),
            self.principalsByARN[old.arn.description]?.sessionKeyID == id
        {
            // Another session of the same name (AssumeRole may reuse one) takes over the ARN.
            let arn = old.arn.description
            self.principalsByARN[arn] = self.sessionPrincipals.values
                .filter { $0.arn.description == arn }
                .max { ($0.expiration ?? .distantPast) < ($1.expiration ?? .distantPast) }
        }
        guard let session = self.model.sessions[id], let role = self.model.roles[session.roleID] else {
            self.credentials[id] = nil
            return
        }
        let principal = self.compileRole(role, session: session)
        self.sessionPrincipals[id] = principal
        // By ARN, the session that expires last answers.
        let existingExpiry = self.principalsByARN[principal.arn.description]?.expiration
        if existingExpiry.map({ $0 <= session.expiration }) ?? true {
            self.principalsByARN[principal.arn.description] = principal
        }
        self.credentials[id] = CredentialEntry(
            accessKeyID: id, verifier: session.verifier, isActive: true, expiration: session.expiration,
            principalARN: session.assumedRoleARN, principalKey: session.assumedRoleARN.description,
            sealedSecret: session.sealedSecret,
            sessionTokenHash: session.sessionTokenHash)
    }

    private func managedInputs(_ arns: [ARN], into inputs: inout [PolicyInput], sources: inout [String: PolicySource]) {
        for arn in arns {
            guard let document = self.model.parsedPolicies[arn], let policy = self.model.policies[arn] else { continue }
            let id = arn.description
            guard sources[id] == nil else { continue }
            inputs.append(PolicyInput(id: id, role: .identity, document: document))
            sources[id] = PolicySource(
                kind: policy.isAWSManaged ? .awsManaged : .customerManaged, name: policy.name.rawValue, arn: arn)
        }
    }

    private func boundaryInput(_ arn: ARN?, into inputs: inout [PolicyInput], sources: inout [String: PolicySource]) {
        guard let arn else { return }
        let id = "boundary:" + arn.description
        // A boundary that no longer exists cannot allow anything: an empty boundary document denies all.
        let document =
            self.model.parsedPolicies[arn]
            ?? PolicyDocument(version: "2012-10-17", id: nil, statements: [], kind: .boundary)
        inputs.append(PolicyInput(id: id, role: .boundary, document: document))
        sources[id] = PolicySource(kind: .boundary, name: self.model.policies[arn]?.name.rawValue ?? "", arn: arn)
    }

    /// A group's policies from the memo, gathering them on first use: one list that every member shares.
    private func groupSlots(_ group: Group, memo: inout GroupPolicies) -> [Slot] {
        if let known = memo.byGroup[group.id] { return known }
        var inputs: [PolicyInput] = []
        var sources: [String: PolicySource] = [:]
        self.groupInputs(group, into: &inputs, sources: &sources)
        let slots = Self.slots(inputs, sources)
        memo.byGroup[group.id] = slots
        return slots
    }

    /// `inputs` with their sources, in order.
    private static func slots(_ inputs: [PolicyInput], _ sources: [String: PolicySource]) -> [Slot] {
        inputs.compactMap { input in sources[input.id].map { Slot(input: input, source: $0) } }
    }

    /// A group's inline and attached policies, as a user in it gets them.
    private func groupInputs(_ group: Group, into inputs: inout [PolicyInput], sources: inout [String: PolicySource]) {
        for policy in self.model.inline[group.id] ?? [] {
            let id = "group/\(group.name)/\(policy.name)"
            inputs.append(PolicyInput(id: id, role: .identity, document: policy.document))
            sources[id] = PolicySource(kind: .group, name: policy.name.rawValue, groupName: group.name.rawValue)
        }
        self.managedInputs(self.model.attached[group.id] ?? [], into: &inputs, sources: &sources)
    }

    /// The group with ARN `arn` as SimulatePrincipalPolicy's source (AWS accepts user, group and role ARNs
    /// there): the group's own policies, with no user context. Compiled on demand; groups are not principals,
    /// so the snapshot does not keep them.
    public func simulationGroup(arn: String) -> SnapshotPrincipal? {
        guard let parsed = try? ARN(parsing: arn), let entity = parsed.iamEntity, entity.type == .group,
            let id = self.model.groupNames[entity.name.folded], let group = self.model.groups[id], group.arn == parsed
        else { return nil }
        var inputs: [PolicyInput] = []
        var sources: [String: PolicySource] = [:]
        self.groupInputs(group, into: &inputs, sources: &sources)
        let groupContext: [String: ContextValue] = ["aws:PrincipalAccount": .string(self.account.rawValue)]
        let principal = Principal(
            arn: group.arn.description, kind: .user, name: group.name.rawValue, id: group.id.rawValue,
            account: self.account.rawValue, path: group.path.rawValue)
        return SnapshotPrincipal(
            kind: .group, arn: group.arn, userID: group.id.rawValue, name: group.name, roleARN: nil, tags: [],
            expiration: nil, sessionKeyID: nil,
            box: LazyCompiledPrincipal(
                principal: principal, parts: [Self.slots(inputs, sources)], context: groupContext),
            context: groupContext)
    }

    private func compileUser(_ user: User, groups memo: inout GroupPolicies) -> SnapshotPrincipal {
        // Only the lists of slots: the user's own, each group's shared list, the boundary. Flattening them (and
        // dropping a policy the user gets twice) waits for the principal's first check.
        var own: [PolicyInput] = []
        var sources: [String: PolicySource] = [:]
        for policy in self.model.inline[user.id] ?? [] {
            let id = "user/\(user.name)/\(policy.name)"
            own.append(PolicyInput(id: id, role: .identity, document: policy.document))
            sources[id] = PolicySource(kind: .user, name: policy.name.rawValue)
        }
        self.managedInputs(self.model.attached[user.id] ?? [], into: &own, sources: &sources)
        var parts = [Self.slots(own, sources)]
        for groupID in self.model.groupsOfUser[user.id] ?? [] {
            guard let group = self.model.groups[groupID] else { continue }
            parts.append(self.groupSlots(group, memo: &memo))
        }
        if user.permissionsBoundary != nil {
            var boundary: [PolicyInput] = []
            var boundarySources: [String: PolicySource] = [:]
            self.boundaryInput(user.permissionsBoundary, into: &boundary, sources: &boundarySources)
            parts.append(Self.slots(boundary, boundarySources))
        }
        let arn = user.arn.description
        let principal = Principal(
            arn: arn, kind: .user, name: user.name.rawValue, id: user.id.rawValue,
            account: self.account.rawValue, path: user.path.rawValue, tags: Self.tagMap(user.tags))
        var context: [String: ContextValue] = [
            "aws:username": .string(user.name.rawValue), "aws:userid": .string(user.id.rawValue),
            "aws:PrincipalArn": .string(arn), "aws:PrincipalType": .string("User"),
            "aws:PrincipalAccount": .string(self.account.rawValue),
        ]
        for tag in user.tags { context["aws:PrincipalTag/\(tag.key)"] = .string(tag.value) }
        return SnapshotPrincipal(
            kind: .user, arn: user.arn, userID: user.id.rawValue, name: user.name, roleARN: nil, tags: user.tags,
            expiration: nil, sessionKeyID: nil,
            box: LazyCompiledPrincipal(principal: principal, parts: parts, context: context),
            context: context)
    }

    private func compileRole(_ role: Role, session: SessionCredentials?) -> SnapshotPrincipal {
        var inputs: [PolicyInput] = []
        var sources: [String: PolicySource] = [:]
        for policy in self.model.inline[role.id] ?? [] {
            let id = "role/\(role.name)/\(policy.name)"
            inputs.append(PolicyInput(id: id, role: .identity, document: policy.document))
            sources[id] = PolicySource(kind: .role, name: policy.name.rawValue)
        }
        self.managedInputs(self.model.attached[role.id] ?? [], into: &inputs, sources: &sources)
        self.boundaryInput(role.permissionsBoundary, into: &inputs, sources: &sources)
        var context: [String: ContextValue] = [
            "aws:PrincipalArn": .string(role.arn.description),
            "aws:PrincipalAccount": .string(self.account.rawValue),
        ]
        for tag in role.tags { context["aws:PrincipalTag/\(tag.key)"] = .string(tag.value) }
        guard let session else {
            context["aws:userid"] = .string(role.id.rawValue)
            context["aws:PrincipalType"] = .string("AssumedRole")
            let principal = Principal(
                arn: role.arn.description, kind: .assumedRole, name: role.name.rawValue, id: role.id.rawValue,
                account: self.account.rawValue, path: role.path.rawValue, roleARN: role.arn.description,
                tags: Self.tagMap(role.tags))
            return SnapshotPrincipal(
                kind: .role, arn: role.arn, userID: role.id.rawValue, name: role.name, roleARN: role.arn,
                tags: role.tags, expiration: nil, sessionKeyID: nil,
                box: LazyCompiledPrincipal(
                    principal: principal, parts: [Self.slots(inputs, sources)], context: context),
                context: context)
        }
        if let text = session.sessionPolicy, let document = SnapshotModel.parse(text, kind: .identity) {
            let id = "session:\(session.accessKeyID)"
            inputs.append(PolicyInput(id: id, role: .session, document: document))
            sources[id] = PolicySource(kind: .session, name: "session policy")
        }
        for arn in session.sessionPolicyARNs {
            let document =
                self.model.parsedPolicies[arn]
                ?? PolicyDocument(version: "2012-10-17", id: nil, statements: [], kind: .identity)
            let id = "session:\(session.accessKeyID):\(arn)"
            inputs.append(PolicyInput(id: id, role: .session, document: document))
            sources[id] = PolicySource(kind: .session, name: self.model.policies[arn]?.name.rawValue ?? "", arn: arn)
        }
        context["aws:userid"] = .string(session.userID)
        context["aws:PrincipalType"] = .string("AssumedRole")
        let principal = Principal(
            arn: session.assumedRoleARN.description, kind: .assumedRole, name: session.sessionName.rawValue,
            id: session.userID, account: self.account.rawValue, roleARN: role.arn.description,
            tags: Self.tagMap(role.tags))
        return SnapshotPrincipal(
            kind: .session, arn: session.assumedRoleARN, userID: session.userID, name: role.name, roleARN: role.arn,
            tags: role.tags, expiration: session.expiration, sessionKeyID: session.accessKeyID,
            box: LazyCompiledPrincipal(principal: principal, parts: [Self.slots(inputs, sources)], context: context),
            context: context)
    }

    private static func tagMap(_ tags: [Tag]) -> [String: String] {
        Dictionary(tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

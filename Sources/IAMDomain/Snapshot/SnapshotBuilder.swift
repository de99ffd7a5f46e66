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
        // The large tables are filled shard by shard on all cores; the model starts empty, so each entry is
        // what `setUser`, `setGroup`, `setAttached` and `setGroups` would record, with no old state to undo.
        let users = contents.users
        model.users.merge(users.count, entry: { (users[$0].id, users[$0]) }, merge: MapMerge.replace)
        model.userNames.merge(users.count, entry: { (users[$0].name.folded, users[$0].id) }, merge: MapMerge.replace)
        for user in users where user.permissionsBoundary != nil {
            model.setBoundary(OwnerRef(.user, user.id), old: nil, new: user.permissionsBoundary)
        }
        let groupRows = contents.groups
        model.groups.merge(groupRows.count, entry: { (groupRows[$0].id, groupRows[$0]) }, merge: MapMerge.replace)
        model.groupNames.merge(
            groupRows.count, entry: { (groupRows[$0].name.folded, groupRows[$0].id) }, merge: MapMerge.replace)
        for role in contents.roles {
            model.setRole(role.id, role)
            model.setBoundary(OwnerRef(.role, role.id), old: nil, new: role.permissionsBoundary)
        }
        var inlineByOwner: [OwnerRef: [InlinePolicy]] = [:]
        for policy in contents.inlinePolicies { inlineByOwner[policy.owner, default: []].append(policy) }
        for (owner, policies) in inlineByOwner { model.setInline(owner.id, kind: owner.kind, policies) }
        let attachments = contents.attachments
        model.attached.merge(
            attachments.count, entry: { (attachments[$0].owner.id, attachments[$0].policyARN) },
            merge: MapMerge.append)
        model.attachedOwners.merge(
            attachments.count, entry: { (attachments[$0].policyARN, attachments[$0].owner) },
            merge: MapMerge.insert)
        let memberships = contents.memberships
        model.groupsOfUser.merge(
            memberships.count, entry: { (memberships[$0].userID, memberships[$0].groupID) },
            merge: MapMerge.append)
        model.membersOfGroup.merge(
            memberships.count, entry: { (memberships[$0].groupID, memberships[$0].userID) },
            merge: MapMerge.insert)
        for profile in contents.instanceProfiles { model.setInstanceProfile(profile.id, profile) }
        for key in contents.accessKeys { model.setKey(key.id, key) }
        for session in contents.sessions { model.setSession(session.accessKeyID, session) }

        self.init(revision: contents.revision, account: account, model: model)
        self.compileUsers(users)
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

    /// Adds the principals of `users` (none of them in the snapshot yet), gathered on all cores: every group's
    /// policies first, then each user's gathering, which reads the model and those lists only.
    private mutating func compileUsers(_ users: [User]) {
        let snapshot = self
        let groupList = self.model.groups.values
        let groupSlots = Parallel.map(groupList.count, minimum: 512) { range in
            range.map { snapshot.groupSlots(groupList[$0]) }
        }
        var memo = GroupPolicies()
        memo.byGroup.reserveCapacity(groupList.count)
        for (group, slots) in zip(groupList, groupSlots) { memo.byGroup[group.id] = slots }
        let groups = memo
        let principals = Parallel.map(users.count) { range in
            var groups = groups
            return range.map { snapshot.compileUser(users[$0], groups: &groups) }
        }
        // The ARN's text as the principal already holds it: `ARN.description` builds a new string each time.
        self.principalsByARN.merge(
            users.count, entry: { (principals[$0].policyPrincipal.arn, principals[$0]) }, merge: MapMerge.replace)
        self.compiledARN.merge(
            users.count, entry: { (users[$0].id, principals[$0].policyPrincipal.arn) }, merge: MapMerge.replace)
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

    /// Appends `slot` unless a slot with its id is there already (the first one counts). A principal's own list
    /// holds a few dozen policies at most, so a scan beats hashing every id into a dictionary.
    private static func append(_ slot: Slot, to slots: inout [Slot]) {
        guard !slots.contains(where: { $0.input.id == slot.input.id }) else { return }
        slots.append(slot)
    }

    /// The inline policies of the user, group or role `id` (`kind` `.user`, `.group` or `.role`) named `name`, with
    /// ids `<kind>/<name>/<policy>`.
    private func inlineSlots(
        _ id: UniqueID, _ kind: PolicySource.Kind, named name: EntityName, into slots: inout [Slot]
    ) {
        for policy in self.model.inline[id] ?? [] {
            Self.append(
                Slot(
                    input: PolicyInput(
                        id: "\(kind.rawValue)/\(name)/\(policy.name)", role: .identity, document: policy.document),
                    source: PolicySource(
                        kind: kind, name: policy.name.rawValue, groupName: kind == .group ? name.rawValue : nil)),
                to: &slots)
        }
    }

    /// The managed policies `arns` (those that exist), each as the model keeps it ready.
    private func managedSlots(_ arns: [ARN], into slots: inout [Slot]) {
        for arn in arns {
            guard let slot = self.model.managedSlots[arn] else { continue }
            Self.append(slot, to: &slots)
        }
    }

    private func boundarySlot(_ arn: ARN?, into slots: inout [Slot]) {
        guard let arn else { return }
        // A boundary that no longer exists cannot allow anything: an empty boundary document denies all.
        let document =
            self.model.parsedPolicies[arn]
            ?? PolicyDocument(version: "2012-10-17", id: nil, statements: [], kind: .boundary)
        Self.append(
            Slot(
                input: PolicyInput(id: "boundary:" + arn.description, role: .boundary, document: document),
                source: PolicySource(kind: .boundary, name: self.model.policies[arn]?.name.rawValue ?? "", arn: arn)),
            to: &slots)
    }

    /// A group's policies, gathered and kept in the memo: one list that every member shares.
    private func groupSlots(_ group: Group, memo: inout GroupPolicies) -> [Slot] {
        let slots = self.groupSlots(group)
        memo.byGroup[group.id] = slots
        return slots
    }

    /// A group's inline and attached policies, as a user in it gets them.
    private func groupSlots(_ group: Group) -> [Slot] {
        var slots: [Slot] = []
        self.inlineSlots(group.id, .group, named: group.name, into: &slots)
        self.managedSlots(self.model.attached[group.id] ?? [], into: &slots)
        return slots
    }

    /// The group with ARN `arn` as SimulatePrincipalPolicy's source (AWS accepts user, group and role ARNs
    /// there): the group's own policies, with no user context. Compiled on demand; groups are not principals,
    /// so the snapshot does not keep them.
    public func simulationGroup(arn: String) -> SnapshotPrincipal? {
        guard let parsed = try? ARN(parsing: arn), let entity = parsed.iamEntity, entity.type == .group,
            let id = self.model.groupNames[entity.name.folded], let group = self.model.groups[id], group.arn == parsed
        else { return nil }
        let groupContext: [String: ContextValue] = ["aws:PrincipalAccount": .string(self.account.rawValue)]
        let principal = Principal(
            arn: group.arn.description, kind: .user, name: group.name.rawValue, id: group.id.rawValue,
            account: self.account.rawValue, path: group.path.rawValue)
        return SnapshotPrincipal(
            kind: .group, arn: group.arn, userID: group.id.rawValue, name: group.name, roleARN: nil, tags: [],
            expiration: nil, sessionKeyID: nil,
            box: LazyCompiledPrincipal(
                principal: principal, parts: [self.groupSlots(group)], context: groupContext),
            context: groupContext)
    }

    private func compileUser(_ user: User, groups memo: inout GroupPolicies) -> SnapshotPrincipal {
        // Only the lists of slots: the user's own, each group's shared list, the boundary. Flattening them (and
        // dropping a policy the user gets twice) waits for the principal's first check.
        var own: [Slot] = []
        self.inlineSlots(user.id, .user, named: user.name, into: &own)
        self.managedSlots(self.model.attached[user.id] ?? [], into: &own)
        var parts = [own]
        for groupID in self.model.groupsOfUser[user.id] ?? [] {
            // The memo holds only groups that exist; a group is looked up only when the memo lacks it.
            if let known = memo.byGroup[groupID] {
                parts.append(known)
            } else if let group = self.model.groups[groupID] {
                parts.append(self.groupSlots(group, memo: &memo))
            }
        }
        if user.permissionsBoundary != nil {
            var boundary: [Slot] = []
            self.boundarySlot(user.permissionsBoundary, into: &boundary)
            parts.append(boundary)
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
        Self.addSignedRequestKeys(to: &context)
        for tag in user.tags { context["aws:PrincipalTag/\(tag.key)"] = .string(tag.value) }
        return SnapshotPrincipal(
            kind: .user, arn: user.arn, userID: user.id.rawValue, name: user.name, roleARN: nil, tags: user.tags,
            expiration: nil, sessionKeyID: nil,
            box: LazyCompiledPrincipal(principal: principal, parts: parts, context: context),
            context: context)
    }

    private func compileRole(_ role: Role, session: SessionCredentials?) -> SnapshotPrincipal {
        var slots: [Slot] = []
        self.inlineSlots(role.id, .role, named: role.name, into: &slots)
        self.managedSlots(self.model.attached[role.id] ?? [], into: &slots)
        self.boundarySlot(role.permissionsBoundary, into: &slots)
        var context: [String: ContextValue] = [
            "aws:PrincipalArn": .string(role.arn.description),
            "aws:PrincipalAccount": .string(self.account.rawValue),
        ]
        Self.addSignedRequestKeys(to: &context)
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
                    principal: principal, parts: [slots], context: context),
                context: context)
        }
        if let text = session.sessionPolicy, let document = SnapshotModel.parse(text, kind: .identity) {
            Self.append(
                Slot(
                    input: PolicyInput(id: "session:\(session.accessKeyID)", role: .session, document: document),
                    source: PolicySource(kind: .session, name: "session policy")),
                to: &slots)
        }
        for arn in session.sessionPolicyARNs {
            let document =
                self.model.parsedPolicies[arn]
                ?? PolicyDocument(version: "2012-10-17", id: nil, statements: [], kind: .identity)
            Self.append(
                Slot(
                    input: PolicyInput(id: "session:\(session.accessKeyID):\(arn)", role: .session, document: document),
                    source: PolicySource(
                        kind: .session, name: self.model.policies[arn]?.name.rawValue ?? "", arn: arn)),
                to: &slots)
        }
        // Session tags win over the role's tags of the same key (compared case-insensitively, as IAM tag keys are).
        var tags = Self.tagMap(role.tags)
        for tag in session.tags ?? [] {
            for (key, _) in tags where key.lowercased() == tag.key.lowercased() {
                tags[key] = nil
                context["aws:PrincipalTag/\(key)"] = nil
            }
            tags[tag.key] = tag.value
            context["aws:PrincipalTag/\(tag.key)"] = .string(tag.value)
        }
        context["aws:userid"] = .string(session.userID)
        context["aws:PrincipalType"] = .string("AssumedRole")
        // Present for temporary credentials only (absent for long-term keys): when they were issued, and that no
        // MFA stood behind them (AssumeRole here takes no MFA).
        context["aws:TokenIssueTime"] = .string(session.createDate.formatted(.iso8601))
        context["aws:MultiFactorAuthPresent"] = .string("false")
        let principal = Principal(
            arn: session.assumedRoleARN.description, kind: .assumedRole, name: session.sessionName.rawValue,
            id: session.userID, account: self.account.rawValue, roleARN: role.arn.description, tags: tags)
        return SnapshotPrincipal(
            kind: .session, arn: session.assumedRoleARN, userID: session.userID, name: role.name, roleARN: role.arn,
            tags: role.tags, expiration: session.expiration, sessionKeyID: session.accessKeyID,
            box: LazyCompiledPrincipal(principal: principal, parts: [slots], context: context),
            context: context)
    }

    /// The keys AWS puts in every request an IAM principal signs: the principal is not an AWS service
    /// (`aws:PrincipalIsAWSService`) and the call was not made by a service on its behalf (`aws:ViaAWSService`).
    private static func addSignedRequestKeys(to context: inout [String: ContextValue]) {
        context["aws:PrincipalIsAWSService"] = .string("false")
        context["aws:ViaAWSService"] = .string("false")
    }

    private static func tagMap(_ tags: [Tag]) -> [String: String] {
        Dictionary(tags.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

public import IAMPolicy

/// Lookups the server makes on the hot path (naming a request's resource, assuming a role), answered from
/// the snapshot's indexes without a scan.
extension AuthorizationSnapshot {
    /// The ARN of the user named `name` (case-insensitive).
    public func userARN(named name: EntityName) -> ARN? {
        self.model.userNames[name.folded].flatMap { self.model.users[$0]?.arn }
    }

    /// The ARN of the group named `name` (case-insensitive).
    public func groupARN(named name: EntityName) -> ARN? {
        self.model.groupNames[name.folded].flatMap { self.model.groups[$0]?.arn }
    }

    /// The ARN of the role named `name` (case-insensitive).
    public func roleARN(named name: EntityName) -> ARN? {
        self.model.roleNames[name.folded].flatMap { self.model.roles[$0]?.arn }
    }

    /// The ARN of the instance profile named `name` (case-insensitive).
    public func instanceProfileARN(named name: EntityName) -> ARN? {
        self.model.instanceProfileNames[name.folded].flatMap { self.model.instanceProfiles[$0]?.arn }
    }

    /// The tags of the customer managed policy or instance profile with this ARN (path and all), or none: what
    /// `aws:ResourceTag/*` of a call on it compares with. (A user's or role's are its principal's ``tags``.)
    public func tags(ofPolicyOrInstanceProfile text: String) -> [Tag] {
        guard let arn = try? ARN(parsing: text), let entity = arn.iamEntity else { return [] }
        switch entity.type {
        case .policy:
            return self.model.policies[arn]?.tags ?? []
        case .instanceProfile:
            guard let id = self.model.instanceProfileNames[entity.name.folded],
                let profile = self.model.instanceProfiles[id], profile.arn == arn
            else { return [] }
            return profile.tags
        default:
            return []
        }
    }

    /// The role with this ARN (its name decides; the path must match too, as AWS compares whole ARNs).
    public func role(arn: ARN) -> Role? {
        guard let entity = arn.iamEntity, entity.type == .role,
            let id = self.model.roleNames[entity.name.folded], let role = self.model.roles[id], role.arn == arn
        else { return nil }
        return role
    }

    /// The parsed trust policy of the role with ARN `roleARN`, if there is such a role.
    public func trustPolicy(roleARN: String) -> PolicyDocument? {
        guard let arn = try? ARN(parsing: roleARN), let role = self.role(arn: arn) else { return nil }
        return try? PolicyDocument.parse(role.assumeRolePolicyDocument, kind: .trust)
    }
}

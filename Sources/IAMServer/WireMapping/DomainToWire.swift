import Foundation
import IAMDomain
import IAMWire

// Domain records -> generated messages. Timestamps become milliseconds since the epoch (the IDL's rule).

extension Date {
    /// Milliseconds since the Unix epoch, as the IDL's timestamp fields carry them.
    var epochMilliseconds: Int64 { Int64((self.timeIntervalSince1970 * 1000).rounded()) }
}

extension IAMWire.Tag {
    init(_ tag: IAMDomain.Tag) {
        self.init(key: tag.key, value: tag.value)
    }
}

extension AttachedPermissionsBoundary {
    /// The boundary message for `arn`, or nil when there is none.
    static func from(_ arn: ARN?) -> AttachedPermissionsBoundary? {
        guard let arn else { return nil }
        var boundary = AttachedPermissionsBoundary()
        boundary.permissionsBoundaryType = .policy
        boundary.permissionsBoundaryARN = arn.description
        return boundary
    }
}

extension IAMWire.User {
    init(_ user: IAMDomain.User) {
        self.init()
        self.path = user.path.rawValue
        self.userName = user.name.rawValue
        self.userID = user.id.rawValue
        self.arn = user.arn.description
        self.createDate = user.createDate.epochMilliseconds
        self.permissionsBoundary = .from(user.permissionsBoundary)
        self.tags = user.tags.map(IAMWire.Tag.init)
    }

    /// The account root as GetUser describes it to the root key: its ARN, the account id as its id, no name.
    static func root(account: AccountID) -> IAMWire.User {
        var user = IAMWire.User()
        user.userID = account.rawValue
        user.arn = ARN.root(account: account).description
        return user
    }
}

extension IAMWire.Group {
    init(_ group: IAMDomain.Group) {
        self.init()
        self.path = group.path.rawValue
        self.groupName = group.name.rawValue
        self.groupID = group.id.rawValue
        self.arn = group.arn.description
        self.createDate = group.createDate.epochMilliseconds
    }
}

extension IAMWire.Role {
    init(_ role: IAMDomain.Role) {
        self.init()
        self.path = role.path.rawValue
        self.roleName = role.name.rawValue
        self.roleID = role.id.rawValue
        self.arn = role.arn.description
        self.createDate = role.createDate.epochMilliseconds
        self.assumeRolePolicyDocument = role.assumeRolePolicyDocument
        self.description = role.description ?? ""
        self.maxSessionDuration = Int32(clamping: role.maxSessionDuration)
        self.permissionsBoundary = .from(role.permissionsBoundary)
        self.tags = role.tags.map(IAMWire.Tag.init)
        var lastUsed = RoleLastUsed()
        lastUsed.lastUsedDate = role.lastUsedDate?.epochMilliseconds
        // IAM is global: a role is assumed through STS's us-east-1 here.
        if role.lastUsedDate != nil { lastUsed.region = "us-east-1" }
        self.roleLastUsed = lastUsed
    }
}

extension IAMWire.InstanceProfile {
    /// The profile with its roles; `includeTags` false for ListInstanceProfiles, whose entries AWS sends without
    /// tags (API_ListInstanceProfiles.html: "tags are not included").
    init(_ detail: InstanceProfileDetail, includeTags: Bool = true) {
        self.init()
        self.path = detail.profile.path.rawValue
        self.instanceProfileName = detail.profile.name.rawValue
        self.instanceProfileID = detail.profile.id.rawValue
        self.arn = detail.profile.arn.description
        self.createDate = detail.profile.createDate.epochMilliseconds
        self.roles = detail.roles.map(IAMWire.Role.init)
        if includeTags { self.tags = detail.profile.tags.map(IAMWire.Tag.init) }
    }
}

extension IAMWire.Policy {
    /// A policy as GetPolicy describes it; ListPolicies passes `withDescription: false`, as AWS omits it there.
    init(_ usage: PolicyUsage, withDescription: Bool = true) {
        let policy = usage.policy
        self.init()
        self.policyName = policy.name.rawValue
        self.policyID = policy.id.rawValue
        self.arn = policy.arn.description
        self.path = policy.path.rawValue
        self.defaultVersionID = policy.defaultVersionID
        self.attachmentCount = Int32(clamping: usage.attachmentCount)
        self.permissionsBoundaryUsageCount = Int32(clamping: usage.boundaryUsageCount)
        self.isAttachable = policy.isAttachable
        self.description = withDescription ? (policy.description ?? "") : ""
        self.createDate = policy.createDate.epochMilliseconds
        self.updateDate = policy.updateDate.epochMilliseconds
        self.tags = policy.tags.map(IAMWire.Tag.init)
    }
}

extension IAMWire.PolicyVersion {
    /// A version; ListPolicyVersions passes `withDocument: false` (the IDL: "empty in ListPolicyVersions").
    init(_ version: IAMDomain.PolicyVersion, withDocument: Bool = true) {
        self.init()
        self.document = withDocument ? version.document : ""
        self.versionID = version.versionID
        self.isDefaultVersion = version.isDefault
        self.createDate = version.createDate.epochMilliseconds
    }
}

extension StatusType {
    init(_ status: AccessKeyStatus) {
        switch status {
        case .active: self = .active
        case .inactive: self = .inactive
        }
    }
}

extension AccessKeyMetadata {
    init(_ key: IAMDomain.AccessKey, userName: EntityName) {
        self.init()
        self.userName = userName.rawValue
        self.accessKeyID = key.id.rawValue
        self.status = StatusType(key.status)
        self.createDate = key.createDate.epochMilliseconds
    }
}

extension AttachedPolicy {
    init(arn: ARN, name: EntityName) {
        self.init()
        self.policyARN = arn.description
        self.policyName = name.rawValue
    }

    /// The attachment of `arn`, its name read from the ARN (every attached ARN is a policy ARN).
    init(arn: ARN) {
        self.init()
        self.policyARN = arn.description
        self.policyName = arn.iamEntity?.name.rawValue ?? ""
    }
}

public import IAMPolicy
public import IAMWire

// The resource each `iam.v1.IAM` call is authorized on, after AWS's Service Authorization Reference
// for IAM: the entity the call reads or changes (a user, group, role, instance profile or managed
// policy, with its path); for attach/detach, membership and inline-policy calls the principal the policy or member is
// added to (AWS checks the policy itself through condition keys, not as a resource); "*" for calls on
// no resource type. A request that carries an ARN is authorized on that ARN as given.

// MARK: Users

extension CreateUserRequest {
    /// The user being created: `user/<path><name>`.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.user, path: self.path, name: self.userName)
    }
}

extension GetUserRequest {
    /// The user, or the caller when no user is named.
    public func resource(in context: ResourceNamingContext) -> String { context.userOrCaller(self.userName) }
}

extension ListUsersRequest {
    /// `user<prefix>*`, or "*" without a prefix.
    public func resource(in context: ResourceNamingContext) -> String {
        context.listing("user", pathPrefix: self.pathPrefix)
    }
}

extension UpdateUserRequest {
    /// The user as it is now (AWS also requires the permission on the new name, which the service
    /// checks when it renames).
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension DeleteUserRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension TagUserRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension UntagUserRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension ListUserTagsRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension PutUserPermissionsBoundaryRequest {
    /// The user (the boundary policy is the condition key iam:PermissionsBoundary in AWS).
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension DeleteUserPermissionsBoundaryRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

// MARK: Groups

extension CreateGroupRequest {
    /// The group being created: `group/<path><name>`.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.group, path: self.path, name: self.groupName)
    }
}

extension GetGroupRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension ListGroupsRequest {
    /// `group<prefix>*`, or "*" without a prefix.
    public func resource(in context: ResourceNamingContext) -> String {
        context.listing("group", pathPrefix: self.pathPrefix)
    }
}

extension UpdateGroupRequest {
    /// The group as it is now.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension DeleteGroupRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension AddUserToGroupRequest {
    /// The group the user joins.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension RemoveUserFromGroupRequest {
    /// The group the user leaves.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension ListGroupsForUserRequest {
    /// The user whose groups are listed.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

// MARK: Roles

extension CreateRoleRequest {
    /// The role being created: `role/<path><name>`.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.role, path: self.path, name: self.roleName)
    }
}

extension GetRoleRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension ListRolesRequest {
    /// `role<prefix>*`, or "*" without a prefix.
    public func resource(in context: ResourceNamingContext) -> String {
        context.listing("role", pathPrefix: self.pathPrefix)
    }
}

extension UpdateRoleRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension UpdateRoleDescriptionRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension UpdateAssumeRolePolicyRequest {
    /// The role whose trust policy changes.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension DeleteRoleRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension TagRoleRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension UntagRoleRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension ListRoleTagsRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension PutRolePermissionsBoundaryRequest {
    /// The role (the boundary policy is the condition key iam:PermissionsBoundary in AWS).
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension DeleteRolePermissionsBoundaryRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

// MARK: Instance profiles

extension CreateInstanceProfileRequest {
    /// The instance profile being created: `instance-profile/<path><name>`.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, path: self.path, name: self.instanceProfileName)
    }
}

extension GetInstanceProfileRequest {
    /// The instance profile.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }
}

extension DeleteInstanceProfileRequest {
    /// The instance profile.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }
}

extension ListInstanceProfilesRequest {
    /// `instance-profile<prefix>*`, or "*" without a prefix.
    public func resource(in context: ResourceNamingContext) -> String {
        context.listing("instance-profile", pathPrefix: self.pathPrefix)
    }
}

extension AddRoleToInstanceProfileRequest {
    /// The instance profile the role goes into (AWS's resource for this action; the role is passed to it).
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }

    /// `iam:PassRole` on the role, with its real path: AWS's API reference says the caller "must be granted the
    /// PassRole permission on the IAM role", since whoever can launch an instance with the profile gets the
    /// role's permissions.
    public func additionalPermissions(in context: ResourceNamingContext) -> [RequiredPermission] {
        [RequiredPermission(action: "iam:PassRole", resource: context.arn(.role, named: self.roleName))]
    }
}

extension RemoveRoleFromInstanceProfileRequest {
    /// The instance profile the role leaves.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }
}

extension ListInstanceProfilesForRoleRequest {
    /// The role whose instance profiles are listed (AWS authorizes this action on the role).
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension TagInstanceProfileRequest {
    /// The instance profile.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }
}

extension UntagInstanceProfileRequest {
    /// The instance profile.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }
}

extension ListInstanceProfileTagsRequest {
    /// The instance profile.
    public func resource(in context: ResourceNamingContext) -> String {
        context.arn(.instanceProfile, named: self.instanceProfileName)
    }
}

// MARK: Managed policies and their versions

extension CreatePolicyRequest {
    /// The policy being created: `policy/<path><name>`.
    public func resource(in context: ResourceNamingContext) -> String {
        context.iam("policy\(self.path.isEmpty ? "/" : self.path)\(self.policyName)")
    }
}

extension GetPolicyRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension ListPoliciesRequest {
    /// `policy<prefix>*`, or "*" without a prefix.
    public func resource(in context: ResourceNamingContext) -> String {
        context.listing("policy", pathPrefix: self.pathPrefix)
    }
}

extension DeletePolicyRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension TagPolicyRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension UntagPolicyRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension ListPolicyTagsRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension ListEntitiesForPolicyRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension CreatePolicyVersionRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension GetPolicyVersionRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension ListPolicyVersionsRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension DeletePolicyVersionRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

extension SetDefaultPolicyVersionRequest {
    /// The policy ARN as given.
    public func resource(in context: ResourceNamingContext) -> String { self.policyARN }
}

// MARK: Inline policies (authorized on the principal that holds them)

extension PutUserPolicyRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension GetUserPolicyRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension ListUserPoliciesRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension DeleteUserPolicyRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension PutGroupPolicyRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension GetGroupPolicyRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension ListGroupPoliciesRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension DeleteGroupPolicyRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension PutRolePolicyRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension GetRolePolicyRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension ListRolePoliciesRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension DeleteRolePolicyRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

// MARK: Attachments (authorized on the principal; the policy is the condition key iam:PolicyARN)

extension AttachUserPolicyRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension DetachUserPolicyRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension ListAttachedUserPoliciesRequest {
    /// The user.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.user, named: self.userName) }
}

extension AttachGroupPolicyRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension DetachGroupPolicyRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension ListAttachedGroupPoliciesRequest {
    /// The group.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.group, named: self.groupName) }
}

extension AttachRolePolicyRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension DetachRolePolicyRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

extension ListAttachedRolePoliciesRequest {
    /// The role.
    public func resource(in context: ResourceNamingContext) -> String { context.arn(.role, named: self.roleName) }
}

// MARK: Access keys (no user named: the caller's own)

extension CreateAccessKeyRequest {
    /// The user getting the key, or the caller.
    public func resource(in context: ResourceNamingContext) -> String { context.userOrCaller(self.userName) }
}

extension ListAccessKeysRequest {
    /// The user whose keys are listed, or the caller.
    public func resource(in context: ResourceNamingContext) -> String { context.userOrCaller(self.userName) }
}

extension UpdateAccessKeyRequest {
    /// The user owning the key, or the caller.
    public func resource(in context: ResourceNamingContext) -> String { context.userOrCaller(self.userName) }
}

extension DeleteAccessKeyRequest {
    /// The user owning the key, or the caller.
    public func resource(in context: ResourceNamingContext) -> String { context.userOrCaller(self.userName) }
}

extension GetAccessKeyLastUsedRequest {
    /// The user owning the key; for a key that does not exist, `user/*` (no policy naming one user
    /// allows it, so probing for other people's key ids reveals nothing).
    public func resource(in context: ResourceNamingContext) -> String {
        context.directory.ownerARN(ofAccessKey: self.accessKeyID) ?? context.iam("user/*")
    }
}

// MARK: Account

extension GetAccountSummaryRequest {
    /// "*": AWS authorizes it on no resource type.
    public func resource(in context: ResourceNamingContext) -> String { "*" }
}

extension GetAccountAuthorizationDetailsRequest {
    /// "*": AWS authorizes it on no resource type.
    public func resource(in context: ResourceNamingContext) -> String { "*" }
}

// MARK: Request condition keys

extension CreateUserRequest {
    /// The tags and the boundary it sets.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.tags(self.tags) + RequestConditionKeys.boundary(self.permissionsBoundary)
    }
}

extension CreateRoleRequest {
    /// The tags and the boundary it sets.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.tags(self.tags) + RequestConditionKeys.boundary(self.permissionsBoundary)
    }
}

extension CreatePolicyRequest {
    /// The tags it sets.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { RequestConditionKeys.tags(self.tags) }
}

extension CreateInstanceProfileRequest {
    /// The tags it sets.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { RequestConditionKeys.tags(self.tags) }
}

extension TagUserRequest {
    /// The tags it adds.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { RequestConditionKeys.tags(self.tags) }
}

extension TagRoleRequest {
    /// The tags it adds.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { RequestConditionKeys.tags(self.tags) }
}

extension TagPolicyRequest {
    /// The tags it adds.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { RequestConditionKeys.tags(self.tags) }
}

extension TagInstanceProfileRequest {
    /// The tags it adds.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { RequestConditionKeys.tags(self.tags) }
}

extension UntagUserRequest {
    /// The keys it removes.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.tagKeys(self.tagKeys)
    }
}

extension UntagRoleRequest {
    /// The keys it removes.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.tagKeys(self.tagKeys)
    }
}

extension UntagPolicyRequest {
    /// The keys it removes.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.tagKeys(self.tagKeys)
    }
}

extension UntagInstanceProfileRequest {
    /// The keys it removes.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.tagKeys(self.tagKeys)
    }
}

extension AttachUserPolicyRequest {
    /// The policy.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.policy(self.policyARN)
    }
}

extension DetachUserPolicyRequest {
    /// The policy.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.policy(self.policyARN)
    }
}

extension AttachGroupPolicyRequest {
    /// The policy.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.policy(self.policyARN)
    }
}

extension DetachGroupPolicyRequest {
    /// The policy.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.policy(self.policyARN)
    }
}

extension AttachRolePolicyRequest {
    /// The policy.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.policy(self.policyARN)
    }
}

extension DetachRolePolicyRequest {
    /// The policy.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.policy(self.policyARN)
    }
}

extension PutUserPermissionsBoundaryRequest {
    /// The boundary.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.boundary(self.permissionsBoundary)
    }
}

extension PutRolePermissionsBoundaryRequest {
    /// The boundary.
    public var requestConditionKeys: [(key: String, value: ContextValue)] {
        RequestConditionKeys.boundary(self.permissionsBoundary)
    }
}

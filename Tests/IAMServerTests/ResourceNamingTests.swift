@testable import IAMServer
import IAMWire
import Testing

/// A directory over fixed entities: what the authorizer's snapshot answers, for the cases the request
/// alone cannot decide (paths of entities named by name, owners of access keys).
struct FixedDirectory: IAMEntityDirectory {
    var entities: [IAMEntityKind: [String: String]] = [
        .user: ["alice": "arn:aws:iam::123456789012:user/engineering/Alice"],
        .group: ["admins": "arn:aws:iam::123456789012:group/ops/Admins"],
        .role: ["deployer": "arn:aws:iam::123456789012:role/service-role/Deployer"],
        .instanceProfile: ["web": "arn:aws:iam::123456789012:instance-profile/fleet/Web"],
    ]
    var keys = ["AKIAALICE00000000001": "arn:aws:iam::123456789012:user/engineering/Alice"]

    func arn(of kind: IAMEntityKind, named name: String) -> String? { self.entities[kind]?[name.lowercased()] }
    func ownerARN(ofAccessKey accessKeyID: String) -> String? { self.keys[accessKeyID] }
}

/// One rpc's request and the resource it must name.
struct ResourceCase: CustomTestStringConvertible, Sendable {
    var method: MethodDescriptor
    var request: any IAMResourceNaming & Sendable
    var expected: String
    var testDescription: String { "\(self.method.method) -> \(self.expected)" }
}

@Suite("Every management request names the resource AWS authorizes it on")
struct ResourceNamingTests {
    static let account = "123456789012"
    static let caller = "arn:aws:iam::123456789012:user/Carol"
    static let context = ResourceNamingContext(account: account, callerARN: caller, directory: FixedDirectory())

    static let alice = "arn:aws:iam::123456789012:user/engineering/Alice"
    static let admins = "arn:aws:iam::123456789012:group/ops/Admins"
    static let deployer = "arn:aws:iam::123456789012:role/service-role/Deployer"
    static let policy = "arn:aws:iam::123456789012:policy/team/ReadPhotos"
    static let awsPolicy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    static let web = "arn:aws:iam::123456789012:instance-profile/fleet/Web"

    typealias M = IAMMethods.IAM

    static let cases: [ResourceCase] = [
        // Users
        .init(
            method: M.createUser, request: CreateUserRequest(path: "/division_abc/", userName: "Bob"),
            expected: "arn:aws:iam::123456789012:user/division_abc/Bob"),
        .init(
            method: M.createUser, request: CreateUserRequest(userName: "Bob"),
            expected: "arn:aws:iam::123456789012:user/Bob"),
        .init(method: M.getUser, request: GetUserRequest(userName: "ALICE"), expected: alice),
        .init(method: M.getUser, request: GetUserRequest(), expected: caller),
        .init(
            method: M.getUser, request: GetUserRequest(userName: "Nobody"),
            expected: "arn:aws:iam::123456789012:user/Nobody"),
        .init(
            method: M.listUsers, request: ListUsersRequest(pathPrefix: "/engineering/"),
            expected: "arn:aws:iam::123456789012:user/engineering/*"),
        .init(method: M.listUsers, request: ListUsersRequest(), expected: "*"),
        .init(
            method: M.updateUser, request: UpdateUserRequest(userName: "alice", newUserName: "Alicia"), expected: alice),
        .init(method: M.deleteUser, request: DeleteUserRequest(userName: "alice"), expected: alice),
        .init(method: M.tagUser, request: TagUserRequest(userName: "alice"), expected: alice),
        .init(method: M.untagUser, request: UntagUserRequest(userName: "alice"), expected: alice),
        .init(method: M.listUserTags, request: ListUserTagsRequest(userName: "alice"), expected: alice),
        .init(
            method: M.putUserPermissionsBoundary,
            request: PutUserPermissionsBoundaryRequest(userName: "alice", permissionsBoundary: policy), expected: alice),
        .init(
            method: M.deleteUserPermissionsBoundary, request: DeleteUserPermissionsBoundaryRequest(userName: "alice"),
            expected: alice),
        // Groups
        .init(
            method: M.createGroup, request: CreateGroupRequest(path: "/ops/", groupName: "Oncall"),
            expected: "arn:aws:iam::123456789012:group/ops/Oncall"),
        .init(method: M.getGroup, request: GetGroupRequest(groupName: "admins"), expected: admins),
        .init(method: M.listGroups, request: ListGroupsRequest(), expected: "*"),
        .init(
            method: M.listGroups, request: ListGroupsRequest(pathPrefix: "/ops/"),
            expected: "arn:aws:iam::123456789012:group/ops/*"),
        .init(method: M.updateGroup, request: UpdateGroupRequest(groupName: "admins"), expected: admins),
        .init(method: M.deleteGroup, request: DeleteGroupRequest(groupName: "admins"), expected: admins),
        .init(
            method: M.addUserToGroup, request: AddUserToGroupRequest(groupName: "admins", userName: "alice"),
            expected: admins),
        .init(
            method: M.removeUserFromGroup, request: RemoveUserFromGroupRequest(groupName: "admins", userName: "alice"),
            expected: admins),
        .init(method: M.listGroupsForUser, request: ListGroupsForUserRequest(userName: "alice"), expected: alice),
        // Roles
        .init(
            method: M.createRole, request: CreateRoleRequest(path: "/service-role/", roleName: "Pusher"),
            expected: "arn:aws:iam::123456789012:role/service-role/Pusher"),
        .init(method: M.getRole, request: GetRoleRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.listRoles, request: ListRolesRequest(), expected: "*"),
        .init(method: M.updateRole, request: UpdateRoleRequest(roleName: "deployer"), expected: deployer),
        .init(
            method: M.updateRoleDescription, request: UpdateRoleDescriptionRequest(roleName: "deployer"),
            expected: deployer),
        .init(
            method: M.updateAssumeRolePolicy, request: UpdateAssumeRolePolicyRequest(roleName: "deployer"),
            expected: deployer),
        .init(method: M.deleteRole, request: DeleteRoleRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.tagRole, request: TagRoleRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.untagRole, request: UntagRoleRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.listRoleTags, request: ListRoleTagsRequest(roleName: "deployer"), expected: deployer),
        .init(
            method: M.putRolePermissionsBoundary, request: PutRolePermissionsBoundaryRequest(roleName: "deployer"),
            expected: deployer),
        .init(
            method: M.deleteRolePermissionsBoundary,
            request: DeleteRolePermissionsBoundaryRequest(roleName: "deployer"),
            expected: deployer),
        // Managed policies: created by path + name, otherwise the ARN as given (AWS-managed ones too).
        .init(
            method: M.createPolicy, request: CreatePolicyRequest(policyName: "ReadPhotos", path: "/team/"),
            expected: policy),
        .init(
            method: M.createPolicy, request: CreatePolicyRequest(policyName: "ReadPhotos"),
            expected: "arn:aws:iam::123456789012:policy/ReadPhotos"),
        .init(method: M.getPolicy, request: GetPolicyRequest(policyARN: awsPolicy), expected: awsPolicy),
        .init(method: M.listPolicies, request: ListPoliciesRequest(), expected: "*"),
        .init(
            method: M.listPolicies, request: ListPoliciesRequest(pathPrefix: "/team/"),
            expected: "arn:aws:iam::123456789012:policy/team/*"),
        .init(method: M.deletePolicy, request: DeletePolicyRequest(policyARN: policy), expected: policy),
        .init(method: M.tagPolicy, request: TagPolicyRequest(policyARN: policy), expected: policy),
        .init(method: M.untagPolicy, request: UntagPolicyRequest(policyARN: policy), expected: policy),
        .init(method: M.listPolicyTags, request: ListPolicyTagsRequest(policyARN: policy), expected: policy),
        .init(
            method: M.listEntitiesForPolicy, request: ListEntitiesForPolicyRequest(policyARN: policy), expected: policy),
        .init(method: M.createPolicyVersion, request: CreatePolicyVersionRequest(policyARN: policy), expected: policy),
        .init(method: M.getPolicyVersion, request: GetPolicyVersionRequest(policyARN: policy), expected: policy),
        .init(method: M.listPolicyVersions, request: ListPolicyVersionsRequest(policyARN: policy), expected: policy),
        .init(method: M.deletePolicyVersion, request: DeletePolicyVersionRequest(policyARN: policy), expected: policy),
        .init(
            method: M.setDefaultPolicyVersion, request: SetDefaultPolicyVersionRequest(policyARN: policy),
            expected: policy),
        // Inline policies: the principal that holds them.
        .init(method: M.putUserPolicy, request: PutUserPolicyRequest(userName: "alice"), expected: alice),
        .init(method: M.getUserPolicy, request: GetUserPolicyRequest(userName: "alice"), expected: alice),
        .init(method: M.listUserPolicies, request: ListUserPoliciesRequest(userName: "alice"), expected: alice),
        .init(method: M.deleteUserPolicy, request: DeleteUserPolicyRequest(userName: "alice"), expected: alice),
        .init(method: M.putGroupPolicy, request: PutGroupPolicyRequest(groupName: "admins"), expected: admins),
        .init(method: M.getGroupPolicy, request: GetGroupPolicyRequest(groupName: "admins"), expected: admins),
        .init(method: M.listGroupPolicies, request: ListGroupPoliciesRequest(groupName: "admins"), expected: admins),
        .init(method: M.deleteGroupPolicy, request: DeleteGroupPolicyRequest(groupName: "admins"), expected: admins),
        .init(method: M.putRolePolicy, request: PutRolePolicyRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.getRolePolicy, request: GetRolePolicyRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.listRolePolicies, request: ListRolePoliciesRequest(roleName: "deployer"), expected: deployer),
        .init(method: M.deleteRolePolicy, request: DeleteRolePolicyRequest(roleName: "deployer"), expected: deployer),
        // Attachments: the principal, whatever the policy.
        .init(
            method: M.attachUserPolicy, request: AttachUserPolicyRequest(userName: "alice", policyARN: awsPolicy),
            expected: alice),
        .init(
            method: M.detachUserPolicy, request: DetachUserPolicyRequest(userName: "alice", policyARN: policy),
            expected: alice),
        .init(
            method: M.listAttachedUserPolicies, request: ListAttachedUserPoliciesRequest(userName: "alice"),
            expected: alice),
        .init(
            method: M.attachGroupPolicy, request: AttachGroupPolicyRequest(groupName: "admins", policyARN: policy),
            expected: admins),
        .init(
            method: M.detachGroupPolicy, request: DetachGroupPolicyRequest(groupName: "admins", policyARN: policy),
            expected: admins),
        .init(
            method: M.listAttachedGroupPolicies, request: ListAttachedGroupPoliciesRequest(groupName: "admins"),
            expected: admins),
        .init(
            method: M.attachRolePolicy, request: AttachRolePolicyRequest(roleName: "deployer", policyARN: policy),
            expected: deployer),
        .init(
            method: M.detachRolePolicy, request: DetachRolePolicyRequest(roleName: "deployer", policyARN: policy),
            expected: deployer),
        .init(
            method: M.listAttachedRolePolicies, request: ListAttachedRolePoliciesRequest(roleName: "deployer"),
            expected: deployer),
        // Instance profiles: the profile with its real path; ListInstanceProfilesForRole the role.
        .init(
            method: M.createInstanceProfile,
            request: CreateInstanceProfileRequest(instanceProfileName: "Db", path: "/fleet/"),
            expected: "arn:aws:iam::123456789012:instance-profile/fleet/Db"),
        .init(
            method: M.createInstanceProfile, request: CreateInstanceProfileRequest(instanceProfileName: "Db"),
            expected: "arn:aws:iam::123456789012:instance-profile/Db"),
        .init(
            method: M.getInstanceProfile, request: GetInstanceProfileRequest(instanceProfileName: "WEB"), expected: web),
        .init(
            method: M.getInstanceProfile, request: GetInstanceProfileRequest(instanceProfileName: "Nope"),
            expected: "arn:aws:iam::123456789012:instance-profile/Nope"),
        .init(
            method: M.deleteInstanceProfile, request: DeleteInstanceProfileRequest(instanceProfileName: "web"),
            expected: web),
        .init(method: M.listInstanceProfiles, request: ListInstanceProfilesRequest(), expected: "*"),
        .init(
            method: M.listInstanceProfiles, request: ListInstanceProfilesRequest(pathPrefix: "/fleet/"),
            expected: "arn:aws:iam::123456789012:instance-profile/fleet/*"),
        .init(
            method: M.addRoleToInstanceProfile,
            request: AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "deployer"), expected: web),
        .init(
            method: M.removeRoleFromInstanceProfile,
            request: RemoveRoleFromInstanceProfileRequest(instanceProfileName: "web", roleName: "deployer"),
            expected: web),
        .init(
            method: M.listInstanceProfilesForRole, request: ListInstanceProfilesForRoleRequest(roleName: "deployer"),
            expected: deployer),
        .init(
            method: M.tagInstanceProfile, request: TagInstanceProfileRequest(instanceProfileName: "web"), expected: web),
        .init(
            method: M.untagInstanceProfile, request: UntagInstanceProfileRequest(instanceProfileName: "web"),
            expected: web),
        .init(
            method: M.listInstanceProfileTags, request: ListInstanceProfileTagsRequest(instanceProfileName: "web"),
            expected: web),
        // Access keys: the named user, else the caller.
        .init(method: M.createAccessKey, request: CreateAccessKeyRequest(userName: "alice"), expected: alice),
        .init(method: M.createAccessKey, request: CreateAccessKeyRequest(), expected: caller),
        .init(method: M.listAccessKeys, request: ListAccessKeysRequest(), expected: caller),
        .init(
            method: M.updateAccessKey, request: UpdateAccessKeyRequest(userName: "alice", accessKeyID: "AKIAX"),
            expected: alice),
        .init(method: M.deleteAccessKey, request: DeleteAccessKeyRequest(accessKeyID: "AKIAX"), expected: caller),
        .init(
            method: M.getAccessKeyLastUsed, request: GetAccessKeyLastUsedRequest(accessKeyID: "AKIAALICE00000000001"),
            expected: alice),
        .init(
            method: M.getAccessKeyLastUsed, request: GetAccessKeyLastUsedRequest(accessKeyID: "AKIANOSUCHKEY0000000"),
            expected: "arn:aws:iam::123456789012:user/*"),
        // Account-wide
        .init(method: M.getAccountSummary, request: GetAccountSummaryRequest(), expected: "*"),
        .init(
            method: M.getAccountAuthorizationDetails, request: GetAccountAuthorizationDetailsRequest(), expected: "*"),
        // STS
        .init(
            method: IAMMethods.STS.assumeRole,
            request: AssumeRoleRequest(roleARN: "arn:aws:iam::210987654321:role/CrossAccount", roleSessionName: "s"),
            expected: "arn:aws:iam::210987654321:role/CrossAccount"),
        .init(method: IAMMethods.STS.getCallerIdentity, request: GetCallerIdentityRequest(), expected: "*"),
    ]

    @Test("the resource of each request", arguments: ResourceNamingTests.cases)
    func resource(_ testCase: ResourceCase) {
        #expect(testCase.request.resource(in: Self.context) == testCase.expected)
    }

    @Test("the table covers every rpc of IAM and STS, and each action names its rpc")
    func coverage() {
        let covered = Set(Self.cases.map(\.method))
        for method in IAMMethods.IAM.all + IAMMethods.STS.all {
            #expect(covered.contains(method), "no resource case for \(method)")
        }
        for method in IAMMethods.IAM.all {
            #expect(method.action == "iam:\(method.method)")
        }
        #expect(IAMMethods.STS.assumeRole.action == "sts:AssumeRole")
        #expect(IAMMethods.Health.ping.action == nil)
        #expect(IAMMethods.Authorization.simulateCustomPolicy.action == "iam:SimulateCustomPolicy")
    }

    @Test("the authorizer finds every request of IAM and STS by its type, and no request of another service")
    func namingTable() {
        // Every rpc of IAM and STS has its own request type (the generator refuses a shared one).
        #expect(ResourceNamingTable.types.count == IAMMethods.IAM.all.count + IAMMethods.STS.all.count)
        #expect(ResourceNamingTable.naming(GetUserRequest(userName: "ALICE"))?.resource(in: Self.context) == Self.alice)
        #expect(ResourceNamingTable.naming(AssumeRoleRequest())?.resource(in: Self.context) != nil)
        #expect(ResourceNamingTable.naming(AuthorizeRequest()) == nil)
        #expect(ResourceNamingTable.naming(PingRequest()) == nil)
    }

    @Test("AddRoleToInstanceProfile also needs iam:PassRole on the role (its real path); other calls need nothing more")
    func additionalPermissions() {
        #expect(
            AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "DEPLOYER")
                .additionalPermissions(in: Self.context)
                == [RequiredPermission(action: "iam:PassRole", resource: Self.deployer)])
        let unknown = ResourceNamingContext(account: Self.account, callerARN: Self.caller)
        #expect(
            AddRoleToInstanceProfileRequest(instanceProfileName: "web", roleName: "app")
                .additionalPermissions(in: unknown)
                == [RequiredPermission(action: "iam:PassRole", resource: "arn:aws:iam::123456789012:role/app")])
        for testCase in Self.cases where testCase.method != M.addRoleToInstanceProfile {
            #expect(testCase.request.additionalPermissions(in: Self.context).isEmpty, "\(testCase.method)")
        }
    }

    @Test("without a directory entry a name gets the default path, and an empty path is AWS's \"/\"")
    func emptyDirectory() {
        let context = ResourceNamingContext(account: "123456789012", callerARN: "arn:aws:iam::123456789012:root")
        #expect(GetUserRequest(userName: "alice").resource(in: context) == "arn:aws:iam::123456789012:user/alice")
        #expect(GetUserRequest().resource(in: context) == "arn:aws:iam::123456789012:root")
        #expect(
            GetAccessKeyLastUsedRequest(accessKeyID: "AKIAALICE00000000001").resource(in: context)
                == "arn:aws:iam::123456789012:user/*")
    }

    @Test("a check's resource is an IAM ARN (whose tags it carries) only by the exact prefix arn:aws:iam::")
    func iamResourcesByPrefix() {
        #expect(RequestConditionKeys.isIAMARN("arn:aws:iam::123456789012:user/alice"))
        #expect(RequestConditionKeys.isIAMARN("arn:aws:iam::"))
        for other in [
            "", "*", "arn:aws:iam:", "arn:aws:s3:::bucket", "ARN:AWS:IAM::123456789012:user/alice", "arn:aws:iamx",
        ] {
            #expect(!RequestConditionKeys.isIAMARN(other), "\(other)")
        }
    }
}

import Foundation
import IAMDomain
import IAMRPC
import IAMWire
import Testing

@testable import IAMServer

@Suite("IAM service: access keys, the calling user, account reports")
struct IAMServiceAccessKeyTests {
    @Test("Access keys: secret once, 2 per user, Inactive, delete; DeleteUser conflicts", arguments: Backend.allCases)
    func accessKeys(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        _ = try await s.createUser(CreateUserRequest(userName: "dev"), context: h.root)
        let first = try #require(
            try await s.createAccessKey(CreateAccessKeyRequest(userName: "dev"), context: h.root).accessKey)
        #expect(first.accessKeyID.hasPrefix("AKIA") && first.accessKeyID.count == 20)
        #expect(first.secretAccessKey.count == 40)
        #expect(first.status == .active && first.userName == "dev")
        // The store keeps the verifier, never the secret.
        let stored = try await h.store.read { tx throws(IAMError) in
            try tx.accessKey(id: try AccessKeyID(first.accessKeyID))
        }
        #expect(stored?.verifier.storedKey.isEmpty == false)
        #expect(!String(describing: stored as Any).contains(first.secretAccessKey))

        let second = try #require(
            try await s.createAccessKey(CreateAccessKeyRequest(userName: "dev"), context: h.root).accessKey)
        #expect(second.secretAccessKey != first.secretAccessKey)
        await expectIAMError(.limitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2") {
            try await s.createAccessKey(CreateAccessKeyRequest(userName: "dev"), context: h.root)
        }
        let listed = try await s.listAccessKeys(ListAccessKeysRequest(userName: "dev"), context: h.root)
        #expect(listed.accessKeyMetadata.map(\.accessKeyID) == [first.accessKeyID, second.accessKeyID])
        _ = try await s.updateAccessKey(
            UpdateAccessKeyRequest(userName: "dev", accessKeyID: first.accessKeyID, status: .inactive), context: h.root)
        let after = try await s.listAccessKeys(ListAccessKeysRequest(userName: "dev"), context: h.root)
        #expect(after.accessKeyMetadata.map(\.status) == [.inactive, .active])
        await expectIAMError(.validationError, "status") {
            try await s.updateAccessKey(
                UpdateAccessKeyRequest(userName: "dev", accessKeyID: first.accessKeyID), context: h.root)
        }
        let lastUsed = try await s.getAccessKeyLastUsed(
            GetAccessKeyLastUsedRequest(accessKeyID: first.accessKeyID), context: h.root)
        #expect(lastUsed.userName == "dev" && lastUsed.accessKeyLastUsed?.serviceName == "N/A")
        #expect(lastUsed.accessKeyLastUsed?.lastUsedDate == nil)

        await expectIAMError(.deleteConflict, "must delete access keys first") {
            try await s.deleteUser(DeleteUserRequest(userName: "dev"), context: h.root)
        }
        _ = try await s.createUser(CreateUserRequest(userName: "other"), context: h.root)
        await expectIAMError(.noSuchEntity, "The Access Key with id \(first.accessKeyID) cannot be found.") {
            try await s.deleteAccessKey(
                DeleteAccessKeyRequest(userName: "other", accessKeyID: first.accessKeyID), context: h.root)
        }
        for key in [first, second] {
            _ = try await s.deleteAccessKey(
                DeleteAccessKeyRequest(userName: "dev", accessKeyID: key.accessKeyID), context: h.root)
        }
        await expectIAMError(.noSuchEntity) {
            try await s.getAccessKeyLastUsed(
                GetAccessKeyLastUsedRequest(accessKeyID: first.accessKeyID), context: h.root)
        }
        _ = try await s.deleteUser(DeleteUserRequest(userName: "dev"), context: h.root)
    }

    @Test(
        "Calls without UserName act on the calling user; the root key is the account root", arguments: Backend.allCases)
    func callerDefaults(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        _ = try await s.createUser(CreateUserRequest(path: "/team/", userName: "carol"), context: h.root)
        let key = try #require(
            try await s.createAccessKey(CreateAccessKeyRequest(userName: "carol"), context: h.root).accessKey)
        let carol = h.context("GetUser", key: key.accessKeyID)

        #expect(
            try await s.getUser(GetUserRequest(), context: carol).user?.arn
                == "arn:aws:iam::123456789012:user/team/carol")
        let second = try await s.createAccessKey(CreateAccessKeyRequest(), context: carol)
        #expect(second.accessKey?.userName == "carol")
        let own = try await s.listAccessKeys(ListAccessKeysRequest(), context: carol)
        #expect(own.accessKeyMetadata.count == 2)
        _ = try await s.updateAccessKey(
            UpdateAccessKeyRequest(accessKeyID: key.accessKeyID, status: .inactive), context: carol)
        _ = try await s.deleteAccessKey(
            DeleteAccessKeyRequest(accessKeyID: second.accessKey?.accessKeyID ?? ""), context: carol)

        let root = try #require(try await s.getUser(GetUserRequest(), context: h.root).user)
        #expect(root.arn == "arn:aws:iam::123456789012:root" && root.userID == "123456789012" && root.userName.isEmpty)
        await expectIAMError(.validationError, "Must specify userName when calling with non-User credentials") {
            try await s.listAccessKeys(ListAccessKeysRequest(), context: h.root)
        }
        await expectIAMError(.validationError, "Must specify userName") {
            try await s.createAccessKey(CreateAccessKeyRequest(), context: h.root)
        }
    }

    @Test(
        "GetAccountSummary counts; GetAccountAuthorizationDetails pages the whole account", arguments: Backend.allCases)
    func accountReports(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        _ = try await s.createUser(CreateUserRequest(userName: "u1"), context: h.root)
        _ = try await s.createUser(CreateUserRequest(userName: "u2"), context: h.root)
        _ = try await s.createGroup(CreateGroupRequest(groupName: "g"), context: h.root)
        _ = try await s.addUserToGroup(AddUserToGroupRequest(groupName: "g", userName: "u1"), context: h.root)
        _ = try await s.createRole(
            CreateRoleRequest(roleName: "r", assumeRolePolicyDocument: Docs.apiGatewayTrust), context: h.root)
        let policy = try #require(
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "p", policyDocument: Docs.apiGateway), context: h.root
            ).policy)
        _ = try await s.createPolicyVersion(
            CreatePolicyVersionRequest(policyARN: policy.arn, policyDocument: Docs.allow("s3:*")), context: h.root)
        _ = try await s.attachUserPolicy(
            AttachUserPolicyRequest(userName: "u1", policyARN: policy.arn), context: h.root)
        _ = try await s.attachRolePolicy(
            AttachRolePolicyRequest(roleName: "r", policyARN: Docs.pushToCloudWatch), context: h.root)
        _ = try await s.putUserPolicy(
            PutUserPolicyRequest(userName: "u1", policyName: "inline", policyDocument: Docs.allow("s3:*")),
            context: h.root)

        let summary = try await s.getAccountSummary(GetAccountSummaryRequest(), context: h.root).summaryMap
        #expect(summary["Users"] == 2 && summary["Groups"] == 1 && summary["Roles"] == 1 && summary["Policies"] == 1)
        #expect(summary["UsersQuota"] == 5000 && summary["AccessKeysPerUserQuota"] == 2)
        #expect(summary["PolicyVersionsInUse"] == 2 && summary["VersionsPerPolicyQuota"] == 5)

        var users: [UserDetail] = []
        var groups: [GroupDetail] = []
        var roles: [RoleDetail] = []
        var policies: [ManagedPolicyDetail] = []
        var marker = ""
        var pages = 0
        repeat {
            let page = try await s.getAccountAuthorizationDetails(
                GetAccountAuthorizationDetailsRequest(marker: marker, maxItems: 2), context: h.root)
            #expect(
                page.userDetailList.count + page.groupDetailList.count + page.roleDetailList.count
                    + page.policies.count <= 2)
            users += page.userDetailList
            groups += page.groupDetailList
            roles += page.roleDetailList
            policies += page.policies
            marker = page.marker
            pages += 1
        } while !marker.isEmpty && pages < 10
        #expect(pages == 3)
        #expect(users.map { $0.user?.userName } == ["u1", "u2"])
        #expect(users[0].groupList == ["g"] && users[0].userPolicyList["inline"] == Docs.allow("s3:*"))
        #expect(users[0].attachedManagedPolicies.map(\.policyName) == ["p"])
        #expect(groups.map { $0.group?.groupName } == ["g"])
        #expect(roles.first?.attachedManagedPolicies.map(\.policyARN) == [Docs.pushToCloudWatch])
        // The customer policy with both versions, and the one AWS managed policy in use.
        #expect(Set(policies.compactMap { $0.policy?.policyName }) == ["p", "AmazonAPIGatewayPushToCloudWatchLogs"])
        #expect(policies.first { $0.policy?.policyName == "p" }?.policyVersionList.map(\.versionID) == ["v2", "v1"])

        let onlyRoles = try await s.getAccountAuthorizationDetails(
            GetAccountAuthorizationDetailsRequest(filter: [.role]), context: h.root)
        #expect(onlyRoles.roleDetailList.count == 1 && onlyRoles.userDetailList.isEmpty && onlyRoles.policies.isEmpty)
    }

    @Test("IAMError crosses the wire with WIRE.md's status, AWS's code, and no internals for ServiceFailure")
    func errorMapping() {
        let pairs: [(IAMError.Code, StatusCode)] = [
            (.noSuchEntity, .notFound), (.entityAlreadyExists, .alreadyExists), (.limitExceeded, .resourceExhausted),
            (.malformedPolicyDocument, .invalidArgument), (.invalidInput, .invalidArgument),
            (.validationError, .invalidArgument), (.deleteConflict, .failedPrecondition),
            (.accessDenied, .permissionDenied), (.concurrentModification, .aborted), (.serviceFailure, .internalError),
            (.unmodifiableEntity, .failedPrecondition), (.policyNotAttachable, .failedPrecondition),
        ]
        for (code, status) in pairs {
            let wire = IAMError(code: code, message: "m").rpcError
            #expect(wire.code == status, "\(code)")
            #expect(wire.iamErrorCode == code.awsCode)
        }
        let failure = IAMError.serviceFailure("SQLite error 11: database disk image is malformed").rpcError
        #expect(!failure.message.contains("SQLite"))
        #expect(IAMError.noSuchEntity(.user, name: "a").rpcError.message == "The user with name a cannot be found.")
    }
}

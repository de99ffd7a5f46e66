import Foundation
import IAMDomain
import IAMRPC
import IAMWire
import Testing

@testable import IAMServer

@Suite("IAM service: roles, managed policies, versions, attachments, inline policies")
struct IAMServicePolicyTests {
    @Test("Roles: trust policy, UpdateRole, UpdateAssumeRolePolicy, invalid principals", arguments: Backend.allCases)
    func roles(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let created = try await s.createRole(
            CreateRoleRequest(
                path: "/service-role/", roleName: "ApiGatewayLogs", assumeRolePolicyDocument: Docs.apiGatewayTrust,
                description: "API Gateway pushes logs"),
            context: h.root)
        let role = try #require(created.role)
        #expect(role.arn == "arn:aws:iam::123456789012:role/service-role/ApiGatewayLogs")
        #expect(role.roleID.hasPrefix("AROA"))
        #expect(role.maxSessionDuration == 3600)
        #expect(role.assumeRolePolicyDocument == Docs.apiGatewayTrust)
        await expectIAMError(.entityAlreadyExists, "Role with name apigatewaylogs already exists.") {
            try await s.createRole(
                CreateRoleRequest(roleName: "apigatewaylogs", assumeRolePolicyDocument: Docs.apiGatewayTrust),
                context: h.root)
        }
        await expectIAMError(.malformedPolicyDocument) {
            try await s.createRole(
                CreateRoleRequest(roleName: "bad", assumeRolePolicyDocument: Docs.allow("s3:*")), context: h.root)
        }
        await expectIAMError(
            .malformedPolicyDocument, #"Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/nobody""#
        ) {
            try await s.createRole(
                CreateRoleRequest(
                    roleName: "t", assumeRolePolicyDocument: Docs.trust(aws: "arn:aws:iam::123456789012:user/nobody")),
                context: h.root)
        }
        await expectIAMError(.validationError, "at 'maxSessionDuration'") {
            try await s.createRole(
                CreateRoleRequest(
                    roleName: "t", assumeRolePolicyDocument: Docs.apiGatewayTrust, maxSessionDuration: 60),
                context: h.root)
        }
        // Principals that exist, the account root and other accounts are accepted.
        _ = try await s.createUser(CreateUserRequest(userName: "ops"), context: h.root)
        for principal in [
            "arn:aws:iam::123456789012:user/ops", "arn:aws:iam::123456789012:root", "123456789012",
            "arn:aws:iam::210987654321:user/elsewhere", "arn:aws:iam::123456789012:role/service-role/ApiGatewayLogs",
        ] {
            _ = try await s.updateAssumeRolePolicy(
                UpdateAssumeRolePolicyRequest(roleName: "ApiGatewayLogs", policyDocument: Docs.trust(aws: principal)),
                context: h.root)
        }
        await expectIAMError(.malformedPolicyDocument, "Invalid principal in policy") {
            try await s.updateAssumeRolePolicy(
                UpdateAssumeRolePolicyRequest(
                    roleName: "ApiGatewayLogs", policyDocument: Docs.trust(aws: "arn:aws:iam::123456789012:role/ghost")),
                context: h.root)
        }
        let updated = try await s.updateRole(
            UpdateRoleRequest(roleName: "ApiGatewayLogs", description: "logs", maxSessionDuration: 7200),
            context: h.root)
        #expect(updated.revision > created.revision)
        var got = try #require(try await s.getRole(GetRoleRequest(roleName: "apigatewaylogs"), context: h.root).role)
        #expect(got.description == "logs" && got.maxSessionDuration == 7200)
        #expect(
            got.assumeRolePolicyDocument
                == Docs.trust(aws: "arn:aws:iam::123456789012:role/service-role/ApiGatewayLogs"))
        await expectIAMError(.validationError, "have value between 3600 and 43200") {
            try await s.updateRole(
                UpdateRoleRequest(roleName: "ApiGatewayLogs", maxSessionDuration: 43201), context: h.root)
        }
        let described = try await s.updateRoleDescription(
            UpdateRoleDescriptionRequest(roleName: "ApiGatewayLogs", description: "again"), context: h.root)
        #expect(described.role?.description == "again" && described.role?.maxSessionDuration == 7200)
        got = try #require(
            try await s.listRoles(ListRolesRequest(pathPrefix: "/service-role/"), context: h.root).roles.first)
        #expect(got.roleName == "ApiGatewayLogs")
        #expect(try await s.listRoles(ListRolesRequest(pathPrefix: "/other/"), context: h.root).roles.isEmpty)

        _ = try await s.attachRolePolicy(
            AttachRolePolicyRequest(roleName: "ApiGatewayLogs", policyARN: Docs.pushToCloudWatch), context: h.root)
        await expectIAMError(.deleteConflict, "must detach all policies first") {
            try await s.deleteRole(DeleteRoleRequest(roleName: "ApiGatewayLogs"), context: h.root)
        }
        _ = try await s.detachRolePolicy(
            DetachRolePolicyRequest(roleName: "ApiGatewayLogs", policyARN: Docs.pushToCloudWatch), context: h.root)
        _ = try await s.deleteRole(DeleteRoleRequest(roleName: "ApiGatewayLogs"), context: h.root)
        await expectIAMError(.noSuchEntity, "The role with name ApiGatewayLogs cannot be found.") {
            try await s.getRole(GetRoleRequest(roleName: "ApiGatewayLogs"), context: h.root)
        }
    }

    @Test(
        "Managed policies: versions (5 at most, default kept), attach counts, delete only when detached",
        arguments: Backend.allCases)
    func managedPolicies(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let created = try await s.createPolicy(
            CreatePolicyRequest(
                policyName: "ApiAccess", path: "/api/", policyDocument: Docs.apiGateway, description: "d"),
            context: h.root)
        let policy = try #require(created.policy)
        let arn = policy.arn
        #expect(arn == "arn:aws:iam::123456789012:policy/api/ApiAccess")
        #expect(policy.policyID.hasPrefix("ANPA") && policy.defaultVersionID == "v1" && policy.isAttachable)
        await expectIAMError(.entityAlreadyExists, "A policy called apiaccess already exists.") {
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "apiaccess", policyDocument: Docs.apiGateway), context: h.root)
        }
        await expectIAMError(.malformedPolicyDocument) {
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "bad", policyDocument: #"{"Version":"2012-10-17"}"#), context: h.root)
        }
        await expectIAMError(.malformedPolicyDocument) {
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "bad", policyDocument: Docs.apiGatewayTrust), context: h.root)
        }
        var got = try await s.getPolicy(GetPolicyRequest(policyARN: arn), context: h.root)
        #expect(got.policy?.description == "d")

        for index in 2...5 {
            let version = try await s.createPolicyVersion(
                CreatePolicyVersionRequest(
                    policyARN: arn, policyDocument: Docs.allow("s3:Get\(index)"), setAsDefault: index == 3),
                context: h.root)
            #expect(version.policyVersion?.versionID == "v\(index)")
            #expect(version.policyVersion?.isDefaultVersion == (index == 3))
        }
        await expectIAMError(.limitExceeded, "A managed policy can have up to 5 versions. Before you create") {
            try await s.createPolicyVersion(
                CreatePolicyVersionRequest(policyARN: arn, policyDocument: Docs.allow("s3:X")), context: h.root)
        }
        got = try await s.getPolicy(GetPolicyRequest(policyARN: arn), context: h.root)
        #expect(got.policy?.defaultVersionID == "v3")
        let versions = try await s.listPolicyVersions(ListPolicyVersionsRequest(policyARN: arn), context: h.root)
        #expect(versions.versions.map(\.versionID) == ["v5", "v4", "v3", "v2", "v1"])
        #expect(versions.versions.allSatisfy { $0.document.isEmpty })
        let v3 = try await s.getPolicyVersion(GetPolicyVersionRequest(policyARN: arn, versionID: "v3"), context: h.root)
        #expect(v3.policyVersion?.document == Docs.allow("s3:Get3") && v3.policyVersion?.isDefaultVersion == true)
        await expectIAMError(.deleteConflict, "Cannot delete the default version of a policy.") {
            try await s.deletePolicyVersion(
                DeletePolicyVersionRequest(policyARN: arn, versionID: "v3"), context: h.root)
        }
        await expectIAMError(.noSuchEntity) {
            try await s.getPolicyVersion(GetPolicyVersionRequest(policyARN: arn, versionID: "v9"), context: h.root)
        }
        await expectIAMError(.validationError, "versionId") {
            try await s.getPolicyVersion(GetPolicyVersionRequest(policyARN: arn, versionID: "x1"), context: h.root)
        }
        _ = try await s.setDefaultPolicyVersion(
            SetDefaultPolicyVersionRequest(policyARN: arn, versionID: "v1"), context: h.root)
        for id in ["v2", "v3", "v4"] {
            _ = try await s.deletePolicyVersion(
                DeletePolicyVersionRequest(policyARN: arn, versionID: id), context: h.root)
        }
        // Ids are never reused after deletions.
        let next = try await s.createPolicyVersion(
            CreatePolicyVersionRequest(policyARN: arn, policyDocument: Docs.allow("s3:Y")), context: h.root)
        #expect(next.policyVersion?.versionID == "v6")

        // Attachments: counts, ListEntitiesForPolicy, the 10-per-entity quota, delete conflicts.
        _ = try await s.createUser(CreateUserRequest(userName: "u"), context: h.root)
        _ = try await s.createGroup(CreateGroupRequest(groupName: "g"), context: h.root)
        _ = try await s.createRole(
            CreateRoleRequest(roleName: "r", assumeRolePolicyDocument: Docs.apiGatewayTrust), context: h.root)
        _ = try await s.attachUserPolicy(AttachUserPolicyRequest(userName: "u", policyARN: arn), context: h.root)
        _ = try await s.attachUserPolicy(AttachUserPolicyRequest(userName: "U", policyARN: arn), context: h.root)
        _ = try await s.attachGroupPolicy(AttachGroupPolicyRequest(groupName: "g", policyARN: arn), context: h.root)
        _ = try await s.attachRolePolicy(AttachRolePolicyRequest(roleName: "r", policyARN: arn), context: h.root)
        got = try await s.getPolicy(GetPolicyRequest(policyARN: arn), context: h.root)
        #expect(got.policy?.attachmentCount == 3)
        let entities = try await s.listEntitiesForPolicy(ListEntitiesForPolicyRequest(policyARN: arn), context: h.root)
        #expect(entities.policyUsers.map(\.userName) == ["u"])
        #expect(entities.policyGroups.map(\.groupName) == ["g"])
        #expect(entities.policyRoles.map(\.roleName) == ["r"])
        let onlyRoles = try await s.listEntitiesForPolicy(
            ListEntitiesForPolicyRequest(policyARN: arn, entityFilter: .role), context: h.root)
        #expect(onlyRoles.policyRoles.count == 1 && onlyRoles.policyUsers.isEmpty && onlyRoles.policyGroups.isEmpty)
        let firstPage = try await s.listEntitiesForPolicy(
            ListEntitiesForPolicyRequest(policyARN: arn, maxItems: 2), context: h.root)
        #expect(firstPage.isTruncated && firstPage.policyGroups.count + firstPage.policyUsers.count == 2)
        let lastPage = try await s.listEntitiesForPolicy(
            ListEntitiesForPolicyRequest(policyARN: arn, marker: firstPage.marker, maxItems: 2), context: h.root)
        #expect(!lastPage.isTruncated && lastPage.policyRoles.map(\.roleName) == ["r"])
        let attached = try await s.listAttachedUserPolicies(
            ListAttachedUserPoliciesRequest(userName: "u"), context: h.root)
        #expect(attached.attachedPolicies.map(\.policyName) == ["ApiAccess"])
        #expect(
            try await s.listAttachedUserPolicies(
                ListAttachedUserPoliciesRequest(userName: "u", pathPrefix: "/other/"), context: h.root
            ).attachedPolicies.isEmpty)
        #expect(
            try await s.listAttachedGroupPolicies(ListAttachedGroupPoliciesRequest(groupName: "g"), context: h.root)
                .attachedPolicies.map(\.policyARN) == [arn])
        #expect(
            try await s.listAttachedRolePolicies(ListAttachedRolePoliciesRequest(roleName: "r"), context: h.root)
                .attachedPolicies.map(\.policyARN) == [arn])
        await expectIAMError(.deleteConflict, "Cannot delete a policy attached to entities.") {
            try await s.deletePolicy(DeletePolicyRequest(policyARN: arn), context: h.root)
        }
        await expectIAMError(.deleteConflict, "must detach all policies first") {
            try await s.deleteUser(DeleteUserRequest(userName: "u"), context: h.root)
        }
        await expectIAMError(.deleteConflict, "must detach all policies first") {
            try await s.deleteGroup(DeleteGroupRequest(groupName: "g"), context: h.root)
        }
        await expectIAMError(.noSuchEntity, "does not exist or is not attachable") {
            try await s.attachUserPolicy(
                AttachUserPolicyRequest(userName: "u", policyARN: "arn:aws:iam::123456789012:policy/missing"),
                context: h.root)
        }
        for index in 1...9 {
            let extra = try #require(
                try await s.createPolicy(
                    CreatePolicyRequest(policyName: "p\(index)", policyDocument: Docs.allow("s3:*")), context: h.root
                )
                .policy)
            _ = try await s.attachUserPolicy(
                AttachUserPolicyRequest(userName: "u", policyARN: extra.arn), context: h.root)
        }
        await expectIAMError(.limitExceeded, "PoliciesPerUser: 10") {
            try await s.attachUserPolicy(
                AttachUserPolicyRequest(userName: "u", policyARN: Docs.administrator), context: h.root)
        }
        _ = try await s.detachUserPolicy(DetachUserPolicyRequest(userName: "u", policyARN: arn), context: h.root)
        await expectIAMError(.noSuchEntity, "was not found") {
            try await s.detachUserPolicy(DetachUserPolicyRequest(userName: "u", policyARN: arn), context: h.root)
        }
        _ = try await s.detachGroupPolicy(DetachGroupPolicyRequest(groupName: "g", policyARN: arn), context: h.root)
        _ = try await s.detachRolePolicy(DetachRolePolicyRequest(roleName: "r", policyARN: arn), context: h.root)
        await expectIAMError(.deleteConflict, "more than one version") {
            try await s.deletePolicy(DeletePolicyRequest(policyARN: arn), context: h.root)
        }
        _ = try await s.deletePolicyVersion(
            DeletePolicyVersionRequest(policyARN: arn, versionID: "v6"), context: h.root)
        _ = try await s.deletePolicyVersion(
            DeletePolicyVersionRequest(policyARN: arn, versionID: "v5"), context: h.root)
        _ = try await s.deletePolicy(DeletePolicyRequest(policyARN: arn), context: h.root)
        await expectIAMError(.noSuchEntity) { try await s.getPolicy(GetPolicyRequest(policyARN: arn), context: h.root) }
    }

    @Test("AWS managed policies: served read-only, listed by scope, attachable", arguments: Backend.allCases)
    func awsManaged(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let push = try #require(
            try await s.getPolicy(GetPolicyRequest(policyARN: Docs.pushToCloudWatch), context: h.root).policy)
        #expect(push.path == "/service-role/" && push.policyName == "AmazonAPIGatewayPushToCloudWatchLogs")
        #expect(push.defaultVersionID == "v1" && push.isAttachable && push.policyID.hasPrefix("ANPA"))
        let document = try await s.getPolicyVersion(
            GetPolicyVersionRequest(policyARN: Docs.pushToCloudWatch, versionID: "v1"), context: h.root)
        #expect(document.policyVersion?.document.contains("logs:PutLogEvents") == true)
        let invoke = try await s.getPolicy(
            GetPolicyRequest(policyARN: "arn:aws:iam::aws:policy/AmazonAPIGatewayInvokeFullAccess"), context: h.root)
        #expect(invoke.policy?.defaultVersionID == "v2")

        _ = try await s.createPolicy(
            CreatePolicyRequest(policyName: "Mine", policyDocument: Docs.allow("s3:*")), context: h.root)
        let awsOnly = try await s.listPolicies(ListPoliciesRequest(scope: .aws), context: h.root)
        #expect(
            Set(awsOnly.policies.map(\.policyName)) == [
                "AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess", "IAMReadOnlyAccess",
                "AmazonAPIGatewayAdministrator",
                "AmazonAPIGatewayInvokeFullAccess", "AmazonAPIGatewayPushToCloudWatchLogs",
            ])
        #expect(awsOnly.policies.allSatisfy { $0.description.isEmpty })
        let local = try await s.listPolicies(ListPoliciesRequest(scope: .local), context: h.root)
        #expect(local.policies.map(\.policyName) == ["Mine"])
        let all = try await s.listPolicies(ListPoliciesRequest(), context: h.root)
        #expect(all.policies.count == 8)
        #expect(
            all.policies.map(\.policyName)
                == all.policies.map(\.policyName).sorted { $0.lowercased() < $1.lowercased() })
        let servicePath = try await s.listPolicies(ListPoliciesRequest(pathPrefix: "/service-role/"), context: h.root)
        #expect(servicePath.policies.map(\.policyName) == ["AmazonAPIGatewayPushToCloudWatchLogs"])
        var pagedNames: [String] = []
        var marker = ""
        repeat {
            let page = try await s.listPolicies(ListPoliciesRequest(marker: marker, maxItems: 3), context: h.root)
            pagedNames += page.policies.map(\.policyName)
            marker = page.marker
        } while !marker.isEmpty
        #expect(pagedNames == all.policies.map(\.policyName))

        _ = try await s.createRole(
            CreateRoleRequest(roleName: "r", assumeRolePolicyDocument: Docs.apiGatewayTrust), context: h.root)
        _ = try await s.attachRolePolicy(
            AttachRolePolicyRequest(roleName: "r", policyARN: Docs.pushToCloudWatch), context: h.root)
        let attached = try await s.listPolicies(ListPoliciesRequest(onlyAttached: true), context: h.root)
        #expect(attached.policies.map(\.policyName) == ["AmazonAPIGatewayPushToCloudWatchLogs"])
        #expect(attached.policies.first?.attachmentCount == 1)
        let byRole = try await s.listEntitiesForPolicy(
            ListEntitiesForPolicyRequest(policyARN: Docs.pushToCloudWatch), context: h.root)
        #expect(byRole.policyRoles.map(\.roleName) == ["r"])

        await expectIAMError(
            .accessDenied,
            "is not authorized to perform: iam:CreatePolicyVersion on resource: policy \(Docs.administrator)"
        ) {
            try await s.createPolicyVersion(
                CreatePolicyVersionRequest(policyARN: Docs.administrator, policyDocument: Docs.allow("s3:*")),
                context: h.root)
        }
        await expectIAMError(
            .accessDenied, "User: arn:aws:iam::123456789012:root is not authorized to perform: iam:DeletePolicy"
        ) {
            try await s.deletePolicy(DeletePolicyRequest(policyARN: Docs.administrator), context: h.root)
        }
        await expectIAMError(.accessDenied) {
            try await s.setDefaultPolicyVersion(
                SetDefaultPolicyVersionRequest(policyARN: Docs.administrator, versionID: "v1"), context: h.root)
        }
        await expectIAMError(.accessDenied) {
            try await s.deletePolicyVersion(
                DeletePolicyVersionRequest(policyARN: Docs.administrator, versionID: "v1"), context: h.root)
        }
        await expectIAMError(.accessDenied) {
            try await s.tagPolicy(
                TagPolicyRequest(policyARN: Docs.administrator, tags: [.init(key: "a", value: "b")]), context: h.root)
        }
        await expectIAMError(.noSuchEntity) {
            try await s.getPolicy(
                GetPolicyRequest(policyARN: "arn:aws:iam::aws:policy/NoSuchManagedPolicy"), context: h.root)
        }
    }

    @Test("PolicyNotAttachable for a policy that is not attachable", arguments: Backend.allCases)
    func notAttachable(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let name = try EntityName("ServiceLinkedOnly", kind: .policy)
        let policy = ManagedPolicy(
            id: .generate(.managedPolicy), name: name, path: .root,
            arn: .policy(account: ServiceHarness.account, name: name), createDate: Date(),
            document: Docs.allow("s3:*"), isAttachable: false)
        _ = try await h.store.write { tx throws(IAMError) in try tx.insert(policy) }
        _ = try await h.service.createUser(CreateUserRequest(userName: "u"), context: h.root)
        await expectIAMError(.policyNotAttachable) {
            try await h.service.attachUserPolicy(
                AttachUserPolicyRequest(userName: "u", policyARN: policy.arn.description), context: h.root)
        }
        await expectIAMError(.policyNotAttachable) {
            try await h.service.putUserPermissionsBoundary(
                PutUserPermissionsBoundaryRequest(userName: "u", permissionsBoundary: policy.arn.description),
                context: h.root)
        }
    }

    @Test("Inline policies: put replaces, aggregate size quotas per kind", arguments: Backend.allCases)
    func inlinePolicies(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        _ = try await s.createUser(CreateUserRequest(userName: "u"), context: h.root)
        _ = try await s.createGroup(CreateGroupRequest(groupName: "g"), context: h.root)
        _ = try await s.createRole(
            CreateRoleRequest(roleName: "r", assumeRolePolicyDocument: Docs.apiGatewayTrust), context: h.root)

        _ = try await s.putUserPolicy(
            PutUserPolicyRequest(userName: "u", policyName: "b", policyDocument: Docs.allow("s3:*")), context: h.root)
        _ = try await s.putUserPolicy(
            PutUserPolicyRequest(userName: "u", policyName: "a", policyDocument: Docs.allow("s3:*")), context: h.root)
        _ = try await s.putUserPolicy(
            PutUserPolicyRequest(userName: "u", policyName: "a", policyDocument: Docs.allow("ec2:*")), context: h.root)
        let got = try await s.getUserPolicy(GetUserPolicyRequest(userName: "U", policyName: "a"), context: h.root)
        #expect(got.userName == "u" && got.policyName == "a" && got.policyDocument == Docs.allow("ec2:*"))
        let names = try await s.listUserPolicies(ListUserPoliciesRequest(userName: "u"), context: h.root)
        #expect(names.policyNames == ["a", "b"])
        let paged = try await s.listUserPolicies(ListUserPoliciesRequest(userName: "u", maxItems: 1), context: h.root)
        #expect(paged.policyNames == ["a"] && paged.isTruncated)
        await expectIAMError(.deleteConflict, "must delete policies first") {
            try await s.deleteUser(DeleteUserRequest(userName: "u"), context: h.root)
        }
        await expectIAMError(.malformedPolicyDocument) {
            try await s.putUserPolicy(
                PutUserPolicyRequest(userName: "u", policyName: "c", policyDocument: "{"), context: h.root)
        }
        await expectIAMError(.noSuchEntity, "The user policy with name zz cannot be found.") {
            try await s.getUserPolicy(GetUserPolicyRequest(userName: "u", policyName: "zz"), context: h.root)
        }

        // About 1,150 counted characters each: one fits a user, four a group, eight a role.
        let big = Docs.allow("s3:" + String(repeating: "x", count: 1_050))
        _ = try await s.putUserPolicy(
            PutUserPolicyRequest(userName: "u", policyName: "a", policyDocument: big), context: h.root)
        await expectIAMError(.limitExceeded, "Maximum policy size of 2048 bytes exceeded for user u") {
            try await s.putUserPolicy(
                PutUserPolicyRequest(userName: "u", policyName: "b", policyDocument: big), context: h.root)
        }
        // Replacing a policy counts only the new document.
        _ = try await s.putUserPolicy(
            PutUserPolicyRequest(userName: "u", policyName: "a", policyDocument: big), context: h.root)
        for name in ["a", "b"] {
            _ = try await s.deleteUserPolicy(DeleteUserPolicyRequest(userName: "u", policyName: name), context: h.root)
        }
        await expectIAMError(.noSuchEntity) {
            try await s.deleteUserPolicy(DeleteUserPolicyRequest(userName: "u", policyName: "a"), context: h.root)
        }
        #expect(
            try await s.listUserPolicies(ListUserPoliciesRequest(userName: "u"), context: h.root).policyNames.isEmpty)

        for name in ["a", "b", "c", "d"] {
            _ = try await s.putGroupPolicy(
                PutGroupPolicyRequest(groupName: "g", policyName: name, policyDocument: big), context: h.root)
        }
        await expectIAMError(.limitExceeded, "Maximum policy size of 5120 bytes exceeded for group g") {
            try await s.putGroupPolicy(
                PutGroupPolicyRequest(groupName: "g", policyName: "e", policyDocument: big), context: h.root)
        }
        #expect(
            try await s.getGroupPolicy(GetGroupPolicyRequest(groupName: "g", policyName: "c"), context: h.root)
                .policyDocument == big)
        #expect(
            try await s.listGroupPolicies(ListGroupPoliciesRequest(groupName: "g"), context: h.root).policyNames.count
                == 4)
        _ = try await s.deleteGroupPolicy(DeleteGroupPolicyRequest(groupName: "g", policyName: "a"), context: h.root)
        await expectIAMError(.deleteConflict, "must delete policies first") {
            try await s.deleteGroup(DeleteGroupRequest(groupName: "g"), context: h.root)
        }

        for index in 1...8 {
            _ = try await s.putRolePolicy(
                PutRolePolicyRequest(roleName: "r", policyName: "p\(index)", policyDocument: big), context: h.root)
        }
        await expectIAMError(.limitExceeded, "Maximum policy size of 10240 bytes exceeded for role r") {
            try await s.putRolePolicy(
                PutRolePolicyRequest(roleName: "r", policyName: "p9", policyDocument: big), context: h.root)
        }
        #expect(
            try await s.getRolePolicy(GetRolePolicyRequest(roleName: "r", policyName: "p1"), context: h.root).roleName
                == "r")
        #expect(
            try await s.listRolePolicies(ListRolePoliciesRequest(roleName: "r"), context: h.root).policyNames.count == 8
        )
        _ = try await s.deleteRolePolicy(DeleteRolePolicyRequest(roleName: "r", policyName: "p1"), context: h.root)
        await expectIAMError(.deleteConflict, "must delete policies first") {
            try await s.deleteRole(DeleteRoleRequest(roleName: "r"), context: h.root)
        }
    }

    @Test("UnmodifiableEntity for a service-linked role; its path is reserved", arguments: Backend.allCases)
    func serviceLinkedRole(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let name = try EntityName("AWSServiceRoleForSupport", kind: .role)
        let path = try IAMPath("/aws-service-role/support.amazonaws.com/")
        let role = Role(
            id: .generate(.role), name: name, path: path,
            arn: .role(account: ServiceHarness.account, path: path, name: name),
            createDate: Date(), assumeRolePolicyDocument: Docs.apiGatewayTrust)
        _ = try await h.store.write { tx throws(IAMError) in try tx.insert(role) }
        let protected = "Cannot perform the operation on the protected role 'AWSServiceRoleForSupport'"
        await expectIAMError(.unmodifiableEntity, protected) {
            try await s.deleteRole(DeleteRoleRequest(roleName: "AWSServiceRoleForSupport"), context: h.root)
        }
        await expectIAMError(.unmodifiableEntity, protected) {
            try await s.attachRolePolicy(
                AttachRolePolicyRequest(roleName: "AWSServiceRoleForSupport", policyARN: Docs.administrator),
                context: h.root)
        }
        await expectIAMError(.unmodifiableEntity, protected) {
            try await s.putRolePolicy(
                PutRolePolicyRequest(
                    roleName: "awsserviceroleforsupport", policyName: "p",
                    policyDocument: Docs.allow("s3:*")),
                context: h.root)
        }
        await expectIAMError(.unmodifiableEntity, protected) {
            try await s.updateAssumeRolePolicy(
                UpdateAssumeRolePolicyRequest(
                    roleName: "AWSServiceRoleForSupport", policyDocument: Docs.apiGatewayTrust),
                context: h.root)
        }
        await expectIAMError(.unmodifiableEntity, protected) {
            try await s.updateRole(
                UpdateRoleRequest(roleName: "AWSServiceRoleForSupport", description: "x"), context: h.root)
        }
        #expect(try await s.getRole(GetRoleRequest(roleName: "AWSServiceRoleForSupport"), context: h.root).role != nil)
        await expectIAMError(.invalidInput, "reserved for service-linked roles") {
            try await s.createRole(
                CreateRoleRequest(
                    path: "/aws-service-role/x/", roleName: "mine", assumeRolePolicyDocument: Docs.apiGatewayTrust),
                context: h.root)
        }
    }

    @Test("Document size quotas: managed 6,144, trust 2,048 characters", arguments: Backend.allCases)
    func documentQuotas(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        await expectIAMError(.limitExceeded, "Cannot exceed quota for PolicySize: 6144") {
            try await s.createPolicy(
                CreatePolicyRequest(
                    policyName: "big", policyDocument: Docs.allow("s3:" + String(repeating: "x", count: 6_200))),
                context: h.root)
        }
        let bigTrust = Docs.trust(aws: "arn:aws:iam::210987654321:user/" + String(repeating: "x", count: 2_100))
        await expectIAMError(.limitExceeded, "Cannot exceed quota for ACLSizePerRole: 2048") {
            try await s.createRole(
                CreateRoleRequest(roleName: "r", assumeRolePolicyDocument: bigTrust), context: h.root)
        }
        await expectIAMError(.validationError, "have length less than or equal to 131072") {
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "huge", policyDocument: String(repeating: " ", count: 131_073)),
                context: h.root)
        }
    }
}

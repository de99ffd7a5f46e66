import Foundation
import IAMDomain
import IAMRPC
import IAMWire
import Testing

@testable import IAMServer

@Suite("IAM service: users, groups, tags, boundaries")
struct IAMServiceUserTests {
    @Test("CreateUser, GetUser, UpdateUser, DeleteUser with revisions and commits", arguments: Backend.allCases)
    func userLifecycle(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let created = try await s.createUser(
            CreateUserRequest(path: "/division/", userName: "Alice"), context: h.context("CreateUser"))
        let user = try #require(created.user)
        #expect(user.arn == "arn:aws:iam::123456789012:user/division/Alice")
        #expect(user.userID.hasPrefix("AIDA") && user.userID.count == 21)
        #expect(user.path == "/division/")
        #expect(user.createDate > 0)
        #expect(created.revision > 0)
        #expect(h.commits.last?.revision.rawValue == created.revision)
        #expect(h.commits.last?.method == "/iam.v1.IAM/CreateUser")
        #expect(h.commits.last?.changes.isEmpty == false)

        // Names are unique case-insensitively, kept as written.
        await expectIAMError(.entityAlreadyExists, "User with name alice already exists.") {
            try await s.createUser(CreateUserRequest(userName: "alice"), context: h.root)
        }
        let fetched = try await s.getUser(GetUserRequest(userName: "ALICE"), context: h.root)
        #expect(fetched.user?.userName == "Alice")

        let renamed = try await s.updateUser(
            UpdateUserRequest(userName: "alice", newPath: "/ops/", newUserName: "Alicia"), context: h.root)
        #expect(renamed.revision == created.revision + 1)
        let after = try await s.getUser(GetUserRequest(userName: "Alicia"), context: h.root)
        #expect(after.user?.arn == "arn:aws:iam::123456789012:user/ops/Alicia")
        #expect(after.user?.userID == user.userID)
        await expectIAMError(.noSuchEntity, "The user with name Alice cannot be found.") {
            try await s.getUser(GetUserRequest(userName: "Alice"), context: h.root)
        }
        _ = try await s.createUser(CreateUserRequest(userName: "bob"), context: h.root)
        await expectIAMError(.entityAlreadyExists) {
            try await s.updateUser(UpdateUserRequest(userName: "bob", newUserName: "ALICIA"), context: h.root)
        }

        let deleted = try await s.deleteUser(DeleteUserRequest(userName: "Alicia"), context: h.root)
        #expect(deleted.revision > renamed.revision)
        await expectIAMError(.noSuchEntity) {
            try await s.deleteUser(DeleteUserRequest(userName: "Alicia"), context: h.root)
        }
    }

    @Test("Bad input gets AWS's ValidationError / InvalidInput wording", arguments: Backend.allCases)
    func validation(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        await expectIAMError(
            .validationError,
            "1 validation error detected: Value 'x y' at 'userName' failed to satisfy constraint: "
                + "Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        ) { try await s.createUser(CreateUserRequest(userName: "x y"), context: h.root) }
        await expectIAMError(
            .validationError, "Value null at 'userName' failed to satisfy constraint: Member must not be null"
        ) {
            try await s.deleteUser(DeleteUserRequest(), context: h.root)
        }
        await expectIAMError(.validationError, "have length less than or equal to 64") {
            try await s.createUser(CreateUserRequest(userName: String(repeating: "a", count: 65)), context: h.root)
        }
        await expectIAMError(.validationError, "at 'path'") {
            try await s.createUser(CreateUserRequest(path: "nopath", userName: "a"), context: h.root)
        }
        await expectIAMError(.validationError, "at 'newUserName'") {
            _ = try await s.createUser(CreateUserRequest(userName: "a"), context: h.root)
            return try await s.updateUser(UpdateUserRequest(userName: "a", newUserName: "b c"), context: h.root)
        }
        await expectIAMError(.validationError, "at 'maxItems'") {
            try await s.listUsers(ListUsersRequest(maxItems: 1001), context: h.root)
        }
        await expectIAMError(.invalidInput, "Invalid Marker.") {
            try await s.listUsers(ListUsersRequest(marker: "garbage"), context: h.root)
        }
        await expectIAMError(.invalidInput, "is not a valid policy ARN") {
            try await s.createUser(
                CreateUserRequest(userName: "b", permissionsBoundary: "arn:aws:iam::123456789012:user/x"),
                context: h.root)
        }
        await expectIAMError(.noSuchEntity, "does not exist or is not attachable") {
            try await s.createUser(
                CreateUserRequest(userName: "b", permissionsBoundary: "arn:aws:iam::123456789012:policy/none"),
                context: h.root)
        }
    }

    @Test("ListUsers by PathPrefix, paged by Marker", arguments: Backend.allCases)
    func pathPrefixPaging(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        for (index, name) in ["e", "D", "c", "B", "a"].enumerated() {
            _ = try await s.createUser(
                CreateUserRequest(path: index.isMultiple(of: 2) ? "/eng/" : "/ops/", userName: name), context: h.root)
        }
        var names: [String] = []
        var marker = ""
        var pages = 0
        repeat {
            let page = try await s.listUsers(ListUsersRequest(marker: marker, maxItems: 2), context: h.root)
            names += page.users.map(\.userName)
            #expect(page.isTruncated == !page.marker.isEmpty)
            marker = page.marker
            pages += 1
        } while !marker.isEmpty && pages < 10
        #expect(names == ["a", "B", "c", "D", "e"])
        #expect(pages == 3)
        let eng = try await s.listUsers(ListUsersRequest(pathPrefix: "/eng"), context: h.root)
        #expect(eng.users.map(\.userName) == ["a", "c", "e"])
        #expect(!eng.isTruncated)
    }

    @Test("Tags: case-insensitive keys on users and roles, exact on policies, 50 at most", arguments: Backend.allCases)
    func tags(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        _ = try await s.createUser(
            CreateUserRequest(userName: "t", tags: [IAMWire.Tag(key: "Department", value: "finance")]), context: h.root)
        _ = try await s.tagUser(
            TagUserRequest(
                userName: "t", tags: [IAMWire.Tag(key: "department", value: "hr"), .init(key: "a", value: "")]),
            context: h.root)
        var listed = try await s.listUserTags(ListUserTagsRequest(userName: "t"), context: h.root)
        #expect(listed.tags.map(\.key) == ["department", "a"])
        #expect(listed.tags.first?.value == "hr")
        listed = try await s.listUserTags(ListUserTagsRequest(userName: "t", maxItems: 1), context: h.root)
        #expect(listed.tags.count == 1 && listed.isTruncated)
        let rest = try await s.listUserTags(ListUserTagsRequest(userName: "t", marker: listed.marker), context: h.root)
        #expect(rest.tags.map(\.key) == ["a"] && !rest.isTruncated)

        await expectIAMError(.invalidInput, "Duplicate tag keys") {
            try await s.tagUser(
                TagUserRequest(userName: "t", tags: [.init(key: "k", value: "1"), .init(key: "K", value: "2")]),
                context: h.root)
        }
        await expectIAMError(.invalidInput, "aws:") {
            try await s.tagUser(TagUserRequest(userName: "t", tags: [.init(key: "aws:x", value: "1")]), context: h.root)
        }
        let many = (0..<49).map { IAMWire.Tag(key: "k\($0)", value: "v") }
        await expectIAMError(.limitExceeded) {
            try await s.tagUser(TagUserRequest(userName: "t", tags: many), context: h.root)
        }
        await expectIAMError(.noSuchEntity) {
            try await s.tagUser(
                TagUserRequest(userName: "nobody", tags: [.init(key: "a", value: "b")]), context: h.root)
        }
        _ = try await s.untagUser(UntagUserRequest(userName: "t", tagKeys: ["DEPARTMENT"]), context: h.root)
        #expect(try await s.getUser(GetUserRequest(userName: "t"), context: h.root).user?.tags.map(\.key) == ["a"])

        _ = try await s.createRole(
            CreateRoleRequest(roleName: "r", assumeRolePolicyDocument: Docs.apiGatewayTrust), context: h.root)
        _ = try await s.tagRole(TagRoleRequest(roleName: "r", tags: [.init(key: "Team", value: "x")]), context: h.root)
        _ = try await s.tagRole(TagRoleRequest(roleName: "r", tags: [.init(key: "team", value: "y")]), context: h.root)
        #expect(
            try await s.listRoleTags(ListRoleTagsRequest(roleName: "r"), context: h.root).tags.map(\.value) == ["y"])
        _ = try await s.untagRole(UntagRoleRequest(roleName: "r", tagKeys: ["TEAM"]), context: h.root)
        #expect(try await s.listRoleTags(ListRoleTagsRequest(roleName: "r"), context: h.root).tags.isEmpty)

        let policy = try #require(
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "p", policyDocument: Docs.allow("s3:*")), context: h.root
            )
            .policy)
        _ = try await s.tagPolicy(
            TagPolicyRequest(policyARN: policy.arn, tags: [.init(key: "Team", value: "x")]), context: h.root)
        _ = try await s.tagPolicy(
            TagPolicyRequest(policyARN: policy.arn, tags: [.init(key: "team", value: "y")]), context: h.root)
        let policyTags = try await s.listPolicyTags(ListPolicyTagsRequest(policyARN: policy.arn), context: h.root)
        #expect(policyTags.tags.map(\.key) == ["Team", "team"])
        _ = try await s.untagPolicy(UntagPolicyRequest(policyARN: policy.arn, tagKeys: ["Team"]), context: h.root)
        #expect(
            try await s.listPolicyTags(ListPolicyTagsRequest(policyARN: policy.arn), context: h.root).tags.map(\.key)
                == ["team"])
    }

    @Test("Permissions boundaries on users and roles, customer or AWS managed", arguments: Backend.allCases)
    func boundaries(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let policy = try #require(
            try await s.createPolicy(
                CreatePolicyRequest(policyName: "bound", policyDocument: Docs.allow("s3:*")), context: h.root
            )
            .policy)
        let user = try await s.createUser(
            CreateUserRequest(userName: "u", permissionsBoundary: policy.arn), context: h.root)
        #expect(user.user?.permissionsBoundary?.permissionsBoundaryARN == policy.arn)
        #expect(user.user?.permissionsBoundary?.permissionsBoundaryType == .policy)
        var got = try await s.getPolicy(GetPolicyRequest(policyARN: policy.arn), context: h.root)
        #expect(got.policy?.permissionsBoundaryUsageCount == 1)
        #expect(got.policy?.attachmentCount == 0)
        await expectIAMError(.deleteConflict) {
            try await s.deletePolicy(DeletePolicyRequest(policyARN: policy.arn), context: h.root)
        }
        let boundaryUsers = try await s.listEntitiesForPolicy(
            ListEntitiesForPolicyRequest(policyARN: policy.arn, policyUsageFilter: .permissionsBoundary),
            context: h.root)
        #expect(boundaryUsers.policyUsers.map(\.userName) == ["u"])

        _ = try await s.putUserPermissionsBoundary(
            PutUserPermissionsBoundaryRequest(userName: "u", permissionsBoundary: Docs.administrator), context: h.root)
        #expect(
            try await s.getUser(GetUserRequest(userName: "u"), context: h.root).user?.permissionsBoundary?
                .permissionsBoundaryARN == Docs.administrator)
        got = try await s.getPolicy(GetPolicyRequest(policyARN: policy.arn), context: h.root)
        #expect(got.policy?.permissionsBoundaryUsageCount == 0)
        _ = try await s.deleteUserPermissionsBoundary(
            DeleteUserPermissionsBoundaryRequest(userName: "u"), context: h.root)
        #expect(try await s.getUser(GetUserRequest(userName: "u"), context: h.root).user?.permissionsBoundary == nil)
        await expectIAMError(.validationError, "permissionsBoundary") {
            try await s.putUserPermissionsBoundary(PutUserPermissionsBoundaryRequest(userName: "u"), context: h.root)
        }

        _ = try await s.createRole(
            CreateRoleRequest(
                roleName: "r", assumeRolePolicyDocument: Docs.apiGatewayTrust, permissionsBoundary: Docs.administrator),
            context: h.root)
        #expect(
            try await s.getRole(GetRoleRequest(roleName: "r"), context: h.root).role?.permissionsBoundary?
                .permissionsBoundaryARN == Docs.administrator)
        _ = try await s.putRolePermissionsBoundary(
            PutRolePermissionsBoundaryRequest(roleName: "r", permissionsBoundary: policy.arn), context: h.root)
        #expect(
            try await s.getRole(GetRoleRequest(roleName: "r"), context: h.root).role?.permissionsBoundary?
                .permissionsBoundaryARN == policy.arn)
        _ = try await s.deleteRolePermissionsBoundary(
            DeleteRolePermissionsBoundaryRequest(roleName: "r"), context: h.root)
        #expect(try await s.getRole(GetRoleRequest(roleName: "r"), context: h.root).role?.permissionsBoundary == nil)
        _ = try await s.deletePolicy(DeletePolicyRequest(policyARN: policy.arn), context: h.root)
    }

    @Test("Groups: membership, GetGroup's users, delete conflicts, 10 groups per user", arguments: Backend.allCases)
    func groups(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let s = h.service
        let group = try await s.createGroup(CreateGroupRequest(path: "/eng/", groupName: "Devs"), context: h.root)
        #expect(group.group?.arn == "arn:aws:iam::123456789012:group/eng/Devs")
        #expect(group.group?.groupID.hasPrefix("AGPA") == true)
        await expectIAMError(.entityAlreadyExists, "Group with name DEVS already exists.") {
            try await s.createGroup(CreateGroupRequest(groupName: "DEVS"), context: h.root)
        }
        _ = try await s.createUser(CreateUserRequest(userName: "zed"), context: h.root)
        _ = try await s.createUser(CreateUserRequest(userName: "amy"), context: h.root)
        _ = try await s.addUserToGroup(AddUserToGroupRequest(groupName: "devs", userName: "zed"), context: h.root)
        _ = try await s.addUserToGroup(AddUserToGroupRequest(groupName: "Devs", userName: "amy"), context: h.root)
        let again = try await s.addUserToGroup(
            AddUserToGroupRequest(groupName: "Devs", userName: "amy"), context: h.root)
        #expect(h.commits.last?.changes.isEmpty == true)
        #expect(again.revision == h.commits.last?.revision.rawValue)
        let got = try await s.getGroup(GetGroupRequest(groupName: "Devs"), context: h.root)
        #expect(got.users.map(\.userName) == ["amy", "zed"])
        let paged = try await s.getGroup(GetGroupRequest(groupName: "Devs", maxItems: 1), context: h.root)
        #expect(paged.users.map(\.userName) == ["amy"] && paged.isTruncated)
        #expect(
            try await s.listGroupsForUser(ListGroupsForUserRequest(userName: "zed"), context: h.root).groups.map(
                \.groupName)
                == ["Devs"])

        await expectIAMError(.deleteConflict, "must remove users from group first") {
            try await s.deleteGroup(DeleteGroupRequest(groupName: "Devs"), context: h.root)
        }
        await expectIAMError(.deleteConflict, "must remove user from all groups first") {
            try await s.deleteUser(DeleteUserRequest(userName: "zed"), context: h.root)
        }
        _ = try await s.updateGroup(
            UpdateGroupRequest(groupName: "Devs", newPath: "/", newGroupName: "Builders"), context: h.root)
        let listed = try await s.listGroups(ListGroupsRequest(), context: h.root)
        #expect(listed.groups.map(\.arn) == ["arn:aws:iam::123456789012:group/Builders"])
        #expect(try await s.listGroups(ListGroupsRequest(pathPrefix: "/eng/"), context: h.root).groups.isEmpty)

        _ = try await s.removeUserFromGroup(
            RemoveUserFromGroupRequest(groupName: "Builders", userName: "zed"), context: h.root)
        await expectIAMError(.noSuchEntity) {
            try await s.removeUserFromGroup(
                RemoveUserFromGroupRequest(groupName: "Builders", userName: "zed"), context: h.root)
        }
        _ = try await s.deleteUser(DeleteUserRequest(userName: "zed"), context: h.root)

        for index in 1..<10 { _ = try await s.createGroup(CreateGroupRequest(groupName: "g\(index)"), context: h.root) }
        for index in 1..<10 {
            _ = try await s.addUserToGroup(
                AddUserToGroupRequest(groupName: "g\(index)", userName: "amy"), context: h.root)
        }
        _ = try await s.createGroup(CreateGroupRequest(groupName: "g10"), context: h.root)
        await expectIAMError(.limitExceeded, "GroupsPerUser: 10") {
            try await s.addUserToGroup(AddUserToGroupRequest(groupName: "g10", userName: "amy"), context: h.root)
        }
    }
}

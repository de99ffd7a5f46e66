public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// CreateGroup.
    public func createGroup(_ request: CreateGroupRequest, context: ServerCallContext) async throws
        -> CreateGroupResponse
    {
        let name = try Input.name(request.groupName, .group)
        let path = try Input.path(request.path)
        let (group, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createGroup(name: name, path: path)
        }
        return CreateGroupResponse(group: IAMWire.Group(group), revision: revision)
    }

    /// GetGroup: the group and a page of its users.
    public func getGroup(_ request: GetGroupRequest, context: ServerCallContext) async throws -> GetGroupResponse {
        let (group, users) = try await directory.groupWithMembers(
            named: try Input.name(request.groupName, .group),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return GetGroupResponse(
            group: IAMWire.Group(group), users: users.items.map(IAMWire.User.init), isTruncated: users.isTruncated,
            marker: users.marker?.rawValue ?? "")
    }

    /// ListGroups.
    public func listGroups(_ request: ListGroupsRequest, context: ServerCallContext) async throws -> ListGroupsResponse
    {
        let page = try await directory.listGroups(
            pathPrefix: try Input.pathPrefix(request.pathPrefix),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListGroupsResponse(
            groups: page.items.map(IAMWire.Group.init), isTruncated: page.isTruncated,
            marker: page.marker?.rawValue ?? "")
    }

    /// UpdateGroup.
    public func updateGroup(_ request: UpdateGroupRequest, context: ServerCallContext) async throws
        -> UpdateGroupResponse
    {
        let name = try Input.name(request.groupName, .group)
        let newPath = try Input.optionalPath(request.newPath)
        let newName = try Input.optionalName(request.newGroupName, .group, field: "newGroupName")
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.updateGroup(named: name, newPath: newPath, newName: newName)
        }
        return UpdateGroupResponse(revision: revision)
    }

    /// DeleteGroup.
    public func deleteGroup(_ request: DeleteGroupRequest, context: ServerCallContext) async throws
        -> DeleteGroupResponse
    {
        let name = try Input.name(request.groupName, .group)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deleteGroup(named: name)
        }
        return DeleteGroupResponse(revision: revision)
    }

    /// AddUserToGroup.
    public func addUserToGroup(_ request: AddUserToGroupRequest, context: ServerCallContext) async throws
        -> AddUserToGroupResponse
    {
        let group = try Input.name(request.groupName, .group)
        let user = try Input.name(request.userName, .user)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.addUser(user, toGroup: group)
        }
        return AddUserToGroupResponse(revision: revision)
    }

    /// RemoveUserFromGroup.
    public func removeUserFromGroup(_ request: RemoveUserFromGroupRequest, context: ServerCallContext) async throws
        -> RemoveUserFromGroupResponse
    {
        let group = try Input.name(request.groupName, .group)
        let user = try Input.name(request.userName, .user)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.removeUser(user, fromGroup: group)
        }
        return RemoveUserFromGroupResponse(revision: revision)
    }

    /// ListGroupsForUser.
    public func listGroupsForUser(_ request: ListGroupsForUserRequest, context: ServerCallContext) async throws
        -> ListGroupsForUserResponse
    {
        let page = try await directory.groupsForUser(
            named: try Input.name(request.userName, .user),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListGroupsForUserResponse(
            groups: page.items.map(IAMWire.Group.init), isTruncated: page.isTruncated,
            marker: page.marker?.rawValue ?? "")
    }
}

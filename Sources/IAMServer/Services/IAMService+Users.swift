public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// CreateUser.
    public func createUser(_ request: CreateUserRequest, context: ServerCallContext) async throws -> CreateUserResponse
    {
        let name = try Input.name(request.userName, .user)
        let path = try Input.path(request.path)
        let boundary = try Input.boundaryARN(request.permissionsBoundary)
        let tags = try Input.tags(request.tags)
        let (user, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createUser(name: name, path: path, permissionsBoundary: boundary, tags: tags)
        }
        return CreateUserResponse(user: IAMWire.User(user), revision: revision)
    }

    /// GetUser: the named user, else the caller (the root key gets the account root, as in AWS).
    public func getUser(_ request: GetUserRequest, context: ServerCallContext) async throws -> GetUserResponse {
        if request.userName.isEmpty {
            switch try await directory.holder(ofAccessKey: context.accessKeyID) {
            case .user(let user): return GetUserResponse(user: IAMWire.User(user))
            case .root: return GetUserResponse(user: .root(account: account))
            case .session:
                throw IAMError(
                    code: .validationError, message: "Must specify userName when calling with non-User credentials")
            }
        }
        return GetUserResponse(
            user: IAMWire.User(try await directory.user(named: try Input.name(request.userName, .user))))
    }

    /// ListUsers.
    public func listUsers(_ request: ListUsersRequest, context: ServerCallContext) async throws -> ListUsersResponse {
        let page = try await directory.listUsers(
            pathPrefix: try Input.pathPrefix(request.pathPrefix),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        // AWS's listings return a subset: no PermissionsBoundary or Tags (GetUser has them).
        let users = page.items.map { user in
            var listed = IAMWire.User(user)
            listed.permissionsBoundary = nil
            listed.tags = []
            return listed
        }
        return ListUsersResponse(users: users, isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// UpdateUser.
    public func updateUser(_ request: UpdateUserRequest, context: ServerCallContext) async throws -> UpdateUserResponse
    {
        let name = try Input.name(request.userName, .user)
        let newPath = try Input.optionalPath(request.newPath)
        let newName = try Input.optionalName(request.newUserName, .user, field: "newUserName")
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.updateUser(named: name, newPath: newPath, newName: newName)
        }
        return UpdateUserResponse(revision: revision)
    }

    /// DeleteUser.
    public func deleteUser(_ request: DeleteUserRequest, context: ServerCallContext) async throws -> DeleteUserResponse
    {
        let name = try Input.name(request.userName, .user)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deleteUser(named: name)
        }
        return DeleteUserResponse(revision: revision)
    }

    /// TagUser.
    public func tagUser(_ request: TagUserRequest, context: ServerCallContext) async throws -> TagUserResponse {
        let name = try Input.name(request.userName, .user)
        guard !request.tags.isEmpty else { throw Input.missing("tags") }
        let tags = try Input.tags(request.tags)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.tag(User.self, named: name, tags: tags)
        }
        return TagUserResponse(revision: revision)
    }

    /// UntagUser.
    public func untagUser(_ request: UntagUserRequest, context: ServerCallContext) async throws -> UntagUserResponse {
        let name = try Input.name(request.userName, .user)
        let keys = try Input.tagKeys(request.tagKeys)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.untag(User.self, named: name, keys: keys)
        }
        return UntagUserResponse(revision: revision)
    }

    /// ListUserTags.
    public func listUserTags(_ request: ListUserTagsRequest, context: ServerCallContext) async throws
        -> ListUserTagsResponse
    {
        let user = try await directory.user(named: try Input.name(request.userName, .user))
        let page = Page(indexed: user.tags, request: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListUserTagsResponse(
            tags: page.items.map(IAMWire.Tag.init), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// PutUserPermissionsBoundary.
    public func putUserPermissionsBoundary(
        _ request: PutUserPermissionsBoundaryRequest, context: ServerCallContext
    ) async throws -> PutUserPermissionsBoundaryResponse {
        let name = try Input.name(request.userName, .user)
        guard let boundary = try Input.boundaryARN(request.permissionsBoundary) else {
            throw Input.missing("permissionsBoundary")
        }
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.setPermissionsBoundary(User.self, named: name, to: boundary)
        }
        return PutUserPermissionsBoundaryResponse(revision: revision)
    }

    /// DeleteUserPermissionsBoundary.
    public func deleteUserPermissionsBoundary(
        _ request: DeleteUserPermissionsBoundaryRequest, context: ServerCallContext
    ) async throws -> DeleteUserPermissionsBoundaryResponse {
        let name = try Input.name(request.userName, .user)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.setPermissionsBoundary(User.self, named: name, to: nil)
        }
        return DeleteUserPermissionsBoundaryResponse(revision: revision)
    }
}

public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// CreateRole: a trust policy naming a user or role of this account that does not exist is refused.
    public func createRole(_ request: CreateRoleRequest, context: ServerCallContext) async throws -> CreateRoleResponse
    {
        let name = try Input.name(request.roleName, .role)
        let path = try Input.path(request.path)
        guard !Self.isServiceLinked(path) else {
            // Only AWS creates service-linked roles (CreateServiceLinkedRole, which this service does not offer).
            throw IAMError.invalidInput("The path \(path) is reserved for service-linked roles.")
        }
        let trust = try Input.document(request.assumeRolePolicyDocument, field: "assumeRolePolicyDocument")
        let boundary = try Input.boundaryARN(request.permissionsBoundary)
        let tags = try Input.tags(request.tags)
        let description = request.description.isEmpty ? nil : request.description
        let duration = request.maxSessionDuration.map(Int.init)
        let (role, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createRole(
                name: name, path: path, assumeRolePolicyDocument: trust, description: description,
                maxSessionDuration: duration, permissionsBoundary: boundary, tags: tags)
        }
        return CreateRoleResponse(role: IAMWire.Role(role), revision: revision)
    }

    /// GetRole.
    public func getRole(_ request: GetRoleRequest, context: ServerCallContext) async throws -> GetRoleResponse {
        GetRoleResponse(role: IAMWire.Role(try await directory.role(named: try Input.name(request.roleName, .role))))
    }

    /// ListRoles.
    public func listRoles(_ request: ListRolesRequest, context: ServerCallContext) async throws -> ListRolesResponse {
        let page = try await directory.listRoles(
            pathPrefix: try Input.pathPrefix(request.pathPrefix),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        // AWS's listings return a subset: no PermissionsBoundary, RoleLastUsed or Tags (GetRole has them).
        let roles = page.items.map { role in
            var listed = IAMWire.Role(role)
            listed.permissionsBoundary = nil
            listed.roleLastUsed = nil
            listed.tags = []
            return listed
        }
        return ListRolesResponse(roles: roles, isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// UpdateRole: description and/or MaxSessionDuration.
    public func updateRole(_ request: UpdateRoleRequest, context: ServerCallContext) async throws -> UpdateRoleResponse
    {
        let name = try Input.name(request.roleName, .role)
        try await requireModifiableRole(name)
        let duration = request.maxSessionDuration.map(Int.init)
        let description = request.description
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.updateRole(named: name, description: description, maxSessionDuration: duration)
        }
        return UpdateRoleResponse(revision: revision)
    }

    /// UpdateRoleDescription: returns the role.
    public func updateRoleDescription(_ request: UpdateRoleDescriptionRequest, context: ServerCallContext)
        async throws -> UpdateRoleDescriptionResponse
    {
        let name = try Input.name(request.roleName, .role)
        try await requireModifiableRole(name)
        let description = request.description
        let (role, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.updateRole(named: name, description: description, maxSessionDuration: nil)
        }
        return UpdateRoleDescriptionResponse(role: IAMWire.Role(role), revision: revision)
    }

    /// UpdateAssumeRolePolicy.
    public func updateAssumeRolePolicy(_ request: UpdateAssumeRolePolicyRequest, context: ServerCallContext)
        async throws -> UpdateAssumeRolePolicyResponse
    {
        let name = try Input.name(request.roleName, .role)
        try await requireModifiableRole(name)
        let document = try Input.document(request.policyDocument)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.updateAssumeRolePolicy(named: name, document: document)
        }
        return UpdateAssumeRolePolicyResponse(revision: revision)
    }

    /// DeleteRole.
    public func deleteRole(_ request: DeleteRoleRequest, context: ServerCallContext) async throws -> DeleteRoleResponse
    {
        let name = try Input.name(request.roleName, .role)
        try await requireModifiableRole(name)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deleteRole(named: name)
        }
        return DeleteRoleResponse(revision: revision)
    }

    /// TagRole.
    public func tagRole(_ request: TagRoleRequest, context: ServerCallContext) async throws -> TagRoleResponse {
        let name = try Input.name(request.roleName, .role)
        guard !request.tags.isEmpty else { throw Input.missing("tags") }
        let tags = try Input.tags(request.tags)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.tag(Role.self, named: name, tags: tags)
        }
        return TagRoleResponse(revision: revision)
    }

    /// UntagRole.
    public func untagRole(_ request: UntagRoleRequest, context: ServerCallContext) async throws -> UntagRoleResponse {
        let name = try Input.name(request.roleName, .role)
        let keys = try Input.tagKeys(request.tagKeys)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.untag(Role.self, named: name, keys: keys)
        }
        return UntagRoleResponse(revision: revision)
    }

    /// ListRoleTags.
    public func listRoleTags(_ request: ListRoleTagsRequest, context: ServerCallContext) async throws
        -> ListRoleTagsResponse
    {
        let role = try await directory.role(named: try Input.name(request.roleName, .role))
        let page = Page(indexed: role.tags, request: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListRoleTagsResponse(
            tags: page.items.map(IAMWire.Tag.init), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// PutRolePermissionsBoundary.
    public func putRolePermissionsBoundary(_ request: PutRolePermissionsBoundaryRequest, context: ServerCallContext)
        async throws -> PutRolePermissionsBoundaryResponse
    {
        let name = try Input.name(request.roleName, .role)
        try await requireModifiableRole(name)
        guard let boundary = try Input.boundaryARN(request.permissionsBoundary) else {
            throw Input.missing("permissionsBoundary")
        }
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.setPermissionsBoundary(Role.self, named: name, to: boundary)
        }
        return PutRolePermissionsBoundaryResponse(revision: revision)
    }

    /// DeleteRolePermissionsBoundary.
    public func deleteRolePermissionsBoundary(
        _ request: DeleteRolePermissionsBoundaryRequest, context: ServerCallContext
    ) async throws -> DeleteRolePermissionsBoundaryResponse {
        let name = try Input.name(request.roleName, .role)
        try await requireModifiableRole(name)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.setPermissionsBoundary(Role.self, named: name, to: nil)
        }
        return DeleteRolePermissionsBoundaryResponse(revision: revision)
    }
}

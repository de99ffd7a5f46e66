public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// CreateInstanceProfile.
    public func createInstanceProfile(_ request: CreateInstanceProfileRequest, context: ServerCallContext)
        async throws -> CreateInstanceProfileResponse
    {
        let name = try Input.name(request.instanceProfileName, .instanceProfile)
        let path = try Input.path(request.path)
        let tags = try Input.tags(request.tags)
        let (profile, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createInstanceProfile(name: name, path: path, tags: tags)
        }
        return CreateInstanceProfileResponse(
            instanceProfile: IAMWire.InstanceProfile(InstanceProfileDetail(profile: profile, roles: [])),
            revision: revision)
    }

    /// GetInstanceProfile: with its role, whole.
    public func getInstanceProfile(_ request: GetInstanceProfileRequest, context: ServerCallContext) async throws
        -> GetInstanceProfileResponse
    {
        let detail = try await directory.instanceProfile(
            named: try Input.name(request.instanceProfileName, .instanceProfile))
        return GetInstanceProfileResponse(instanceProfile: IAMWire.InstanceProfile(detail))
    }

    /// DeleteInstanceProfile: only once it holds no role.
    public func deleteInstanceProfile(_ request: DeleteInstanceProfileRequest, context: ServerCallContext)
        async throws -> DeleteInstanceProfileResponse
    {
        let name = try Input.name(request.instanceProfileName, .instanceProfile)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deleteInstanceProfile(named: name)
        }
        return DeleteInstanceProfileResponse(revision: revision)
    }

    /// ListInstanceProfiles: entries without tags, as AWS lists them.
    public func listInstanceProfiles(_ request: ListInstanceProfilesRequest, context: ServerCallContext)
        async throws -> ListInstanceProfilesResponse
    {
        let page = try await directory.listInstanceProfiles(
            pathPrefix: try Input.pathPrefix(request.pathPrefix),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListInstanceProfilesResponse(
            instanceProfiles: page.items.map { IAMWire.InstanceProfile($0, includeTags: false) },
            isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// AddRoleToInstanceProfile: one role per profile; service-linked roles are AWS's to change.
    public func addRoleToInstanceProfile(_ request: AddRoleToInstanceProfileRequest, context: ServerCallContext)
        async throws -> AddRoleToInstanceProfileResponse
    {
        let name = try Input.name(request.instanceProfileName, .instanceProfile)
        let roleName = try Input.name(request.roleName, .role)
        try await requireModifiableRole(roleName)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.addRole(roleName, toInstanceProfile: name)
        }
        return AddRoleToInstanceProfileResponse(revision: revision)
    }

    /// RemoveRoleFromInstanceProfile.
    public func removeRoleFromInstanceProfile(
        _ request: RemoveRoleFromInstanceProfileRequest, context: ServerCallContext
    ) async throws -> RemoveRoleFromInstanceProfileResponse {
        let name = try Input.name(request.instanceProfileName, .instanceProfile)
        let roleName = try Input.name(request.roleName, .role)
        try await requireModifiableRole(roleName)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.removeRole(roleName, fromInstanceProfile: name)
        }
        return RemoveRoleFromInstanceProfileResponse(revision: revision)
    }

    /// ListInstanceProfilesForRole: what Terraform asks before it deletes a role.
    public func listInstanceProfilesForRole(_ request: ListInstanceProfilesForRoleRequest, context: ServerCallContext)
        async throws -> ListInstanceProfilesForRoleResponse
    {
        let page = try await directory.instanceProfiles(
            forRole: try Input.name(request.roleName, .role),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListInstanceProfilesForRoleResponse(
            instanceProfiles: page.items.map { IAMWire.InstanceProfile($0) }, isTruncated: page.isTruncated,
            marker: page.marker?.rawValue ?? "")
    }

    /// TagInstanceProfile.
    public func tagInstanceProfile(_ request: TagInstanceProfileRequest, context: ServerCallContext) async throws
        -> TagInstanceProfileResponse
    {
        let name = try Input.name(request.instanceProfileName, .instanceProfile)
        guard !request.tags.isEmpty else { throw Input.missing("tags") }
        let tags = try Input.tags(request.tags)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.tag(InstanceProfile.self, named: name, tags: tags)
        }
        return TagInstanceProfileResponse(revision: revision)
    }

    /// UntagInstanceProfile.
    public func untagInstanceProfile(_ request: UntagInstanceProfileRequest, context: ServerCallContext)
        async throws -> UntagInstanceProfileResponse
    {
        let name = try Input.name(request.instanceProfileName, .instanceProfile)
        let keys = try Input.tagKeys(request.tagKeys)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.untag(InstanceProfile.self, named: name, keys: keys)
        }
        return UntagInstanceProfileResponse(revision: revision)
    }

    /// ListInstanceProfileTags.
    public func listInstanceProfileTags(_ request: ListInstanceProfileTagsRequest, context: ServerCallContext)
        async throws -> ListInstanceProfileTagsResponse
    {
        let detail = try await directory.instanceProfile(
            named: try Input.name(request.instanceProfileName, .instanceProfile))
        let page = Page(
            indexed: detail.profile.tags, request: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListInstanceProfileTagsResponse(
            tags: page.items.map(IAMWire.Tag.init), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }
}

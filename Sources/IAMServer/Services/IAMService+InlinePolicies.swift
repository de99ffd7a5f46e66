public import IAMRPC
public import IAMWire
import IAMDomain

// Put/Get/List/Delete for users, groups and roles: one implementation per verb, three thin entry points.
extension IAMService {
    func putInline(
        _ kind: EntityKind, owner: String, policyName: String, document: String, _ context: ServerCallContext,
        _ request: some WireMessage
    ) async throws(IAMError) -> UInt64 {
        let ownerName = try Input.name(owner, kind)
        if kind == .role { try await requireModifiableRole(ownerName) }
        let name = try Input.name(policyName, .inlinePolicy)
        let document = try Input.document(document)
        return try await commit(context, request) { () throws(IAMError) in
            try await directory.putInlinePolicy(name, document: document, on: kind, named: ownerName)
        }.revision
    }

    func getInline(_ kind: EntityKind, owner: String, policyName: String) async throws(IAMError)
        -> (owner: String, name: String, document: String)
    {
        let (ownerName, policy) = try await directory.inlinePolicy(
            try Input.name(policyName, .inlinePolicy), on: kind, named: try Input.name(owner, kind))
        return (ownerName.rawValue, policy.name.rawValue, policy.document)
    }

    func listInline(_ kind: EntityKind, owner: String, marker: String, maxItems: Int32) async throws(IAMError)
        -> Page<EntityName>
    {
        try await directory.inlinePolicyNames(
            on: kind, named: try Input.name(owner, kind), page: try Input.page(marker: marker, maxItems: maxItems))
    }

    func deleteInline(
        _ kind: EntityKind, owner: String, policyName: String, _ context: ServerCallContext, _ request: some WireMessage
    )
        async throws(IAMError) -> UInt64
    {
        let ownerName = try Input.name(owner, kind)
        if kind == .role { try await requireModifiableRole(ownerName) }
        let name = try Input.name(policyName, .inlinePolicy)
        return try await commit(context, request) { () throws(IAMError) in
            try await directory.deleteInlinePolicy(name, on: kind, named: ownerName)
        }.revision
    }

    /// PutUserPolicy.
    public func putUserPolicy(_ request: PutUserPolicyRequest, context: ServerCallContext) async throws
        -> PutUserPolicyResponse
    {
        PutUserPolicyResponse(
            revision: try await putInline(
                .user, owner: request.userName, policyName: request.policyName, document: request.policyDocument,
                context, request))
    }

    /// GetUserPolicy.
    public func getUserPolicy(_ request: GetUserPolicyRequest, context: ServerCallContext) async throws
        -> GetUserPolicyResponse
    {
        let found = try await getInline(.user, owner: request.userName, policyName: request.policyName)
        return GetUserPolicyResponse(userName: found.owner, policyName: found.name, policyDocument: found.document)
    }

    /// ListUserPolicies.
    public func listUserPolicies(_ request: ListUserPoliciesRequest, context: ServerCallContext) async throws
        -> ListUserPoliciesResponse
    {
        let page = try await listInline(
            .user, owner: request.userName, marker: request.marker, maxItems: request.maxItems)
        return ListUserPoliciesResponse(
            policyNames: page.items.map(\.rawValue), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// DeleteUserPolicy.
    public func deleteUserPolicy(_ request: DeleteUserPolicyRequest, context: ServerCallContext) async throws
        -> DeleteUserPolicyResponse
    {
        DeleteUserPolicyResponse(
            revision: try await deleteInline(
                .user, owner: request.userName, policyName: request.policyName, context, request))
    }

    /// PutGroupPolicy.
    public func putGroupPolicy(_ request: PutGroupPolicyRequest, context: ServerCallContext) async throws
        -> PutGroupPolicyResponse
    {
        PutGroupPolicyResponse(
            revision: try await putInline(
                .group, owner: request.groupName, policyName: request.policyName, document: request.policyDocument,
                context, request))
    }

    /// GetGroupPolicy.
    public func getGroupPolicy(_ request: GetGroupPolicyRequest, context: ServerCallContext) async throws
        -> GetGroupPolicyResponse
    {
        let found = try await getInline(.group, owner: request.groupName, policyName: request.policyName)
        return GetGroupPolicyResponse(groupName: found.owner, policyName: found.name, policyDocument: found.document)
    }

    /// ListGroupPolicies.
    public func listGroupPolicies(_ request: ListGroupPoliciesRequest, context: ServerCallContext) async throws
        -> ListGroupPoliciesResponse
    {
        let page = try await listInline(
            .group, owner: request.groupName, marker: request.marker, maxItems: request.maxItems)
        return ListGroupPoliciesResponse(
            policyNames: page.items.map(\.rawValue), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// DeleteGroupPolicy.
    public func deleteGroupPolicy(_ request: DeleteGroupPolicyRequest, context: ServerCallContext) async throws
        -> DeleteGroupPolicyResponse
    {
        DeleteGroupPolicyResponse(
            revision: try await deleteInline(
                .group, owner: request.groupName, policyName: request.policyName, context, request))
    }

    /// PutRolePolicy.
    public func putRolePolicy(_ request: PutRolePolicyRequest, context: ServerCallContext) async throws
        -> PutRolePolicyResponse
    {
        PutRolePolicyResponse(
            revision: try await putInline(
                .role, owner: request.roleName, policyName: request.policyName, document: request.policyDocument,
                context, request))
    }

    /// GetRolePolicy.
    public func getRolePolicy(_ request: GetRolePolicyRequest, context: ServerCallContext) async throws
        -> GetRolePolicyResponse
    {
        let found = try await getInline(.role, owner: request.roleName, policyName: request.policyName)
        return GetRolePolicyResponse(roleName: found.owner, policyName: found.name, policyDocument: found.document)
    }

    /// ListRolePolicies.
    public func listRolePolicies(_ request: ListRolePoliciesRequest, context: ServerCallContext) async throws
        -> ListRolePoliciesResponse
    {
        let page = try await listInline(
            .role, owner: request.roleName, marker: request.marker, maxItems: request.maxItems)
        return ListRolePoliciesResponse(
            policyNames: page.items.map(\.rawValue), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// DeleteRolePolicy.
    public func deleteRolePolicy(_ request: DeleteRolePolicyRequest, context: ServerCallContext) async throws
        -> DeleteRolePolicyResponse
    {
        DeleteRolePolicyResponse(
            revision: try await deleteInline(
                .role, owner: request.roleName, policyName: request.policyName, context, request))
    }
}

public import IAMRPC
public import IAMWire
import IAMDomain

// Attach/Detach/ListAttached for users, groups and roles; AWS managed policies attach like customer ones.
extension IAMService {
    func attach(
        _ kind: EntityKind, owner: String, policyARN: String, _ context: ServerCallContext, _ request: some WireMessage
    )
        async throws(IAMError) -> UInt64
    {
        let name = try Input.name(owner, kind)
        if kind == .role { try await requireModifiableRole(name) }
        let arn = try Input.policyARN(policyARN)
        return try await commit(context, request) { () throws(IAMError) in
            try await directory.attachManagedPolicy(arn, to: kind, named: name)
        }.revision
    }

    func detach(
        _ kind: EntityKind, owner: String, policyARN: String, _ context: ServerCallContext, _ request: some WireMessage
    )
        async throws(IAMError) -> UInt64
    {
        let name = try Input.name(owner, kind)
        if kind == .role { try await requireModifiableRole(name) }
        let arn = try Input.policyARN(policyARN)
        return try await commit(context, request) { () throws(IAMError) in
            try await directory.detachPolicy(arn, from: kind, named: name)
        }.revision
    }

    func listAttached(_ kind: EntityKind, owner: String, pathPrefix: String, marker: String, maxItems: Int32)
        async throws(IAMError) -> (policies: [AttachedPolicy], isTruncated: Bool, marker: String)
    {
        let page = try await directory.attachedPolicies(
            of: kind, named: try Input.name(owner, kind),
            pathPrefix: try Input.pathPrefix(pathPrefix, forPolicy: true),
            page: try Input.page(marker: marker, maxItems: maxItems))
        return (
            page.items.map { AttachedPolicy(arn: $0.arn, name: $0.name) }, page.isTruncated,
            page.marker?.rawValue ?? ""
        )
    }

    /// AttachUserPolicy.
    public func attachUserPolicy(_ request: AttachUserPolicyRequest, context: ServerCallContext) async throws
        -> AttachUserPolicyResponse
    {
        AttachUserPolicyResponse(
            revision: try await attach(.user, owner: request.userName, policyARN: request.policyARN, context, request))
    }

    /// DetachUserPolicy.
    public func detachUserPolicy(_ request: DetachUserPolicyRequest, context: ServerCallContext) async throws
        -> DetachUserPolicyResponse
    {
        DetachUserPolicyResponse(
            revision: try await detach(.user, owner: request.userName, policyARN: request.policyARN, context, request))
    }

    /// ListAttachedUserPolicies.
    public func listAttachedUserPolicies(_ request: ListAttachedUserPoliciesRequest, context: ServerCallContext)
        async throws -> ListAttachedUserPoliciesResponse
    {
        let page = try await listAttached(
            .user, owner: request.userName, pathPrefix: request.pathPrefix, marker: request.marker,
            maxItems: request.maxItems)
        return ListAttachedUserPoliciesResponse(
            attachedPolicies: page.policies, isTruncated: page.isTruncated, marker: page.marker)
    }

    /// AttachGroupPolicy.
    public func attachGroupPolicy(_ request: AttachGroupPolicyRequest, context: ServerCallContext) async throws
        -> AttachGroupPolicyResponse
    {
        AttachGroupPolicyResponse(
            revision: try await attach(.group, owner: request.groupName, policyARN: request.policyARN, context, request)
        )
    }

    /// DetachGroupPolicy.
    public func detachGroupPolicy(_ request: DetachGroupPolicyRequest, context: ServerCallContext) async throws
        -> DetachGroupPolicyResponse
    {
        DetachGroupPolicyResponse(
            revision: try await detach(.group, owner: request.groupName, policyARN: request.policyARN, context, request)
        )
    }

    /// ListAttachedGroupPolicies.
    public func listAttachedGroupPolicies(_ request: ListAttachedGroupPoliciesRequest, context: ServerCallContext)
        async throws -> ListAttachedGroupPoliciesResponse
    {
        let page = try await listAttached(
            .group, owner: request.groupName, pathPrefix: request.pathPrefix, marker: request.marker,
            maxItems: request.maxItems)
        return ListAttachedGroupPoliciesResponse(
            attachedPolicies: page.policies, isTruncated: page.isTruncated, marker: page.marker)
    }

    /// AttachRolePolicy.
    public func attachRolePolicy(_ request: AttachRolePolicyRequest, context: ServerCallContext) async throws
        -> AttachRolePolicyResponse
    {
        AttachRolePolicyResponse(
            revision: try await attach(.role, owner: request.roleName, policyARN: request.policyARN, context, request))
    }

    /// DetachRolePolicy.
    public func detachRolePolicy(_ request: DetachRolePolicyRequest, context: ServerCallContext) async throws
        -> DetachRolePolicyResponse
    {
        DetachRolePolicyResponse(
            revision: try await detach(.role, owner: request.roleName, policyARN: request.policyARN, context, request))
    }

    /// ListAttachedRolePolicies.
    public func listAttachedRolePolicies(_ request: ListAttachedRolePoliciesRequest, context: ServerCallContext)
        async throws -> ListAttachedRolePoliciesResponse
    {
        let page = try await listAttached(
            .role, owner: request.roleName, pathPrefix: request.pathPrefix, marker: request.marker,
            maxItems: request.maxItems)
        return ListAttachedRolePoliciesResponse(
            attachedPolicies: page.policies, isTruncated: page.isTruncated, marker: page.marker)
    }
}

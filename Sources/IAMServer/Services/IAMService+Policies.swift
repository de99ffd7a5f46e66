public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// CreatePolicy: `v1` is the default version.
    public func createPolicy(_ request: CreatePolicyRequest, context: ServerCallContext) async throws
        -> CreatePolicyResponse
    {
        let name = try Input.name(request.policyName, .policy)
        let path = try Input.path(request.path, forPolicy: true)
        let document = try Input.document(request.policyDocument)
        let tags = try Input.tags(request.tags)
        let description = request.description.isEmpty ? nil : request.description
        let (policy, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createPolicy(
                name: name, path: path, document: document, description: description, tags: tags)
        }
        return CreatePolicyResponse(
            policy: IAMWire.Policy(PolicyUsage(policy: policy, attachmentCount: 0, boundaryUsageCount: 0)),
            revision: revision)
    }

    /// GetPolicy (customer or AWS managed).
    public func getPolicy(_ request: GetPolicyRequest, context: ServerCallContext) async throws -> GetPolicyResponse {
        GetPolicyResponse(
            policy: IAMWire.Policy(try await directory.policyUsage(arn: try Input.policyARN(request.policyARN))))
    }

    /// ListPolicies: Scope All/AWS/Local, OnlyAttached, PathPrefix, PolicyUsageFilter (no descriptions, as AWS).
    public func listPolicies(_ request: ListPoliciesRequest, context: ServerCallContext) async throws
        -> ListPoliciesResponse
    {
        let scope: PolicyScope
        switch request.scope {
        case .all: scope = .all
        case .aws: scope = .aws
        case .local: scope = .local
        case .unrecognized(let value):
            throw IAMError.validation(
                field: "scope", value: String(value), constraint: "satisfy enum value set: [All, AWS, Local]")
        }
        let page = try await directory.listPolicies(
            scope: scope, onlyAttached: request.onlyAttached,
            pathPrefix: try Input.pathPrefix(request.pathPrefix, forPolicy: true),
            usage: try Self.usageFilter(request.policyUsageFilter),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListPoliciesResponse(
            policies: page.items.map { policy in
                // AWS's listings return a subset: no Description or Tags (GetPolicy has them).
                var listed = IAMWire.Policy(policy, withDescription: false)
                listed.tags = []
                return listed
            }, isTruncated: page.isTruncated,
            marker: page.marker?.rawValue ?? "")
    }

    /// DeletePolicy: only when detached and with only the default version left.
    public func deletePolicy(_ request: DeletePolicyRequest, context: ServerCallContext) async throws
        -> DeletePolicyResponse
    {
        let arn = try Input.policyARN(request.policyARN)
        try await refuseIfAWSManaged(arn, action: "iam:DeletePolicy", context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deletePolicy(arn: arn)
        }
        return DeletePolicyResponse(revision: revision)
    }

    /// TagPolicy.
    public func tagPolicy(_ request: TagPolicyRequest, context: ServerCallContext) async throws -> TagPolicyResponse {
        let arn = try Input.policyARN(request.policyARN)
        guard !request.tags.isEmpty else { throw Input.missing("tags") }
        let tags = try Input.tags(request.tags)
        try await refuseIfAWSManaged(arn, action: "iam:TagPolicy", context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.tagPolicy(arn: arn, tags: tags)
        }
        return TagPolicyResponse(revision: revision)
    }

    /// UntagPolicy.
    public func untagPolicy(_ request: UntagPolicyRequest, context: ServerCallContext) async throws
        -> UntagPolicyResponse
    {
        let arn = try Input.policyARN(request.policyARN)
        let keys = try Input.tagKeys(request.tagKeys)
        try await refuseIfAWSManaged(arn, action: "iam:UntagPolicy", context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.untagPolicy(arn: arn, keys: keys)
        }
        return UntagPolicyResponse(revision: revision)
    }

    /// ListPolicyTags.
    public func listPolicyTags(_ request: ListPolicyTagsRequest, context: ServerCallContext) async throws
        -> ListPolicyTagsResponse
    {
        let usage = try await directory.policyUsage(arn: try Input.policyARN(request.policyARN))
        let page = Page(
            indexed: usage.policy.tags, request: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListPolicyTagsResponse(
            tags: page.items.map(IAMWire.Tag.init), isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// ListEntitiesForPolicy: groups, users and roles the policy is attached to (or bounds).
    public func listEntitiesForPolicy(_ request: ListEntitiesForPolicyRequest, context: ServerCallContext)
        async throws -> ListEntitiesForPolicyResponse
    {
        let kind: EntityKind?
        switch request.entityFilter {
        case .unspecified: kind = nil
        case .user: kind = .user
        case .group: kind = .group
        case .role: kind = .role
        // AWS accepts the policy kinds in the filter and finds no users, groups or roles for them.
        case .localManagedPolicy, .awsManagedPolicy: return ListEntitiesForPolicyResponse()
        case .unrecognized(let value):
            throw IAMError.validation(
                field: "entityFilter", value: String(value),
                constraint: "satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]")
        }
        let page = try await directory.entitiesForPolicy(
            arn: try Input.policyARN(request.policyARN), kind: kind,
            pathPrefix: try Input.pathPrefix(request.pathPrefix),
            usage: try Self.usageFilter(request.policyUsageFilter),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        var response = ListEntitiesForPolicyResponse()
        for entity in page.items {
            switch entity.kind {
            case .group:
                response.policyGroups.append(PolicyGroup(groupName: entity.name.rawValue, groupID: entity.id.rawValue))
            case .user:
                response.policyUsers.append(PolicyUser(userName: entity.name.rawValue, userID: entity.id.rawValue))
            default: response.policyRoles.append(PolicyRole(roleName: entity.name.rawValue, roleID: entity.id.rawValue))
            }
        }
        response.isTruncated = page.isTruncated
        response.marker = page.marker?.rawValue ?? ""
        return response
    }

    // MARK: Versions

    /// CreatePolicyVersion: at most 5 versions.
    public func createPolicyVersion(_ request: CreatePolicyVersionRequest, context: ServerCallContext) async throws
        -> CreatePolicyVersionResponse
    {
        let arn = try Input.policyARN(request.policyARN)
        let document = try Input.document(request.policyDocument)
        try await refuseIfAWSManaged(arn, action: "iam:CreatePolicyVersion", context)
        let setAsDefault = request.setAsDefault
        let (version, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createPolicyVersion(policyARN: arn, document: document, setAsDefault: setAsDefault)
        }
        // AWS answers CreatePolicyVersion without the document.
        return CreatePolicyVersionResponse(
            policyVersion: IAMWire.PolicyVersion(version, withDocument: false), revision: revision)
    }

    /// GetPolicyVersion (customer or AWS managed).
    public func getPolicyVersion(_ request: GetPolicyVersionRequest, context: ServerCallContext) async throws
        -> GetPolicyVersionResponse
    {
        let version = try await directory.policyVersion(
            arn: try Input.policyARN(request.policyARN), versionID: try Input.versionID(request.versionID))
        return GetPolicyVersionResponse(policyVersion: IAMWire.PolicyVersion(version))
    }

    /// ListPolicyVersions: newest first, without documents.
    public func listPolicyVersions(_ request: ListPolicyVersionsRequest, context: ServerCallContext) async throws
        -> ListPolicyVersionsResponse
    {
        let page = try await directory.listPolicyVersions(
            arn: try Input.policyARN(request.policyARN),
            page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListPolicyVersionsResponse(
            versions: page.items.map { IAMWire.PolicyVersion($0, withDocument: false) },
            isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// DeletePolicyVersion: never the default one.
    public func deletePolicyVersion(_ request: DeletePolicyVersionRequest, context: ServerCallContext) async throws
        -> DeletePolicyVersionResponse
    {
        let arn = try Input.policyARN(request.policyARN)
        let versionID = try Input.versionID(request.versionID)
        try await refuseIfAWSManaged(arn, action: "iam:DeletePolicyVersion", context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deletePolicyVersion(policyARN: arn, versionID: versionID)
        }
        return DeletePolicyVersionResponse(revision: revision)
    }

    /// SetDefaultPolicyVersion.
    public func setDefaultPolicyVersion(_ request: SetDefaultPolicyVersionRequest, context: ServerCallContext)
        async throws -> SetDefaultPolicyVersionResponse
    {
        let arn = try Input.policyARN(request.policyARN)
        let versionID = try Input.versionID(request.versionID)
        try await refuseIfAWSManaged(arn, action: "iam:SetDefaultPolicyVersion", context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.setDefaultPolicyVersion(policyARN: arn, versionID: versionID)
        }
        return SetDefaultPolicyVersionResponse(revision: revision)
    }

    static func usageFilter(_ value: PolicyUsageType) throws(IAMError) -> PolicyUsageFilter? {
        switch value {
        case .unspecified: return nil
        case .permissionsPolicy: return .permissionsPolicy
        case .permissionsBoundary: return .permissionsBoundary
        case .unrecognized(let raw):
            throw .validation(
                field: "policyUsageFilter", value: String(raw),
                constraint: "satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]")
        }
    }
}

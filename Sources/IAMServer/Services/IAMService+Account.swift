public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// GetAccountSummary.
    public func getAccountSummary(_ request: GetAccountSummaryRequest, context: ServerCallContext) async throws
        -> GetAccountSummaryResponse
    {
        let summary = try await directory.accountSummary()
        return GetAccountSummaryResponse(summaryMap: summary.mapValues { Int32(clamping: $0) })
    }

    /// GetAccountAuthorizationDetails: the whole account, paged across users, groups, roles and policies.
    public func getAccountAuthorizationDetails(
        _ request: GetAccountAuthorizationDetailsRequest, context: ServerCallContext
    ) async throws -> GetAccountAuthorizationDetailsResponse {
        var kinds = Set<AuthorizationDetailKind>()
        for filter in request.filter {
            switch filter {
            case .user: kinds.insert(.user)
            case .group: kinds.insert(.group)
            case .role: kinds.insert(.role)
            case .localManagedPolicy: kinds.insert(.localManagedPolicy)
            case .awsManagedPolicy: kinds.insert(.awsManagedPolicy)
            case .unspecified, .unrecognized:
                throw IAMError.validation(
                    field: "filter", value: filter.protoName,
                    constraint: "satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]")
            }
        }
        if kinds.isEmpty { kinds = Set(AuthorizationDetailKind.allCases) }
        let page = try await directory.authorizationDetails(
            kinds: kinds, page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        var response = GetAccountAuthorizationDetailsResponse()
        for item in page.items {
            switch item {
            case .user(let user, let inline, let groups, let attached):
                response.userDetailList.append(
                    UserDetail(
                        user: IAMWire.User(user), userPolicyList: Self.documents(inline),
                        groupList: groups.map(\.rawValue), attachedManagedPolicies: attached.map(AttachedPolicy.init)))
            case .group(let group, let inline, let attached):
                response.groupDetailList.append(
                    GroupDetail(
                        group: IAMWire.Group(group), groupPolicyList: Self.documents(inline),
                        attachedManagedPolicies: attached.map(AttachedPolicy.init)))
            case .role(let role, let inline, let attached, let profiles):
                response.roleDetailList.append(
                    RoleDetail(
                        role: IAMWire.Role(role), rolePolicyList: Self.documents(inline),
                        attachedManagedPolicies: attached.map(AttachedPolicy.init),
                        instanceProfileList: profiles.map { IAMWire.InstanceProfile($0) }))
            case .policy(let usage):
                response.policies.append(
                    ManagedPolicyDetail(
                        policy: IAMWire.Policy(usage),
                        policyVersionList: usage.policy.versions.reversed().map { IAMWire.PolicyVersion($0) }))
            }
        }
        response.isTruncated = page.isTruncated
        response.marker = page.marker?.rawValue ?? ""
        return response
    }

    private static func documents(_ inline: [InlinePolicy]) -> [String: String] {
        Dictionary(inline.map { ($0.name.rawValue, $0.document) }, uniquingKeysWith: { _, last in last })
    }
}

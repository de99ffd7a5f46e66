import Foundation

/// One item of GetAccountAuthorizationDetails: an entity with everything attached to it.
public enum AuthorizationDetail: Sendable, Hashable {
    /// A user, its inline policies, its groups' names and its attached policies.
    case user(User, inline: [InlinePolicy], groups: [EntityName], attached: [ARN])
    /// A group, its inline and attached policies.
    case group(Group, inline: [InlinePolicy], attached: [ARN])
    /// A role, its inline and attached policies and the instance profiles holding it.
    case role(Role, inline: [InlinePolicy], attached: [ARN], instanceProfiles: [InstanceProfileDetail])
    /// A managed policy with all its versions and counts.
    case policy(PolicyUsage)
}

/// What GetAccountAuthorizationDetails' `Filter` selects.
public enum AuthorizationDetailKind: Sendable, Hashable, CaseIterable {
    /// Users.
    case user
    /// Roles.
    case role
    /// Groups.
    case group
    /// Customer managed policies.
    case localManagedPolicy
    /// AWS managed policies (those in use, as AWS lists them).
    case awsManagedPolicy
}

extension IAMDirectory {
    /// GetAccountSummary: entity counts and the quotas, under AWS's SummaryMap keys.
    public func accountSummary() async throws(IAMError) -> [String: Int] {
        let quotas = self.quotas
        return try await store.read { tx throws(IAMError) in
            let policies = try Self.all(ManagedPolicy.self, tx)
            return [
                "Users": try tx.count(User.self), "UsersQuota": quotas.usersPerAccount,
                "Groups": try tx.count(Group.self), "GroupsQuota": quotas.groupsPerAccount,
                "Roles": try tx.count(Role.self), "RolesQuota": quotas.rolesPerAccount,
                "Policies": policies.count, "PoliciesQuota": quotas.customerManagedPoliciesPerAccount,
                "PolicyVersionsInUse": policies.reduce(0) { $0 + $1.versions.count },
                "PolicyVersionsInUseQuota": 10_000,
                "VersionsPerPolicyQuota": quotas.versionsPerPolicy,
                "PolicySizeQuota": quotas.managedPolicySize,
                "UserPolicySizeQuota": quotas.inlinePolicySizePerUser,
                "GroupPolicySizeQuota": quotas.inlinePolicySizePerGroup,
                "RolePolicySizeQuota": quotas.inlinePolicySizePerRole,
                "AssumeRolePolicySizeQuota": quotas.trustPolicySize,
                "GroupsPerUserQuota": quotas.groupsPerUser,
                "AttachedPoliciesPerUserQuota": quotas.managedPoliciesPerUser,
                "AttachedPoliciesPerGroupQuota": quotas.managedPoliciesPerGroup,
                "AttachedPoliciesPerRoleQuota": quotas.managedPoliciesPerRole,
                "AccessKeysPerUserQuota": quotas.accessKeysPerUser,
                // The root key lives outside the store and always exists.
                "AccountAccessKeysPresent": 1,
                "AccountMFAEnabled": 0, "MFADevices": 0, "MFADevicesInUse": 0,
                "InstanceProfiles": try tx.count(InstanceProfile.self),
                "InstanceProfilesQuota": quotas.instanceProfilesPerAccount,
                "ServerCertificates": 0, "ServerCertificatesQuota": 20,
                "SigningCertificatesPerUserQuota": 2, "AccountSigningCertificatesPresent": 0,
                "Providers": 0, "GlobalEndpointTokenVersion": 1,
            ]
        }
    }

    /// GetAccountAuthorizationDetails: users, groups, roles and managed policies (in that order, each by name),
    /// paged across the whole sequence so a big account comes in several answers.
    public func authorizationDetails(
        kinds: Set<AuthorizationDetailKind> = Set(AuthorizationDetailKind.allCases), page: PageRequest = .first
    ) async throws(IAMError) -> Page<AuthorizationDetail> {
        try await store.read { tx throws(IAMError) in
            var rows: [(key: String, detail: AuthorizationDetail)] = []
            if kinds.contains(.user) {
                for user in try Self.all(User.self, tx) {
                    let owner = OwnerRef(.user, user.id)
                    var groups: [EntityName] = []
                    for id in try tx.groups(ofUser: user.id) {
                        if let group = try tx.entity(Group.self, id: id) { groups.append(group.name) }
                    }
                    rows.append(
                        (
                            "0" + user.name.folded,
                            .user(
                                user, inline: try tx.inlinePolicies(of: owner), groups: groups.sorted(),
                                attached: try tx.attachedPolicies(of: owner))
                        ))
                }
            }
            if kinds.contains(.group) {
                for group in try Self.all(Group.self, tx) {
                    let owner = OwnerRef(.group, group.id)
                    rows.append(
                        (
                            "1" + group.name.folded,
                            .group(
                                group, inline: try tx.inlinePolicies(of: owner),
                                attached: try tx.attachedPolicies(of: owner))
                        ))
                }
            }
            if kinds.contains(.role) {
                for role in try Self.all(Role.self, tx) {
                    let owner = OwnerRef(.role, role.id)
                    var profiles: [InstanceProfileDetail] = []
                    for id in try tx.instanceProfiles(ofRole: role.id) {
                        if let profile = try tx.entity(InstanceProfile.self, id: id) {
                            profiles.append(try Self.detail(profile, tx))
                        }
                    }
                    rows.append(
                        (
                            "2" + role.name.folded,
                            .role(
                                role, inline: try tx.inlinePolicies(of: owner),
                                attached: try tx.attachedPolicies(of: owner), instanceProfiles: profiles)
                        ))
                }
            }
            var policies: [ManagedPolicy] = []
            if kinds.contains(.localManagedPolicy) { policies += try Self.all(ManagedPolicy.self, tx) }
            if kinds.contains(.awsManagedPolicy) { policies += AWSManagedPolicies.all }
            for policy in policies {
                let usage = PolicyUsage(
                    policy: policy, attachmentCount: try tx.attachments(ofPolicy: policy.arn).count,
                    boundaryUsageCount: try tx.boundaryUses(ofPolicy: policy.arn).count)
                if policy.isAWSManaged, usage.attachmentCount + usage.boundaryUsageCount == 0 { continue }
                rows.append(("3" + policy.name.folded + (policy.isAWSManaged ? "\u{1}0" : "\u{1}1"), .policy(usage)))
            }
            rows.sort { $0.key < $1.key }
            return Page(sorted: rows, key: { $0.key }, request: page).map { $0.detail }
        }
    }
}

/// The account's IAM quotas. Every number defaults to AWS's default; the adjustable ones are configuration.
///
/// Source for every figure unless noted: "IAM and AWS STS quotas",
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html. Policy sizes count characters
/// other than whitespace outside strings (`PolicyDocument.awsCharacterCount`).
public struct Quotas: Hashable, Sendable {
    /// Users per account: 5,000 (adjustable). reference_iam-quotas.html, "IAM object quotas".
    public var usersPerAccount = 5_000
    /// Groups per account: 300 (adjustable to 500). reference_iam-quotas.html.
    public var groupsPerAccount = 300
    /// Roles per account: 1,000 (adjustable to 5,000). reference_iam-quotas.html.
    public var rolesPerAccount = 1_000
    /// Customer managed policies per account: 1,500 (adjustable to 5,000). reference_iam-quotas.html.
    public var customerManagedPoliciesPerAccount = 1_500
    /// Instance profiles per account: 1,000 (adjustable to 5,000). reference_iam-quotas.html.
    public var instanceProfilesPerAccount = 1_000
    /// Roles in one instance profile: 1 (fixed; AWS's quota name is `InstanceSessionsPerInstanceProfile`).
    /// reference_iam-quotas.html ("Roles in an instance profile").
    public var rolesPerInstanceProfile = 1
    /// Groups an IAM user can be a member of: 10 (fixed). reference_iam-quotas.html.
    public var groupsPerUser = 10
    /// Managed policies attached to a user: 10 (adjustable to 20). reference_iam-quotas.html.
    public var managedPoliciesPerUser = 10
    /// Managed policies attached to a group: 10 (fixed). reference_iam-quotas.html.
    public var managedPoliciesPerGroup = 10
    /// Managed policies attached to a role: 10 (adjustable to 20). reference_iam-quotas.html.
    public var managedPoliciesPerRole = 10
    /// Access keys per user: 2 (fixed). reference_iam-quotas.html; also API_CreateAccessKey.html.
    public var accessKeysPerUser = 2
    /// Versions per managed policy: 5 (fixed). reference_iam-quotas.html; access_policies_managed-versioning.html.
    public var versionsPerPolicy = 5
    /// Tags per user, role or policy: 50. https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html
    public var tagsPerEntity = 50
    /// Managed policy document size: 6,144 characters (fixed). reference_iam-quotas.html.
    public var managedPolicySize = 6_144
    /// Aggregate inline policy size per user: 2,048 characters. reference_iam-quotas.html.
    public var inlinePolicySizePerUser = 2_048
    /// Aggregate inline policy size per group: 5,120 characters. reference_iam-quotas.html.
    public var inlinePolicySizePerGroup = 5_120
    /// Aggregate inline policy size per role: 10,240 characters. reference_iam-quotas.html.
    public var inlinePolicySizePerRole = 10_240
    /// Role trust policy length: 2,048 characters (adjustable to 4,096). reference_iam-quotas.html.
    public var trustPolicySize = 2_048
    /// AssumeRole session policy (plaintext) size: 2,048 characters.
    /// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html ("Policy").
    public var sessionPolicySize = 2_048
    /// Role MaxSessionDuration range in seconds: 3,600..43,200, default 3,600.
    /// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html ("MaxSessionDuration").
    public var maxSessionDurationRange = 3_600...43_200
    /// AssumeRole DurationSeconds lower bound: 900 s; the upper bound is the role's MaxSessionDuration.
    /// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html ("DurationSeconds").
    public var minimumSessionDuration = 900
    /// The session length when AssumeRole names none: 3,600 s. API_AssumeRole.html.
    public var defaultSessionDuration = 3_600
    /// Role and managed policy description length: 1,000 characters. API_CreateRole.html, API_CreatePolicy.html.
    public var descriptionLength = 1_000

    /// AWS's defaults.
    public init() {}

    /// The aggregate inline policy size limit of an entity kind (user, group or role).
    public func inlinePolicySize(for kind: EntityKind) -> Int {
        switch kind {
        case .group: self.inlinePolicySizePerGroup
        case .role: self.inlinePolicySizePerRole
        default: self.inlinePolicySizePerUser
        }
    }

    /// The managed-policy attachment limit of an entity kind, with AWS's quota name for the message.
    public func managedPolicies(for kind: EntityKind) -> (limit: Int, quotaName: String) {
        switch kind {
        case .group: (self.managedPoliciesPerGroup, "PoliciesPerGroup")
        case .role: (self.managedPoliciesPerRole, "PoliciesPerRole")
        default: (self.managedPoliciesPerUser, "PoliciesPerUser")
        }
    }
}

public import Foundation

/// What user, group, role, managed policy and instance profile records have in common: an id, a unique name, a path.
///
/// Stores keep these records whole (the SQLite store as JSON beside indexed columns), so adding a field
/// needs no schema migration.
public protocol NamedEntity: Codable, Sendable, Hashable {
    /// The entity kind (user, group, role, policy).
    static var kind: EntityKind { get }
    /// The unique id (`AIDA...`), the store's primary key; names can change (UpdateUser), ids never do.
    var id: UniqueID { get }
    /// The name, unique per account case-insensitively.
    var name: EntityName { get }
    /// The path.
    var path: IAMPath { get }
    /// The ARN.
    var arn: ARN { get }
    /// The managed policy used as the permissions boundary (users and roles), if any.
    var permissionsBoundary: ARN? { get }
}

extension NamedEntity {
    /// No boundary.
    public var permissionsBoundary: ARN? { nil }
}

/// An IAM user.
public struct User: NamedEntity {
    /// `.user`
    public static let kind = EntityKind.user
    /// `AIDA...`
    public var id: UniqueID
    /// The user name.
    public var name: EntityName
    /// The path.
    public var path: IAMPath
    /// `arn:aws:iam::<account>:user/<path><name>`.
    public var arn: ARN
    /// When the user was created.
    public var createDate: Date
    /// The boundary policy's ARN.
    public var permissionsBoundary: ARN?
    /// Tags (keys unique case-insensitively, case preserved).
    public var tags: [Tag]

    /// Creates a user record.
    public init(
        id: UniqueID, name: EntityName, path: IAMPath, arn: ARN, createDate: Date,
        permissionsBoundary: ARN? = nil, tags: [Tag] = []
    ) {
        self.id = id
        self.name = name
        self.path = path
        self.arn = arn
        self.createDate = createDate
        self.permissionsBoundary = permissionsBoundary
        self.tags = tags
    }
}

/// An IAM group.
public struct Group: NamedEntity {
    /// `.group`
    public static let kind = EntityKind.group
    /// `AGPA...`
    public var id: UniqueID
    /// The group name.
    public var name: EntityName
    /// The path.
    public var path: IAMPath
    /// `arn:aws:iam::<account>:group/<path><name>`.
    public var arn: ARN
    /// When the group was created.
    public var createDate: Date

    /// Creates a group record.
    public init(id: UniqueID, name: EntityName, path: IAMPath, arn: ARN, createDate: Date) {
        self.id = id
        self.name = name
        self.path = path
        self.arn = arn
        self.createDate = createDate
    }
}

/// An IAM role.
public struct Role: NamedEntity {
    /// `.role`
    public static let kind = EntityKind.role
    /// `AROA...`
    public var id: UniqueID
    /// The role name.
    public var name: EntityName
    /// The path (`/service-role/`, ...).
    public var path: IAMPath
    /// `arn:aws:iam::<account>:role/<path><name>`.
    public var arn: ARN
    /// When the role was created.
    public var createDate: Date
    /// The trust policy (`AssumeRolePolicyDocument`) as submitted.
    public var assumeRolePolicyDocument: String
    /// Description, up to 1,000 characters.
    public var description: String?
    /// Longest session AssumeRole may grant, 3,600..43,200 seconds.
    public var maxSessionDuration: Int
    /// The boundary policy's ARN.
    public var permissionsBoundary: ARN?
    /// Tags (keys unique case-insensitively, case preserved).
    public var tags: [Tag]
    /// When a session of the role was last created (RoleLastUsed), if ever.
    public var lastUsedDate: Date?

    /// Creates a role record.
    public init(
        id: UniqueID, name: EntityName, path: IAMPath, arn: ARN, createDate: Date,
        assumeRolePolicyDocument: String, description: String? = nil, maxSessionDuration: Int = 3_600,
        permissionsBoundary: ARN? = nil, tags: [Tag] = [], lastUsedDate: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.path = path
        self.arn = arn
        self.createDate = createDate
        self.assumeRolePolicyDocument = assumeRolePolicyDocument
        self.description = description
        self.maxSessionDuration = maxSessionDuration
        self.permissionsBoundary = permissionsBoundary
        self.tags = tags
        self.lastUsedDate = lastUsedDate
    }
}

/// An instance profile: the container through which EC2 hands a role to an instance.
///
/// The role it holds (at most one, AWS's `InstanceSessionsPerInstanceProfile` quota) is a relation kept by the
/// store (``InstanceProfileRole``), not a field, so a role's profiles are found from either end by index and a
/// role rename needs no rewrite here.
public struct InstanceProfile: NamedEntity {
    /// `.instanceProfile`
    public static let kind = EntityKind.instanceProfile
    /// `AIPA...`
    public var id: UniqueID
    /// The instance profile name.
    public var name: EntityName
    /// The path.
    public var path: IAMPath
    /// `arn:aws:iam::<account>:instance-profile/<path><name>`.
    public var arn: ARN
    /// When the instance profile was created.
    public var createDate: Date
    /// Tags (case-sensitive keys, as on every IAM resource other than users and roles).
    public var tags: [Tag]

    /// Creates an instance profile record.
    public init(id: UniqueID, name: EntityName, path: IAMPath, arn: ARN, createDate: Date, tags: [Tag] = []) {
        self.id = id
        self.name = name
        self.path = path
        self.arn = arn
        self.createDate = createDate
        self.tags = tags
    }
}

/// A managed policy with its versions (at most five; one is the default).
///
/// Versions live inside the record: there are at most five of at most 6,144 characters, and every read of
/// a policy for evaluation needs the default one.
public struct ManagedPolicy: NamedEntity {
    /// `.policy`
    public static let kind = EntityKind.policy
    /// `ANPA...`
    public var id: UniqueID
    /// The policy name.
    public var name: EntityName
    /// The path.
    public var path: IAMPath
    /// `arn:aws:iam::<account>:policy/<path><name>`, or `arn:aws:iam::aws:policy/...` for AWS managed ones.
    public var arn: ARN
    /// When the policy was created.
    public var createDate: Date
    /// When the latest version was created (AWS's `UpdateDate`).
    public var updateDate: Date
    /// Description, up to 1,000 characters (immutable in AWS).
    public var description: String?
    /// The versions, in creation order.
    public var versions: [PolicyVersion]
    /// The next version number to hand out (`v<N>`); never reused, so ids stay unique after deletions.
    public var nextVersionNumber: Int
    /// Whether the policy can be attached (AWS's `IsAttachable`; false for some AWS service policies).
    public var isAttachable: Bool
    /// Tags (case-sensitive keys for policies).
    public var tags: [Tag]

    /// Creates a policy whose `v1` holds `document` and is the default.
    public init(
        id: UniqueID, name: EntityName, path: IAMPath, arn: ARN, createDate: Date, document: String,
        description: String? = nil, isAttachable: Bool = true, tags: [Tag] = []
    ) {
        self.id = id
        self.name = name
        self.path = path
        self.arn = arn
        self.createDate = createDate
        self.updateDate = createDate
        self.description = description
        self.versions = [PolicyVersion(versionID: "v1", document: document, isDefault: true, createDate: createDate)]
        self.nextVersionNumber = 2
        self.isAttachable = isAttachable
        self.tags = tags
    }

    /// Whether this is an AWS managed policy (`arn:aws:iam::aws:policy/...`), which callers cannot change.
    public var isAWSManaged: Bool { self.arn.account == "aws" }

    /// The default version (every policy has exactly one).
    public var defaultVersion: PolicyVersion {
        // The invariant is kept by every mutation; the fallback only guards a corrupt record.
        self.versions.first(where: \.isDefault) ?? self.versions[0]
    }

    /// The default version's id (`v1`).
    public var defaultVersionID: String { self.defaultVersion.versionID }

    /// The version with id `versionID`.
    public func version(_ versionID: String) -> PolicyVersion? {
        self.versions.first { $0.versionID == versionID }
    }
}

/// One version of a managed policy.
public struct PolicyVersion: Codable, Sendable, Hashable {
    /// `v1`, `v2`, ...
    public var versionID: String
    /// The document as submitted.
    public var document: String
    /// Whether this is the policy's default (operative) version.
    public var isDefault: Bool
    /// When the version was created.
    public var createDate: Date

    /// Creates a version.
    public init(versionID: String, document: String, isDefault: Bool, createDate: Date) {
        self.versionID = versionID
        self.document = document
        self.isDefault = isDefault
        self.createDate = createDate
    }

    /// Validates a `VersionId` (`v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`, API model `policyVersionIdType`).
    public static func validateID(_ text: String) throws(IAMError) {
        let bytes = Array(text.utf8)
        var index = 1
        var ok =
            bytes.count >= 2 && bytes.count <= 32 && bytes[0] == UInt8(ascii: "v")
            && (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[1])
        while ok, index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        if ok, index < bytes.count {
            ok =
                bytes[index] == UInt8(ascii: ".")
                && bytes[(index + 1)...].allSatisfy {
                    EntityName.isNameByte($0) && $0 != UInt8(ascii: "_") && $0 != UInt8(ascii: "+")
                        && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: ".")
                        && $0 != UInt8(ascii: "@")
                }
        }
        guard ok else {
            throw .validation(
                field: "versionId", value: text,
                constraint: "satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
        }
    }
}

/// Which principal-like entity owns an inline policy, an attachment or a membership: the store keys these
/// relations by unique id, so renames (UpdateUser) keep them.
public struct OwnerRef: Hashable, Sendable, Codable, Comparable {
    /// `.user`, `.group` or `.role`.
    public var kind: EntityKind
    /// The owner's unique id.
    public var id: UniqueID

    /// Creates a reference.
    public init(_ kind: EntityKind, _ id: UniqueID) {
        self.kind = kind
        self.id = id
    }

    /// Orders by kind then id.
    public static func < (lhs: OwnerRef, rhs: OwnerRef) -> Bool {
        (lhs.kind.rawValue, lhs.id.rawValue) < (rhs.kind.rawValue, rhs.id.rawValue)
    }
}

/// An inline policy embedded in a user, group or role.
public struct InlinePolicy: Codable, Sendable, Hashable {
    /// The owning entity.
    public var owner: OwnerRef
    /// The policy name, unique per owner.
    public var name: EntityName
    /// The document as submitted.
    public var document: String

    /// Creates an inline policy.
    public init(owner: OwnerRef, name: EntityName, document: String) {
        self.owner = owner
        self.name = name
        self.document = document
    }
}

/// A managed policy attached to a user, group or role (AWS's `AttachedPolicy`, with the owner).
public struct Attachment: Codable, Sendable, Hashable {
    /// The entity the policy is attached to.
    public var owner: OwnerRef
    /// The policy's ARN (customer or AWS managed).
    public var policyARN: ARN

    /// Creates an attachment.
    public init(owner: OwnerRef, policyARN: ARN) {
        self.owner = owner
        self.policyARN = policyARN
    }
}

/// A role held by an instance profile (AddRoleToInstanceProfile), keyed by both unique ids.
public struct InstanceProfileRole: Hashable, Sendable, Codable {
    /// The instance profile's unique id.
    public var instanceProfileID: UniqueID
    /// The role's unique id.
    public var roleID: UniqueID

    /// Creates the relation.
    public init(instanceProfileID: UniqueID, roleID: UniqueID) {
        self.instanceProfileID = instanceProfileID
        self.roleID = roleID
    }
}

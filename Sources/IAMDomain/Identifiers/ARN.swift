/// An Amazon Resource Name, `arn:partition:service:region:account:resource`, parsed and formatted in one place.
///
/// The resource part may itself hold `:` and `/`. IAM and STS ARNs have an empty region
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). Equality is exact text: IAM
/// resource names in ARNs are case-sensitive.
public struct ARN: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The longest ARN the IAM API accepts (`arnType` is 20..2048).
    public static let maxLength = 2048

    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    public var partition: String
    /// `iam`, `sts`, `s3`, ...
    public var service: String
    /// Empty for global services.
    public var region: String
    /// The owning account: 12 digits, `aws` for AWS managed policies, or empty (S3 buckets, API Gateway).
    public var account: String
    /// Everything after the fifth colon.
    public var resource: String

    /// Creates an ARN from its parts (not validated; prefer the named constructors or ``init(parsing:)``).
    public init(partition: String = "aws", service: String, region: String = "", account: String, resource: String) {
        self.partition = partition
        self.service = service
        self.region = region
        self.account = account
        self.resource = resource
    }

    /// Parses `text`; throws `InvalidInput` (AWS's code for a well-formed but invalid ARN value) when it is
    /// not `arn:<partition>:<service>:<region>:<account>:<resource>` with non-empty partition, service and
    /// resource, or `ValidationError` when it is longer than 2,048 characters.
    public init(parsing text: String, field: String = "arn") throws(IAMError) {
        guard text.utf8.count <= Self.maxLength else {
            throw .validation(
                field: field, value: text, constraint: "have length less than or equal to \(Self.maxLength)")
        }
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty,
            parts[1].utf8.allSatisfy(Self.isLabelByte), parts[2].utf8.allSatisfy(Self.isLabelByte),
            parts[3].utf8.allSatisfy(Self.isLabelByte),
            parts[4].utf8.allSatisfy(Self.isLabelByte)
        else {
            throw .invalidInput("ARN \(text.prefix(256)) is not valid.")
        }
        self.init(
            partition: String(parts[1]), service: String(parts[2]), region: String(parts[3]),
            account: String(parts[4]), resource: String(parts[5]))
    }

    /// Hashes the resource and the account only: they are what tells one stored ARN from another, and the
    /// other three parts are nearly always `aws`, `iam` and empty (equal ARNs still hash alike; `==` compares
    /// every part). Hashing all five was a measurable part of building a snapshot, whose tables are keyed by ARN.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.resource)
        hasher.combine(self.account)
    }

    /// `arn:partition:service:region:account:resource`.
    public var description: String { "arn:\(partition):\(service):\(region):\(account):\(resource)" }

    /// Orders by text.
    public static func < (lhs: ARN, rhs: ARN) -> Bool { lhs.description < rhs.description }

    /// The account as an ``AccountID`` when it is 12 digits.
    public var accountID: AccountID? { try? AccountID(self.account) }

    /// Encodes as the ARN string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }

    /// Decodes an ARN string.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    private static func isLabelByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default: false
        }
    }
}

// MARK: - IAM and STS resources

/// The IAM resource types whose ARNs carry a path and a name (`user/division/alice`).
public enum IAMResourceType: String, Hashable, Sendable, CaseIterable, Codable {
    /// `user/`
    case user
    /// `group/`
    case group
    /// `role/`
    case role
    /// `policy/`
    case policy
    /// `instance-profile/`
    case instanceProfile = "instance-profile"

    /// The entity kind whose name rules apply.
    public var entityKind: EntityKind {
        switch self {
        case .user: .user
        case .group: .group
        case .role: .role
        case .policy: .policy
        case .instanceProfile: .instanceProfile
        }
    }
}

extension ARN {
    /// The resource part of an IAM entity ARN: type, path and name.
    public struct IAMEntity: Hashable, Sendable {
        /// `user`, `group`, `role`, `policy`, `instance-profile`.
        public var type: IAMResourceType
        /// The path (`/` when the ARN has none).
        public var path: IAMPath
        /// The friendly name.
        public var name: EntityName
    }

    /// `arn:<partition>:iam::<account>:<type>/<path-without-leading-slash><name>`.
    public static func iam(
        _ type: IAMResourceType, account: String, path: IAMPath = .root, name: EntityName, partition: String = "aws"
    ) -> ARN {
        ARN(
            partition: partition, service: "iam", account: account,
            resource: "\(type.rawValue)/\(path.arnComponent)\(name.rawValue)")
    }

    /// A user's ARN.
    public static func user(account: AccountID, path: IAMPath = .root, name: EntityName) -> ARN {
        .iam(.user, account: account.rawValue, path: path, name: name)
    }

    /// A group's ARN.
    public static func group(account: AccountID, path: IAMPath = .root, name: EntityName) -> ARN {
        .iam(.group, account: account.rawValue, path: path, name: name)
    }

    /// A role's ARN.
    public static func role(account: AccountID, path: IAMPath = .root, name: EntityName) -> ARN {
        .iam(.role, account: account.rawValue, path: path, name: name)
    }

    /// A customer managed policy's ARN.
    public static func policy(account: AccountID, path: IAMPath = .root, name: EntityName) -> ARN {
        .iam(.policy, account: account.rawValue, path: path, name: name)
    }

    /// An instance profile's ARN: `arn:aws:iam::<account>:instance-profile/<path><name>`.
    public static func instanceProfile(account: AccountID, path: IAMPath = .root, name: EntityName) -> ARN {
        .iam(.instanceProfile, account: account.rawValue, path: path, name: name)
    }

    /// An AWS managed policy's ARN: `arn:aws:iam::aws:policy/<path><name>`.
    public static func awsManagedPolicy(path: IAMPath = .root, name: EntityName) -> ARN {
        .iam(.policy, account: "aws", path: path, name: name)
    }

    /// The account root: `arn:aws:iam::<account>:root`.
    public static func root(account: AccountID) -> ARN {
        ARN(service: "iam", account: account.rawValue, resource: "root")
    }

    /// A role session: `arn:aws:sts::<account>:assumed-role/<role name>/<session name>` (no path).
    public static func assumedRole(account: AccountID, roleName: EntityName, sessionName: EntityName) -> ARN {
        ARN(service: "sts", account: account.rawValue, resource: "assumed-role/\(roleName)/\(sessionName)")
    }

    /// The type, path and name of an IAM entity ARN (`iam` service, a known type, a valid path and name), or
    /// nil for every other ARN.
    public var iamEntity: IAMEntity? {
        guard self.service == "iam", let slash = self.resource.firstIndex(of: "/"),
            let type = IAMResourceType(rawValue: String(self.resource[..<slash]))
        else { return nil }
        let rest = self.resource[self.resource.index(after: slash)...]
        let lastSlash = rest.lastIndex(of: "/")
        let nameText = lastSlash.map { rest[rest.index(after: $0)...] } ?? rest
        let pathText = lastSlash.map { "/" + rest[...$0] } ?? "/"
        guard let name = try? EntityName(String(nameText), kind: type.entityKind),
            let path = try? IAMPath(pathText, forPolicy: type == .policy)
        else { return nil }
        return IAMEntity(type: type, path: path, name: name)
    }

    /// Whether this is an account root ARN (`arn:aws:iam::123456789012:root`).
    public var isRoot: Bool { self.service == "iam" && self.resource == "root" && self.accountID != nil }

    /// Whether this is an AWS managed policy (`arn:aws:iam::aws:policy/...`).
    public var isAWSManagedPolicy: Bool { self.account == "aws" && self.iamEntity?.type == .policy }

    /// The role and session names of an STS assumed-role ARN, or nil.
    public var assumedRole: (roleName: EntityName, sessionName: EntityName)? {
        guard self.service == "sts", self.resource.hasPrefix("assumed-role/") else { return nil }
        let parts = self.resource.dropFirst("assumed-role/".count).split(
            separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let role = try? EntityName(String(parts[0]), kind: .role),
            let session = try? EntityName(String(parts[1]), kind: .roleSession)
        else { return nil }
        return (role, session)
    }

    /// Parses `text` as the ARN of an IAM entity of `type`; throws `InvalidInput` otherwise
    /// (`ARN arn:aws:iam::123456789012:group/x is not a valid user ARN.`).
    public static func parseIAM(_ text: String, type: IAMResourceType, field: String = "arn") throws(IAMError)
        -> (arn: ARN, entity: IAMEntity)
    {
        let arn = try ARN(parsing: text, field: field)
        guard let entity = arn.iamEntity, entity.type == type else {
            throw .invalidInput("ARN \(text.prefix(256)) is not a valid \(type.entityKind.noun) ARN.")
        }
        return (arn, entity)
    }
}

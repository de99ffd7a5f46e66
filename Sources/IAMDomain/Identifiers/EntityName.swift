/// The kinds of named IAM things, with the rules AWS gives their names.
public enum EntityKind: String, Hashable, Sendable, CaseIterable, Codable {
    /// An IAM user.
    case user
    /// An IAM group.
    case group
    /// An IAM role.
    case role
    /// A managed policy.
    case policy
    /// An instance profile.
    case instanceProfile = "instance-profile"
    /// An inline policy of a user, group or role.
    case inlinePolicy = "inline-policy"
    /// A role session (AssumeRole's RoleSessionName).
    case roleSession = "role-session"

    /// The longest name AWS accepts (API model: user 64, group 128, role 64, policy 128, instance profile 128,
    /// inline policy 128, session 64). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
    public var maxNameLength: Int {
        switch self {
        case .user, .role, .roleSession: 64
        case .group, .policy, .instanceProfile, .inlinePolicy: 128
        }
    }

    /// The shortest name AWS accepts (RoleSessionName is 2..64).
    public var minNameLength: Int { self == .roleSession ? 2 : 1 }

    /// The request field that carries the name, as AWS's ValidationError names it (`userName`).
    public var nameField: String {
        switch self {
        case .user: "userName"
        case .group: "groupName"
        case .role: "roleName"
        case .policy, .inlinePolicy: "policyName"
        case .instanceProfile: "instanceProfileName"
        case .roleSession: "roleSessionName"
        }
    }

    /// The word AWS's messages use (`The user with name ...`).
    public var noun: String {
        switch self {
        case .user: "user"
        case .group: "group"
        case .role: "role"
        case .policy: "policy"
        case .instanceProfile: "instance profile"
        case .inlinePolicy: "policy"
        case .roleSession: "role session"
        }
    }

    /// ``noun`` with a capital letter (`User with name ... already exists.`).
    public var capitalizedNoun: String { self.noun.prefix(1).uppercased() + self.noun.dropFirst() }
}

/// A validated IAM name: `[\w+=,.@-]+` (ASCII letters, digits, `_+=,.@-`) within the kind's length.
///
/// Names keep their case; uniqueness is case-insensitive (`ADMINS` and `admins` cannot coexist), so stores key
/// them by ``folded``. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
public struct EntityName: Hashable, Sendable, Comparable, CustomStringConvertible, ValidatedString {
    /// The name as given.
    public let rawValue: String

    /// Validates `text` as a name of `kind`; throws `ValidationError` in AWS's words.
    public init(_ text: String, kind: EntityKind) throws(IAMError) {
        try Self.validate(text, kind: kind)
        self.rawValue = text
    }

    /// The key names are unique by: ASCII lower case (the alphabet has no other letters).
    public var folded: String { Self.fold(self.rawValue) }

    /// The name.
    public var description: String { self.rawValue }

    /// Orders by folded name, the order AWS's lists use.
    public static func < (lhs: EntityName, rhs: EntityName) -> Bool { lhs.folded < rhs.folded }

    /// Checks `text` against the rules for `kind`.
    public static func validate(_ text: String, kind: EntityKind) throws(IAMError) {
        let count = text.utf8.count
        if count < kind.minNameLength {
            throw .validation(
                field: kind.nameField, value: text,
                constraint: "have length greater than or equal to \(kind.minNameLength)")
        }
        if count > kind.maxNameLength {
            throw .validation(
                field: kind.nameField, value: text,
                constraint: "have length less than or equal to \(kind.maxNameLength)")
        }
        guard text.utf8.allSatisfy(isNameByte) else {
            throw .validation(
                field: kind.nameField, value: text,
                constraint: "satisfy regular expression pattern: [\\w+=,.@-]+")
        }
    }

    /// ASCII lower case, the case folding IAM's uniqueness rule needs for its ASCII-only names.
    public static func fold(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// `[\w+=,.@-]`: Java's `\w` is ASCII `[A-Za-z0-9_]`.
    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "_"), UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "."),
            UInt8(ascii: "@"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}

/// A 12-digit AWS account id.
public struct AccountID: Hashable, Sendable, Comparable, CustomStringConvertible, ValidatedString {
    /// The twelve digits.
    public let rawValue: String

    /// Validates `text` as 12 ASCII digits.
    public init(_ text: String) throws(IAMError) {
        guard text.utf8.count == 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .invalidInput("Account id \(text.prefix(64)) is not 12 digits.")
        }
        self.rawValue = text
    }

    /// The digits.
    public var description: String { self.rawValue }

    /// Orders by digits.
    public static func < (lhs: AccountID, rhs: AccountID) -> Bool { lhs.rawValue < rhs.rawValue }
}

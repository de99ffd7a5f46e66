/// An IAM path: `/` or `/segment/.../`, at most 512 characters.
///
/// Users, groups and roles accept ASCII `!`..`~` between the slashes; managed policies only
/// `[A-Za-z0-9.,+@=_-]` (API model patterns `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)` and
/// `((/[A-Za-z0-9\.,\+@=_-]+)*)/`). https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
public struct IAMPath: Hashable, Sendable, Comparable, CustomStringConvertible, ValidatedString {
    /// The longest path AWS accepts.
    public static let maxLength = 512

    /// The path as given, starting and ending with `/`.
    public let rawValue: String

    /// `/`, the default path.
    public static let root = IAMPath(unchecked: "/")

    /// Validates `text` as the path of a user, group or role (`forPolicy: false`) or of a managed policy.
    public init(_ text: String, forPolicy: Bool = false) throws(IAMError) {
        try Self.validate(text, field: "path", forPolicy: forPolicy)
        self.rawValue = text
    }

    init(unchecked text: String) {
        self.rawValue = text
    }

    /// The path.
    public var description: String { self.rawValue }

    /// The path without its leading `/`, as it appears in an ARN (`division/` for `/division/`, empty for `/`).
    public var arnComponent: Substring { self.rawValue.dropFirst() }

    /// Orders by text.
    public static func < (lhs: IAMPath, rhs: IAMPath) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether a list's `PathPrefix` selects this path (a plain, case-sensitive prefix, as in AWS).
    public func hasPrefix(_ prefix: PathPrefix) -> Bool { self.rawValue.hasPrefix(prefix.rawValue) }

    static func validate(_ text: String, field: String, forPolicy: Bool) throws(IAMError) {
        let bytes = text.utf8
        guard !bytes.isEmpty else {
            throw .validation(field: field, value: text, constraint: "have length greater than or equal to 1")
        }
        guard bytes.count <= maxLength else {
            throw .validation(field: field, value: text, constraint: "have length less than or equal to \(maxLength)")
        }
        let pattern = forPolicy ? "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/" : "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        // `//` alone fits neither alternative: the second needs a character between its slashes.
        guard bytes.first == UInt8(ascii: "/"), bytes.last == UInt8(ascii: "/"), text != "//" else {
            throw .validation(field: field, value: text, constraint: "satisfy regular expression pattern: \(pattern)")
        }
        var previous: UInt8 = 0
        for byte in bytes {
            let ok: Bool
            if forPolicy {
                // Segments are non-empty: no `//`.
                ok = byte == UInt8(ascii: "/") ? previous != UInt8(ascii: "/") : isPolicyPathByte(byte)
            } else {
                ok = byte >= 0x21 && byte <= 0x7E
            }
            guard ok else {
                throw .validation(
                    field: field, value: text, constraint: "satisfy regular expression pattern: \(pattern)")
            }
            previous = byte
        }
    }

    static func isPolicyPathByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: "+"), UInt8(ascii: "@"), UInt8(ascii: "="),
            UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}

/// A list's `PathPrefix`: `/` followed by up to 511 printable ASCII characters (it need not end with `/`).
///
/// ListUsers / ListGroups / ListRoles pattern `\u002F[\u0021-\u007F]*`; ListPolicies uses the policy-path
/// pattern, which `forPolicy: true` checks.
public struct PathPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The prefix.
    public let rawValue: String

    /// `/`: every path.
    public static let all = PathPrefix(unchecked: "/")

    /// Validates `text` as a path prefix.
    public init(_ text: String, forPolicy: Bool = false) throws(IAMError) {
        if forPolicy {
            try IAMPath.validate(text, field: "pathPrefix", forPolicy: true)
        } else {
            let bytes = text.utf8
            guard !bytes.isEmpty, bytes.count <= IAMPath.maxLength else {
                throw .validation(
                    field: "pathPrefix", value: text, constraint: "have length between 1 and \(IAMPath.maxLength)")
            }
            guard bytes.first == UInt8(ascii: "/"), bytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7F }) else {
                throw .validation(
                    field: "pathPrefix", value: text,
                    constraint: "satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*")
            }
        }
        self.rawValue = text
    }

    init(unchecked text: String) {
        self.rawValue = text
    }

    /// The prefix.
    public var description: String { self.rawValue }
}

/// An IAM unique id (`AIDA...` user, `AROA...` role, ...): 16..128 characters of `[\w]`, never reused, so a
/// re-created name gets a new id. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
public struct UniqueID: Hashable, Sendable, Comparable, CustomStringConvertible, ValidatedString {
    /// AWS's four-letter prefixes (reference_identifiers.html#identifiers-prefixes).
    public enum Prefix: String, Hashable, Sendable, CaseIterable {
        /// IAM user.
        case user = "AIDA"
        /// Group.
        case group = "AGPA"
        /// Role.
        case role = "AROA"
        /// Managed policy.
        case managedPolicy = "ANPA"
        /// Managed policy version.
        case policyVersion = "ANVA"
        /// Instance profile.
        case instanceProfile = "AIPA"
        /// Long-term access key.
        case accessKey = "AKIA"
        /// Temporary (STS) access key.
        case temporaryAccessKey = "ASIA"
    }

    /// The id.
    public let rawValue: String

    /// Validates `text` as a unique id: 16..128 characters of `[A-Za-z0-9_]` (API model `idType`).
    public init(_ text: String) throws(IAMError) {
        guard (16...128).contains(text.utf8.count), text.utf8.allSatisfy(Self.isWordByte) else {
            throw .invalidInput("\(text.prefix(128)) is not a valid unique id.")
        }
        self.rawValue = text
    }

    init(unchecked text: String) {
        self.rawValue = text
    }

    /// A fresh id: the prefix and 17 characters of `[A-Z2-7]`, 21 characters in all like AWS's
    /// (`AIDACKCEVSQ6C2EXAMPLE`), from the system's cryptographic random source.
    public static func generate(_ prefix: Prefix) -> UniqueID {
        var generator = SystemRandomNumberGenerator()
        return generate(prefix, using: &generator)
    }

    /// A fresh id from `generator` (tests pass a seeded one).
    public static func generate(_ prefix: Prefix, using generator: inout some RandomNumberGenerator) -> UniqueID {
        UniqueID(unchecked: prefix.rawValue + base32(count: 17, using: &generator))
    }

    /// The prefix, if it is one of AWS's.
    public var prefix: Prefix? { Prefix(rawValue: String(self.rawValue.prefix(4))) }

    /// The id.
    public var description: String { self.rawValue }

    /// Orders by text.
    public static func < (lhs: UniqueID, rhs: UniqueID) -> Bool { lhs.rawValue < rhs.rawValue }

    static func isWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// `count` characters of RFC 4648's base32 alphabet, the one AWS's ids use.
    static func base32(count: Int, using generator: inout some RandomNumberGenerator) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
        return String(decoding: (0..<count).map { _ in alphabet[Int(generator.next() & 31)] }, as: UTF8.self)
    }
}

/// An access key id: `AKIA` + 16 characters for long-term keys, `ASIA` + 16 for STS session keys, 20 in all.
///
/// Accepts what the API model's `accessKeyIdType` accepts (16..128 of `[\w]`); WIRE.md §6.2 narrows the
/// SCRAM user name to `A-Z 0-9`, which every generated id satisfies.
public struct AccessKeyID: Hashable, Sendable, Comparable, CustomStringConvertible, ValidatedString {
    /// The id.
    public let rawValue: String

    /// Validates `text` as an access key id; throws `ValidationError` naming `accessKeyId`.
    public init(_ text: String) throws(IAMError) {
        guard text.utf8.count >= 16 else {
            throw .validation(field: "accessKeyId", value: text, constraint: "have length greater than or equal to 16")
        }
        guard text.utf8.count <= 128 else {
            throw .validation(field: "accessKeyId", value: text, constraint: "have length less than or equal to 128")
        }
        guard text.utf8.allSatisfy(UniqueID.isWordByte) else {
            throw .validation(
                field: "accessKeyId", value: text, constraint: "satisfy regular expression pattern: [\\w]+")
        }
        self.rawValue = text
    }

    init(unchecked text: String) {
        self.rawValue = text
    }

    /// A fresh long-term (`AKIA`) or temporary (`ASIA`) key id from the system's cryptographic random source.
    public static func generate(temporary: Bool = false) -> AccessKeyID {
        var generator = SystemRandomNumberGenerator()
        return generate(temporary: temporary, using: &generator)
    }

    /// A fresh key id from `generator`.
    public static func generate(temporary: Bool = false, using generator: inout some RandomNumberGenerator)
        -> AccessKeyID
    {
        let prefix: UniqueID.Prefix = temporary ? .temporaryAccessKey : .accessKey
        return AccessKeyID(unchecked: prefix.rawValue + UniqueID.base32(count: 16, using: &generator))
    }

    /// Whether this is an STS session key (`ASIA...`).
    public var isTemporary: Bool { self.rawValue.hasPrefix(UniqueID.Prefix.temporaryAccessKey.rawValue) }

    /// The id.
    public var description: String { self.rawValue }

    /// Orders by text.
    public static func < (lhs: AccessKeyID, rhs: AccessKeyID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A secret access key: 40 characters of base64's alphabet, like AWS's. Shown once, then only its SCRAM
/// verifier is kept (WIRE.md §6.1).
public enum SecretAccessKey {
    /// A fresh secret from the system's cryptographic random source (getrandom(2) on Linux).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        return String(decoding: (0..<40).map { _ in alphabet[Int(generator.next() & 63)] }, as: UTF8.self)
    }
}

/// An identifier stored as one validated string: encodes as that string and validates when decoded, so a
/// corrupt store row is refused at load rather than trusted.
public protocol ValidatedString: Codable, Sendable {
    /// The text.
    var rawValue: String { get }
    /// Validates `text` as this identifier.
    static func validated(_ text: String) throws(IAMError) -> Self
}

extension ValidatedString {
    /// Encodes ``rawValue``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }

    /// Decodes and validates a string.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Self.validated(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }
}

extension EntityName {
    /// Validates with the loosest name rules (128 characters); the kind is not stored with the name.
    public static func validated(_ text: String) throws(IAMError) -> EntityName { try EntityName(text, kind: .policy) }
}

extension AccountID {
    /// Validates 12 digits.
    public static func validated(_ text: String) throws(IAMError) -> AccountID { try AccountID(text) }
}

extension IAMPath {
    /// Validates a user/group/role path (the looser rule; policy paths are a subset).
    public static func validated(_ text: String) throws(IAMError) -> IAMPath { try IAMPath(text) }
}

extension UniqueID {
    /// Validates a unique id.
    public static func validated(_ text: String) throws(IAMError) -> UniqueID { try UniqueID(text) }
}

extension AccessKeyID {
    /// Validates an access key id.
    public static func validated(_ text: String) throws(IAMError) -> AccessKeyID { try AccessKeyID(text) }
}

/// A tag: key 1..128, value 0..256, characters `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, keys not starting with `aws:`.
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html
public struct Tag: Codable, Sendable, Hashable {
    /// The key.
    public var key: String
    /// The value (may be empty).
    public var value: String

    /// Validates a tag.
    public init(key: String, value: String) throws(IAMError) {
        try Self.validateKey(key)
        guard value.count <= 256 else {
            throw .validation(
                field: "tags.member.value", value: value, constraint: "have length less than or equal to 256")
        }
        guard value.unicodeScalars.allSatisfy(Self.isTagScalar) else {
            throw .validation(
                field: "tags.member.value", value: value,
                constraint: "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
        }
        self.key = key
        self.value = value
    }

    /// Validates a tag key (also for UntagUser's key list).
    public static func validateKey(_ key: String) throws(IAMError) {
        guard !key.isEmpty, key.count <= 128 else {
            throw .validation(field: "tags.member.key", value: key, constraint: "have length between 1 and 128")
        }
        guard key.unicodeScalars.allSatisfy(isTagScalar) else {
            throw .validation(
                field: "tags.member.key", value: key,
                constraint: "satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")
        }
        if key.lowercased().hasPrefix("aws:") {
            throw .invalidInput("User-defined tag keys can't start with \"aws:\". This prefix is reserved for AWS.")
        }
    }

    static func isTagScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "_", ".", ":", "/", "=", "+", "-", "@": return true
        default:
            let category = scalar.properties.generalCategory
            switch category {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .spaceSeparator, .lineSeparator, .paragraphSeparator, .decimalNumber, .letterNumber, .otherNumber:
                return true
            default: return false
            }
        }
    }
}

/// Tag-set rules shared by Tag* operations.
public enum Tags {
    /// `existing` with `new` merged in: a new value replaces the old under the same key, in its place; new keys
    /// go last. Users and roles
    /// compare keys case-insensitively (keeping the new spelling); policies compare them exactly (id_tags.html).
    /// Throws `InvalidInput` when `new` repeats a key and `LimitExceeded` beyond `limit` tags.
    public static func merge(_ new: [Tag], into existing: [Tag], caseInsensitiveKeys: Bool, limit: Int)
        throws(IAMError) -> [Tag]
    {
        func fold(_ key: String) -> String { caseInsensitiveKeys ? key.lowercased() : key }
        var seen = Set<String>()
        for tag in new where !seen.insert(fold(tag.key)).inserted {
            throw .invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        }
        // A new value replaces the old one where it stands, so an update does not reorder the list (moto's
        // parity suite lists tags after an update and expects the first tag to stay first).
        let replacements = Dictionary(new.map { (fold($0.key), $0) }, uniquingKeysWith: { first, _ in first })
        var result = existing.map { replacements[fold($0.key)] ?? $0 }
        let kept = Set(existing.map { fold($0.key) })
        result.append(contentsOf: new.filter { !kept.contains(fold($0.key)) })
        guard result.count <= limit else {
            throw IAMError(code: .limitExceeded, message: "The number of tags has reached the maximum limit.")
        }
        return result
    }

    /// `existing` without the tags whose keys are in `keys` (unknown keys are ignored, as in AWS).
    public static func remove(_ keys: [String], from existing: [Tag], caseInsensitiveKeys: Bool) -> [Tag] {
        let drop = Set(keys.map { caseInsensitiveKeys ? $0.lowercased() : $0 })
        return existing.filter { !drop.contains(caseInsensitiveKeys ? $0.key.lowercased() : $0.key) }
    }
}

/// How IDL names become Swift names.
public enum Naming {
    /// Word parts written in capitals inside camelCase names, as the Swift API guidelines ask
    /// (`user_id` -> `userID`, `policy_arn` -> `policyARN`).
    static let initialisms: [String: String] = [
        "id": "ID", "ids": "IDs", "arn": "ARN", "arns": "ARNs", "url": "URL", "urls": "URLs",
        "ip": "IP", "mfa": "MFA", "json": "JSON", "sts": "STS", "iam": "IAM",
    ]

    /// Swift keywords that must be escaped with backticks when used as identifiers.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
        "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
        "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
        "throw", "switch", "where", "while", "as", "false", "is", "nil", "self", "super", "throws", "true",
        "try", "Any", "Self", "Type", "Protocol", "await", "async", "some", "any", "consume", "borrowing",
        "consuming", "package",
    ]

    /// Members every generated message has; a field may not take these names.
    static let reservedMemberNames: Set<String> = [
        "encodedSize", "encodedBuffer", "encoded", "encode", "merge", "hashValue",
    ]

    /// `snake_case` (or anything with underscores) -> `lowerCamelCase`, with initialisms.
    public static func lowerCamel(_ name: String) -> String {
        // Already camelCase (or PascalCase): keep the words, lower the first.
        guard name.contains("_") || Self.isAllLower(name) else { return Self.lowerFirst(name) }
        let parts = name.split(separator: "_").map { $0.lowercased() }
        guard let first = parts.first else { return name }
        var result = first
        for part in parts.dropFirst() {
            result += Self.initialisms[part] ?? part.prefix(1).uppercased() + part.dropFirst()
        }
        return result
    }

    /// `CreateUser` -> `createUser`; `GetSTSToken` -> `getSTSToken`; `IAM` -> `iam`.
    public static func methodName(_ name: String) -> String {
        Self.lowerFirst(name)
    }

    /// Lower-cases the leading capital run of a PascalCase name, keeping the capital that starts the next word.
    static func lowerFirst(_ name: String) -> String {
        let characters = Array(name)
        var upperRun = 0
        while upperRun < characters.count && characters[upperRun].isUppercase { upperRun += 1 }
        if upperRun == 0 { return name }
        if upperRun == 1 || upperRun == characters.count {
            return characters[0..<upperRun].map { $0.lowercased() }.joined() + String(characters[upperRun...])
        }
        // "URLPath": the last capital of the run starts the next word.
        return characters[0..<(upperRun - 1)].map { $0.lowercased() }.joined() + String(characters[(upperRun - 1)...])
    }

    static func isAllLower(_ name: String) -> Bool {
        !name.contains { $0.isUppercase }
    }

    /// `PolicyEvaluationDecisionType` -> `POLICY_EVALUATION_DECISION_TYPE` (protobuf's enum value prefix style).
    public static func upperSnake(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if index > 0 && character.isUppercase {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                    result += "_"
                }
            }
            result += character.uppercased()
        }
        return result
    }

    /// The Swift case name of an enum value: the enum's UPPER_SNAKE prefix is dropped, the rest camel-cased.
    /// `STATUS_TYPE_ACTIVE` in `StatusType` -> `active`; `POLICY_SOURCE_TYPE_AWS_MANAGED` -> `awsManaged`.
    public static func enumCaseName(_ valueName: String, enumName: String) -> String {
        let prefix = Self.upperSnake(enumName) + "_"
        var stripped = valueName
        if valueName.hasPrefix(prefix) {
            let rest = String(valueName.dropFirst(prefix.count))
            if let first = rest.first, !first.isNumber { stripped = rest }
        }
        let parts = stripped.split(separator: "_").map { $0.lowercased() }
        guard let first = parts.first else { return stripped.lowercased() }
        var result = first
        for part in parts.dropFirst() {
            result += Self.initialisms[part] ?? part.prefix(1).uppercased() + part.dropFirst()
        }
        return result
    }

    /// The identifier as it must be written in a declaration or a bare reference.
    public static func escaped(_ identifier: String) -> String {
        Self.keywords.contains(identifier) ? "`\(identifier)`" : identifier
    }
}

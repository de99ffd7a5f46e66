import IAMWire

/// The IDL's messages, enums and operations as data (generated into `Generated/OperationShapes.swift` and
/// `Generated/<Service>+Commands.swift`), so one transcoder and one run path serve every command.
enum Shapes {
    /// The message named `name`, or a programming error (the generator wrote every referenced name).
    static func message(_ name: String) -> MessageShape {
        guard let shape = messages[name] else { preconditionFailure("no shape for message \(name)") }
        guard let renames = AWSNames.memberOverrides[name] else { return shape }
        return MessageShape(
            fields: shape.fields.map { field in
                renames[field.name].map { field.renamed($0) } ?? field
            })
    }
}

/// The protobuf scalar types, named as in the IDL.
enum ScalarKind: String, Sendable {
    case double, float, int32, int64, uint32, uint64, sint32, sint64
    case fixed32, fixed64, sfixed32, sfixed64, bool, string, bytes
}

/// A field's type.
indirect enum FieldKind: Sendable {
    case scalar(ScalarKind)
    case message(String)
    case enumeration(String)
    case map(key: ScalarKind, value: FieldKind)
}

/// `repeated`, `optional` or neither.
enum FieldLabel: Sendable {
    case singular, optional, repeated
}

/// One field of a message, with its AWS member name derived from the IDL name.
struct FieldShape: Sendable {
    let number: Int
    /// The IDL name (`user_name`).
    let name: String
    let kind: FieldKind
    let label: FieldLabel
    /// The IDL comment (the flag's help).
    let help: String
    /// AWS's member name (`UserName`): the IDL's words, each capitalised, as AWS's model spells members.
    let awsName: String

    init(_ number: Int, _ name: String, _ kind: FieldKind, _ label: FieldLabel, help: String, awsName: String? = nil) {
        self.number = number
        self.name = name
        self.kind = kind
        self.label = label
        self.help = help
        self.awsName = awsName ?? AWSNames.member(name)
    }

    func renamed(_ awsName: String) -> FieldShape {
        FieldShape(number, name, kind, label, help: help, awsName: awsName)
    }

    /// Milliseconds-since-epoch fields that AWS shows as ISO 8601 timestamps.
    var isTimestamp: Bool {
        guard case .scalar(.int64) = kind else { return false }
        return name.hasSuffix("_date") || name == "expiration" || name == "password_last_used"
    }

    /// Policy documents: AWS's CLI prints them as JSON objects, not as the string the API carries.
    var isPolicyDocument: Bool {
        guard case .scalar(.string) = kind else { return false }
        return name == "document" || name.hasSuffix("policy_document")
    }
}

/// A message's fields in field order.
struct MessageShape: Sendable {
    let fields: [FieldShape]

    func field(awsName: String) -> FieldShape? { fields.first { $0.awsName == awsName } }
    func field(named name: String) -> FieldShape? { fields.first { $0.name == name } }
}

/// An enum's values, with the strings AWS uses for them.
struct EnumShape: Sendable {
    let values: [(name: String, number: Int32)]

    init(values: [(String, Int32)]) { self.values = values.map { (name: $0.0, number: $0.1) } }
}

/// One rpc as a command runs it.
struct OperationShape: Sendable {
    let service: String
    /// AWS's operation name (`GetUser`), used in error messages.
    let name: String
    let method: MethodDescriptor
    let input: String
    let output: String
    /// Pages with Marker / IsTruncated.
    let paginated: Bool
}

/// How AWS spells what the IDL names in snake_case and UPPER_SNAKE.
enum AWSNames {
    /// `user_name` -> `UserName`, `policy_arn` -> `PolicyArn` (AWS's members capitalise each word only).
    static func member(_ name: String) -> String {
        name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// Members AWS's model spells against its own rule, by message and IDL field name.
    static let memberOverrides: [String: [String: String]] = [
        "PolicyDescriptorType": ["arn": "arn"]
    ]

    /// The enums whose AWS values are not PascalCase words of the IDL value.
    private static let styles: [String: EnumStyle] = [
        "PolicyEvaluationDecisionType": .lowerCamel,
        "ContextKeyType": .lowerCamel,
        "PolicySourceType": .lowerKebab,
    ]
    /// Values AWS spells in a way no rule derives.
    private static let overrides: [String: String] = [
        "PERMISSIONS_BOUNDARY_TYPE_POLICY": "PermissionsBoundaryPolicy",
        "POLICY_SOURCE_TYPE_INPUT": "none",
    ]

    private enum EnumStyle { case pascal, lowerCamel, lowerKebab }

    /// `STATUS_TYPE_ACTIVE` of `StatusType` -> `Active`; `ENTITY_TYPE_AWS_MANAGED_POLICY` -> `AWSManagedPolicy`;
    /// nil for the `_UNSPECIFIED` zero value, which AWS has no name for.
    static func enumValue(_ valueName: String, of enumName: String) -> String? {
        if let override = overrides[valueName] { return override }
        let prefix = enumPrefix(String(enumName.split(separator: ".").last ?? Substring(enumName)))
        let rest = valueName.hasPrefix(prefix) ? String(valueName.dropFirst(prefix.count)) : valueName
        if rest == "UNSPECIFIED" { return nil }
        let words = rest.split(separator: "_").map(String.init)
        switch styles[enumName] ?? .pascal {
        case .pascal:
            return words.map { $0 == "AWS" ? "AWS" : $0.prefix(1) + $0.dropFirst().lowercased() }.joined()
        case .lowerCamel:
            return words.enumerated().map { index, word in
                index == 0 ? word.lowercased() : word.prefix(1) + word.dropFirst().lowercased()
            }.joined()
        case .lowerKebab:
            return words.map { $0.lowercased() }.joined(separator: "-")
        }
    }

    /// `PolicyEvaluationDecisionType` -> `POLICY_EVALUATION_DECISION_TYPE_`.
    static func enumPrefix(_ enumName: String) -> String {
        var result = ""
        for (index, character) in enumName.enumerated() {
            if character.isUppercase && index > 0 { result += "_" }
            result += character.uppercased()
        }
        return result + "_"
    }
}

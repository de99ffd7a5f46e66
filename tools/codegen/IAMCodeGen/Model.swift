// The neutral model of a proto file: what the parser produces and the renderers consume. It knows
// nothing of Swift; names are as written in the IDL, full names are package-qualified.

/// The scalar value types of proto3.
public enum ScalarType: String, Hashable, Sendable, CaseIterable {
    case double, float, int32, int64, uint32, uint64, sint32, sint64
    case fixed32, fixed64, sfixed32, sfixed64, bool, string, bytes

    /// Whether a repeated field of this type is packed by default in proto3.
    public var isPackable: Bool { self != .string && self != .bytes }

    /// Whether the type may be a map key (integral types, bool and string).
    public var isValidMapKey: Bool {
        switch self {
        case .double, .float, .bytes: false
        default: true
        }
    }
}

/// The type of a field.
public indirect enum FieldType: Hashable, Sendable {
    /// A scalar.
    case scalar(ScalarType)
    /// A message, by package-qualified full name (e.g. "iam.v1.User") once resolved.
    case message(String)
    /// An enum, by package-qualified full name once resolved.
    case enumeration(String)
    /// A type name as written, before resolution (only seen between parsing and resolving).
    case unresolved(String)
    /// `map<key, value>`.
    case map(key: ScalarType, value: FieldType)
}

/// `repeated`, `optional` or neither.
public enum FieldLabel: Hashable, Sendable {
    /// A singular field: scalars use proto3's implicit presence, messages have presence.
    case singular
    /// `optional`: explicit presence.
    case optional
    /// `repeated`: a list (maps are singular fields of `.map` type).
    case repeated
}

/// A field of a message.
public struct FieldDecl: Hashable, Sendable {
    /// The name as written (snake_case by convention).
    public var name: String
    /// The field number.
    public var number: Int
    /// repeated / optional / singular.
    public var label: FieldLabel
    /// The field's type.
    public var type: FieldType
    /// `[packed = false]` turns packing off for a repeated scalar.
    public var packed: Bool
    /// `[deprecated = true]`.
    public var deprecated: Bool
    /// Documentation comment lines.
    public var comments: [String]
    /// Where the field is declared (its name).
    public var location: SourceLocation
    /// Where the field's type is written (for "unknown type" errors).
    public var typeLocation: SourceLocation

    /// Creates a field.
    public init(
        name: String,
        number: Int,
        label: FieldLabel,
        type: FieldType,
        packed: Bool = true,
        deprecated: Bool = false,
        comments: [String] = [],
        location: SourceLocation,
        typeLocation: SourceLocation? = nil
    ) {
        self.name = name
        self.number = number
        self.label = label
        self.type = type
        self.packed = packed
        self.deprecated = deprecated
        self.comments = comments
        self.location = location
        self.typeLocation = typeLocation ?? location
    }
}

/// A value of an enum.
public struct EnumValueDecl: Hashable, Sendable {
    /// The name as written (UPPER_SNAKE by convention).
    public var name: String
    /// The number.
    public var number: Int32
    /// Documentation comment lines.
    public var comments: [String]
    /// Where the value is declared.
    public var location: SourceLocation

    /// Creates an enum value.
    public init(name: String, number: Int32, comments: [String] = [], location: SourceLocation) {
        self.name = name
        self.number = number
        self.comments = comments
        self.location = location
    }
}

/// An enum.
public struct EnumDecl: Hashable, Sendable {
    /// The simple name.
    public var name: String
    /// The package-qualified name, e.g. "iam.v1.StatusType" or "iam.v1.Outer.Inner".
    public var fullName: String
    /// The values in declaration order.
    public var values: [EnumValueDecl]
    /// `option allow_alias = true;`
    public var allowAlias: Bool
    /// Documentation comment lines.
    public var comments: [String]
    /// Where the enum is declared.
    public var location: SourceLocation
}

/// A message, possibly with nested messages and enums.
public struct MessageDecl: Hashable, Sendable {
    /// The simple name.
    public var name: String
    /// The package-qualified name.
    public var fullName: String
    /// Fields in declaration order.
    public var fields: [FieldDecl]
    /// Nested messages.
    public var messages: [MessageDecl]
    /// Nested enums.
    public var enums: [EnumDecl]
    /// Reserved field numbers (closed ranges).
    public var reservedNumbers: [ClosedRange<Int>]
    /// Reserved field names.
    public var reservedNames: [String]
    /// Documentation comment lines.
    public var comments: [String]
    /// Where the message is declared.
    public var location: SourceLocation
}

/// One `rpc` of a service.
public struct MethodDecl: Hashable, Sendable {
    /// The method name as written, e.g. "CreateUser".
    public var name: String
    /// Full name of the request message.
    public var inputType: String
    /// Full name of the response message.
    public var outputType: String
    /// `stream` on the request.
    public var clientStreaming: Bool
    /// `stream` on the response.
    public var serverStreaming: Bool
    /// Documentation comment lines.
    public var comments: [String]
    /// Where the rpc is declared.
    public var location: SourceLocation
}

/// A `service`.
public struct ServiceDecl: Hashable, Sendable {
    /// The simple name, e.g. "IAM".
    public var name: String
    /// The package-qualified name, e.g. "iam.v1.IAM" (what goes on the wire).
    public var fullName: String
    /// The methods in declaration order.
    public var methods: [MethodDecl]
    /// Documentation comment lines.
    public var comments: [String]
    /// Where the service is declared.
    public var location: SourceLocation
}

/// A parsed (and, after `Resolver`, validated) proto file.
public struct ProtoFile: Hashable, Sendable {
    /// The file name as given to the parser.
    public var fileName: String
    /// The package, e.g. "iam.v1" ("" when none is declared).
    public var package: String
    /// Top-level messages.
    public var messages: [MessageDecl]
    /// Top-level enums.
    public var enums: [EnumDecl]
    /// Services.
    public var services: [ServiceDecl]

    /// Every message including nested ones, parents before children, in declaration order.
    public var allMessages: [MessageDecl] {
        var result: [MessageDecl] = []
        func visit(_ message: MessageDecl) {
            result.append(message)
            message.messages.forEach(visit)
        }
        self.messages.forEach(visit)
        return result
    }

    /// Every enum including nested ones.
    public var allEnums: [EnumDecl] {
        self.enums + self.allMessages.flatMap(\.enums)
    }
}

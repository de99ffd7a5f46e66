/// Which kind of document a policy is; each kind has its own element rules and size quota.
public enum PolicyDocumentKind: String, Sendable, CaseIterable {
    /// A customer managed policy (identity-based): no `Principal`; 6,144 characters.
    case identity
    /// An inline policy of a user: no `Principal`; 2,048 characters (aggregate per user).
    case inlineUser = "inline-user"
    /// An inline policy of a group: no `Principal`; 5,120 characters (aggregate per group).
    case inlineGroup = "inline-group"
    /// An inline policy of a role: no `Principal`; 10,240 characters (aggregate per role).
    case inlineRole = "inline-role"
    /// A role trust policy (`AssumeRolePolicyDocument`): `Principal` required, `Resource` and `NotPrincipal`
    /// forbidden; 2,048 characters.
    case trust
    /// A resource-based policy (bucket, queue, key policy): `Principal` or `NotPrincipal` required.
    case resource
    /// A permissions boundary (a managed policy used as a boundary): like `identity`.
    case boundary

    /// The largest document AWS accepts for this kind, counted by ``PolicyDocument/awsCharacterCount(_:)``.
    public var characterLimit: Int {
        switch self {
        case .identity, .boundary: 6_144
        case .inlineUser: 2_048
        case .inlineGroup: 5_120
        case .inlineRole: 10_240
        case .trust: 2_048
        // S3's bucket-policy quota (20 KB), the largest common resource-policy limit.
        case .resource: 20_480
        }
    }

    /// Whether the kind is an identity-based policy (or boundary), where `Principal` is forbidden.
    public var isIdentityBased: Bool {
        switch self {
        case .identity, .inlineUser, .inlineGroup, .inlineRole, .boundary: true
        case .trust, .resource: false
        }
    }
}

/// A validated policy document: the typed model of its JSON.
public struct PolicyDocument: Sendable, Hashable {
    /// `Version` as written (`2012-10-17`, `2008-10-17`), or nil when absent (which means `2008-10-17`).
    public var version: String?
    /// `Id` as written.
    public var id: String?
    /// The statements, in document order (a single statement object becomes one element).
    public var statements: [Statement]
    /// The kind the document was validated as.
    public var kind: PolicyDocumentKind
    /// Parts that AWS accepts but that can never match (a date value that does not parse), in document order.
    public var warnings: [PolicyWarning]

    /// Whether `${...}` policy variables are substituted (only with `Version: 2012-10-17`).
    public var supportsVariables: Bool { version == "2012-10-17" }

    /// Creates a document from parts (no validation; prefer ``parse(_:kind:)``).
    public init(
        version: String?,
        id: String?,
        statements: [Statement],
        kind: PolicyDocumentKind,
        warnings: [PolicyWarning] = []
    ) {
        self.version = version
        self.id = id
        self.statements = statements
        self.kind = kind
        self.warnings = warnings
    }

    /// Parses and validates policy JSON text as a document of `kind`.
    ///
    /// Throws `LimitExceeded` when the document is larger than the kind's quota and `MalformedPolicyDocument`
    /// (naming the element) for everything AWS rejects.
    public static func parse(_ text: String, kind: PolicyDocumentKind) throws(PolicyError) -> PolicyDocument {
        let count = text.utf8.count
        guard count <= PolicyParser.maxInputBytes else { throw PolicyParser.tooLarge(count) }
        return try PolicyParser.parse(Array(text.utf8), kind: kind)
    }

    /// Parses and validates an AWS managed policy's document: the grammar of `kind`, without the customer
    /// size quota, which AWS's own policies exceed (ReadOnlyAccess is over 90,000 characters). The input is
    /// still bounded by the parser's absolute byte limit.
    public static func parseAWSManaged(_ text: String, kind: PolicyDocumentKind = .identity) throws(PolicyError)
        -> PolicyDocument
    {
        let count = text.utf8.count
        guard count <= PolicyParser.maxInputBytes else { throw PolicyParser.tooLarge(count) }
        return try PolicyParser.parse(Array(text.utf8), kind: kind, enforcingSizeQuota: false)
    }

    /// Parses and validates policy JSON bytes (UTF-8) as a document of `kind`.
    ///
    /// The size is bounded before any bytes are copied; invalid UTF-8 is a `MalformedPolicyDocument`.
    public static func parse(bytes: some Collection<UInt8>, kind: PolicyDocumentKind) throws(PolicyError)
        -> PolicyDocument
    {
        guard bytes.count <= PolicyParser.maxInputBytes else {
            throw PolicyParser.tooLarge(bytes.count)
        }
        return try PolicyParser.parse(Array(bytes), kind: kind)
    }

    /// The context keys the document's conditions and policy variables use, de-duplicated case-insensitively
    /// (first spelling kept) and sorted, like GetContextKeysForCustomPolicy.
    public var contextKeys: [String] {
        var seen = Set<String>()
        var out: [String] = []
        func add(_ key: String) {
            if seen.insert(asciiLowercased(key)).inserted { out.append(key) }
        }
        func scan(_ text: String) {
            guard supportsVariables else { return }
            var rest = Substring(text)
            while let open = rest.firstRange(of: "${") {
                rest = rest[open.upperBound...]
                guard let close = rest.firstIndex(of: "}") else { break }
                let inner = rest[..<close]
                rest = rest[rest.index(after: close)...]
                let key = inner.split(separator: ",", maxSplits: 1).first.map { $0.trimmingSpaces } ?? ""
                if key.contains(":") { add(String(key)) }
            }
        }
        for statement in statements {
            for resource in statement.resources?.patterns ?? [] {
                // Variables before an ARN's fifth colon stay literal text.
                scan(String(decoding: resource.utf8.dropFirst(Template.fifthColon(resource).offset), as: UTF8.self))
            }
            for condition in statement.conditions {
                add(condition.key)
                if condition.op.base.allowsVariables { condition.values.forEach(scan) }
            }
        }
        return out.sorted { asciiLowercased($0) < asciiLowercased($1) }
    }

    /// AWS's size count: every character except whitespace outside string literals.
    ///
    /// Use it for quota checks across several documents (e.g. a user's aggregate inline-policy size).
    public static func awsCharacterCount(_ text: String) -> Int {
        var count = 0
        var inString = false
        var escaped = false
        for scalar in text.unicodeScalars {
            if inString {
                count += 1
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == "\"" {
                    inString = false
                }
            } else {
                switch scalar {
                case " ", "\t", "\n", "\r": break
                case "\"":
                    inString = true
                    count += 1
                default: count += 1
                }
            }
        }
        return count
    }
}

/// One statement of a policy.
public struct Statement: Sendable, Hashable {
    /// `Effect`.
    public enum Effect: String, Sendable, Hashable {
        /// `"Allow"`.
        case allow = "Allow"
        /// `"Deny"`.
        case deny = "Deny"
    }

    /// A list element that is either positive (`Action`) or negated (`NotAction`).
    public enum Patterns: Sendable, Hashable {
        /// `Action` / `Resource`: matches what any pattern matches.
        case include([String])
        /// `NotAction` / `NotResource`: matches what no pattern matches.
        case exclude([String])

        /// The patterns, whichever form.
        public var patterns: [String] {
            switch self {
            case .include(let p), .exclude(let p): p
            }
        }
    }

    /// `Principal` or `NotPrincipal`.
    public enum Principals: Sendable, Hashable {
        /// `Principal`.
        case include(PrincipalSet)
        /// `NotPrincipal`.
        case exclude(PrincipalSet)
    }

    /// `Sid`, if present.
    public var sid: String?
    /// `Effect`.
    public var effect: Effect
    /// `Action` or `NotAction`.
    public var actions: Patterns
    /// `Resource` or `NotResource`; nil when absent (trust policies), which matches every resource.
    public var resources: Patterns?
    /// `Principal` or `NotPrincipal`; nil when absent.
    public var principals: Principals?
    /// The `Condition` block flattened to one entry per operator and key, in document order.
    public var conditions: [Condition]
    /// Where the statement's object sits in the text it was parsed from (nil for a statement made from parts). Not
    /// part of a statement's equality: two documents that say the same thing are equal however they are laid out.
    public var span: SourceSpan? = nil

    /// Creates a statement from parts.
    public init(
        sid: String?,
        effect: Effect,
        actions: Patterns,
        resources: Patterns?,
        principals: Principals?,
        conditions: [Condition]
    ) {
        self.sid = sid
        self.effect = effect
        self.actions = actions
        self.resources = resources
        self.principals = principals
        self.conditions = conditions
    }

    /// Equal when they say the same thing; ``span`` is left out.
    public static func == (left: Statement, right: Statement) -> Bool {
        left.sid == right.sid && left.effect == right.effect && left.actions == right.actions
            && left.resources == right.resources && left.principals == right.principals
            && left.conditions == right.conditions
    }

    /// Hashes what ``==`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.sid)
        hasher.combine(self.effect)
        hasher.combine(self.actions)
        hasher.combine(self.resources)
        hasher.combine(self.principals)
        hasher.combine(self.conditions)
    }
}

/// A line and column in a policy's text, both from 1; columns count characters, not bytes.
public struct TextPosition: Sendable, Hashable {
    /// The line, from 1.
    public var line: Int
    /// The character in the line, from 1.
    public var column: Int

    /// Creates a position.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// Where a statement's object sits in its policy's text: its opening `{` and its closing `}` (SimulatePrincipalPolicy's
/// `StartPosition` and `EndPosition`).
public struct SourceSpan: Sendable, Hashable {
    /// The opening brace.
    public var start: TextPosition
    /// The closing brace.
    public var end: TextPosition

    /// Creates a span.
    public init(start: TextPosition, end: TextPosition) {
        self.start = start
        self.end = end
    }
}

/// The principals named in a `Principal` or `NotPrincipal` element.
public struct PrincipalSet: Sendable, Hashable {
    /// One principal entry: its type (`AWS`, `Service`, `Federated`, `CanonicalUser`) and value.
    public struct Entry: Sendable, Hashable {
        /// `AWS`, `Service`, `Federated` or `CanonicalUser`.
        public var type: String
        /// The ARN, account id, service name or `*`.
        public var value: String

        /// Creates an entry.
        public init(type: String, value: String) {
            self.type = type
            self.value = value
        }
    }

    /// True for `"Principal": "*"`.
    public var isWildcard: Bool
    /// The typed entries, in document order.
    public var entries: [Entry]

    /// Creates a principal set.
    public init(isWildcard: Bool, entries: [Entry]) {
        self.isWildcard = isWildcard
        self.entries = entries
    }
}

/// One condition test: an operator applied to one context key and its policy values.
public struct Condition: Sendable, Hashable {
    /// The operator, parsed.
    public var op: ConditionOperator
    /// The context key as written in the policy (matching is case-insensitive).
    public var key: String
    /// The policy values as strings (JSON numbers and booleans are kept as their text).
    public var values: [String]

    /// Creates a condition.
    public init(op: ConditionOperator, key: String, values: [String]) {
        self.op = op
        self.key = key
        self.values = values
    }
}

/// A condition operator with its modifiers (`ForAnyValue:StringLikeIfExists`).
public struct ConditionOperator: Sendable, Hashable, CustomStringConvertible {
    /// The base operator families.
    public enum Base: String, Sendable, Hashable, CaseIterable {
        /// Exact, case-sensitive string equality.
        case stringEquals = "StringEquals"
        /// Negated `StringEquals`.
        case stringNotEquals = "StringNotEquals"
        /// String equality ignoring (ASCII) case.
        case stringEqualsIgnoreCase = "StringEqualsIgnoreCase"
        /// Negated `StringEqualsIgnoreCase`.
        case stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
        /// Case-sensitive glob: `*` any run, `?` one character.
        case stringLike = "StringLike"
        /// Negated `StringLike`.
        case stringNotLike = "StringNotLike"
        /// Numeric equality (`10.0 == 10`).
        case numericEquals = "NumericEquals"
        /// Negated `NumericEquals`.
        case numericNotEquals = "NumericNotEquals"
        /// Request value < policy value.
        case numericLessThan = "NumericLessThan"
        /// Request value <= policy value.
        case numericLessThanEquals = "NumericLessThanEquals"
        /// Request value > policy value.
        case numericGreaterThan = "NumericGreaterThan"
        /// Request value >= policy value.
        case numericGreaterThanEquals = "NumericGreaterThanEquals"
        /// Same instant (ISO 8601 or epoch seconds).
        case dateEquals = "DateEquals"
        /// Negated `DateEquals`.
        case dateNotEquals = "DateNotEquals"
        /// Request date before policy date.
        case dateLessThan = "DateLessThan"
        /// Request date at or before policy date.
        case dateLessThanEquals = "DateLessThanEquals"
        /// Request date after policy date.
        case dateGreaterThan = "DateGreaterThan"
        /// Request date at or after policy date.
        case dateGreaterThanEquals = "DateGreaterThanEquals"
        /// Boolean equality (`true` / `false`).
        case bool = "Bool"
        /// Byte equality of base-64 values.
        case binaryEquals = "BinaryEquals"
        /// Request address inside one of the IPv4/IPv6 CIDR blocks.
        case ipAddress = "IpAddress"
        /// Negated `IpAddress`.
        case notIpAddress = "NotIpAddress"
        /// ARN match per component (same as `ArnLike`).
        case arnEquals = "ArnEquals"
        /// ARN match per component, each a case-sensitive glob.
        case arnLike = "ArnLike"
        /// Negated `ArnEquals`.
        case arnNotEquals = "ArnNotEquals"
        /// Negated `ArnLike`.
        case arnNotLike = "ArnNotLike"
        /// Key presence: `true` = the key must be absent, `false` = present.
        case null = "Null"

        /// Whether the operator is negated (`...Not...`, `NotIpAddress`): true on a missing key, NOR over values.
        public var isNegated: Bool {
            switch self {
            case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotLike, .numericNotEquals, .dateNotEquals,
                .notIpAddress, .arnNotEquals, .arnNotLike:
                true
            default: false
            }
        }

        /// Whether the operator compares dates (its values pass AWS's date parsing when the policy is saved).
        var isDate: Bool {
            switch self {
            case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan,
                .dateGreaterThanEquals:
                true
            default: false
            }
        }

        /// Whether `${...}` policy variables are substituted in this operator's values.
        public var allowsVariables: Bool {
            switch self {
            case .stringEquals, .stringNotEquals, .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase, .stringLike,
                .stringNotLike, .arnEquals, .arnLike, .arnNotEquals, .arnNotLike:
                true
            default: false
            }
        }
    }

    /// `ForAllValues:` / `ForAnyValue:` prefix.
    public enum SetQualifier: String, Sendable, Hashable {
        /// `ForAllValues:`: every request value must satisfy the operator; true when the key is missing or empty.
        case forAllValues = "ForAllValues"
        /// `ForAnyValue:`: at least one request value must satisfy the operator; false when missing or empty.
        case forAnyValue = "ForAnyValue"
    }

    /// The base operator.
    public var base: Base
    /// The `...IfExists` suffix: true when the key is missing.
    public var ifExists: Bool
    /// The set-operator prefix, if any.
    public var qualifier: SetQualifier?

    /// Creates an operator.
    public init(base: Base, ifExists: Bool = false, qualifier: SetQualifier? = nil) {
        self.base = base
        self.ifExists = ifExists
        self.qualifier = qualifier
    }

    /// Parses an operator name exactly as AWS spells it (operator names are case-sensitive).
    public init?(_ text: String) {
        var rest = Substring(text)
        var qualifier: SetQualifier?
        if rest.hasPrefix("ForAllValues:") {
            qualifier = .forAllValues
            rest = rest.dropFirst("ForAllValues:".count)
        } else if rest.hasPrefix("ForAnyValue:") {
            qualifier = .forAnyValue
            rest = rest.dropFirst("ForAnyValue:".count)
        }
        var ifExists = false
        if rest.hasSuffix("IfExists") {
            ifExists = true
            rest = rest.dropLast("IfExists".count)
        }
        guard let base = Base(rawValue: String(rest)) else { return nil }
        // AWS documents no `NullIfExists`: Null already tests presence.
        if base == .null && ifExists { return nil }
        self.base = base
        self.ifExists = ifExists
        self.qualifier = qualifier
    }

    /// The operator as AWS spells it.
    public var description: String {
        (qualifier.map { $0.rawValue + ":" } ?? "") + base.rawValue + (ifExists ? "IfExists" : "")
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

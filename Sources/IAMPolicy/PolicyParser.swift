/// JSON text -> validated ``PolicyDocument``, with AWS's rules and messages.
enum PolicyParser {
    /// No real policy is near this: AWS accepts at most 131,072 characters per request, each at most two UTF-8
    /// bytes (the allowed set is TAB, LF, CR and U+0020-U+00FF).
    static let maxInputBytes = 262_144

    static let syntax = "Syntax errors in policy."

    static func tooLarge(_ n: Int) -> PolicyError {
        .limit("Policy document is \(n) bytes; no request may exceed 131072 characters")
    }

    static func limitMessage(kind: PolicyDocumentKind, count: Int) -> String {
        switch kind {
        case .identity, .boundary: "Cannot exceed quota for PolicySize: 6144 (document has \(count) characters)"
        case .inlineUser:
            "Maximum policy size of 2048 bytes exceeded for user (document has \(count) characters)"
        case .inlineGroup:
            "Maximum policy size of 5120 bytes exceeded for group (document has \(count) characters)"
        case .inlineRole:
            "Maximum policy size of 10240 bytes exceeded for role (document has \(count) characters)"
        case .trust: "Cannot exceed quota for ACLSizePerRole: 2048 (document has \(count) characters)"
        case .resource: "Policy document exceeds 20480 characters (document has \(count) characters)"
        }
    }

    static func parse(_ bytes: [UInt8], kind: PolicyDocumentKind, enforcingSizeQuota: Bool = true) throws(PolicyError)
        -> PolicyDocument
    {
        guard bytes.count <= maxInputBytes else { throw tooLarge(bytes.count) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed("Policy document is not valid UTF-8")
        }
        var count = 0
        var inString = false
        var escaped = false
        var line = 1
        for scalar in text.unicodeScalars {
            let v = scalar.value
            guard v == 0x09 || v == 0x0A || v == 0x0D || (v >= 0x20 && v <= 0xFF) else {
                throw .malformed(
                    "Policy document contains character U+\(String(v, radix: 16, uppercase: true)) on line \(line); "
                        + "only TAB, LF, CR and U+0020-U+00FF are allowed"
                )
            }
            if v == 0x0A { line += 1 }
            if inString {
                count += 1
                if escaped {
                    escaped = false
                } else if v == 0x5C {
                    escaped = true
                } else if v == 0x22 {
                    inString = false
                }
            } else if v != 0x20 && v != 0x09 && v != 0x0A && v != 0x0D {
                count += 1
                if v == 0x22 { inString = true }
            }
        }
        guard !enforcingSizeQuota || count <= kind.characterLimit else {
            throw .limit(limitMessage(kind: kind, count: count))
        }
        let json = try JSONParser.parse(bytes)
        return try validate(json, kind: kind, text: bytes)
    }

    // MARK: - Document
    //
    // AWS checks a document in phases and reports the first phase that fails, whatever the statement order
    // (the order and messages below were recorded against AWS by moto's test corpus, getmoto/moto
    // tests/test_iam/test_iam_policies.py): syntax, then the version, then "legacy parsing" (Effect's case, Date
    // values, ARN shape), then Sid uniqueness, then actions present, then resource formats, then action
    // vendors, then resources present. Checks of our own (principals, condition values) come last.

    /// One statement's elements after the syntax phase, not yet judged beyond their JSON types.
    struct RawStatement {
        var path: String
        /// The statement object's bytes in the document's text.
        var range: Range<Int> = 0..<0
        var sid: (value: String, path: String)?
        var effect: (value: String, path: String)?
        /// `Action` / `NotAction`: the values and whether it was `NotAction`.
        var actions: (values: [String], negated: Bool, path: String)?
        /// `Resource` / `NotResource`; nil entries are JSON nulls, which AWS accepts in a list and ignores.
        var resources: (values: [String?], negated: Bool, path: String)?
        var principal: (node: JSONNode, negated: Bool, path: String)?
        var condition: (node: JSONNode, path: String)?
    }

    static func validate(_ json: JSONNode, kind: PolicyDocumentKind, text: [UInt8]) throws(PolicyError)
        -> PolicyDocument
    {
        guard case .object(let members) = json.value else {
            throw .malformed("\(syntax) The policy document must be a JSON object, not \(json.typeName)")
        }
        var version: String?
        var id: String?
        var statementValue: JSONNode?
        for member in members {
            switch member.key {
            case "Version":
                guard case .string(let v) = member.value.value else {
                    throw .malformed("Version", "\(syntax) Version must be a string, not \(member.value.typeName)")
                }
                guard v == "2012-10-17" || v == "2008-10-17" else {
                    throw .malformed("Version", "\(syntax) Version \"\(v)\" is not 2012-10-17 or 2008-10-17")
                }
                version = v
            case "Id":
                guard case .string(let v) = member.value.value else {
                    throw .malformed("Id", "\(syntax) Id must be a string, not \(member.value.typeName)")
                }
                id = v
            case "Statement":
                statementValue = member.value
            default:
                throw .malformed(
                    member.key,
                    "\(syntax) Unknown element \"\(member.key)\"; a policy has only Version, Id and Statement"
                )
            }
        }
        guard let statementValue else {
            throw .malformed("Statement", "\(syntax) Missing required element Statement")
        }
        var raws: [RawStatement] = []
        switch statementValue.value {
        case .object:
            raws.append(try syntax(statementValue, path: "Statement[0]", kind: kind))
        case .array(let elements):
            guard !elements.isEmpty else {
                throw .malformed("Statement", "\(syntax) Statement must not be an empty list")
            }
            for (i, element) in elements.enumerated() {
                raws.append(try syntax(element, path: "Statement[\(i)]", kind: kind))
            }
        default:
            throw .malformed(
                "Statement",
                "\(syntax) Statement must be an object or a list of objects, not \(statementValue.typeName)"
            )
        }

        // Managed policies (CreatePolicy / CreatePolicyVersion, also used as boundaries) need the current version.
        if kind == .identity || kind == .boundary, version != "2012-10-17" {
            throw .malformed("Version", "Policy document must be version 2012-10-17 or greater.")
        }

        var warnings: [PolicyWarning] = []
        try legacyParsing(raws, warnings: &warnings)
        let resourceError = try resourceFormats(raws)

        var seen = Set<String>()
        for raw in raws {
            guard let sid = raw.sid else { continue }
            // Other services' resource policies allow more characters (spaces); IAM allows only these.
            if kind != .resource, !sid.value.utf8.allSatisfy(isAlphanumeric) {
                throw .malformed(
                    sid.path,
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
                        + "expression [0-9A-Za-z]*; got \"\(sid.value)\""
                )
            }
            guard !sid.value.isEmpty else { continue }
            guard seen.insert(sid.value).inserted else {
                throw .malformed(
                    sid.path,
                    "Statement IDs (SID) in a single policy must be unique. \"\(sid.value)\" is repeated"
                )
            }
        }
        for raw in raws {
            guard let actions = raw.actions, !actions.values.isEmpty else {
                throw .malformed(
                    raw.actions?.path ?? raw.path,
                    "Policy statement must contain actions. (Action or NotAction is required and not empty)"
                )
            }
        }
        if let resourceError { throw resourceError }
        for negated in [false, true] {
            for raw in raws {
                guard let actions = raw.actions, actions.negated == negated else { continue }
                for (i, a) in actions.values.enumerated() {
                    let at = actions.values.count == 1 ? actions.path : "\(actions.path)[\(i)]"
                    try validateAction(a, path: at, warnings: &warnings)
                }
            }
        }
        for raw in raws {
            if kind == .trust {
                if let resources = raw.resources {
                    throw .malformed(
                        resources.path,
                        "Has prohibited field \(resources.negated ? "NotResource" : "Resource"): a role trust "
                            + "policy has no resources")
                }
            } else if raw.resources.map({ $0.values.allSatisfy { $0 == nil } }) ?? true {
                throw .malformed(
                    raw.resources?.path ?? raw.path,
                    "Policy statement must contain resources. (Resource or NotResource is required and not empty)")
            }
        }

        var statements: [Statement] = []
        statements.reserveCapacity(raws.count)
        var locator = TextLocator(text)
        for raw in raws {
            var statement = try statement(raw, kind: kind, variables: version == "2012-10-17", warnings: &warnings)
            statement.span = locator.span(raw.range)
            statements.append(statement)
        }
        return PolicyDocument(version: version, id: id, statements: statements, kind: kind, warnings: warnings)
    }

    // MARK: - Statement

    /// The syntax phase of one statement: known elements, JSON types, Effect spelled in any case.
    static func syntax(_ json: JSONNode, path: String, kind: PolicyDocumentKind) throws(PolicyError) -> RawStatement {
        guard case .object(let members) = json.value else {
            throw .malformed(path, "\(syntax) A statement must be an object, not \(json.typeName)")
        }
        var raw = RawStatement(path: path, range: json.range)
        for member in members {
            let at = "\(path).\(member.key)"
            switch member.key {
            case "Sid":
                guard case .string(let v) = member.value.value else {
                    throw .malformed(at, "\(syntax) Sid must be a string, not \(member.value.typeName)")
                }
                raw.sid = (v, at)
            case "Effect":
                guard case .string(let v) = member.value.value else {
                    throw .malformed(at, "\(syntax) Effect must be \"Allow\" or \"Deny\", not \(member.value.typeName)")
                }
                // Any case passes the syntax phase; the exact spelling is a legacy-parsing rule.
                guard asciiLowercased(v) == "allow" || asciiLowercased(v) == "deny" else {
                    throw .malformed(at, "\(syntax) Effect \"\(v)\" must be \"Allow\" or \"Deny\"")
                }
                raw.effect = (v, at)
            case "Action", "NotAction":
                if raw.actions != nil {
                    throw .malformed(path, "\(syntax) A statement must have either Action or NotAction, not both")
                }
                raw.actions = (try strings(member.value, path: at), member.key == "NotAction", at)
            case "Resource", "NotResource":
                if raw.resources != nil {
                    throw .malformed(path, "\(syntax) A statement must have either Resource or NotResource, not both")
                }
                raw.resources = (
                    try strings(member.value, path: at, nullAllowed: true), member.key == "NotResource", at
                )
            case "Principal", "NotPrincipal":
                if kind.isIdentityBased {
                    throw .malformed(at, "Policy document should not specify a principal.")
                }
                if raw.principal != nil {
                    throw .malformed(path, "\(syntax) A statement must have either Principal or NotPrincipal, not both")
                }
                raw.principal = (member.value, member.key == "NotPrincipal", at)
            case "Condition":
                try conditionSyntax(member.value, path: at)
                raw.condition = (member.value, at)
            default:
                throw .malformed(
                    at,
                    "\(syntax) Unknown element \"\(member.key)\"; a statement has only Sid, Effect, Action, NotAction, "
                        + "Resource, NotResource, Principal, NotPrincipal and Condition"
                )
            }
        }
        guard raw.effect != nil else {
            throw .malformed(path, "\(syntax) Missing required element Effect (\"Allow\" or \"Deny\")")
        }
        return raw
    }

    /// A string or a list of strings (and, where `nullAllowed`, JSON nulls in the list); an empty list passes
    /// this phase.
    static func strings(_ json: JSONNode, path: String, nullAllowed: Bool = false) throws(PolicyError) -> [String?] {
        switch json.value {
        case .string(let s): return [s]
        case .array(let elements):
            var out: [String?] = []
            out.reserveCapacity(elements.count)
            for (i, e) in elements.enumerated() {
                switch e.value {
                case .string(let s): out.append(s)
                case .null where nullAllowed: out.append(nil)
                default: throw .malformed("\(path)[\(i)]", "\(syntax) Expected a string, not \(e.typeName)")
                }
            }
            return out
        default:
            throw .malformed(path, "\(syntax) Expected a string or a list of strings, not \(json.typeName)")
        }
    }

    static func strings(_ json: JSONNode, path: String) throws(PolicyError) -> [String] {
        try strings(json, path: path, nullAllowed: false).map { $0! }
    }

    /// Legacy parsing: Effect's exact case and Date condition values.
    static func legacyParsing(_ raws: [RawStatement], warnings: inout [PolicyWarning]) throws(PolicyError) {
        for raw in raws {
            if let effect = raw.effect, Statement.Effect(rawValue: effect.value) == nil {
                throw .malformed(
                    effect.path,
                    "\(legacy) Effect \"\(effect.value)\" is case-sensitive: use \"Allow\" or \"Deny\""
                )
            }
            guard let condition = raw.condition, case .object(let operators) = condition.node.value else { continue }
            for entry in operators {
                guard let op = ConditionOperator(entry.key), op.base.isDate,
                    case .object(let keys) = entry.value.value
                else { continue }
                for key in keys {
                    let at = "\(condition.path).\(entry.key).\(key.key)"
                    let values = conditionScalars(key.value)
                    for (i, v) in values.enumerated() {
                        let vp = values.count == 1 ? at : "\(at)[\(i)]"
                        if ValueParsers.date(v) != nil { continue }
                        guard ValueParsers.awsAcceptsDate(v) else {
                            throw .malformed(
                                vp,
                                "\(legacy) \"\(v)\" is not a date (\(op) takes an ISO 8601 date-time such as "
                                    + "2020-01-01T00:00:00Z, or epoch seconds)"
                            )
                        }
                        warnings.append(
                            PolicyWarning(
                                path: vp,
                                message: "\"\(v)\" passes AWS's date check but is no date-time the engine can "
                                    + "compare (ISO 8601 with a four-digit year 0000-9999 and a real calendar day, or "
                                    + "epoch seconds); \(op) treats it as matching no date"))
                    }
                }
            }
        }
    }

    /// Resource formats, in AWS's order: every statement's `Resource`, then every `NotResource`; within a list the
    /// entries in descending order. The last format error found is the one reported (after the phases before
    /// it); an ARN that fails legacy parsing is reported at once, unless a format error came first.
    static func resourceFormats(_ raws: [RawStatement]) throws(PolicyError) -> PolicyError? {
        var error: PolicyError?
        for negated in [false, true] {
            for raw in raws {
                guard let resources = raw.resources, resources.negated == negated else { continue }
                let indexed = resources.values.enumerated().compactMap { i, v in v.map { (i, $0) } }
                for (i, r) in indexed.sorted(by: { $0.1 > $1.1 }) {
                    let at = resources.values.count == 1 ? resources.path : "\(resources.path)[\(i)]"
                    if let e = resourceFormatError(r, path: at) { error = e }
                }
                guard error == nil else { continue }
                for (i, r) in indexed where r != "*" {
                    let at = resources.values.count == 1 ? resources.path : "\(resources.path)[\(i)]"
                    let parts = r.split(separator: ":", omittingEmptySubsequences: false)
                    if (parts.count < 6 && r.contains("::")) || (parts.count > 2 && parts[2].isEmpty) {
                        throw .malformed(
                            at, "\(legacy) Resource \(r) needs a service and all six ARN components")
                    }
                }
            }
        }
        return error
    }

    static let legacy = "The policy failed legacy parsing."

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    /// The judged statement: principals and condition values (our checks), then the model.
    static func statement(
        _ raw: RawStatement,
        kind: PolicyDocumentKind,
        variables: Bool,
        warnings: inout [PolicyWarning]
    ) throws(PolicyError) -> Statement {
        let path = raw.path
        var principals: Statement.Principals?
        if let p = raw.principal {
            if kind == .trust && p.negated {
                throw .malformed(p.path, "\(syntax) NotPrincipal is not allowed in a role trust policy")
            }
            let set = try principalSet(p.node, path: p.path)
            principals = p.negated ? .exclude(set) : .include(set)
        }
        if principals == nil && (kind == .trust || kind == .resource) {
            throw .malformed(
                path,
                "Invalid principal in policy: The passed in policy has a statement with no principals!"
            )
        }
        var conditions: [Condition] = []
        if let c = raw.condition {
            conditions = try conditionBlock(c.node, path: c.path)
        }
        let actions = raw.actions!
        var resources: Statement.Patterns?
        if let r = raw.resources {
            var list: [String] = []
            for (i, value) in r.values.enumerated() {
                let at = r.values.count == 1 ? r.path : "\(r.path)[\(i)]"
                guard let value else {
                    warnings.append(PolicyWarning(path: at, message: "null is ignored"))
                    continue
                }
                resourceWarnings(value, path: at, variables: variables, warnings: &warnings)
                list.append(value)
            }
            resources = r.negated ? .exclude(list) : .include(list)
        }
        return Statement(
            sid: raw.sid?.value,
            effect: Statement.Effect(rawValue: raw.effect!.value)!,
            actions: actions.negated ? .exclude(actions.values) : .include(actions.values),
            resources: resources,
            principals: principals,
            conditions: conditions
        )
    }

    /// AWS checks an action's vendor and colon only; what follows the colon is any text.
    static func validateAction(_ action: String, path: String, warnings: inout [PolicyWarning]) throws(PolicyError) {
        if action == "*" { return }
        let parts = action.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 else {
            throw .malformed(
                path,
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. Got \"\(action)\""
            )
        }
        guard parts.count == 2 else {
            throw .malformed(path, "Actions/Condition can contain only one colon. Got \"\(action)\"")
        }
        let vendor = parts[0]
        // AWS's vendor characters are letters, digits, `-` and `.`; wildcards match several services.
        let vendorOK = vendor.utf8.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "*")
                || $0 == UInt8(ascii: "?")
        }
        guard vendorOK else { throw .malformed(path, "Vendor \(vendor) is not valid") }
        let name = parts[1]
        let nameMatchable =
            !name.isEmpty
            && name.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "*")
                    || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: ".")
            }
        if !nameMatchable || vendor.isEmpty {
            warnings.append(
                PolicyWarning(
                    path: path,
                    message: "action \"\(action)\" has a name no action has (empty, or characters other than "
                        + "letters, digits, - _ . and wildcards); it never matches"))
        }
    }

    static let partitions: Set<Substring> = [
        "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
    ]
    /// The resource types AWS accepts in an IAM ARN (its error message lists them).
    static let iamResourceTypes: [String] = [
        "user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/", "policy/",
        "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/",
    ]

    /// AWS's resource format rules; nil when the resource passes them.
    static func resourceFormatError(_ resource: String, path: String) -> PolicyError? {
        if resource == "*" { return nil }
        // AWS reads the first component as "arn" whatever it says, and names the rest in its message.
        let parts = resource.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 else {
            return .malformed(path, "Resource \(resource) must be in ARN format or \"*\".")
        }
        let partition = parts[1]
        if partition != "*" && !partitions.contains(partition) {
            let rest = parts.dropFirst(2)
            func part(_ i: Int) -> Substring {
                let index = rest.startIndex + i
                guard index < rest.endIndex else { return "*" }
                if i == 0 && rest.count == 1 && rest[index].isEmpty { return "*" }
                return rest[index]
            }
            let tail = rest.count > 3 ? rest.dropFirst(3).joined(separator: ":") : "*"
            return .malformed(
                path,
                "Partition \"\(partition)\" is not valid for resource \"arn:\(partition):\(part(0)):\(part(1)):"
                    + "\(part(2)):\(tail)\"."
            )
        }
        guard parts.count >= 3 else {
            return .malformed(path, "Resource vendor must be fully qualified and cannot contain regexes.")
        }
        let service = parts[2]
        if service.contains("*") || service.contains("?") {
            return .malformed(path, "Resource vendor must be fully qualified and cannot contain regexes.")
        }
        let region = parts.count > 3 ? parts[3] : ""
        let resourceID = parts.count > 5 ? parts[5...].joined(separator: ":") : ""
        // A wildcard region is not region information; only a concrete region is refused.
        if !region.isEmpty && !region.allSatisfy({ $0 == "*" }) {
            if service == "iam" {
                return .malformed(path, "IAM resource \(resource) cannot contain region information.")
            }
            // S3 access points are regional: `arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`.
            if service == "s3" && !resourceID.hasPrefix("accesspoint/") {
                return .malformed(path, "Resource \(resource) can not contain region information.")
            }
        }
        if service == "iam" && parts.count >= 6 {
            let type = resourceID.prefix { $0 != "/" }
            // A wildcard or variable before the first "/" may stand for any type.
            let open = type.contains("*") || type.contains("?") || type.contains("$")
            if !open && !iamResourceTypes.contains(where: { resourceID.hasPrefix($0) }) {
                return .malformed(
                    path,
                    "IAM resource path must either be \"*\" or start with "
                        + iamResourceTypes.joined(separator: ", ") + ". Got \"\(resourceID)\""
                )
            }
        }
        return nil
    }

    /// Resources AWS saves that can never match a request.
    static func resourceWarnings(
        _ resource: String,
        path: String,
        variables: Bool,
        warnings: inout [PolicyWarning]
    ) {
        guard resource != "*" else { return }
        let boundary = Template.fifthColon(resource)
        // One that ends in `*` spans the ARN's remaining components (`arn:aws:sqs:*`).
        if boundary.colons < 5 && !resource.hasSuffix("*") {
            warnings.append(
                PolicyWarning(
                    path: path,
                    message: "\"\(resource)\" has fewer than six ARN components; it never matches an ARN"))
        }
        if variables, let first = Template.firstVariable(resource), first < boundary.offset {
            warnings.append(
                PolicyWarning(
                    path: path,
                    message: "a policy variable before the fifth colon (partition, service, region, account) is "
                        + "not substituted; that part matches only its literal text"))
        }
    }

    // MARK: - Principal

    static let principalTypes = ["AWS", "Service", "Federated", "CanonicalUser"]

    static func principalSet(_ json: JSONNode, path: String) throws(PolicyError) -> PrincipalSet {
        switch json.value {
        case .string(let s):
            guard s == "*" else {
                throw .malformed(
                    path,
                    "Invalid principal in policy: \"\(s)\"; use \"*\" or an object such as {\"AWS\": \"<arn>\"}"
                )
            }
            return PrincipalSet(isWildcard: true, entries: [])
        case .object(let members):
            guard !members.isEmpty else {
                throw .malformed(
                    path,
                    "Invalid principal in policy: The passed in policy has a statement with no principals!"
                )
            }
            var entries: [PrincipalSet.Entry] = []
            for member in members {
                let at = "\(path).\(member.key)"
                guard principalTypes.contains(member.key) else {
                    throw .malformed(
                        at,
                        "Invalid principal in policy: unknown principal type \"\(member.key)\"; use AWS, Service, "
                            + "Federated or CanonicalUser"
                    )
                }
                let values = try strings(member.value, path: at)
                guard !values.isEmpty else {
                    throw .malformed(
                        at, "Invalid principal in policy: The passed in policy has a statement with no principals!")
                }
                for (i, v) in values.enumerated() {
                    let vp = values.count == 1 ? at : "\(at)[\(i)]"
                    guard !v.isEmpty else {
                        throw .malformed(vp, "Invalid principal in policy: \"\(member.key)\":\"\"")
                    }
                    if v != "*" && (v.contains("*") || v.contains("?")) {
                        throw .malformed(
                            vp,
                            "Invalid principal in policy: \"\(member.key)\":\"\(v)\"; "
                                + "a principal cannot use a partial wildcard"
                        )
                    }
                    // "The service principal in an IAM policy can't be "Service": "*"" (Principal element page).
                    if member.key == "Service" && v == "*" {
                        throw .malformed(
                            vp,
                            "Invalid principal in policy: \"Service\":\"*\"; a service principal names one service "
                                + "(e.g. \"lambda.amazonaws.com\"); use \"Principal\": \"*\" or \"AWS\": \"*\" for everyone"
                        )
                    }
                    if member.key == "AWS" && v != "*" && !isAccountID(v) && !v.hasPrefix("arn:")
                        && !isPrincipalUniqueID(v)
                    {
                        throw .malformed(
                            vp,
                            "Invalid principal in policy: \"AWS\":\"\(v)\"; use an account id, an ARN or \"*\""
                        )
                    }
                    entries.append(PrincipalSet.Entry(type: member.key, value: v))
                }
            }
            return PrincipalSet(isWildcard: false, entries: entries)
        default:
            throw .malformed(path, "Invalid principal in policy: expected \"*\" or an object, not \(json.typeName)")
        }
    }

    static func isAccountID(_ s: String) -> Bool {
        s.utf8.count == 12 && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    /// A user's or role's unique id (`AIDA...`, `AROA...`): AWS stores trust and resource policies' principals
    /// by unique id and shows the id in place of the ARN once the user or role is deleted, so such a document
    /// must still parse (and re-save) and trusts nobody new.
    static func isPrincipalUniqueID(_ s: String) -> Bool {
        (s.hasPrefix("AIDA") || s.hasPrefix("AROA")) && (16...128).contains(s.utf8.count)
            && s.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) }
    }

    // MARK: - Condition

    /// The syntax phase of a Condition block: an object of operators, each an object of keys whose values are
    /// strings, numbers, booleans or lists of them (possibly empty); an unknown operator passes only with no keys.
    static func conditionSyntax(_ json: JSONNode, path: String) throws(PolicyError) {
        guard case .object(let operators) = json.value else {
            throw .malformed(path, "\(syntax) Condition must be an object, not \(json.typeName)")
        }
        for entry in operators {
            guard case .object(let keys) = entry.value.value else {
                throw .malformed(
                    "\(path).\(entry.key)",
                    "\(syntax) A condition operator takes an object of keys and values, not \(entry.value.typeName)"
                )
            }
            if ConditionOperator(entry.key) == nil && !keys.isEmpty {
                throw .malformed(path, "\(syntax) Unknown condition operator \"\(entry.key)\"")
            }
            for key in keys {
                let at = "\(path).\(entry.key).\(key.key)"
                func scalar(_ v: JSONNode, _ p: String) throws(PolicyError) {
                    switch v.value {
                    case .string, .number, .bool: return
                    default:
                        throw .malformed(
                            p, "\(syntax) A condition value must be a string, number or boolean, not \(v.typeName)")
                    }
                }
                if case .array(let elements) = key.value.value {
                    for (i, e) in elements.enumerated() { try scalar(e, "\(at)[\(i)]") }
                } else {
                    try scalar(key.value, at)
                }
            }
        }
    }

    /// A condition key's values as text (JSON numbers and booleans as written); syntax already checked.
    static func conditionScalars(_ json: JSONNode) -> [String] {
        func text(_ v: JSONNode) -> String? {
            switch v.value {
            case .string(let s): s
            case .number(let n): n
            case .bool(let b): b ? "true" : "false"
            default: nil
            }
        }
        if case .array(let elements) = json.value { return elements.compactMap(text) }
        return text(json).map { [$0] } ?? []
    }

    /// The model of a Condition block, with each value checked for its operator (dates were checked while
    /// legacy parsing). Keys need no vendor prefix and a key may have an empty list of values, as in AWS.
    static func conditionBlock(_ json: JSONNode, path: String) throws(PolicyError) -> [Condition] {
        guard case .object(let operators) = json.value else { return [] }
        var out: [Condition] = []
        for entry in operators {
            // An unknown operator reaches here only with no keys; such a block tests nothing.
            guard let op = ConditionOperator(entry.key), case .object(let keys) = entry.value.value else { continue }
            for key in keys {
                let at = "\(path).\(entry.key).\(key.key)"
                let values = conditionScalars(key.value)
                for (i, v) in values.enumerated() {
                    try validateConditionValue(v, op: op, path: values.count == 1 ? at : "\(at)[\(i)]")
                }
                out.append(Condition(op: op, key: key.key, values: values))
            }
        }
        return out
    }

    static func validateConditionValue(_ v: String, op: ConditionOperator, path: String) throws(PolicyError) {
        switch op.base {
        case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan,
            .numericGreaterThanEquals:
            guard ValueParsers.number(v) != nil else {
                throw .malformed(path, "\(syntax) \"\(v)\" is not a number (\(op) takes integers or decimals)")
            }
        case .ipAddress, .notIpAddress:
            guard IPBlock(v) != nil else {
                throw .malformed(path, "\(syntax) \"\(v)\" is not an IPv4 or IPv6 address or CIDR block (\(op))")
            }
        case .bool:
            guard ValueParsers.bool(v) != nil else {
                throw .malformed(path, "\(syntax) \"\(v)\" is not a boolean (Bool takes \"true\" or \"false\")")
            }
        case .null:
            guard ValueParsers.bool(v) != nil else {
                throw .malformed(path, "\(syntax) \"\(v)\" is not a boolean (Null takes \"true\" or \"false\")")
            }
        case .binaryEquals:
            guard ValueParsers.base64(v) != nil else {
                throw .malformed(path, "\(syntax) \"\(v)\" is not base-64 (BinaryEquals takes base-64 values)")
            }
        default:
            break
        }
    }
}

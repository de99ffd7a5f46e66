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

    static func parse(_ bytes: [UInt8], kind: PolicyDocumentKind) throws(PolicyError) -> PolicyDocument {
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
        guard count <= kind.characterLimit else { throw .limit(limitMessage(kind: kind, count: count)) }
        let json = try JSONParser.parse(bytes)
        return try validate(json, kind: kind)
    }

    // MARK: - Document

    static func validate(_ json: JSONNode, kind: PolicyDocumentKind) throws(PolicyError) -> PolicyDocument {
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
        // Managed policies (CreatePolicy / CreatePolicyVersion, also used as boundaries) need the current version.
        if kind == .identity || kind == .boundary, version != "2012-10-17" {
            throw .malformed("Version", "Policy document must be version 2012-10-17 or greater.")
        }
        guard let statementValue else {
            throw .malformed("Statement", "\(syntax) Missing required element Statement")
        }
        let variables = version == "2012-10-17"
        var statements: [Statement] = []
        switch statementValue.value {
        case .object:
            statements.append(try statement(statementValue, path: "Statement[0]", kind: kind, variables: variables))
        case .array(let elements):
            guard !elements.isEmpty else {
                throw .malformed("Statement", "\(syntax) Statement must not be an empty list")
            }
            for (i, element) in elements.enumerated() {
                statements.append(try statement(element, path: "Statement[\(i)]", kind: kind, variables: variables))
            }
        default:
            throw .malformed(
                "Statement",
                "\(syntax) Statement must be an object or a list of objects, not \(statementValue.typeName)"
            )
        }
        var seen = Set<String>()
        for (i, s) in statements.enumerated() {
            guard let sid = s.sid, !sid.isEmpty else { continue }
            guard seen.insert(sid).inserted else {
                throw .malformed(
                    "Statement[\(i)].Sid",
                    "Statement IDs (SID) in a single policy must be unique. \"\(sid)\" is repeated"
                )
            }
        }
        return PolicyDocument(version: version, id: id, statements: statements, kind: kind)
    }

    // MARK: - Statement

    static func statement(
        _ json: JSONNode,
        path: String,
        kind: PolicyDocumentKind,
        variables: Bool
    ) throws(PolicyError) -> Statement {
        guard case .object(let members) = json.value else {
            throw .malformed(path, "\(syntax) A statement must be an object, not \(json.typeName)")
        }
        var sid: String?
        var effect: Statement.Effect?
        var actions: Statement.Patterns?
        var resources: Statement.Patterns?
        var principals: Statement.Principals?
        var conditions: [Condition] = []
        for member in members {
            let at = "\(path).\(member.key)"
            switch member.key {
            case "Sid":
                guard case .string(let v) = member.value.value else {
                    throw .malformed(at, "\(syntax) Sid must be a string, not \(member.value.typeName)")
                }
                // Other services' resource policies allow more characters (spaces); IAM allows only these.
                if kind != .resource, !v.utf8.allSatisfy(isAlphanumeric) {
                    throw .malformed(
                        at,
                        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular "
                            + "expression [0-9A-Za-z]*; got \"\(v)\""
                    )
                }
                sid = v
            case "Effect":
                guard case .string(let v) = member.value.value else {
                    throw .malformed(at, "\(syntax) Effect must be \"Allow\" or \"Deny\", not \(member.value.typeName)")
                }
                if let e = Statement.Effect(rawValue: v) {
                    effect = e
                } else if v.lowercased() == "allow" || v.lowercased() == "deny" {
                    throw .malformed(
                        at,
                        "The policy failed legacy parsing. Effect \"\(v)\" is case-sensitive: use \"Allow\" or \"Deny\""
                    )
                } else {
                    throw .malformed(at, "\(syntax) Effect \"\(v)\" must be \"Allow\" or \"Deny\"")
                }
            case "Action", "NotAction":
                if actions != nil {
                    throw .malformed(path, "\(syntax) A statement must have either Action or NotAction, not both")
                }
                let list = try stringList(
                    member.value, path: at, emptyMessage: "Policy statement must contain actions.")
                for (i, a) in list.enumerated() {
                    try validateAction(a, path: list.count == 1 ? at : "\(at)[\(i)]")
                }
                actions = member.key == "Action" ? .include(list) : .exclude(list)
            case "Resource", "NotResource":
                if kind == .trust {
                    throw .malformed(at, "Has prohibited field \(member.key): a role trust policy has no resources")
                }
                if resources != nil {
                    throw .malformed(path, "\(syntax) A statement must have either Resource or NotResource, not both")
                }
                let list = try stringList(
                    member.value,
                    path: at,
                    emptyMessage: "Policy statement must contain resources."
                )
                for (i, r) in list.enumerated() {
                    try validateResource(r, path: list.count == 1 ? at : "\(at)[\(i)]")
                }
                resources = member.key == "Resource" ? .include(list) : .exclude(list)
            case "Principal", "NotPrincipal":
                if kind.isIdentityBased {
                    throw .malformed(at, "Policy document should not specify a principal.")
                }
                if kind == .trust && member.key == "NotPrincipal" {
                    throw .malformed(at, "\(syntax) NotPrincipal is not allowed in a role trust policy")
                }
                if principals != nil {
                    throw .malformed(path, "\(syntax) A statement must have either Principal or NotPrincipal, not both")
                }
                let set = try principalSet(member.value, path: at)
                principals = member.key == "Principal" ? .include(set) : .exclude(set)
            case "Condition":
                conditions = try conditionBlock(member.value, path: at, variables: variables)
            default:
                throw .malformed(
                    at,
                    "\(syntax) Unknown element \"\(member.key)\"; a statement has only Sid, Effect, Action, NotAction, "
                        + "Resource, NotResource, Principal, NotPrincipal and Condition"
                )
            }
        }
        guard let effect else {
            throw .malformed(path, "\(syntax) Missing required element Effect (\"Allow\" or \"Deny\")")
        }
        guard let actions else {
            throw .malformed(path, "Policy statement must contain actions. (Action or NotAction is required)")
        }
        if resources == nil && kind != .trust {
            throw .malformed(path, "Policy statement must contain resources. (Resource or NotResource is required)")
        }
        if principals == nil && (kind == .trust || kind == .resource) {
            throw .malformed(
                path,
                "Invalid principal in policy: The passed in policy has a statement with no principals!"
            )
        }
        return Statement(
            sid: sid,
            effect: effect,
            actions: actions,
            resources: resources,
            principals: principals,
            conditions: conditions
        )
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }

    static func stringList(_ json: JSONNode, path: String, emptyMessage: String) throws(PolicyError) -> [String] {
        switch json.value {
        case .string(let s): return [s]
        case .array(let elements):
            guard !elements.isEmpty else { throw .malformed(path, "\(emptyMessage) The list is empty") }
            var out: [String] = []
            out.reserveCapacity(elements.count)
            for (i, e) in elements.enumerated() {
                guard case .string(let s) = e.value else {
                    throw .malformed("\(path)[\(i)]", "\(syntax) Expected a string, not \(e.typeName)")
                }
                out.append(s)
            }
            return out
        default:
            throw .malformed(path, "\(syntax) Expected a string or a list of strings, not \(json.typeName)")
        }
    }

    static func validateAction(_ action: String, path: String) throws(PolicyError) {
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
        let vendorOK =
            !vendor.isEmpty
            && vendor.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?")
            }
        guard vendorOK else { throw .malformed(path, "Vendor \(vendor) is not valid") }
        let name = parts[1]
        let nameOK =
            !name.isEmpty
            && name.utf8.allSatisfy {
                isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "*")
                    || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: ".")
            }
        guard nameOK else {
            throw .malformed(path, "\(syntax) Action name \"\(name)\" in \"\(action)\" is not valid")
        }
    }

    static let partitions: Set<Substring> = [
        "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
    ]
    static let iamResourceTypes: Set<Substring> = [
        "user", "group", "role", "policy", "instance-profile", "server-certificate", "saml-provider",
        "oidc-provider", "mfa", "sms-mfa", "root", "access-report", "u2f",
    ]

    static func validateResource(_ resource: String, path: String) throws(PolicyError) {
        if resource == "*" { return }
        let parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn" else {
            throw .malformed(path, "Resource \(resource) must be in ARN format or \"*\".")
        }
        let partition = parts[1]
        if !partitions.contains(partition) && !partition.contains("*") && !partition.contains("?") {
            throw .malformed(path, "Partition \"\(partition)\" is not valid for resource \"\(resource)\".")
        }
        let service = parts[2]
        guard !service.isEmpty, !service.contains("*"), !service.contains("?") else {
            throw .malformed(
                path,
                "Resource \(resource): the service segment must be a service name without wildcards"
            )
        }
        if service == "iam" || service == "s3" {
            // A wildcard region is not region information; only a concrete region is refused.
            if !parts[3].isEmpty && !parts[3].allSatisfy({ $0 == "*" }) {
                throw .malformed(path, "\(syntax) Resource \(resource) can not contain region information.")
            }
        }
        if service == "iam" {
            let rest = parts[5]
            let type = rest.prefix { $0 != "/" && $0 != "*" && $0 != "?" && $0 != "$" }
            let wildcardOrVariable = type.count < rest.count && !rest.dropFirst(type.count).hasPrefix("/")
            if !rest.isEmpty, !wildcardOrVariable, !iamResourceTypes.contains(type) {
                throw .malformed(
                    path,
                    "\(syntax) IAM resource \(resource) must name a known resource type (user/, role/, group/, "
                        + "policy/, instance-profile/, ...)"
                )
            }
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
                let values = try stringList(
                    member.value,
                    path: at,
                    emptyMessage:
                        "Invalid principal in policy: The passed in policy has a statement with no principals!"
                )
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
                    if member.key == "AWS" && v != "*" && !isAccountID(v) && !v.hasPrefix("arn:") {
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

    // MARK: - Condition

    static func conditionBlock(_ json: JSONNode, path: String, variables: Bool) throws(PolicyError) -> [Condition] {
        guard case .object(let operators) = json.value else {
            throw .malformed(path, "\(syntax) Condition must be an object, not \(json.typeName)")
        }
        var out: [Condition] = []
        for entry in operators {
            guard case .object(let keys) = entry.value.value else {
                throw .malformed(
                    "\(path).\(entry.key)",
                    "\(syntax) A condition operator takes an object of keys and values, not \(entry.value.typeName)"
                )
            }
            guard let op = ConditionOperator(entry.key) else {
                // AWS accepts an unknown operator whose key map is empty, and such a block tests nothing.
                if keys.isEmpty { continue }
                throw .malformed(path, "unknown operator \"\(entry.key)\" (\(syntax))")
            }
            for key in keys {
                let at = "\(path).\(entry.key).\(key.key)"
                guard key.key.contains(":"), !key.key.hasPrefix(":") else {
                    throw .malformed(
                        at,
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. "
                            + "Condition key \"\(key.key)\" has no vendor prefix"
                    )
                }
                let values = try conditionValues(key.value, path: at)
                for (i, v) in values.enumerated() {
                    try validateConditionValue(v, op: op, path: values.count == 1 ? at : "\(at)[\(i)]")
                }
                out.append(Condition(op: op, key: key.key, values: values))
            }
        }
        return out
    }

    static func conditionValues(_ json: JSONNode, path: String) throws(PolicyError) -> [String] {
        func scalar(_ v: JSONNode, _ p: String) throws(PolicyError) -> String {
            switch v.value {
            case .string(let s): return s
            case .number(let n): return n
            case .bool(let b): return b ? "true" : "false"
            default:
                throw .malformed(
                    p, "\(syntax) A condition value must be a string, number or boolean, not \(v.typeName)")
            }
        }
        if case .array(let elements) = json.value {
            guard !elements.isEmpty else {
                throw .malformed(path, "\(syntax) A condition value list must not be empty")
            }
            var out: [String] = []
            for (i, e) in elements.enumerated() { out.append(try scalar(e, "\(path)[\(i)]")) }
            return out
        }
        return [try scalar(json, path)]
    }

    static func validateConditionValue(_ v: String, op: ConditionOperator, path: String) throws(PolicyError) {
        switch op.base {
        case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan,
            .numericGreaterThanEquals:
            guard ValueParsers.number(v) != nil else {
                throw .malformed(path, "\(syntax) \"\(v)\" is not a number (\(op) takes integers or decimals)")
            }
        case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan,
            .dateGreaterThanEquals:
            guard ValueParsers.date(v) != nil else {
                throw .malformed(
                    path,
                    "The policy failed legacy parsing. \"\(v)\" is not a date (\(op) takes an ISO 8601 date-time "
                        + "such as 2020-01-01T00:00:00Z, or epoch seconds)"
                )
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

package import IAMPolicy

/// A problem with a vector/case file itself (not with a policy in it).
public struct VectorFileError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the case and field.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// One policy of an evaluation case.
package struct VectorPolicy: Sendable {
    /// The policy id (the case's `id`, or `policy-<n>` by 1-based position).
    package var id: String
    /// The role the policy plays.
    package var role: PolicyInput.Role
    /// The kinds the document is validated as, in order of preference (see ``EvaluationCase/parsePolicies()``).
    package var parseKinds: [PolicyDocumentKind]
    /// The document's bytes, exactly as written in the file (or the string's value).
    package var document: [UInt8]
}

/// One evaluation case of the `iam policy evaluate --cases` format (Tests/IAMPolicyTests/Vectors/README.md).
package struct EvaluationCase: Sendable {
    /// The case id.
    package var id: String
    /// The policies that apply.
    package var policies: [VectorPolicy]
    /// The caller.
    package var principal: Principal
    /// The action asked for.
    package var action: String
    /// The resource asked for.
    package var resource: String
    /// The complete request context (the runner adds nothing).
    package var context: [String: ContextValue]
    /// The expected decision, if any.
    package var expect: Decision?
    /// The expected matched statements, if pinned (compared without regard to order); an entry's role is
    /// compared only when the case gives it (`"type"`).
    package var expectMatched: [ExpectedStatement]?
    /// The expected missing context keys, if pinned (compared without regard to order).
    package var expectMissingContextKeys: [String]?

    /// The request this case asks.
    package var request: AuthorizationRequest {
        AuthorizationRequest(action: action, resource: resource, context: RequestContext(context))
    }

    /// Validates every policy and returns the engine's inputs.
    ///
    /// Identity policies are validated as inline role policies (the identity kind that accepts the old
    /// `2008-10-17` version and up to 10,240 characters), boundaries as boundaries, and resource policies as
    /// resource policies, or as role trust policies when that fails (a trust policy has no `Resource`).
    package func parsePolicies() throws(PolicyError) -> [PolicyInput] {
        var inputs: [PolicyInput] = []
        inputs.reserveCapacity(policies.count)
        for policy in policies {
            var firstError: PolicyError?
            var parsed: PolicyDocument?
            for kind in policy.parseKinds {
                do throws(PolicyError) {
                    parsed = try PolicyDocument.parse(bytes: policy.document, kind: kind)
                    break
                } catch {
                    if firstError == nil { firstError = error }
                }
            }
            guard let parsed else {
                let error = firstError ?? PolicyError(code: PolicyError.malformedCode, message: "no kind to parse as")
                throw PolicyError(code: error.code, message: "policy \(policy.id): \(error.message)")
            }
            inputs.append(PolicyInput(id: policy.id, role: policy.role, document: parsed))
        }
        return inputs
    }

    /// Compiles the case's policies for its principal.
    package func compile() throws(PolicyError) -> CompiledPrincipal {
        CompiledPrincipal(principal: principal, policies: try parsePolicies())
    }
}

/// One validation case of the `--validation` format.
package struct ValidationCase: Sendable {
    /// The case id.
    package var id: String
    /// The kind to validate as.
    package var kind: PolicyDocumentKind
    /// The document's bytes, exactly as written (or the string's value).
    package var document: [UInt8]
    /// `true` for `"valid"`, `false` for `"invalid"`, nil when the case pins nothing.
    package var expectValid: Bool?
    /// The expected AWS error code, if pinned.
    package var expectErrorCode: String?
    /// AWS's own message for an invalid document, if pinned: the engine's message must contain it verbatim (ours
    /// adds the element path and what was allowed around it).
    package var expectAWSMessage: String?
    /// Expected warnings of a valid document, if pinned: each entry must occur in some warning's text, and `[]`
    /// pins that there are none.
    package var expectWarnings: [String]?
}

/// One entry of a case's `expectMatched`.
package struct ExpectedStatement: Sendable, Hashable {
    /// The policy id.
    package var policyID: String
    /// The role the policy plays, when the case pins it.
    package var role: PolicyInput.Role?
    /// The 0-based statement index.
    package var index: Int
    /// The Sid, if any.
    package var sid: String?

    /// Creates an expectation.
    package init(policyID: String, role: PolicyInput.Role?, index: Int, sid: String?) {
        self.policyID = policyID
        self.role = role
        self.index = index
        self.sid = sid
    }
}

/// Reading vector files: evaluation cases and validation cases.
package enum VectorFile {
    /// The largest case file read (bytes): far above any real suite, small enough to never exhaust memory.
    package static let maxFileBytes = 64 << 20

    /// Parses the top-level array of a case file.
    static func caseArray(_ bytes: [UInt8]) throws(VectorFileError) -> (source: [UInt8], cases: [JSONNode]) {
        // The JSON reader copies string bytes as they are, so the file is checked to be UTF-8 first.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw VectorFileError("not valid UTF-8")
        }
        let root: JSONNode
        do throws(PolicyError) {
            // The engine's own reader; case files may nest deeper than a policy and may repeat keys (a document
            // given as an object is handed on verbatim, duplicates and all).
            root = try JSONParser.parse(bytes, maxDepth: 128, rejectDuplicateKeys: false, errorOpening: "")
        } catch {
            throw VectorFileError("not valid JSON: \(error.message)")
        }
        guard case .array(let cases) = root.value else {
            throw VectorFileError("the file must hold a JSON array of cases, not \(root.typeName)")
        }
        return (bytes, cases)
    }

    /// Decodes evaluation cases from the bytes of a case file.
    package static func evaluationCases(_ bytes: [UInt8]) throws(VectorFileError) -> [EvaluationCase] {
        let (source, cases) = try caseArray(bytes)
        var result: [EvaluationCase] = []
        result.reserveCapacity(cases.count)
        for (n, node) in cases.enumerated() {
            result.append(try evaluationCase(node, number: n, source: source))
        }
        return result
    }

    /// Decodes validation cases from the bytes of a case file.
    package static func validationCases(_ bytes: [UInt8]) throws(VectorFileError) -> [ValidationCase] {
        let (source, cases) = try caseArray(bytes)
        var result: [ValidationCase] = []
        result.reserveCapacity(cases.count)
        for (n, node) in cases.enumerated() {
            let id = try caseID(node, number: n)
            let where_ = "case \(id)"
            guard let kindNode = node["kind"], let kindText = kindNode.string else {
                throw VectorFileError("\(where_): \"kind\" must be a string")
            }
            guard let kind = PolicyDocumentKind(rawValue: kindText) else {
                throw VectorFileError("\(where_): unknown kind \"\(kindText)\"")
            }
            let document = try documentBytes(node["document"], source: source, where: where_)
            var expectValid: Bool?
            if let e = node["expect"] {
                switch e.string {
                case "valid": expectValid = true
                case "invalid": expectValid = false
                default: throw VectorFileError("\(where_): \"expect\" must be \"valid\" or \"invalid\"")
                }
            }
            var code: String?
            if let c = node["error_code"], case .string(let s) = c.value { code = s }
            var awsMessage: String?
            if let m = node["aws_message"] {
                guard let s = m.string else { throw VectorFileError("\(where_): \"aws_message\" must be a string") }
                awsMessage = s
            }
            var warnings: [String]?
            if let w = node["warnings"] {
                warnings = try strings(w, where: "\(where_): \"warnings\"")
            }
            result.append(
                ValidationCase(
                    id: id, kind: kind, document: document, expectValid: expectValid, expectErrorCode: code,
                    expectAWSMessage: awsMessage, expectWarnings: warnings))
        }
        return result
    }

    static func caseID(_ node: JSONNode, number: Int) throws(VectorFileError) -> String {
        guard case .object = node.value else { throw VectorFileError("case #\(number + 1) is not an object") }
        guard let id = node["id"]?.string, !id.isEmpty else {
            throw VectorFileError("case #\(number + 1): \"id\" must be a non-empty string")
        }
        return id
    }

    /// A document given as an object (its raw bytes) or as a JSON string (the string's value).
    static func documentBytes(_ node: JSONNode?, source: [UInt8], where: String) throws(VectorFileError) -> [UInt8] {
        guard let node else { throw VectorFileError("\(`where`): \"document\" is missing") }
        switch node.value {
        case .string(let text): return Array(text.utf8)
        case .object: return Array(source[node.range])
        default: throw VectorFileError("\(`where`): \"document\" must be an object or a string, not \(node.typeName)")
        }
    }

    static func evaluationCase(_ node: JSONNode, number: Int, source: [UInt8]) throws(VectorFileError)
        -> EvaluationCase
    {
        let id = try caseID(node, number: number)
        let where_ = "case \(id)"

        var policies: [VectorPolicy] = []
        if let list = node["policies"] {
            guard case .array(let items) = list.value else {
                throw VectorFileError("\(where_): \"policies\" must be an array")
            }
            for (i, item) in items.enumerated() {
                let at = "\(where_) policies[\(i)]"
                guard case .object = item.value else { throw VectorFileError("\(at) must be an object") }
                let kindText = item["kind"]?.string ?? "identity"
                let role: PolicyInput.Role
                let kinds: [PolicyDocumentKind]
                switch kindText {
                case "identity": (role, kinds) = (.identity, [.inlineRole])
                case "inline-user", "inline-group", "inline-role":
                    (role, kinds) = (.identity, [PolicyDocumentKind(rawValue: kindText)!])
                case "boundary": (role, kinds) = (.boundary, [.boundary])
                // A session policy is passed inline to AssumeRole: identity-policy grammar, no Principal.
                case "session": (role, kinds) = (.session, [.inlineRole])
                case "resource": (role, kinds) = (.resource, [.resource, .trust])
                case "trust": (role, kinds) = (.resource, [.trust])
                default:
                    throw VectorFileError(
                        "\(at): unknown kind \"\(kindText)\" (identity, boundary, session or resource)")
                }
                let policyID: String
                if let given = item["id"] {
                    guard let s = given.string, !s.isEmpty else {
                        throw VectorFileError("\(at): \"id\" must be a string")
                    }
                    policyID = s
                } else {
                    // Documented convention: a policy without an id is named by its 1-based position.
                    policyID = "policy-\(i + 1)"
                }
                let document = try documentBytes(item["document"], source: source, where: at)
                policies.append(VectorPolicy(id: policyID, role: role, parseKinds: kinds, document: document))
            }
        }

        let principal = try Self.principal(node["principal"], where: where_)

        guard let request = node["request"], case .object = request.value else {
            throw VectorFileError("\(where_): \"request\" must be an object")
        }
        guard let action = request["action"]?.string else {
            throw VectorFileError("\(where_): request.action must be a string")
        }
        let resource = request["resource"]?.string ?? "*"
        var context: [String: ContextValue] = [:]
        if let ctx = request["context"] {
            guard case .object(let members) = ctx.value else {
                throw VectorFileError("\(where_): request.context must be an object")
            }
            for member in members {
                let key = member.key
                switch member.value.value {
                case .string(let s): context[key] = .string(s)
                case .number(let n): context[key] = .string(n)
                case .bool(let b): context[key] = .string(b ? "true" : "false")
                case .array(let items):
                    var list: [String] = []
                    for item in items {
                        guard let s = item.string else {
                            throw VectorFileError("\(where_): request.context[\(key)] must hold strings only")
                        }
                        list.append(s)
                    }
                    context[key] = .list(list)
                default:
                    throw VectorFileError("\(where_): request.context[\(key)] must be a string or an array of strings")
                }
            }
        }

        var expect: Decision?
        if let e = node["expect"] {
            guard let s = e.string, let d = Decision(rawValue: s) else {
                throw VectorFileError("\(where_): \"expect\" must be allowed, explicitDeny or implicitDeny")
            }
            expect = d
        }
        var expectMatched: [ExpectedStatement]?
        if let m = node["expectMatched"] {
            guard case .array(let items) = m.value else {
                throw VectorFileError("\(where_): \"expectMatched\" must be an array")
            }
            var list: [ExpectedStatement] = []
            for item in items {
                guard let policy = item["policy"]?.string, case .number(let n)? = item["index"]?.value,
                    let index = Int(n)
                else {
                    throw VectorFileError("\(where_): expectMatched entries need \"policy\" and \"index\"")
                }
                var role: PolicyInput.Role?
                if let t = item["type"] {
                    guard let text = t.string, let r = PolicyInput.Role(rawValue: text) else {
                        throw VectorFileError(
                            "\(where_): expectMatched \"type\" must be identity, boundary, resource or session")
                    }
                    role = r
                }
                list.append(ExpectedStatement(policyID: policy, role: role, index: index, sid: item["sid"]?.string))
            }
            expectMatched = list
        }
        var expectMissing: [String]?
        if let m = node["expectMissingContextKeys"] {
            expectMissing = try strings(m, where: "\(where_): expectMissingContextKeys")
        }
        return EvaluationCase(
            id: id, policies: policies, principal: principal, action: action, resource: resource, context: context,
            expect: expect, expectMatched: expectMatched, expectMissingContextKeys: expectMissing)
    }

    static func strings(_ node: JSONNode, where: String) throws(VectorFileError) -> [String] {
        guard case .array(let items) = node.value else { throw VectorFileError("\(`where`) must be an array") }
        var list: [String] = []
        for item in items {
            guard let s = item.string else { throw VectorFileError("\(`where`) must hold strings") }
            list.append(s)
        }
        return list
    }

    /// Whether a vector file holds validation cases (its name starts with `validation`) rather than evaluation
    /// cases.
    package static func isValidationFile(_ name: String) -> Bool {
        name.hasPrefix("validation")
    }

    static func principal(_ node: JSONNode?, where: String) throws(VectorFileError) -> Principal {
        guard let node else {
            // No principal: an anonymous caller that no resource policy names except "*".
            return Principal(arn: "anonymous", kind: .user)
        }
        guard case .object = node.value else { throw VectorFileError("\(`where`): \"principal\" must be an object") }
        guard let arn = node["arn"]?.string else { throw VectorFileError("\(`where`): principal.arn must be a string") }
        let typeText = node["type"]?.string ?? "user"
        guard let kind = Principal.Kind(rawValue: typeText) else {
            throw VectorFileError("\(`where`): principal.type must be user, assumed-role or service")
        }
        var tags: [String: String] = [:]
        if let t = node["tags"], case .object(let members) = t.value {
            for member in members {
                guard let s = member.value.string else {
                    throw VectorFileError("\(`where`): principal.tags must hold strings")
                }
                tags[member.key] = s
            }
        }
        return Principal(
            arn: arn,
            kind: kind,
            name: node["name"]?.string,
            id: node["id"]?.string ?? node["userid"]?.string,
            account: node["account"]?.string,
            path: node["path"]?.string,
            roleARN: node["role_arn"]?.string ?? node["roleARN"]?.string,
            tags: tags
        )
    }
}

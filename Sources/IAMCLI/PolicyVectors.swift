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

/// One evaluation case of the `iam policy evaluate --cases` format (issue 2).
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
    /// The expected matched statements, if pinned (compared without regard to order).
    package var expectMatched: [MatchedStatement]?
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
            root = try JSONParser.parse(bytes, maxDepth: 128, rejectDuplicateKeys: false)
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
            result.append(
                ValidationCase(id: id, kind: kind, document: document, expectValid: expectValid, expectErrorCode: code))
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
        var expectMatched: [MatchedStatement]?
        if let m = node["expectMatched"] {
            guard case .array(let items) = m.value else {
                throw VectorFileError("\(where_): \"expectMatched\" must be an array")
            }
            var list: [MatchedStatement] = []
            for item in items {
                guard let policy = item["policy"]?.string, case .number(let n)? = item["index"]?.value,
                    let index = Int(n)
                else {
                    throw VectorFileError("\(where_): expectMatched entries need \"policy\" and \"index\"")
                }
                list.append(MatchedStatement(policyID: policy, index: index, sid: item["sid"]?.string))
            }
            expectMatched = list
        }
        var expectMissing: [String]?
        if let m = node["expectMissingContextKeys"] {
            guard case .array(let items) = m.value else {
                throw VectorFileError("\(where_): \"expectMissingContextKeys\" must be an array")
            }
            var list: [String] = []
            for item in items {
                guard let s = item.string else {
                    throw VectorFileError("\(where_): expectMissingContextKeys must hold strings")
                }
                list.append(s)
            }
            expectMissing = list
        }
        return EvaluationCase(
            id: id, policies: policies, principal: principal, action: action, resource: resource, context: context,
            expect: expect, expectMatched: expectMatched, expectMissingContextKeys: expectMissing)
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

/// The outcome of running one evaluation case.
package struct EvaluationOutcome: Sendable {
    /// The case id.
    package var id: String
    /// The engine's result, or the policy error that stopped the case.
    package var result: Result<EvaluationResult, PolicyError>
    /// What differs from the case's expectations (empty when it passes).
    package var mismatches: [String]

    /// Whether the case met every expectation it pins.
    package var passed: Bool { mismatches.isEmpty }

    /// The case's output line: `{"id":..,"decision":..,"matched":[..],"missingContextKeys":[..]}`.
    package var jsonLine: String {
        var w = JSONLineWriter()
        w.field("id", string: id)
        switch result {
        case .success(let r):
            w.field("decision", string: r.decision.rawValue)
            w.key("matched")
            w.raw("[")
            for (i, m) in r.matched.enumerated() {
                if i > 0 { w.raw(",") }
                var inner = JSONLineWriter()
                inner.field("policy", string: m.policyID)
                inner.field("index", int: m.index)
                inner.field("sid", string: m.sid)
                w.raw(inner.finish())
            }
            w.raw("]")
            w.field("missingContextKeys", strings: r.missingContextKeys)
        case .failure(let e):
            w.field("decision", string: "error")
            w.field("error_code", string: e.code)
            w.field("message", string: e.message)
        }
        if !mismatches.isEmpty {
            w.field("mismatch", strings: mismatches)
        }
        return w.finish()
    }
}

/// The outcome of running one validation case.
package struct ValidationOutcome: Sendable {
    /// The case id.
    package var id: String
    /// nil when the document is valid, else the engine's error.
    package var error: PolicyError?
    /// What differs from the case's expectations (empty when it passes).
    package var mismatches: [String]

    /// Whether the case met every expectation it pins.
    package var passed: Bool { mismatches.isEmpty }

    /// The case's output line: `{"id":..,"decision":"valid"|"invalid","error_code":..,"message":..}`.
    package var jsonLine: String {
        var w = JSONLineWriter()
        w.field("id", string: id)
        w.field("decision", string: error == nil ? "valid" : "invalid")
        w.field("error_code", string: error?.code)
        w.field("message", string: error?.message)
        if !mismatches.isEmpty {
            w.field("mismatch", strings: mismatches)
        }
        return w.finish()
    }
}

/// Runs cases against the engine and compares with their expectations.
package enum VectorRunner {
    /// Validates, compiles and evaluates one case, then checks what it pins.
    package static func run(_ c: EvaluationCase) -> EvaluationOutcome {
        let compiled: CompiledPrincipal
        do throws(PolicyError) {
            compiled = try c.compile()
        } catch {
            return EvaluationOutcome(
                id: c.id, result: .failure(error), mismatches: ["a policy did not validate: \(error)"])
        }
        let request = c.request
        let result = compiled.evaluate(request)
        var mismatches: [String] = []
        if let expect = c.expect, expect != result.decision {
            mismatches.append("decision \(result.decision.rawValue), expected \(expect.rawValue)")
        }
        // decide() is the allocation-free path: it must agree with evaluate().
        let fast = compiled.decide(request)
        if fast != result.decision {
            mismatches.append("decide() said \(fast.rawValue) but evaluate() said \(result.decision.rawValue)")
        }
        if let expected = c.expectMatched {
            let want = expected.map(describe).sorted()
            let got = result.matched.map(describe).sorted()
            if want != got {
                mismatches.append("matched \(got), expected \(want)")
            }
        }
        if let expected = c.expectMissingContextKeys {
            let want = expected.sorted()
            let got = result.missingContextKeys.sorted()
            if want != got {
                mismatches.append("missingContextKeys \(got), expected \(want)")
            }
        }
        return EvaluationOutcome(id: c.id, result: .success(result), mismatches: mismatches)
    }

    /// Validates one document and checks what the case pins.
    package static func run(_ c: ValidationCase) -> ValidationOutcome {
        var error: PolicyError?
        do throws(PolicyError) {
            _ = try PolicyDocument.parse(bytes: c.document, kind: c.kind)
        } catch let e {
            error = e
        }
        var mismatches: [String] = []
        if let expectValid = c.expectValid {
            if expectValid, let error {
                mismatches.append("invalid (\(error)), expected valid")
            } else if !expectValid, error == nil {
                mismatches.append("valid, expected invalid")
            }
        }
        if let code = c.expectErrorCode, let error, error.code != code {
            mismatches.append("error_code \(error.code), expected \(code)")
        }
        return ValidationOutcome(id: c.id, error: error, mismatches: mismatches)
    }

    static func describe(_ m: MatchedStatement) -> String {
        "\(m.policyID)#\(m.index)" + (m.sid.map { "(\($0))" } ?? "")
    }
}

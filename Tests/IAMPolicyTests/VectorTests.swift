import Foundation
import IAMPolicy
import Testing

// The generic runner for the conformance vectors in Vectors/*.json (format: issue 2, `iam policy evaluate`).
//
// Every case of every file is one test argument. Files named `validation*.json` hold validation cases; the others
// hold evaluation cases. The runner adds nothing to a case: no context keys, no policies. Conventions it applies:
// identity policies are validated as inline role policies (the identity kind that accepts `2008-10-17`), resource
// policies as resource policies or, failing that, as role trust policies; a policy without an id is `policy-<n>`
// (1-based position); `expectMatched` and `expectMissingContextKeys` are compared without regard to order.
// The CLI (Sources/IAMCLI/PolicyVectors.swift) applies the same conventions; IAMCLITests runs the files through it.

/// One vector, ready to run.
struct Vector: Sendable, CustomTestStringConvertible {
    enum Body: Sendable {
        case evaluation(EvaluationVector)
        case validation(ValidationVector)
        /// A case (or file) that could not be decoded: the test fails with this message.
        case broken(String)
    }

    var file: String
    var id: String
    var body: Body

    var testDescription: String { "\(file):\(id)" }
}

struct EvaluationVector: Sendable {
    struct Policy: Sendable {
        var id: String
        var role: PolicyInput.Role
        var kinds: [PolicyDocumentKind]
        var document: [UInt8]
    }

    var policies: [Policy]
    var principal: Principal
    var action: String
    var resource: String
    var context: [String: ContextValue]
    var expect: Decision?
    var expectMatched: [String]?
    var expectMissing: [String]?
}

struct ValidationVector: Sendable {
    var kind: PolicyDocumentKind
    var document: [UInt8]
    var expectValid: Bool?
    var errorCode: String?
}

enum VectorLoader {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static let all: [Vector] = {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            return [Vector(file: "Vectors", id: "-", body: .broken("cannot list \(directory.path): \(error)"))]
        }
        return names.flatMap(load)
    }()

    static func load(_ name: String) -> [Vector] {
        let bytes: [UInt8]
        let root: JSONNode
        do {
            bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
            // The engine's JSON reader copies string bytes as they are: check UTF-8 first.
            guard String(validating: bytes, as: UTF8.self) != nil else { throw DecodeError("not UTF-8") }
            root = try JSONParser.parse(bytes, maxDepth: 128, rejectDuplicateKeys: false)
        } catch {
            return [Vector(file: name, id: "-", body: .broken("cannot read: \(error)"))]
        }
        guard case .array(let items) = root.value else {
            return [Vector(file: name, id: "-", body: .broken("not an array of cases"))]
        }
        let validation = name.hasPrefix("validation")
        return items.enumerated().map { n, item in
            let id = item["id"]?.string ?? "#\(n + 1)"
            do {
                let body: Vector.Body =
                    validation
                    ? .validation(try validationCase(item, bytes)) : .evaluation(try evaluationCase(item, bytes))
                return Vector(file: name, id: id, body: body)
            } catch {
                return Vector(file: name, id: id, body: .broken("\(error)"))
            }
        }
    }

    struct DecodeError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    static func document(_ node: JSONNode?, _ source: [UInt8]) throws -> [UInt8] {
        switch node?.value {
        case .string(let s)?: return Array(s.utf8)
        case .object?: return Array(source[node!.range])
        default: throw DecodeError("document must be an object or a string")
        }
    }

    static func strings(_ node: JSONNode?) throws -> [String]? {
        guard let node else { return nil }
        guard case .array(let items) = node.value else { throw DecodeError("expected an array of strings") }
        return try items.map {
            guard let s = $0.string else { throw DecodeError("expected an array of strings") }
            return s
        }
    }

    static func validationCase(_ item: JSONNode, _ source: [UInt8]) throws -> ValidationVector {
        guard let kind = item["kind"]?.string.flatMap(PolicyDocumentKind.init(rawValue:)) else {
            throw DecodeError("kind must be a policy document kind")
        }
        let expect = item["expect"]?.string
        guard expect == nil || expect == "valid" || expect == "invalid" else {
            throw DecodeError("expect must be valid or invalid")
        }
        return ValidationVector(
            kind: kind, document: try document(item["document"], source), expectValid: expect.map { $0 == "valid" },
            errorCode: item["error_code"]?.string)
    }

    static func evaluationCase(_ item: JSONNode, _ source: [UInt8]) throws -> EvaluationVector {
        var policies: [EvaluationVector.Policy] = []
        if case .array(let list)? = item["policies"]?.value {
            for (i, p) in list.enumerated() {
                let (role, kinds): (PolicyInput.Role, [PolicyDocumentKind])
                switch p["kind"]?.string ?? "identity" {
                case "identity": (role, kinds) = (.identity, [.inlineRole])
                case "inline-user": (role, kinds) = (.identity, [.inlineUser])
                case "inline-group": (role, kinds) = (.identity, [.inlineGroup])
                case "inline-role": (role, kinds) = (.identity, [.inlineRole])
                case "boundary": (role, kinds) = (.boundary, [.boundary])
                case "session": (role, kinds) = (.session, [.inlineRole])
                case "resource": (role, kinds) = (.resource, [.resource, .trust])
                case "trust": (role, kinds) = (.resource, [.trust])
                case let other: throw DecodeError("unknown policy kind \(other)")
                }
                policies.append(
                    .init(
                        id: p["id"]?.string ?? "policy-\(i + 1)", role: role, kinds: kinds,
                        document: try document(p["document"], source)))
            }
        }
        guard let pr = item["principal"], let arn = pr["arn"]?.string,
            let kind = Principal.Kind(rawValue: pr["type"]?.string ?? "user")
        else { throw DecodeError("principal needs arn and a known type") }
        var tags: [String: String] = [:]
        if case .object(let members)? = pr["tags"]?.value {
            for member in members { tags[member.key] = member.value.string }
        }
        let principal = Principal(
            arn: arn, kind: kind, name: pr["name"]?.string, id: pr["id"]?.string ?? pr["userid"]?.string,
            account: pr["account"]?.string, path: pr["path"]?.string, roleARN: pr["role_arn"]?.string, tags: tags)
        guard let request = item["request"], let action = request["action"]?.string else {
            throw DecodeError("request.action is required")
        }
        var context: [String: ContextValue] = [:]
        if case .object(let members)? = request["context"]?.value {
            for member in members {
                if let s = member.value.string {
                    context[member.key] = .string(s)
                } else {
                    context[member.key] = .list(try strings(member.value) ?? [])
                }
            }
        }
        var expect: Decision?
        if let e = item["expect"] {
            guard let d = e.string.flatMap(Decision.init(rawValue:)) else { throw DecodeError("bad expect") }
            expect = d
        }
        var matched: [String]?
        if case .array(let list)? = item["expectMatched"]?.value {
            matched = try list.map { m in
                guard let policy = m["policy"]?.string, case .number(let n)? = m["index"]?.value, let index = Int(n)
                else { throw DecodeError("expectMatched entries need policy and index") }
                return describe(MatchedStatement(policyID: policy, index: index, sid: m["sid"]?.string))
            }
        }
        return EvaluationVector(
            policies: policies, principal: principal, action: action, resource: request["resource"]?.string ?? "*",
            context: context, expect: expect, expectMatched: matched,
            expectMissing: try strings(item["expectMissingContextKeys"]))
    }

    static func describe(_ m: MatchedStatement) -> String {
        "\(m.policyID)#\(m.index)" + (m.sid.map { "(\($0))" } ?? "")
    }
}

@Suite("Conformance vectors (Tests/IAMPolicyTests/Vectors)")
struct VectorTests {
    @Test("every vector file holds cases, and there are at least 250")
    func vectorFilesArePresent() {
        #expect(VectorLoader.all.count >= 250)
        let ids = VectorLoader.all.map(\.id)
        #expect(Set(ids).count == ids.count, "vector ids must be unique across files")
    }

    @Test(arguments: VectorLoader.all)
    func vector(_ v: Vector) throws {
        switch v.body {
        case .broken(let message):
            Issue.record("\(v.file) \(v.id): \(message)")
        case .validation(let c):
            var error: PolicyError?
            do throws(PolicyError) {
                _ = try PolicyDocument.parse(bytes: c.document, kind: c.kind)
            } catch let e {
                error = e
            }
            if let expectValid = c.expectValid {
                #expect((error == nil) == expectValid, "\(v.id): got \(error.map(String.init(describing:)) ?? "valid")")
            }
            if let code = c.errorCode {
                #expect(error?.code == code, "\(v.id): \(error.map(String.init(describing:)) ?? "valid")")
            }
        case .evaluation(let c):
            var inputs: [PolicyInput] = []
            for p in c.policies {
                var parsed: PolicyDocument?
                var firstError: PolicyError?
                for kind in p.kinds where parsed == nil {
                    do throws(PolicyError) {
                        parsed = try PolicyDocument.parse(bytes: p.document, kind: kind)
                    } catch {
                        firstError = firstError ?? error
                    }
                }
                let document = try #require(
                    parsed, "\(v.id): policy \(p.id) does not validate: \(String(describing: firstError))")
                inputs.append(PolicyInput(id: p.id, role: p.role, document: document))
            }
            let compiled = CompiledPrincipal(principal: c.principal, policies: inputs)
            let request = AuthorizationRequest(
                action: c.action, resource: c.resource, context: RequestContext(c.context))
            let result = compiled.evaluate(request)
            if let expect = c.expect {
                #expect(result.decision == expect, "\(v.id)")
            }
            #expect(compiled.decide(request) == result.decision, "decide() and evaluate() must agree")
            if let matched = c.expectMatched {
                #expect(result.matched.map(VectorLoader.describe).sorted() == matched.sorted(), "\(v.id) matched")
            }
            if let missing = c.expectMissing {
                #expect(result.missingContextKeys.sorted() == missing.sorted(), "\(v.id) missingContextKeys")
            }
        }
    }
}

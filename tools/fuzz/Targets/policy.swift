// Fuzz target: IAMPolicy's JSON parser and validator, and the compiler and evaluator behind a valid document.
//
// Input: [kind selector] [policy JSON...]. Run with tools/fuzz/policy.dict (the grammar's tokens) and the
// seed corpus tools/fuzz/build makes from Tests/IAMPolicyTests/Vectors.
// Invariants: no crash; parsing is deterministic and the text and byte entry points agree; a valid document's
// context keys, compilation and evaluation do not crash, and decide() agrees with evaluate() for requests
// built from the document's own actions and resources.
import Foundation
import IAMPolicy

private let principal = Principal(
    arn: "arn:aws:iam::123456789012:user/fuzz/alice", kind: .user, name: "alice", id: "AIDAFUZZ",
    account: "123456789012", path: "/fuzz/", tags: ["team": "red"])

private let context = RequestContext([
    "aws:SourceIp": .string("203.0.113.9"),
    "aws:CurrentTime": .string("2026-12-01T12:00:00Z"),
    "aws:SecureTransport": .string("true"),
    "aws:TagKeys": .list(["team", "env"]),
    "s3:prefix": .string("home/alice/"),
    "aws:MultiFactorAuthAge": .string("300"),
])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let kinds = PolicyDocumentKind.allCases
    let kind = kinds[Int(input.byte()) % kinds.count]
    let bytes = input.rest()

    let fromBytes: Result<PolicyDocument, PolicyError>
    do { fromBytes = .success(try PolicyDocument.parse(bytes: bytes, kind: kind)) } catch {
        fromBytes = .failure(error)
    }
    let again: Result<PolicyDocument, PolicyError>
    do { again = .success(try PolicyDocument.parse(bytes: bytes, kind: kind)) } catch { again = .failure(error) }
    invariant(fromBytes == again, "parsing the same bytes twice gives different results")
    if let text = String(validating: bytes, as: UTF8.self) {
        let fromText: Result<PolicyDocument, PolicyError>
        do { fromText = .success(try PolicyDocument.parse(text, kind: kind)) } catch { fromText = .failure(error) }
        invariant(fromText == fromBytes, "text and bytes entry points disagree")
    }
    guard case .success(let document) = fromBytes else { return 0 }

    _ = document.contextKeys
    let role: PolicyInput.Role =
        switch kind {
        case .boundary: .boundary
        case .trust, .resource: .resource
        default: .identity
        }
    var policies = [PolicyInput(id: "fuzz", role: role, document: document)]
    if role != .identity {
        // Something to limit or to be granted alongside, so the non-identity paths decide something.
        let allowAll = try! PolicyDocument.parse(
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            kind: .identity)
        policies.append(PolicyInput(id: "allow-all", role: .identity, document: allowAll))
    }
    let compiled = CompiledPrincipal(principal: principal, policies: policies)
    var actions = ["s3:GetObject", "iam:CreateUser"]
    var resources = ["arn:aws:s3:::bucket/home/alice/x", "*"]
    for statement in document.statements.prefix(4) {
        actions += statement.actions.patterns.prefix(2).map { $0.replacingOccurrences(of: "*", with: "x") }
        resources += (statement.resources?.patterns ?? []).prefix(2).map { $0.replacingOccurrences(of: "*", with: "y") }
    }
    for action in actions.prefix(6) {
        for resource in resources.prefix(6) {
            let request = AuthorizationRequest(action: action, resource: resource, context: context)
            let fast = compiled.decide(request)
            let full = compiled.evaluate(request)
            invariant(
                fast == full.decision, "decide \(fast) and evaluate \(full.decision) disagree on \(action) \(resource)")
        }
    }
    return 0
}

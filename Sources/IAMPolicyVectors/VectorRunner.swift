package import IAMPolicy

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
}

/// The outcome of running one validation case.
package struct ValidationOutcome: Sendable {
    /// The case id.
    package var id: String
    /// The validated document, or the engine's error.
    package var result: Result<PolicyDocument, PolicyError>
    /// What differs from the case's expectations (empty when it passes).
    package var mismatches: [String]

    /// The engine's error, nil when the document is valid.
    package var error: PolicyError? {
        if case .failure(let e) = result { return e }
        return nil
    }

    /// The warnings of a valid document (empty for an invalid one).
    package var warnings: [PolicyWarning] {
        if case .success(let d) = result { return d.warnings }
        return []
    }

    /// Whether the case met every expectation it pins.
    package var passed: Bool { mismatches.isEmpty }
}

/// Runs cases against the engine and compares the results with their expectations: the one runner behind
/// `iam policy evaluate` and the engine's conformance tests.
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
        // A batch's memo of conditions must change nothing, on its first use and on its reuse.
        let memo = compiled.memo(for: request.context)
        for use in ["first", "second"] where compiled.evaluate(request, memo: memo) != result {
            mismatches.append("evaluate(memo:) on its \(use) use disagreed with evaluate()")
        }
        if let expected = c.expectMatched {
            // Roles are compared only when every expected entry pins one, so older cases stay valid.
            let withRole = expected.allSatisfy { $0.role != nil }
            let want = expected.map { describe($0.policyID, withRole ? $0.role : nil, $0.index, $0.sid) }.sorted()
            let got = result.matched.map { describe($0.policyID, withRole ? $0.role : nil, $0.index, $0.sid) }
                .sorted()
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
        let result: Result<PolicyDocument, PolicyError>
        do throws(PolicyError) {
            result = .success(try PolicyDocument.parse(bytes: c.document, kind: c.kind))
        } catch {
            result = .failure(error)
        }
        var mismatches: [String] = []
        switch result {
        case .failure(let error):
            if c.expectValid == true {
                mismatches.append("invalid (\(error)), expected valid")
            }
            if let code = c.expectErrorCode, error.code != code {
                mismatches.append("error_code \(error.code), expected \(code)")
            }
            if let message = c.expectAWSMessage, !error.message.contains(message) {
                mismatches.append("message \"\(error.message)\" does not contain AWS's \"\(message)\"")
            }
        case .success(let document):
            if c.expectValid == false {
                mismatches.append("valid, expected invalid")
            }
            if let expected = c.expectWarnings {
                let texts = document.warnings.map(\.description)
                if expected.isEmpty && !texts.isEmpty {
                    mismatches.append("warnings \(texts), expected none")
                }
                for e in expected where !texts.contains(where: { $0.contains(e) }) {
                    mismatches.append("no warning contains \"\(e)\" (warnings: \(texts))")
                }
            }
        }
        return ValidationOutcome(id: c.id, result: result, mismatches: mismatches)
    }

    /// `policy#index(sid)`, with `[role]` when the role is compared.
    static func describe(_ policy: String, _ role: PolicyInput.Role?, _ index: Int, _ sid: String?) -> String {
        "\(policy)" + (role.map { "[\($0.rawValue)]" } ?? "") + "#\(index)" + (sid.map { "(\($0))" } ?? "")
    }
}

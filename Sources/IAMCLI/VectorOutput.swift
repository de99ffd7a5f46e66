import IAMPolicy
import IAMPolicyVectors

extension EvaluationOutcome {
    /// The case's output line: `{"id":..,"decision":..,"matched":[{"policy","type","index","sid"}],
    /// "missingContextKeys":[..]}`.
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
                inner.field("type", string: m.role.rawValue)
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

extension ValidationOutcome {
    /// The case's output line: `{"id":..,"decision":"valid"|"invalid","error_code":..,"message":..}`, plus
    /// `"warnings":[..]` when a valid document has parts that AWS accepts but that can never match.
    package var jsonLine: String {
        var w = JSONLineWriter()
        w.field("id", string: id)
        w.field("decision", string: error == nil ? "valid" : "invalid")
        w.field("error_code", string: error?.code)
        w.field("message", string: error?.message)
        if !warnings.isEmpty {
            w.field("warnings", strings: warnings.map(\.description))
        }
        if !mismatches.isEmpty {
            w.field("mismatch", strings: mismatches)
        }
        return w.finish()
    }
}

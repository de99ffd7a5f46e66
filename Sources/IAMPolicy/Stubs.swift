struct ContextEntry: Sendable {
    var original: ContextValue
    init(_ value: ContextValue) { original = value }
}

struct ParsedARN: Sendable {
    init(_ bytes: [UInt8]) {}
}

func asciiLowercased(_ s: String) -> String { String(decoding: asciiLowercasedBytes(s), as: UTF8.self) }
func asciiLowercasedBytes(_ s: String) -> [UInt8] {
    s.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
}

enum PolicyParser {
    static let maxInputBytes = 262_144
    static func tooLarge(_ n: Int) -> PolicyError {
        .limit("Policy document is \(n) bytes; the limit is \(maxInputBytes)")
    }
    static func parse(_ bytes: [UInt8], kind: PolicyDocumentKind) throws(PolicyError) -> PolicyDocument {
        throw .malformed("not implemented yet")
    }
}

struct CompiledEngine: Sendable {
    init(principal: Principal, policies: [PolicyInput]) {}
    func decide(_ request: AuthorizationRequest) -> Decision { .implicitDeny }
    func evaluate(_ request: AuthorizationRequest) -> EvaluationResult {
        .init(decision: .implicitDeny, matched: [], missingContextKeys: [])
    }
}

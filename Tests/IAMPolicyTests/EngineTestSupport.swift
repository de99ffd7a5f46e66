import IAMPolicy
import Testing

/// Shared fixtures for the engine's unit tests.
enum EngineFixtures {
    static let account = "123456789012"
    static let alice = Principal(
        arn: "arn:aws:iam::123456789012:user/alice",
        kind: .user,
        name: "alice",
        id: "AIDAALICE",
        account: "123456789012"
    )
    static let session = Principal(
        arn: "arn:aws:sts::123456789012:assumed-role/app/s1",
        kind: .assumedRole,
        name: "s1",
        id: "AROAAPP:s1",
        account: "123456789012",
        roleARN: "arn:aws:iam::123456789012:role/app"
    )
    static let outsider = Principal(
        arn: "arn:aws:iam::999999999999:user/bob",
        kind: .user,
        name: "bob",
        account: "999999999999"
    )
    static let apigateway = Principal(arn: "apigateway.amazonaws.com", kind: .service, name: "apigateway.amazonaws.com")

    /// Wraps statements in a 2012-10-17 document.
    static func doc(_ statements: String) -> String {
        #"{"Version":"2012-10-17","Statement":[\#(statements)]}"#
    }

    static func parse(_ text: String, _ kind: PolicyDocumentKind = .identity) throws -> PolicyDocument {
        try PolicyDocument.parse(text, kind: kind)
    }

    /// Compiles identity policies (and optional boundary / resource policies) for `principal`.
    static func compile(
        _ principal: Principal = alice,
        identity: [String] = [],
        boundary: String? = nil,
        resource: [(String, PolicyDocumentKind)] = []
    ) throws -> CompiledPrincipal {
        var inputs: [PolicyInput] = []
        for (i, text) in identity.enumerated() {
            inputs.append(PolicyInput(id: "id\(i)", role: .identity, document: try parse(text, .identity)))
        }
        if let boundary {
            inputs.append(PolicyInput(id: "boundary", role: .boundary, document: try parse(boundary, .boundary)))
        }
        for (i, (text, kind)) in resource.enumerated() {
            inputs.append(PolicyInput(id: "res\(i)", role: .resource, document: try parse(text, kind)))
        }
        return CompiledPrincipal(principal: principal, policies: inputs)
    }

    static func request(
        _ action: String,
        _ resource: String = "arn:aws:s3:::bucket/key",
        _ context: [String: ContextValue] = [:]
    ) -> AuthorizationRequest {
        AuthorizationRequest(action: action, resource: resource, context: RequestContext(context))
    }

    /// Decision for one statement-list identity policy; also checks decide() agrees with evaluate().
    static func decision(
        _ statements: String,
        _ action: String,
        _ resource: String = "arn:aws:s3:::bucket/key",
        _ context: [String: ContextValue] = [:]
    ) throws -> Decision {
        let compiled = try compile(identity: [doc(statements)])
        let r = request(action, resource, context)
        let fast = compiled.decide(r)
        let full = compiled.evaluate(r)
        #expect(fast == full.decision, "decide and evaluate disagree for \(action) on \(resource)")
        return fast
    }
}

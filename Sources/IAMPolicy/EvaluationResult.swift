/// The outcome of a check, as AWS's `EvalDecision` spells it.
public enum Decision: String, Sendable {
    /// Some statement allows and nothing denies.
    case allowed
    /// A `Deny` statement matched.
    case explicitDeny
    /// Nothing allowed (or a boundary / trust policy did not allow).
    case implicitDeny
}

/// A statement that determined a decision, with the policy it belongs to as the caller described it at compile time.
public struct MatchedStatement: Sendable, Hashable {
    /// ``PolicyInput/id`` of the policy holding the statement: the caller's opaque id for it (an ARN, a name,
    /// `user/alice/inline/P`, ...).
    public var policyID: String
    /// ``PolicyInput/role`` of that policy: whether it is an identity policy, the permissions boundary, a
    /// resource-based (or trust) policy or a session policy (SimulatePrincipalPolicy's `SourcePolicyType` at the
    /// engine's grain; the caller refines it from `policyID`, e.g. inline vs managed).
    public var role: PolicyInput.Role
    /// The statement's 0-based index in its policy's `Statement` list (a single statement object is index 0).
    public var index: Int
    /// The statement's `Sid`, if any.
    public var sid: String?

    /// Creates a matched-statement record.
    public init(policyID: String, role: PolicyInput.Role, index: Int, sid: String?) {
        self.policyID = policyID
        self.role = role
        self.index = index
        self.sid = sid
    }

    /// Creates a record of a statement of an identity-based policy.
    @available(*, deprecated, message: "name the policy's role: init(policyID:role:index:sid:)")
    public init(policyID: String, index: Int, sid: String?) {
        self.init(policyID: policyID, role: .identity, index: index, sid: sid)
    }
}

/// A decision with its diagnostics, in the shape of SimulatePrincipalPolicy's `EvaluationResult`.
public struct EvaluationResult: Sendable, Hashable {
    /// The decision.
    public var decision: Decision
    /// The statements that determined it: every matching `Deny` when the decision is `explicitDeny`, otherwise
    /// every matching `Allow` (identity, boundary and resource policies), in policy-input then statement order.
    public var matched: [MatchedStatement]
    /// Context keys that a condition (or a policy variable) of an applicable statement needed but the request
    /// lacked: sorted, de-duplicated, spelled as in the policy.
    public var missingContextKeys: [String]
    /// Whether the permissions boundary allowed the request (one of its `Allow` statements matched and none of its
    /// `Deny` statements did), as SimulatePrincipalPolicy's `PermissionsBoundaryDecisionDetail` reports it; nil when
    /// the principal has no boundary.
    public var boundaryAllowed: Bool?

    /// Creates a result.
    public init(
        decision: Decision, matched: [MatchedStatement], missingContextKeys: [String], boundaryAllowed: Bool? = nil
    ) {
        self.decision = decision
        self.matched = matched
        self.missingContextKeys = missingContextKeys
        self.boundaryAllowed = boundaryAllowed
    }
}

/// One policy that applies to a principal, with the role it plays in evaluation.
public struct PolicyInput: Sendable {
    /// The role a policy plays in evaluation.
    public enum Role: String, Sendable {
        /// An identity-based policy (user/group/role inline or managed): grants and denies.
        case identity
        /// The permissions boundary: limits (never grants); its denies deny.
        case boundary
        /// A resource-based policy or a role trust policy: `Principal` decides whom it applies to.
        case resource
        /// A session policy (passed to AssumeRole / GetFederationToken): like a boundary, it limits a role
        /// session's identity permissions and never grants; its denies deny.
        case session
    }

    /// The caller's id for the policy, echoed in ``MatchedStatement/policyID``.
    public var id: String
    /// The role the policy plays.
    public var role: Role
    /// The validated document.
    public var document: PolicyDocument

    /// Creates a policy input.
    public init(id: String, role: Role, document: PolicyDocument) {
        self.id = id
        self.role = role
        self.document = document
    }
}

/// Every policy that applies to one principal, compiled once for cheap checks.
///
/// Actions are lower-cased and indexed by service prefix, exact patterns sit in hash tables and globs are
/// pre-compiled, so a check touches only the statements that can match the request's action.
public struct CompiledPrincipal: Sendable {
    /// Everything behind one reference: copying a compiled principal out of a snapshot, a dictionary or an array
    /// costs one retain, not one per field (it held about twenty, a measurable share of a check).
    final class Storage: Sendable {
        let principal: Principal
        let policies: [PolicyInput]
        let engine: CompiledEngine

        init(principal: Principal, policies: [PolicyInput]) {
            self.principal = principal
            self.policies = policies
            self.engine = CompiledEngine(principal: principal, policies: policies)
        }
    }

    let storage: Storage

    /// The principal the policies apply to.
    public var principal: Principal { storage.principal }
    /// The policies, as given.
    public var policies: [PolicyInput] { storage.policies }
    var engine: CompiledEngine { storage.engine }

    /// Compiles the policies of `principal`.
    public init(principal: Principal, policies: [PolicyInput]) {
        storage = Storage(principal: principal, policies: policies)
    }

    /// The decision alone; allocates nothing on its common path.
    public func decide(_ request: AuthorizationRequest) -> Decision {
        storage.engine.decide(request)
    }

    /// The decision with the matched statements and the missing context keys.
    public func evaluate(_ request: AuthorizationRequest) -> EvaluationResult {
        storage.engine.evaluate(request)
    }

    /// A memo of this principal's conditions in `context`, for ``evaluate(_:memo:)``.
    public func memo(for context: RequestContext) -> ConditionMemo {
        ConditionMemo(principal: storage, context: context)
    }

    /// ``evaluate(_:)`` for a request built on the context `memo` was made for, evaluating each statement's
    /// conditions once per memo. A memo of another principal or context is not used.
    public func evaluate(_ request: AuthorizationRequest, memo: ConditionMemo) -> EvaluationResult {
        guard memo.principal === storage, memo.context.storage === request.storage.context.storage else {
            return storage.engine.evaluate(request)
        }
        return storage.engine.evaluate(request, memo: memo)
    }
}

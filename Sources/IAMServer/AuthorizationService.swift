public import IAMDomain
import IAMPolicy
public import IAMRPC
public import IAMWire

/// The Authorization service as far as it needs no stored principals: `SimulateCustomPolicy` and
/// `GetContextKeysForCustomPolicy` run the policy engine on the documents in the request. The calls
/// that read a principal's stored policies (`Authorize`, `AuthorizeBatch`, `SimulatePrincipalPolicy`,
/// `GetContextKeysForPrincipalPolicy`) answer UNIMPLEMENTED until the store exists.
///
/// Every method answers `.immediate`: evaluation is pure and bounded (AWS's size limits are enforced
/// while parsing), so it runs on the connection's event loop without a thread hop.
public struct AuthorizationService: AuthorizationServiceProtocol {
    /// The account that simulated callers belong to when the request names no caller.
    public var accountID: String

    /// The most action x resource results one simulation may produce (AWS pages at 1,000).
    public static let maxResults = 1000

    /// The stored principals' authorization snapshot; nil serves only the stateless calls.
    public var publisher: SnapshotPublisher?

    /// Where a key an Authorize names is noted as used (GetAccessKeyLastUsed); nil notes nothing.
    var keyUses: AccessKeyUses?

    /// Creates the service for `accountID`, answering principal-based calls from `publisher`'s snapshot.
    public init(accountID: String, publisher: SnapshotPublisher? = nil) {
        self.accountID = accountID
        self.publisher = publisher
    }

    /// Creates the service, noting the keys Authorize names in `keyUses`.
    init(accountID: String, publisher: SnapshotPublisher, keyUses: AccessKeyUses) {
        self.init(accountID: accountID, publisher: publisher)
        self.keyUses = keyUses
    }

    /// Decides one request against the current snapshot, with the statements that decided it.
    public func authorize(_ request: AuthorizeRequest, context: ServerCallContext) -> ServerResponse<AuthorizeResponse>
    {
        self.authorizePrincipal(request, context: context)
    }

    /// Decides many requests against one snapshot, in order.
    public func authorizeBatch(
        _ request: AuthorizeBatchRequest,
        context: ServerCallContext
    ) -> ServerResponse<AuthorizeBatchResponse> {
        self.authorizePrincipals(request, context: context)
    }

    /// Simulates a stored user's or role's policies (a user's include its groups'), with extra or
    /// replacement policies from the request, as AWS's SimulatePrincipalPolicy does.
    public func simulatePrincipalPolicy(
        _ request: SimulatePrincipalPolicyRequest,
        context: ServerCallContext
    ) -> ServerResponse<SimulatePolicyResponse> {
        guard let publisher else { return .immediate(.failure(Self.needsStore("SimulatePrincipalPolicy"))) }
        return .immediate(
            Result { () throws(RPCError) in try self.simulatePrincipal(request, snapshot: publisher.snapshot) })
    }

    /// The context keys a stored principal's policies (and the request's extra ones) use.
    public func getContextKeysForPrincipalPolicy(
        _ request: GetContextKeysForPrincipalPolicyRequest,
        context: ServerCallContext
    ) -> ServerResponse<GetContextKeysForPolicyResponse> {
        guard let publisher else { return .immediate(.failure(Self.needsStore("GetContextKeysForPrincipalPolicy"))) }
        return .immediate(
            Result { () throws(RPCError) in try self.principalContextKeys(request, snapshot: publisher.snapshot) })
    }

    /// Evaluates every action on every resource against the given policies, as AWS's
    /// SimulateCustomPolicy does: identity policies from `policy_input_list`, an optional boundary and
    /// an optional resource-based policy, with the caller and context from the request.
    public func simulateCustomPolicy(
        _ request: SimulateCustomPolicyRequest,
        context: ServerCallContext
    ) -> ServerResponse<SimulatePolicyResponse> {
        .immediate(Result { () throws(RPCError) in try self.simulate(request) })
    }

    /// The context keys the given policies' conditions and variables use, without duplicates.
    public func getContextKeysForCustomPolicy(
        _ request: GetContextKeysForCustomPolicyRequest,
        context: ServerCallContext
    ) -> ServerResponse<GetContextKeysForPolicyResponse> {
        .immediate(
            Result { () throws(RPCError) in
                guard !request.policyInputList.isEmpty else {
                    throw Self.invalidInput("PolicyInputList must name at least one policy")
                }
                var seen = Set<String>()
                var keys: [String] = []
                for (index, text) in request.policyInputList.enumerated() {
                    let document = try Self.parse(text, kind: .identity, field: "PolicyInputList.\(index + 1)")
                    for key in document.contextKeys where seen.insert(key.lowercased()).inserted {
                        keys.append(key)
                    }
                }
                return GetContextKeysForPolicyResponse(contextKeyNames: keys)
            }
        )
    }

    func simulate(_ request: SimulateCustomPolicyRequest) throws(RPCError) -> SimulatePolicyResponse {
        guard !request.policyInputList.isEmpty else {
            throw Self.invalidInput("PolicyInputList must name at least one policy")
        }
        guard !request.actionNames.isEmpty else {
            throw Self.invalidInput("ActionNames must name at least one action")
        }
        guard request.permissionsBoundaryPolicyInputList.count <= 1 else {
            throw Self.invalidInput("PermissionsBoundaryPolicyInputList takes at most one policy")
        }
        if !request.resourcePolicy.isEmpty && request.callerARN.isEmpty {
            throw Self.invalidInput("CallerArn is required when ResourcePolicy is given")
        }
        var policies: [PolicyInput] = []
        for (index, text) in request.policyInputList.enumerated() {
            let id = "PolicyInputList.\(index + 1)"
            policies.append(
                PolicyInput(id: id, role: .identity, document: try Self.parse(text, kind: .identity, field: id)))
        }
        for (index, text) in request.permissionsBoundaryPolicyInputList.enumerated() {
            let id = "PermissionsBoundaryPolicyInputList.\(index + 1)"
            policies.append(
                PolicyInput(id: id, role: .boundary, document: try Self.parse(text, kind: .boundary, field: id)))
        }
        if !request.resourcePolicy.isEmpty {
            let document = try Self.parse(request.resourcePolicy, kind: .resource, field: "ResourcePolicy")
            policies.append(PolicyInput(id: "ResourcePolicy", role: .resource, document: document))
        }

        let principal = try self.caller(request.callerARN, resourceOwner: request.resourceOwner)
        let compiled = CompiledPrincipal(principal: principal, policies: policies)
        return try Self.simulate(
            compiled, actions: request.actionNames, resources: request.resourceARNs,
            context: try Self.context(request.contextEntries), marker: request.marker, maxItems: request.maxItems,
            statement: { Self.wireStatement($0) })
    }

    /// Every action on every resource against `compiled`, paged as AWS's simulations are.
    static func simulate(
        _ compiled: CompiledPrincipal, actions: [String], resources requested: [String], context: RequestContext,
        marker: String, maxItems: Int32, statement: (MatchedStatement) -> EvaluatedStatement
    ) throws(RPCError) -> SimulatePolicyResponse {
        let resources = requested.isEmpty ? ["*"] : requested
        // AWS's API limits; they also bound the glob matching, whose cost grows with pattern x resource length.
        for action in actions where !(3...128).contains(action.utf8.count) {
            throw Self.invalidInput("action name \"\(action.prefix(64))\" must be 3 to 128 characters")
        }
        // A simulation asks about actions, not patterns (AWS refuses wildcards in ActionNames).
        for action in actions where action.utf8.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") })
        {
            throw Self.invalidInput("action name \"\(action.prefix(64))\" may not contain wildcards")
        }
        for resource in resources where !(1...2048).contains(resource.utf8.count) {
            throw Self.invalidInput("resource ARNs must be 1 to 2048 characters")
        }
        guard actions.count * resources.count <= Self.maxResults else {
            throw Self.invalidInput("at most \(Self.maxResults) action x resource pairs per simulation")
        }

        // Where each policy's statements sit in its text, for the matched statements' StartPosition/EndPosition.
        var documents: [String: PolicyDocument] = [:]
        for policy in compiled.policies where documents[policy.id] == nil { documents[policy.id] = policy.document }
        func positioned(_ matched: MatchedStatement) -> EvaluatedStatement {
            var evaluated = statement(matched)
            if let statements = documents[matched.policyID]?.statements, statements.indices.contains(matched.index),
                let span = statements[matched.index].span
            {
                evaluated.startPosition = Position(
                    line: Int32(clamping: span.start.line), column: Int32(clamping: span.start.column))
                evaluated.endPosition = Position(
                    line: Int32(clamping: span.end.line), column: Int32(clamping: span.end.column))
            }
            return evaluated
        }

        var results: [SimulationResult] = []
        results.reserveCapacity(actions.count * resources.count)
        for action in actions {
            for resource in resources {
                let outcome = compiled.evaluate(
                    AuthorizationRequest(action: action, resource: resource, context: context)
                )
                var result = SimulationResult()
                result.evalActionName = action
                result.evalResourceName = resource
                result.evalDecision = Self.wireDecision(outcome.decision)
                result.matchedStatements = outcome.matched.map(positioned)
                result.missingContextValues = outcome.missingContextKeys
                if let allowed = outcome.boundaryAllowed {
                    result.permissionsBoundaryDecisionDetail = PermissionsBoundaryDecisionDetail(
                        allowedByPermissionsBoundary: allowed)
                }
                results.append(result)
            }
        }
        return Self.page(results, marker: marker, maxItems: Int(maxItems))
    }

    /// Pages results the way AWS's List calls do: `marker` is the index of the next result.
    static func page(_ results: [SimulationResult], marker: String, maxItems: Int) -> SimulatePolicyResponse {
        let start = min(Int(marker) ?? 0, results.count)
        let size = maxItems > 0 ? min(maxItems, 1000) : 100
        let end = min(start + size, results.count)
        var response = SimulatePolicyResponse(evaluationResults: Array(results[start..<end]))
        if end < results.count {
            response.isTruncated = true
            response.marker = String(end)
        }
        return response
    }

    func caller(_ callerARN: String, resourceOwner: String) throws(RPCError) -> Principal {
        guard !callerARN.isEmpty else {
            // AWS simulates an anonymous caller of the resource owner's (or our) account.
            let account = Self.account(ofARN: resourceOwner) ?? accountID
            return Principal(arn: "arn:aws:iam::\(account):root", kind: .user, account: account)
        }
        let parts = callerARN.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[4].isEmpty else {
            throw Self.invalidInput("caller_arn \"\(callerARN)\" is not an ARN")
        }
        let account = String(parts[4])
        let resource = parts[5]
        if parts[2] == "sts", resource.hasPrefix("assumed-role/") {
            let pieces = resource.split(separator: "/")
            let roleName = pieces.count > 1 ? String(pieces[1]) : ""
            return Principal(
                arn: callerARN,
                kind: .assumedRole,
                name: pieces.last.map(String.init),
                account: account,
                roleARN: "arn:aws:iam::\(account):role/\(roleName)"
            )
        }
        return Principal(
            arn: callerARN, kind: .user, name: resource.split(separator: "/").last.map(String.init), account: account)
    }

    static func account(ofARN arn: String) -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count >= 5, !parts[4].isEmpty else { return nil }
        return String(parts[4])
    }

    static func context(_ entries: [ContextEntry]) throws(RPCError) -> RequestContext {
        RequestContext(pairs: try contextPairs(entries))
    }

    static func parse(_ text: String, kind: PolicyDocumentKind, field: String) throws(RPCError) -> PolicyDocument {
        do {
            return try PolicyDocument.parse(text, kind: kind)
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(field): \(error.message)", iamErrorCode: error.code)
        }
    }

    static func wireDecision(_ decision: Decision) -> PolicyEvaluationDecisionType {
        switch decision {
        case .allowed: .allowed
        case .explicitDeny: .explicitDeny
        case .implicitDeny: .implicitDeny
        }
    }

    /// A matched statement as the wire gives it, its type from its policy's role: an identity or session policy is
    /// `identityType` (a custom-policy simulation's are the request's PolicyInputList, `.input`).
    static func wireStatement(_ matched: MatchedStatement, identityType: PolicySourceType = .input)
        -> EvaluatedStatement
    {
        var statement = EvaluatedStatement()
        statement.sourcePolicyID = matched.policyID
        statement.sourcePolicyType =
            switch matched.role {
            case .boundary: .permissionsBoundary
            case .resource: .resource
            case .identity, .session: identityType
            }
        statement.statementIndex = Int32(clamping: matched.index)
        statement.sid = matched.sid ?? ""
        return statement
    }

    static func invalidInput(_ message: String) -> RPCError {
        RPCError(code: .invalidArgument, message: message, iamErrorCode: "InvalidInput")
    }

    static func needsStore(_ method: String) -> RPCError {
        RPCError(
            code: .unimplemented,
            message: "\(method) needs stored principals, which this server does not have yet",
            iamErrorCode: nil
        )
    }
}

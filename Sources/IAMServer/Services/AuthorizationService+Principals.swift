import Foundation
import IAMDomain
import IAMPolicy
import IAMRPC
import IAMWire
import NIOCore
import NIOPosix

/// The checks against stored principals: `Authorize` and `AuthorizeBatch` read the current authorization
/// snapshot on the connection's event loop (no thread hop, no lock beyond one retain); only a request that
/// demands a revision the snapshot has not reached yet waits, bounded, for the snapshot to catch up.
extension AuthorizationService {
    /// How long a check demanding a newer revision than the snapshot's waits before it gives up, unless
    /// its deadline is sooner.
    static let revisionWait: TimeAmount = .seconds(2)
    /// The most checks one AuthorizeBatch may carry.
    static let maxBatch = 1000

    func authorizePrincipal(_ request: AuthorizeRequest, context: ServerCallContext) -> ServerResponse<
        AuthorizeResponse
    > {
        guard let publisher else { return .immediate(.failure(Self.needsStore("Authorize"))) }
        if let minimum = request.minRevision, publisher.revision.rawValue < minimum {
            return .deferred(
                self.waitForRevision(minimum, context: context).flatMapThrowing { snapshot in
                    try self.decide(request, snapshot: snapshot)
                })
        }
        // The published snapshot by reference: `publisher.snapshot` would copy its tables, one retain each.
        let published = publisher.published
        return .immediate(
            Result { () throws(RPCError) in
                try self.decide(request, snapshot: published.snapshot)
            })
    }

    func authorizePrincipals(_ request: AuthorizeBatchRequest, context: ServerCallContext) -> ServerResponse<
        AuthorizeBatchResponse
    > {
        guard let publisher else { return .immediate(.failure(Self.needsStore("AuthorizeBatch"))) }
        guard request.requests.count <= Self.maxBatch else {
            return .immediate(.failure(Self.invalidInput("AuthorizeBatch takes at most \(Self.maxBatch) requests")))
        }
        let minimum = request.requests.compactMap(\.minRevision).max()
        let answer = { @Sendable (snapshot: AuthorizationSnapshot) throws(RPCError) -> AuthorizeBatchResponse in
            var results: [AuthorizeResponse] = []
            results.reserveCapacity(request.requests.count)
            // One snapshot and one instant for the whole batch: every answer is of one revision. Checks that carry
            // the caller's keys of the check before them share its context, and its principals' layered contexts
            // and memos, with the thread's Authorize calls and batches of this second (a fresh CheckContexts per
            // batch built them again for each: about 2,100 instructions a check of a 100-check batch of ten
            // principals, by callgrind).
            let now = Date()
            let shared = SharedCheckContexts.current(at: now)
            shared.contexts.now = now
            for check in request.requests {
                results.append(try self.decide(check, snapshot: snapshot, contexts: &shared.contexts))
            }
            return AuthorizeBatchResponse(results: results)
        }
        if let minimum, publisher.revision.rawValue < minimum {
            return .deferred(
                self.waitForRevision(minimum, context: context).flatMapThrowing { try answer($0) })
        }
        let published = publisher.published
        return .immediate(Result { () throws(RPCError) in try answer(published.snapshot) })
    }

    /// The snapshot once it has reached `minimum`: asks the store to catch up (another replica's write,
    /// or a write still being applied) and fails UNAVAILABLE if it cannot in time.
    func waitForRevision(_ minimum: UInt64, context: ServerCallContext) -> EventLoopFuture<AuthorizationSnapshot> {
        let publisher = self.publisher!
        let promise = context.eventLoop.makePromise(of: AuthorizationSnapshot.self)
        var limit = NIODeadline.now() + Self.revisionWait
        if let deadline = context.deadline, deadline < limit { limit = deadline }
        let timeout = context.eventLoop.scheduleTask(deadline: limit) {
            promise.fail(
                RPCError(
                    code: .unavailable,
                    message:
                        "the authorization snapshot is at revision \(publisher.revision.rawValue) and did not reach the requested min_revision \(minimum) in time",
                    iamErrorCode: "ServiceFailure"))
        }
        Task {
            do {
                let reached = try await publisher.catchUp(atLeast: Revision(minimum))
                if reached.rawValue >= minimum {
                    timeout.cancel()
                    promise.succeed(publisher.snapshot)
                }
            } catch {
                // The timeout answers.
            }
        }
        return promise.futureResult
    }

    /// One check, with its diagnostics, against `snapshot`. The Authorize calls one thread answers within one second
    /// share their contexts as the checks of one batch do (``CheckContexts``): a call that carries the same context
    /// entries as the call before it on the thread reuses its caller context, and each principal's layered context
    /// and condition memo. A backend asking about its callers mostly repeats its entries (the source address, the
    /// region) and its principals; a call with other entries starts afresh, at the cost of one comparison.
    func decide(_ request: AuthorizeRequest, snapshot: AuthorizationSnapshot)
        throws(RPCError) -> AuthorizeResponse
    {
        let now = Date()
        let shared = SharedCheckContexts.current(at: now)
        shared.contexts.now = now
        return try self.decide(request, snapshot: snapshot, contexts: &shared.contexts)
    }

    /// One check against `snapshot`, its context built from (or shared through) `contexts`.
    func decide(
        _ request: AuthorizeRequest, snapshot: AuthorizationSnapshot,
        contexts: inout CheckContexts
    ) throws(RPCError) -> AuthorizeResponse {
        let now = contexts.now
        // Validated once for the checks in a row that ask about it.
        let action = try contexts.action(request.action)
        let resource = request.resource.isEmpty ? "*" : request.resource
        guard resource.utf8.count <= 2048 else { throw Self.invalidInput("resource ARNs must be 1 to 2048 characters") }
        guard request.principalARN.isEmpty != request.accessKeyID.isEmpty else {
            throw Self.invalidInput("name the principal by exactly one of principal_arn and access_key_id")
        }
        var response = AuthorizeResponse()
        response.revision = snapshot.revision.rawValue

        let callerContext = try contexts.caller(request.contextEntries)
        // nil: a service principal, which has no stored policies.
        let principal: SnapshotPrincipal?
        // The principal as ``CheckContexts`` found it by ARN.
        var byARN: FoundPrincipal?
        if !request.accessKeyID.isEmpty {
            guard let id = try? AccessKeyID(request.accessKeyID), let credential = snapshot.credential(accessKeyID: id),
                credential.isUsable(at: now),
                let found = snapshot.principal(accessKeyID: id, credential: credential)
            else {
                // A key that cannot authenticate has no permissions: the plain answer a backend needs.
                response.decision = .implicitDeny
                return response
            }
            // The backend authenticated a call signed with this key: a use, for the checked action's service.
            if credential.expiration == nil { self.keyUses?.note(request.accessKeyID, action: request.action, at: now) }
            principal = found
        } else if let found = contexts.principal(arn: request.principalARN, in: snapshot, of: self.publisher) {
            if let expiration = found.principal.expiration, expiration <= now {
                response.decision = .implicitDeny
                return response
            }
            principal = found.principal
            byARN = found
        } else if Self.isServicePrincipal(request.principalARN) {
            principal = nil
        } else {
            throw RPCError(
                code: .notFound, message: "The principal \(request.principalARN) cannot be found.",
                iamErrorCode: "NoSuchEntity")
        }
        let compiled: CompiledPrincipal
        var context: RequestContext
        var memo: ConditionMemo?
        var last: SharedPrincipal?
        if let principal {
            let shared = contexts.evaluation(callerContext, principal: principal, found: byARN)
            (compiled, context, memo, last) = (shared.compiled, shared.context, shared.memo, shared)
        } else {
            compiled = CompiledPrincipal(
                principal: Principal(arn: request.principalARN, kind: .service, name: request.principalARN),
                policies: [])
            context = contexts.context(callerContext, principalContext: Self.servicePrincipalContext)
        }
        // A check on an IAM user or role has its tags, as the IAM API's own calls do; its context is then its own.
        let resourceTags = RequestConditionKeys.resourceTags(of: resource, in: snapshot)
        if !resourceTags.isEmpty {
            context = RequestContext(layers: [context, RequestContext(pairs: resourceTags)])
            memo = nil
        }

        var extra: PolicyInput?
        if !request.resourcePolicy.isEmpty {
            extra = PolicyInput(
                id: "ResourcePolicy", role: .resource,
                document: try Self.parse(request.resourcePolicy, kind: .resource, field: "resource_policy"))
        } else if action.isAssumeRole, let trust = snapshot.trustPolicy(roleARN: resource) {
            extra = PolicyInput(id: "TrustPolicy", role: .resource, document: trust)
        }
        let evaluator = extra.map {
            CompiledPrincipal(principal: compiled.principal, policies: compiled.policies + [$0])
        }
        // The principal's last check here asked the same (in its principal's context, so on no resource with
        // tags): the same request, not another one built and freed (about 900 instructions by callgrind).
        let check: AuthorizationRequest
        if let previous = last?.request, previous.asks(action, on: resource, in: context) {
            check = previous
        } else {
            check = AuthorizationRequest(action: action, resource: resource, context: context)
            if resourceTags.isEmpty { last?.request = check }
        }
        let result =
            if let evaluator { evaluator.evaluate(check) } else if let memo {
                compiled.evaluate(check, memo: memo)
            } else { compiled.evaluate(check) }
        response.decision = Self.wireDecision(result.decision)
        response.matchedStatements = Self.statements(result.matched, as: last)
        response.missingContextValues = result.missingContextKeys
        return response
    }

    /// What an Authorize action's text is.
    enum ActionShape { case valid, malformed, pattern }

    /// Whether `action` is `service:Action` of 3 to 128 bytes without wildcards, in one pass over its bytes (the
    /// UTF-8 view's `contains(where:)`, twice, cost about 570 instructions a check by callgrind).
    static func actionShape(_ action: String) -> ActionShape {
        var action = action
        return action.withUTF8 { bytes in
            guard (3...128).contains(bytes.count) else { return .malformed }
            var colon = false
            var wildcard = false
            for byte in bytes {
                switch byte {
                case UInt8(ascii: ":"): colon = true
                case UInt8(ascii: "*"), UInt8(ascii: "?"): wildcard = true
                default: continue
                }
            }
            return !colon ? .malformed : wildcard ? .pattern : .valid
        }
    }

    /// A service principal's keys: it is an AWS service.
    static let servicePrincipalContext = RequestContext(["aws:PrincipalIsAWSService": .string("true")])

    /// The request contexts of checks that share them: the Authorize calls and batches of one thread in one
    /// second. A check's context is in layers, each winning over the one before for a key of the same name (in any
    /// case): the clock's (`aws:CurrentTime`, `aws:EpochTime`, `aws:SecureTransport`; built once a second), the
    /// caller's keys, the principal's (built once per principal). So a caller may say when, and over what
    /// transport, its own caller made the request, as it says from where (`aws:SourceIp`); it may not say who.
    ///
    /// Checks that carry the same entries as the check before them share one caller context; each principal's three
    /// layers are joined once for it, and from its second check on, a memo keeps what its statements' conditions
    /// came to in that context.
    struct CheckContexts {
        /// The instant every check of the call is decided at.
        var now: Date
        private let clock: RequestContext
        private var callerEntries: [ContextEntry] = []
        private var caller: RequestContext?
        /// Principal identity → the principal as its checks share it. At most ``maxLayered``: a batch has at most
        /// ``maxBatch`` principals, and the contexts a thread shares start afresh past it.
        private var layered: [ObjectIdentifier: SharedPrincipal] = [:]
        /// Counts the caller contexts these contexts have had: a principal's slot in ``principals`` holds its
        /// ``SharedPrincipal`` for the caller context of this count.
        private var callerGeneration = 0
        private var lastAction: PreparedAction?
        /// The principals looked up by ARN lately, in a table of ``principalSlots`` slots (a slot holds the last ARN
        /// whose bytes hash to it), as of the snapshot ``principalsSource`` published at its revision; with the
        /// principal as its checks share it, under the caller context of `generation`.
        private var principals: [FoundPrincipal?] = []
        /// Held, so that no other publisher can take its identity while the table is in use (the thread's contexts
        /// are shared by every server in the process, as tests run several).
        private var principalsSource: (publisher: SnapshotPublisher, revision: UInt64)?
        static var principalSlotBits: Int { 8 }
        static var principalSlots: Int { 1 << principalSlotBits }

        static var maxLayered: Int { AuthorizationService.maxBatch }

        init(now: Date) {
            self.now = now
            self.clock = Caller.clockContext(at: now)
        }

        /// The check's action, validated and prepared once for consecutive checks that ask about the same one.
        mutating func action(_ text: String) throws(RPCError) -> PreparedAction {
            if let last = self.lastAction, last.text == text { return last }
            switch AuthorizationService.actionShape(text) {
            case .valid: break
            case .malformed:
                throw AuthorizationService.invalidInput(
                    "action \"\(text.prefix(64))\" must be service:Action, 3 to 128 characters")
            case .pattern:
                // A check asks about one action, not a pattern (as a simulation does).
                throw AuthorizationService.invalidInput("action \"\(text.prefix(64))\" may not contain wildcards")
            }
            let prepared = PreparedAction(text)
            self.lastAction = prepared
            return prepared
        }

        /// The principal `snapshot` has for `arn`. A backend asks about the same principals call after call, and a
        /// batch check after check: an ARN looked up lately is found by comparing it to the one its slot holds (about
        /// 170 instructions by callgrind), where the snapshot's table hashes all of its bytes (SipHash; about 940).
        mutating func principal(arn: String, in snapshot: AuthorizationSnapshot, of publisher: SnapshotPublisher?)
            -> FoundPrincipal?
        {
            guard let publisher else {
                return snapshot.principal(arn: arn).map { FoundPrincipal(arn: arn, principal: $0, generation: -1) }
            }
            let revision = snapshot.revision.rawValue
            if let source = self.principalsSource, source.publisher === publisher, source.revision == revision {
                // The table is of this snapshot.
            } else {
                self.principals = Array(repeating: nil, count: Self.principalSlots)
                self.principalsSource = (publisher, revision)
            }
            let slot = Self.slot(arn)
            if let held = self.principals[slot], held.arn == arn { return held }
            guard let principal = snapshot.principal(arn: arn) else { return nil }
            let found = FoundPrincipal(arn: arn, principal: principal, generation: -1)
            self.principals[slot] = found
            return found
        }

        /// A slot in ``principals`` for `arn`: the top bits of the hash decoding chooses an interned string's set by.
        static func slot(_ arn: String) -> Int {
            let hash =
                arn.utf8.withContiguousStorageIfAvailable { Interner.hash($0) }
                ?? UInt64(bitPattern: Int64(arn.hashValue))
            return Int(truncatingIfNeeded: hash >> UInt64(64 - Self.principalSlotBits))
        }

        /// The caller's keys of a check, validated.
        mutating func caller(_ entries: [ContextEntry]) throws(RPCError) -> RequestContext {
            if let shared = self.caller, Self.same(entries, self.callerEntries) { return shared }
            let caller = RequestContext(
                // Values are parsed as conditions first need them: the next check shares them only if it repeats
                // the entries.
                pairs: try AuthorizationService.contextPairs(entries), parsingValuesOnce: false)
            self.caller = caller
            self.callerEntries = entries
            self.layered.removeAll(keepingCapacity: true)
            self.callerGeneration &+= 1
            return caller
        }

        /// Whether two checks carry the same entries, in the same order. Decoding gives a repeated entry as the value
        /// it made before (IAMWire's ``Interner``), so its strings and lists are mostly compared by identity. This
        /// loop over borrowed elements costs about 140 instructions for two entries by callgrind, `Array.==` (which
        /// copies each element) about 580.
        static func same(_ left: [ContextEntry], _ right: [ContextEntry]) -> Bool {
            guard left.count == right.count else { return false }
            return left.withUnsafeBufferPointer { left in
                right.withUnsafeBufferPointer { right in
                    // One array: decoding gives a run of entries it decoded before, whole.
                    if left.baseAddress == right.baseAddress { return true }
                    for index in 0..<left.count {
                        guard left[index].contextKeyType == right[index].contextKeyType,
                            left[index].contextKeyName == right[index].contextKeyName,
                            left[index].contextKeyValues == right[index].contextKeyValues
                        else { return false }
                    }
                    return true
                }
            }
        }

        /// What a check of `principal` is evaluated with: its compiled policies, its whole context (`caller`, from
        /// ``caller(_:)``, under the principal's keys and the clock's), when this principal was asked about before a
        /// memo of its conditions in that context, and what its last check here asked and answered. The compiled
        /// policies and the principal's keys are read from `principal` (under its lock) only at its first check here.
        /// A principal found by ARN (``principal(arn:in:of:)``) is found there again, without hashing its identity
        /// into ``layered`` (about 500 instructions a check by callgrind).
        mutating func evaluation(_ caller: RequestContext, principal: SnapshotPrincipal, found: FoundPrincipal?)
            -> SharedPrincipal
        {
            if let found, found.generation == self.callerGeneration, let shared = found.shared {
                shared.askedAgain()
                return shared
            }
            let identity = principal.identity
            let shared: SharedPrincipal
            if let joined = self.layered[identity] {
                joined.askedAgain()
                shared = joined
            } else {
                if self.layered.count >= Self.maxLayered { self.layered.removeAll(keepingCapacity: true) }
                let (compiled, principalContext) = principal.evaluation
                let context = self.context(caller, principalContext: principalContext)
                shared = SharedPrincipal(principal: principal, compiled: compiled, context: context)
                self.layered[identity] = shared
            }
            if let found { (found.shared, found.generation) = (shared, self.callerGeneration) }
            return shared
        }

        /// `caller` under `principalContext` and the clock's keys, as a principal's first check has it.
        func context(_ caller: RequestContext, principalContext: RequestContext) -> RequestContext {
            RequestContext(layers: [self.clock, caller, principalContext])
        }
    }

    /// The request's context entries, validated, in order (a later entry of the same key wins).
    static func contextPairs(_ entries: [ContextEntry]) throws(RPCError) -> [(key: String, value: ContextValue)] {
        guard entries.count <= 256 else { throw invalidInput("at most 256 context entries per check") }
        var pairs: [(key: String, value: ContextValue)] = []
        pairs.reserveCapacity(entries.count)
        for entry in entries {
            guard !entry.contextKeyName.isEmpty, entry.contextKeyName.utf8.count <= 256 else {
                throw invalidInput("context_key_name must be 1 to 256 characters")
            }
            switch entry.contextKeyType {
            case .stringList, .numericList, .booleanList, .ipList, .binaryList, .dateList:
                pairs.append((entry.contextKeyName, .list(entry.contextKeyValues)))
            default:
                guard entry.contextKeyValues.count == 1 else {
                    throw invalidInput(
                        "context key \(entry.contextKeyName) has a single-value type but \(entry.contextKeyValues.count) values"
                    )
                }
                pairs.append((entry.contextKeyName, .string(entry.contextKeyValues[0])))
            }
        }
        return pairs
    }

    /// `apigateway.amazonaws.com` and the like: a DNS name under amazonaws.com, as trust policies name them.
    static func isServicePrincipal(_ name: String) -> Bool {
        name.hasSuffix(".amazonaws.com") && !name.hasPrefix("arn:") && name.utf8.count <= 128
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
    }

    /// A principal ``CheckContexts`` found by ARN, and (under the caller context of `generation`) as its checks share
    /// it.
    final class FoundPrincipal {
        let arn: String
        let principal: SnapshotPrincipal
        var shared: SharedPrincipal?
        var generation: Int

        init(arn: String, principal: SnapshotPrincipal, generation: Int) {
            (self.arn, self.principal, self.generation) = (arn, principal, generation)
        }
    }

    /// A principal as the checks of one ``CheckContexts`` share it: its compiled policies, its context under the
    /// caller's and the clock's, from its second check on a memo of its conditions in that context, and what its last
    /// check asked and answered, so that a check asking and answering the same reuses them: its request, and its
    /// answer's statements (an array and its strings, made and freed again on every check otherwise). One object, so
    /// that a check finds all of it with one retain.
    final class SharedPrincipal {
        /// Held, so that its identity cannot be reused while it is shared.
        let principal: SnapshotPrincipal
        let compiled: CompiledPrincipal
        /// Its layered context under ``CheckContexts``'s caller context.
        let context: RequestContext
        /// Once it is asked about again.
        private(set) var memo: ConditionMemo?
        var request: AuthorizationRequest?
        var matched: [MatchedStatement] = []
        var statements: [EvaluatedStatement] = []

        init(principal: SnapshotPrincipal, compiled: CompiledPrincipal, context: RequestContext) {
            (self.principal, self.compiled, self.context) = (principal, compiled, context)
        }

        /// Another check asks about it: its conditions are worth remembering.
        func askedAgain() {
            if self.memo == nil { self.memo = self.compiled.memo(for: self.context) }
        }
    }

    /// The answer's statements for `matched`: the ones `last` answered if it matched the same statements.
    static func statements(_ matched: [MatchedStatement], as last: SharedPrincipal?) -> [EvaluatedStatement] {
        guard let last else { return matched.map { Self.authorizeStatement($0, sources: [:]) } }
        if Self.same(matched, last.matched) { return last.statements }
        let sources = last.principal.sources
        let statements = matched.map { Self.authorizeStatement($0, sources: sources) }
        (last.matched, last.statements) = (matched, statements)
        return statements
    }

    /// Whether two checks matched the same statements, compared in place (``CheckContexts/same(_:_:)`` says why).
    static func same(_ left: [MatchedStatement], _ right: [MatchedStatement]) -> Bool {
        guard left.count == right.count else { return false }
        return left.withUnsafeBufferPointer { left in
            right.withUnsafeBufferPointer { right in
                for index in 0..<left.count {
                    guard left[index].index == right[index].index, left[index].role == right[index].role,
                        left[index].policyID == right[index].policyID, left[index].sid == right[index].sid
                    else { return false }
                }
                return true
            }
        }
    }

    /// A statement that decided an Authorize check, as the engine matched it: its policy's type from where the
    /// principal's policy came from (`sources`, as SimulatePrincipalPolicy says it), else from its role.
    static func authorizeStatement(_ matched: MatchedStatement, sources: [String: PolicySource]) -> EvaluatedStatement {
        var statement = Self.wireStatement(matched, identityType: .userManaged)
        if let source = sources[matched.policyID] { statement.sourcePolicyType = Self.sourceType(source.kind) }
        return statement
    }
}

/// SimulatePrincipalPolicy and GetContextKeysForPrincipalPolicy against the snapshot.
extension AuthorizationService {
    func sourcePrincipal(_ arn: String, snapshot: AuthorizationSnapshot) throws(RPCError) -> SnapshotPrincipal {
        // AWS takes a user, group or role ARN here; a group is simulated with its own policies.
        guard let principal = snapshot.principal(arn: arn) ?? snapshot.simulationGroup(arn: arn) else {
            throw RPCError(
                code: .notFound, message: "The principal with ARN \(arn.prefix(2048)) cannot be found.",
                iamErrorCode: "NoSuchEntity")
        }
        return principal
    }

    func simulatePrincipal(_ request: SimulatePrincipalPolicyRequest, snapshot: AuthorizationSnapshot)
        throws(RPCError) -> SimulatePolicyResponse
    {
        let principal = try self.sourcePrincipal(request.policySourceARN, snapshot: snapshot)
        guard !request.actionNames.isEmpty else {
            throw Self.invalidInput("ActionNames must name at least one action")
        }
        guard request.permissionsBoundaryPolicyInputList.count <= 1 else {
            throw Self.invalidInput("PermissionsBoundaryPolicyInputList takes at most one policy")
        }
        var policies = principal.policies
        for (index, text) in request.policyInputList.enumerated() {
            let id = "PolicyInputList.\(index + 1)"
            policies.append(
                PolicyInput(id: id, role: .identity, document: try Self.parse(text, kind: .identity, field: id)))
        }
        if let text = request.permissionsBoundaryPolicyInputList.first {
            // A boundary in the request replaces the attached one, as in AWS.
            policies.removeAll { $0.role == .boundary }
            let id = "PermissionsBoundaryPolicyInputList.1"
            policies.append(
                PolicyInput(id: id, role: .boundary, document: try Self.parse(text, kind: .boundary, field: id)))
        }
        if !request.resourcePolicy.isEmpty {
            let document = try Self.parse(request.resourcePolicy, kind: .resource, field: "ResourcePolicy")
            policies.append(PolicyInput(id: "ResourcePolicy", role: .resource, document: document))
        }
        // The principal's keys win over the caller's in any case: a caller cannot claim another aws:username.
        let context = RequestContext(layers: [
            RequestContext(pairs: try Self.contextPairs(request.contextEntries)), RequestContext(principal.context),
        ])
        let compiled = CompiledPrincipal(principal: principal.policyPrincipal, policies: policies)
        let sources = principal.sources
        return try Self.simulate(
            compiled, actions: request.actionNames, resources: request.resourceARNs, context: context,
            marker: request.marker, maxItems: request.maxItems
        ) { matched in Self.sourcedStatement(matched, source: sources[matched.policyID]) }
    }

    func principalContextKeys(_ request: GetContextKeysForPrincipalPolicyRequest, snapshot: AuthorizationSnapshot)
        throws(RPCError) -> GetContextKeysForPolicyResponse
    {
        let principal = try self.sourcePrincipal(request.policySourceARN, snapshot: snapshot)
        var documents = principal.policies.map(\.document)
        for (index, text) in request.policyInputList.enumerated() {
            documents.append(try Self.parse(text, kind: .identity, field: "PolicyInputList.\(index + 1)"))
        }
        var seen = Set<String>()
        var keys: [String] = []
        for document in documents {
            for key in document.contextKeys where seen.insert(key.lowercased()).inserted { keys.append(key) }
        }
        return GetContextKeysForPolicyResponse(contextKeyNames: keys)
    }

    /// A matched statement named as AWS names it: the managed policy's ARN or the inline policy's name,
    /// with its SourcePolicyType.
    static func sourcedStatement(_ matched: MatchedStatement, source: PolicySource?) -> EvaluatedStatement {
        var statement = Self.wireStatement(matched)
        guard let source else { return statement }
        statement.sourcePolicyID = source.arn?.description ?? source.name
        statement.sourcePolicyType = Self.sourceType(source.kind)
        return statement
    }

    /// AWS's SourcePolicyType for a policy of `kind`.
    static func sourceType(_ kind: PolicySource.Kind) -> PolicySourceType {
        switch kind {
        case .user: .user
        case .group: .group
        case .role: .role
        case .customerManaged: .userManaged
        case .awsManaged: .awsManaged
        case .boundary: .permissionsBoundary
        case .session: .input
        }
    }
}

/// The ``AuthorizationService/CheckContexts`` the Authorize and AuthorizeBatch calls of one thread share within one
/// second. Per thread (only its thread touches it, hence unchecked): event loops on different cores neither lock nor
/// share its lines. Replaced at a thread's first call in a new second, so the clock's keys are that second's; until
/// then it holds the principals it layered (at most ``AuthorizationService/CheckContexts/maxLayered``), as of the
/// snapshots they came from, and those it looked up by ARN in the last snapshot it saw, with that snapshot's
/// publisher.
final class SharedCheckContexts: @unchecked Sendable {
    let second: Int64
    var contexts: AuthorizationService.CheckContexts

    private init(second: Int64, now: Date) {
        self.second = second
        self.contexts = AuthorizationService.CheckContexts(now: now)
    }

    private static let current = ThreadSpecificVariable<SharedCheckContexts>()

    /// This thread's contexts for the second of `now`.
    static func current(at now: Date) -> SharedCheckContexts {
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        if let shared = Self.current.currentValue, shared.second == second { return shared }
        let shared = SharedCheckContexts(second: second, now: now)
        Self.current.currentValue = shared
        return shared
    }
}

/// The check itself: candidate statements from the service index, matched on bytes, combined in AWS's order.
extension CompiledEngine {
    /// What the allow statements seen so far add up to.
    struct Allows {
        var identity = false
        var boundary = false
        var session = false
        var resource = PrincipalStrength.none

        /// Whether another matching allow of this statement's kind could change nothing (so it can be skipped).
        @inline(__always)
        func saturated(_ s: CompiledStatement) -> Bool {
            switch s.role {
            case .identity: identity
            case .boundary: boundary
            case .session: session
            case .resource: resource >= s.strength
            }
        }

        @inline(__always)
        mutating func record(_ s: CompiledStatement) {
            switch s.role {
            case .identity: identity = true
            case .boundary: boundary = true
            case .session: session = true
            case .resource: resource = max(resource, s.strength)
            }
        }
    }

    func decide(_ request: AuthorizationRequest) -> Decision {
        let borrowed = self.borrowed
        let r = request.storage
        let context = r.context
        return r.actionKey.text.withUTF8Bytes { action in
            r.resource.withUTF8Bytes { resource in
                var allows = Allows()
                /// Records the allows among `ids`; true when one of them is a matching Deny, which decides.
                func denies(_ ids: [Int32]) -> Bool {
                    for id in ids {
                        let denied = borrowed[Int(id)]._withUnsafeGuaranteedRef { s in
                            if !s.isDeny && allows.saturated(s) { return false }
                            guard applies(s, resource: resource, resourceColons: r.resourceColons, context: context)
                            else { return false }
                            if s.isDeny { return true }
                            allows.record(s)
                            return false
                        }
                        if denied { return true }
                    }
                    return false
                }
                let serviceIndex = serviceTable.find(r.serviceKey)
                if serviceIndex >= 0 {
                    let index = services[Int(serviceIndex)]
                    let exact = index.exact.find(r.actionKey)
                    if exact >= 0, denies(index.exactLists[Int(exact)]) { return .explicitDeny }
                    for group in index.globGroups where groupMatches(group, action) {
                        if denies(group.ids) { return .explicitDeny }
                    }
                }
                for group in everyServiceGroups where groupMatches(group, action) {
                    if denies(group.ids) { return .explicitDeny }
                }
                return combine(allows, r)
            }
        }
    }

    /// What one check has found so far (a struct passed inout, not variables captured by the closures below:
    /// captured variables are boxed and every access to them is checked for exclusivity at run time).
    struct Tally {
        // Statement ids, not statements: no retain per match, and nothing is allocated for the first few.
        var denies = StatementIDs()
        var allowIDs = StatementIDs()
        var allows = Allows()
        var missing: [String] = []
    }

    func evaluate(_ request: AuthorizationRequest, memo: ConditionMemo? = nil) -> EvaluationResult {
        // The closures below read the statements from this local: capturing `self` copied the whole engine, a
        // retain per field, for each.
        let statements = self.statements
        let borrowed = self.borrowed
        let r = request.storage
        let context = r.context
        // Borrowed, as the statements are: the caller holds the memo for the whole call, and calling it through the
        // optional retained and released it for every statement considered.
        let borrowedMemo = memo.map { Unmanaged.passUnretained($0) }
        var tally = Tally()
        r.actionKey.text.withUTF8Bytes { action in
            r.resource.withUTF8Bytes { resource in
                // Only statements whose action matches get here: an exact list's key is the action itself, and a
                // glob group's patterns were matched once for all its statements, as in decide().
                func consider(_ ids: [Int32], _ tally: inout Tally) {
                    for id in ids {
                        borrowed[Int(id)]._withUnsafeGuaranteedRef { s in
                            if let borrowedMemo {
                                // The conditions and missing keys depend on the context alone: once per memo.
                                let hold = borrowedMemo._withUnsafeGuaranteedRef { memo in
                                    memo.conditionsHold(s, id: Int(id), engine: self, into: &tally.missing)
                                }
                                guard hold,
                                    resourceMatches(s, resource: resource, resourceColons: r.resourceColons, context)
                                else { return }
                            } else {
                                if !s.contextKeys.isEmpty { collectMissing(s, context, into: &tally.missing) }
                                guard
                                    applies(s, resource: resource, resourceColons: r.resourceColons, context: context)
                                else { return }
                            }
                            if s.isDeny {
                                tally.denies.append(id)
                            } else {
                                tally.allowIDs.append(id)
                                tally.allows.record(s)
                            }
                        }
                    }
                }
                let serviceIndex = serviceTable.find(r.serviceKey)
                if serviceIndex >= 0 {
                    let index = services[Int(serviceIndex)]
                    let exact = index.exact.find(r.actionKey)
                    if exact >= 0 { consider(index.exactLists[Int(exact)], &tally) }
                    for group in index.globGroups where groupMatches(group, action) { consider(group.ids, &tally) }
                }
                for group in everyServiceGroups where groupMatches(group, action) { consider(group.ids, &tally) }
            }
        }
        let decision: Decision = tally.denies.isEmpty ? combine(tally.allows, r) : .explicitDeny
        let deciding = decision == .explicitDeny ? tally.denies : tally.allowIDs
        let missing = tally.missing
        let boundaryAllowed: Bool? =
            hasBoundary
            ? tally.allows.boundary && !tally.denies.contains { statements[Int($0)].role == .boundary } : nil
        return EvaluationResult(
            decision: decision,
            // In policy and statement order: ids are given in that order, so sorting them is enough.
            matched: deciding.sortedMap {
                let s = statements[Int($0)]
                return MatchedStatement(policyID: s.policyID, role: s.role, index: s.statementIndex, sid: s.sid)
            },
            missingContextKeys: missing.isEmpty ? [] : Array(Set(missing)).sorted(),
            boundaryAllowed: boundaryAllowed
        )
    }

    /// AWS's order after deny evaluation: resource-based policies (by how directly they name the caller), then
    /// identity-based policies, then the permissions boundary, then session policies
    /// (D:reference_policies_evaluation-logic.html).
    @inline(__always)
    func combine(_ allows: Allows, _ request: AuthorizationRequest.Storage) -> Decision {
        // Boundary and session policies limit in the same way: when present, they must allow too.
        let boundaryAllows = (!hasBoundary || allows.boundary) && (!hasSessionPolicies || allows.session)
        let identityAllows = allows.identity && boundaryAllows
        // The resource's account comes from its ARN (or aws:ResourceAccount); when either side is unknown the
        // request is treated as same-account.
        var crossAccount = false
        if let mine = principalAccount, let theirs = request.resourceAccount, mine != theirs { crossAccount = true }
        if crossAccount {
            // Across accounts both sides must allow: the resource (or trust) policy and the caller's own policies.
            return allows.resource != .none && identityAllows ? .allowed : .implicitDeny
        }
        let trust = hasResourcePolicies && (request.isAssumeRole || hasTrustPolicies)
        switch allows.resource {
        case .direct: return .allowed
        case .roleARN: return boundaryAllows ? .allowed : .implicitDeny
        case .account: return identityAllows ? .allowed : .implicitDeny
        case .none:
            // A role trust policy must itself allow the caller; identity policies alone never suffice.
            if trust { return .implicitDeny }
            return identityAllows ? .allowed : .implicitDeny
        }
    }

    @inline(__always)
    func groupMatches(_ group: GlobGroup, _ action: UnsafeBufferPointer<UInt8>) -> Bool {
        Self.anyGlobMatches(group.patterns, action) != group.negated
    }

    /// Whether any of `patterns` matches `action` (a glob group and a statement's Action list alike).
    @inline(__always)
    static func anyGlobMatches(_ patterns: [[UInt8]], _ action: UnsafeBufferPointer<UInt8>) -> Bool {
        for pattern in patterns where pattern.withUnsafeBufferPointer({ Glob.match($0, action) }) {
            return true
        }
        return false
    }

    /// Resource, then conditions (the action was already matched).
    @inline(__always)
    func applies(
        _ s: CompiledStatement,
        resource: UnsafeBufferPointer<UInt8>,
        resourceColons: (Int, Int, Int, Int, Int)?,
        context: RequestContext
    ) -> Bool {
        guard resourceMatches(s, resource: resource, resourceColons: resourceColons, context) else { return false }
        return conditionsHold(s, context)
    }

    /// Whether every condition of `s` holds in `context`.
    @inline(__always)
    func conditionsHold(_ s: CompiledStatement, _ context: RequestContext) -> Bool {
        s.conditions.allSatisfy { holds($0, context) }
    }

    /// Whether the statement's Resource (or NotResource) covers `resource`.
    @inline(__always)
    func resourceMatches(
        _ s: CompiledStatement,
        resource: UnsafeBufferPointer<UInt8>,
        resourceColons: (Int, Int, Int, Int, Int)?,
        _ context: RequestContext
    ) -> Bool {
        if let resources = s.resources, !s.resourceIsStar {
            var any = false
            for template in resources {
                if template.cannotMatch(resource) { continue }
                if template.arnMatches(resource, colons: resourceColons, context) {
                    any = true
                    break
                }
            }
            if any == s.resourceNegated { return false }
        }
        return true
    }

    func holds(_ c: CompiledCondition, _ context: RequestContext) -> Bool {
        let entry = context.entry(c.key)
        if c.op.base == .null {
            let absent = entry.map { $0.values.isEmpty } ?? true
            return c.nullExpectations.contains(absent)
        }
        guard let entry, !entry.values.isEmpty else {
            // IfExists: an absent key makes the condition true, whatever the qualifier.
            if entry == nil && c.op.ifExists { return true }
            // ForAllValues is vacuously true on a missing or empty set, ForAnyValue false; otherwise a missing key
            // satisfies only IfExists and negated operators.
            if let qualifier = c.op.qualifier { return qualifier == .forAllValues }
            return c.op.ifExists || c.op.base.isNegated
        }
        let negated = c.op.base.isNegated
        switch c.op.qualifier {
        case .forAllValues:
            for v in entry.values where anyPolicyValueMatches(c, v, context) == negated { return false }
            return true
        case .forAnyValue:
            for v in entry.values where anyPolicyValueMatches(c, v, context) != negated { return true }
            return false
        case nil:
            if negated {
                for v in entry.values where anyPolicyValueMatches(c, v, context) { return false }
                return true
            }
            for v in entry.values where anyPolicyValueMatches(c, v, context) { return true }
            return false
        }
    }

    /// The positive form of the operator: does any policy value match request value `v`? (Values are ORed; for
    /// negated operators the caller inverts, which makes them a NOR.)
    func anyPolicyValueMatches(_ c: CompiledCondition, _ v: ContextScalar, _ context: RequestContext) -> Bool {
        switch c.op.base {
        case .stringEquals, .stringNotEquals:
            return v.withBytes { text in
                c.values.contains { value in
                    guard case .template(let t) = value else { return false }
                    return t.withResolved(context, lowercase: false) { bytesEqual($0, text) }
                }
            }
        case .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase:
            return v.withLowerBytes { text in
                c.values.contains { value in
                    guard case .template(let t) = value else { return false }
                    return t.withResolved(context, lowercase: true) { bytesEqual($0, text) }
                }
            }
        case .stringLike, .stringNotLike:
            return v.withBytes { text in
                c.values.contains { value in
                    guard case .template(let t) = value else { return false }
                    return t.withResolved(context, lowercase: false) { Glob.match($0, text) }
                }
            }
        case .arnEquals, .arnLike, .arnNotEquals, .arnNotLike:
            return v.withBytes { text in
                c.values.contains { value in
                    guard case .template(let t) = value else { return false }
                    return t.withResolved(context, lowercase: false) { Glob.arnMatch($0, text) }
                }
            }
        case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan,
            .numericGreaterThanEquals:
            guard let n = v.number else { return false }
            return c.values.contains { value in
                guard case .number(let p) = value else { return false }
                return compare(c.op.base, n, p)
            }
        case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan,
            .dateGreaterThanEquals:
            guard let d = v.date else { return false }
            return c.values.contains { value in
                guard case .date(let p) = value else { return false }
                return compare(c.op.base, d, p)
            }
        case .bool:
            guard let b = v.bool else { return false }
            return c.values.contains { value in
                if case .bool(let p) = value { return p == b }
                return false
            }
        case .binaryEquals:
            // Decoded per comparison: BinaryEquals is rare, and this keeps every context value cheap to build.
            guard let b = ValueParsers.base64(v.text) else { return false }
            return c.values.contains { value in
                if case .binary(let p) = value { return p == b }
                return false
            }
        case .ipAddress, .notIpAddress:
            guard let ip = v.ip else { return false }
            return c.values.contains { value in
                if case .ip(let block) = value { return block.contains(ip) }
                return false
            }
        case .null:
            return false
        }
    }

    @inline(__always)
    func compare(_ base: ConditionOperator.Base, _ request: Double, _ policy: Double) -> Bool {
        switch base {
        case .numericEquals, .numericNotEquals, .dateEquals, .dateNotEquals: request == policy
        case .numericLessThan, .dateLessThan: request < policy
        case .numericLessThanEquals, .dateLessThanEquals: request <= policy
        case .numericGreaterThan, .dateGreaterThan: request > policy
        case .numericGreaterThanEquals, .dateGreaterThanEquals: request >= policy
        default: false
        }
    }

    /// Keys an applicable statement's conditions and variables need but the context lacks.
    func collectMissing(_ s: CompiledStatement, _ context: RequestContext, into out: inout [String]) {
        for use in s.contextKeys {
            let present = use.isVariable ? context.hasSingleValue(use.key) : context.entry(use.key) != nil
            if !present { out.append(use.spelling) }
        }
    }
}

/// Whether `bytes` begin with `prefix` (the generic `starts(with:)` walks both one element at a time).
@inline(__always)
func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
    let count = prefix.utf8CodeUnitCount
    guard bytes.count >= count else { return false }
    return bytesEqual(
        UnsafeBufferPointer(rebasing: bytes[0..<count]), UnsafeBufferPointer(start: prefix.utf8Start, count: count))
}

/// Byte equality, eight bytes at a time (prefixes and values are 10-40 bytes; a byte loop costs several times more).
@inline(__always)
func bytesEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = a.count
    guard n == b.count else { return false }
    guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    let ra = UnsafeRawPointer(pa)
    let rb = UnsafeRawPointer(pb)
    var i = 0
    while i + 8 <= n {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        {
            return false
        }
        i += 8
    }
    while i < n {
        if pa[i] != pb[i] { return false }
        i += 1
    }
    return true
}

/// The ids of the statements a check found, the first ``inlineCapacity`` in place: a check mostly finds one or two,
/// and an array is a heap allocation (and its release) for each list that finds any.
struct StatementIDs {
    static var inlineCapacity: Int { 8 }
    private var inline: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var overflow: [Int32] = []
    private(set) var count = 0

    var isEmpty: Bool { self.count == 0 }

    @inline(__always)
    mutating func append(_ id: Int32) {
        if self.count < Self.inlineCapacity {
            let offset = self.count &* MemoryLayout<Int32>.stride
            withUnsafeMutableBytes(of: &self.inline) { $0.storeBytes(of: id, toByteOffset: offset, as: Int32.self) }
        } else {
            self.overflow.append(id)
        }
        self.count &+= 1
    }

    /// Calls `body` with the ids, in the order they were appended.
    @inline(__always)
    func withIDs<R>(_ body: (UnsafeBufferPointer<Int32>, ArraySlice<Int32>) -> R) -> R {
        withUnsafeBytes(of: self.inline) { raw in
            let inline = UnsafeBufferPointer(
                start: raw.baseAddress!.assumingMemoryBound(to: Int32.self), count: min(self.count, Self.inlineCapacity)
            )
            return body(inline, self.overflow[...])
        }
    }

    /// Whether an id satisfies `predicate`.
    func contains(where predicate: (Int32) -> Bool) -> Bool {
        self.withIDs { inline, overflow in inline.contains(where: predicate) || overflow.contains(where: predicate) }
    }

    /// `transform` of each id, in ascending order of id; no allocation when there are none.
    func sortedMap<T>(_ transform: (Int32) -> T) -> [T] {
        guard self.count > 0 else { return [] }
        if self.count == 1 { return [transform(self.inline.0)] }
        return self.withIDs { inline, overflow in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: self.count) { ids in
                var index = 0
                for id in inline {
                    ids[index] = id
                    index &+= 1
                }
                for id in overflow {
                    ids[index] = id
                    index &+= 1
                }
                var sorted = ids
                sorted.sort()
                return sorted.map(transform)
            }
        }
    }
}

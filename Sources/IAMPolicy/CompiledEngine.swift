/// A condition value compiled for its operator family.
enum CompiledValue: Sendable {
    /// String / Arn operators: a template (maybe with variables); `wildcards` for Like and Arn forms.
    case template(Template)
    case number(Double)
    case date(Double)
    case ip(IPBlock)
    case bool(Bool)
    case binary([UInt8])
}

/// One operator-and-key test, compiled (a class: iterating conditions on the hot path is one retain each).
final class CompiledCondition: Sendable {
    let key: HashedKey
    let spelling: String
    let op: ConditionOperator
    let values: [CompiledValue]
    /// Null's expectation: `true` = the key must be absent (several values are ORed).
    let nullExpectations: [Bool]

    init(key: HashedKey, spelling: String, op: ConditionOperator, values: [CompiledValue], nullExpectations: [Bool]) {
        self.key = key
        self.spelling = spelling
        self.op = op
        self.values = values
        self.nullExpectations = nullExpectations
    }
}

/// One statement ready for matching; a class so that touching it on the hot path is one retain, not one per
/// field.
final class CompiledStatement: Sendable {
    let policyIndex: Int
    let statementIndex: Int
    let policyID: String
    let sid: String?
    let isDeny: Bool
    let role: PolicyInput.Role
    let strength: PrincipalStrength
    /// NotAction.
    let actionNegated: Bool
    /// Lower-cased action patterns with wildcards encoded.
    let actionPatterns: [[UInt8]]
    let resourceNegated: Bool
    /// nil: no Resource element (trust policies): every resource.
    let resources: [Template]?
    let resourceIsStar: Bool
    let conditions: [CompiledCondition]
    /// The context keys the statement's conditions and policy variables read, in the order they appear: what a
    /// check reports missing when the context lacks them. Empty when no key can be missing for it.
    let contextKeys: [ContextKeyUse]

    init(
        policyIndex: Int,
        statementIndex: Int,
        policyID: String,
        sid: String?,
        isDeny: Bool,
        role: PolicyInput.Role,
        strength: PrincipalStrength,
        actionNegated: Bool,
        actionPatterns: [[UInt8]],
        resourceNegated: Bool,
        resources: [Template]?,
        resourceIsStar: Bool,
        conditions: [CompiledCondition]
    ) {
        self.policyIndex = policyIndex
        self.statementIndex = statementIndex
        self.policyID = policyID
        self.sid = sid
        self.isDeny = isDeny
        self.role = role
        self.strength = strength
        self.actionNegated = actionNegated
        self.actionPatterns = actionPatterns
        self.resourceNegated = resourceNegated
        self.resources = resources
        self.resourceIsStar = resourceIsStar
        self.conditions = conditions
        var keys: [ContextKeyUse] = []
        for template in resources ?? [] { template.appendVariableKeys(to: &keys) }
        for c in conditions {
            // Null tests whether the key is absent, so its key is never missing.
            if c.op.base != .null { keys.append(ContextKeyUse(key: c.key, spelling: c.spelling, isVariable: false)) }
            for value in c.values {
                if case .template(let t) = value { t.appendVariableKeys(to: &keys) }
            }
        }
        self.contextKeys = keys
    }
}

/// A context key a statement reads: a condition's key, which must be present, or a policy variable without a
/// default, which must have a single value.
struct ContextKeyUse: Sendable {
    /// The key, lower-cased for lookup.
    let key: HashedKey
    /// The key as the policy spells it, which a check reports missing.
    let spelling: String
    let isVariable: Bool
}

/// Statements that share one action pattern list (often many: every policy's `ec2:Describe*`), so the globs are
/// matched once per request for all of them.
final class GlobGroup: Sendable {
    let patterns: [[UInt8]]
    /// NotAction.
    let negated: Bool
    let ids: [Int32]

    init(patterns: [[UInt8]], negated: Bool, ids: [Int32]) {
        self.patterns = patterns
        self.negated = negated
        self.ids = ids
    }

    /// Groups statements by (negated, patterns), keeping first-seen order.
    static func grouping(_ members: [(patterns: [[UInt8]], negated: Bool, id: Int32)]) -> [GlobGroup] {
        struct Key: Hashable {
            let patterns: [[UInt8]]
            let negated: Bool
        }
        var order: [Key] = []
        var ids: [Key: [Int32]] = [:]
        for m in members {
            let key = Key(patterns: m.patterns, negated: m.negated)
            if ids[key] == nil { order.append(key) }
            ids[key, default: []].append(m.id)
        }
        return order.map { GlobGroup(patterns: $0.patterns, negated: $0.negated, ids: ids[$0]!) }
    }
}

/// Statements of one service prefix: exact actions in a hash table, the rest grouped by their globs.
final class ServiceIndex: Sendable {
    /// Lower-cased action -> index into `exactLists`.
    let exact: ByteTable
    let exactLists: [[Int32]]
    let globGroups: [GlobGroup]

    init(exact: [String: [Int32]], globbed: [(patterns: [[UInt8]], negated: Bool, id: Int32)]) {
        let keys = exact.keys.sorted()
        self.exact = ByteTable(keys.enumerated().map { (HashedKey($0.element), Int32($0.offset)) })
        self.exactLists = keys.map { exact[$0]! }
        self.globGroups = GlobGroup.grouping(globbed)
    }
}

/// The compiled form of a principal's policies.
struct CompiledEngine: Sendable {
    let statements: [CompiledStatement]
    /// ``statements`` again, unretained: evaluation borrows each statement it considers from here without a retain
    /// and release (about 60 instructions a statement). ``statements`` keeps them alive for as long as the engine.
    let borrowed: [Unmanaged<CompiledStatement>]
    /// Lower-cased service prefix -> index into `services`.
    let serviceTable: ByteTable
    let services: [ServiceIndex]
    /// NotAction statements and patterns with a wildcard in the service part, grouped by their patterns:
    /// checked for every request.
    let everyServiceGroups: [GlobGroup]
    let hasBoundary: Bool
    let hasSessionPolicies: Bool
    let hasResourcePolicies: Bool
    let hasTrustPolicies: Bool
    let principalAccount: String?

    init(principal: Principal, policies: [PolicyInput]) {
        var statements: [CompiledStatement] = []
        var byService:
            [String: (exact: [String: [Int32]], globbed: [(patterns: [[UInt8]], negated: Bool, id: Int32)])] =
                [:]
        var everyService: [Int32] = []
        principalAccount = principal.effectiveAccount
        hasBoundary = policies.contains { $0.role == .boundary }
        hasSessionPolicies = policies.contains { $0.role == .session }
        hasResourcePolicies = policies.contains { $0.role == .resource }
        hasTrustPolicies = policies.contains { $0.role == .resource && $0.document.kind == .trust }
        for (policyIndex, policy) in policies.enumerated() {
            let variables = policy.document.supportsVariables
            for (statementIndex, statement) in policy.document.statements.enumerated() {
                var strength = PrincipalStrength.direct
                if policy.role == .resource {
                    strength = CompiledEngine.strength(
                        of: statement.principals, for: principal,
                        denyWithBoundary: statement.effect == .deny && hasBoundary)
                    // A resource policy statement that does not name this caller never applies to it.
                    if strength == .none { continue }
                }
                let compiled = CompiledEngine.compile(
                    statement,
                    policyIndex: policyIndex,
                    statementIndex: statementIndex,
                    policy: policy,
                    strength: strength,
                    variables: variables
                )
                // Ids follow (policy, statement) order: evaluation sorts matched statements by id.
                let id = Int32(statements.count)
                statements.append(compiled)
                if compiled.actionNegated {
                    everyService.append(id)
                    continue
                }
                // Group patterns by service prefix; a wildcard in the prefix can match any service.
                var perService: [String: [[UInt8]]] = [:]
                var anyService = false
                for pattern in compiled.actionPatterns {
                    guard let colon = pattern.firstIndex(of: Glob.colon),
                        !Glob.hasWildcard(Array(pattern[..<colon]))
                    else {
                        anyService = true
                        break
                    }
                    perService[String(decoding: pattern[..<colon], as: UTF8.self), default: []].append(pattern)
                }
                if anyService {
                    everyService.append(id)
                    continue
                }
                for (service, patterns) in perService {
                    var bucket = byService[service] ?? (exact: [:], globbed: [])
                    if patterns.contains(where: Glob.hasWildcard) {
                        bucket.globbed.append((patterns: patterns, negated: false, id: id))
                    } else {
                        for p in Set(patterns.map { String(decoding: $0, as: UTF8.self) }) {
                            bucket.exact[p, default: []].append(id)
                        }
                    }
                    byService[service] = bucket
                }
            }
        }
        self.statements = statements
        self.borrowed = statements.map { Unmanaged.passUnretained($0) }
        let serviceNames = byService.keys.sorted()
        serviceTable = ByteTable(serviceNames.enumerated().map { (HashedKey($0.element), Int32($0.offset)) })
        services = serviceNames.map { ServiceIndex(exact: byService[$0]!.exact, globbed: byService[$0]!.globbed) }
        everyServiceGroups = GlobGroup.grouping(
            everyService.map {
                (patterns: statements[Int($0)].actionPatterns, negated: statements[Int($0)].actionNegated, id: $0)
            }
        )
    }

    static func compile(
        _ statement: Statement,
        policyIndex: Int,
        statementIndex: Int,
        policy: PolicyInput,
        strength: PrincipalStrength,
        variables: Bool
    ) -> CompiledStatement {
        let actionNegated: Bool
        if case .exclude = statement.actions { actionNegated = true } else { actionNegated = false }
        let actionPatterns = statement.actions.patterns.map {
            Glob.encode($0.utf8, wildcards: true, lowercase: true)
        }
        var resourceNegated = false
        var resources: [Template]?
        var resourceIsStar = false
        if let r = statement.resources {
            if case .exclude = r { resourceNegated = true }
            resources = r.patterns.map {
                Template(
                    $0, variables: variables, wildcards: true, lowercase: false,
                    variablesFrom: Template.fifthColon($0).offset)
            }
            resourceIsStar = !resourceNegated && r.patterns.contains("*")
        }
        let conditions = statement.conditions.map { compile($0, variables: variables) }
        return CompiledStatement(
            policyIndex: policyIndex,
            statementIndex: statementIndex,
            policyID: policy.id,
            sid: statement.sid,
            isDeny: statement.effect == .deny,
            role: policy.role,
            strength: strength,
            actionNegated: actionNegated,
            actionPatterns: actionPatterns,
            resourceNegated: resourceNegated,
            resources: resources,
            resourceIsStar: resourceIsStar,
            conditions: conditions
        )
    }

    static func compile(_ condition: Condition, variables: Bool) -> CompiledCondition {
        let base = condition.op.base
        var values: [CompiledValue] = []
        var nulls: [Bool] = []
        for v in condition.values {
            switch base {
            case .stringEquals, .stringNotEquals:
                values.append(.template(Template(v, variables: variables, wildcards: false, lowercase: false)))
            case .stringEqualsIgnoreCase, .stringNotEqualsIgnoreCase:
                values.append(.template(Template(v, variables: variables, wildcards: false, lowercase: true)))
            case .stringLike, .stringNotLike, .arnEquals, .arnLike, .arnNotEquals, .arnNotLike:
                values.append(.template(Template(v, variables: variables, wildcards: true, lowercase: false)))
            case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan,
                .numericGreaterThanEquals:
                if let n = ValueParsers.number(v) { values.append(.number(n)) }
            case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan,
                .dateGreaterThanEquals:
                if let d = ValueParsers.date(v) { values.append(.date(d)) }
            case .bool:
                if let b = ValueParsers.bool(v) { values.append(.bool(b)) }
            case .binaryEquals:
                if let b = ValueParsers.base64(v) { values.append(.binary(b)) }
            case .ipAddress, .notIpAddress:
                if let ip = IPBlock(v) { values.append(.ip(ip)) }
            case .null:
                if let b = ValueParsers.bool(v) { nulls.append(b) }
            }
        }
        return CompiledCondition(
            key: HashedKey(asciiLowercased(condition.key)),
            spelling: condition.key,
            op: condition.op,
            values: values,
            nullExpectations: nulls
        )
    }

    /// The account segment of an ARN (`arn:partition:service:region:ACCOUNT:...`), or nil when empty or not an ARN.
    static func accountSegment(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { accountSegment($0, colons: Glob.colons($0)) }
    }

    /// The account segment of an ARN whose colon positions are `colons` (found once per request).
    static func accountSegment(_ b: UnsafeBufferPointer<UInt8>, colons: (Int, Int, Int, Int, Int)?) -> String? {
        guard hasPrefix(b, "arn:"), let c = colons, c.4 > c.3 + 1 else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: b[(c.3 + 1)..<c.4]), as: UTF8.self)
    }
}

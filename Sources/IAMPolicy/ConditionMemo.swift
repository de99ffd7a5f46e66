/// What a compiled principal's statements come to in one request context: whether each statement's conditions
/// hold, and which context keys it lacks. Both depend on the context alone, never on the action or the resource,
/// so checks that share a principal and a context (the checks of one batch about one principal) evaluate each
/// statement's conditions once instead of once per check.
///
/// A memo is filled as checks use it, by one thread at a time: it is not Sendable. Make one with
/// ``CompiledPrincipal/memo(for:)`` and pass it to ``CompiledPrincipal/evaluate(_:memo:)`` with requests built
/// on that same context.
public final class ConditionMemo {
    let principal: CompiledPrincipal.Storage
    let context: RequestContext
    /// Per statement: ``known``, ``holds`` and ``lacksKeys`` bits; 0 until the statement is first considered.
    private let states: UnsafeMutableBufferPointer<UInt8>
    /// The keys each statement with the ``lacksKeys`` bit lacks.
    private var missing: [Int: [String]] = [:]

    private static let known: UInt8 = 1
    private static let holds: UInt8 = 2
    private static let lacksKeys: UInt8 = 4

    init(principal: CompiledPrincipal.Storage, context: RequestContext) {
        self.principal = principal
        self.context = context
        self.states = .allocate(capacity: principal.engine.statements.count)
        self.states.initialize(repeating: 0)
    }

    deinit { self.states.deallocate() }

    /// Whether the conditions of statement `id` hold, appending the keys it lacks to `out`, as
    /// `collectMissing` and `conditionsHold` would answer for this memo's context.
    @inline(__always)
    func conditionsHold(_ s: CompiledStatement, id: Int, engine: CompiledEngine, into out: inout [String]) -> Bool {
        var state = self.states[id]
        if state == 0 {
            state = Self.known
            if !s.contextKeys.isEmpty {
                var keys: [String] = []
                engine.collectMissing(s, self.context, into: &keys)
                if !keys.isEmpty {
                    self.missing[id] = keys
                    state |= Self.lacksKeys
                }
            }
            if engine.conditionsHold(s, self.context) { state |= Self.holds }
            self.states[id] = state
        }
        if state & Self.lacksKeys != 0, let keys = self.missing[id] { out.append(contentsOf: keys) }
        return state & Self.holds != 0
    }
}

import NIOCore
import IAMWire
import Synchronization

/// Which calls may be served on another event loop than their connection's.
///
/// A connection's calls run on its event loop, so a cheap call costs no thread hop. A heavy call (a batch of
/// checks, a simulation) then holds that loop for hundreds of microseconds while the group's other loops may
/// be idle, and one connection with several such calls in flight gets one core. A call of a listed method
/// whose request has at least ``minimumRequestBytes`` is served (decoded, intercepted, handled, encoded) on
/// another loop of the group when the connection has more work waiting behind it (another call open, or more
/// bytes read) and another loop runs no heavy call (neither one of its own connections' nor a moved one).
/// Otherwise it runs where it always did. The answer goes back to the connection's loop, which writes it; a
/// call that ended meanwhile (cancelled, past its deadline, its connection closed) drops it as it drops any late
/// answer, and the handler's own cancel hook (``ServerResponse/cancellable(_:cancel:)``) still runs.
public struct CallOffload: Sendable {
    /// Full method names (`/iam.v1.Authorization/AuthorizeBatch`) whose calls may move.
    public var methods: Set<String>
    /// Requests smaller than this stay on the connection's loop: the hop (two wake-ups, 10-25 µs here)
    /// would cost more than the work it spreads.
    public var minimumRequestBytes: Int

    /// No call moves.
    public static let none = CallOffload(methods: [], minimumRequestBytes: .max)

    /// Offloads calls of `methods` with requests of at least `minimumRequestBytes`.
    public init(methods: Set<String>, minimumRequestBytes: Int = 4096) {
        self.methods = methods
        self.minimumRequestBytes = minimumRequestBytes
    }
}

/// The loops offloaded calls may run on, and which of them run a heavy call now (one per server, shared by its
/// connections).
final class CallOffloader: Sendable {
    /// One loop of the group and how many heavy calls it runs now: its own connections' and moved ones.
    final class Slot: Sendable {
        let loop: any EventLoop
        let heavyCalls = Atomic<Int>(0)

        init(_ loop: any EventLoop) { self.loop = loop }
    }

    let methods: Set<String>
    let minimumRequestBytes: Int
    private let slots: [Slot]
    /// Where the next pick starts, so moved calls spread over the loops.
    private let next = Atomic<Int>(0)

    /// Nil when nothing would ever move: no methods, or a group of one loop.
    init?(_ offload: CallOffload, group: any EventLoopGroup) {
        guard !offload.methods.isEmpty else { return nil }
        var slots: [Slot] = []
        for loop in group.makeIterator() { slots.append(Slot(loop)) }
        guard slots.count > 1 else { return nil }
        self.methods = offload.methods
        self.minimumRequestBytes = offload.minimumRequestBytes
        self.slots = slots
    }

    /// Whether a call of `method` with a request of `bytes` is heavy.
    func isHeavy(_ method: MethodDescriptor, bytes: Int) -> Bool {
        bytes >= self.minimumRequestBytes && self.methods.contains(method.fullName)
    }

    /// A loop other than `current` that runs no heavy call, claimed for one moved call (give it back with
    /// ``finished(_:)`` when the call's work is done), or nil when every other loop has one: moving a call to a
    /// loop that is busy with its own would only add the hop. So a loop runs at most one moved call at a time.
    func claim(besides current: any EventLoop) -> Slot? {
        let start = self.next.add(1, ordering: .relaxed).newValue
        for offset in 0..<self.slots.count {
            let slot = self.slots[(start &+ offset) % self.slots.count]
            guard slot.loop !== current else { continue }
            if slot.heavyCalls.compareExchange(expected: 0, desired: 1, ordering: .relaxed).exchanged { return slot }
        }
        return nil
    }

    /// The slot of `loop` (a loop of the group), marked as running one more heavy call: the connection's loop
    /// serving one itself, so that no call moves to it meanwhile. Give it back with ``finished(_:)``.
    func serving(on loop: any EventLoop) -> Slot? {
        guard let slot = self.slots.first(where: { $0.loop === loop }) else { return nil }
        slot.heavyCalls.add(1, ordering: .relaxed)
        return slot
    }

    /// A heavy call's work on `slot`'s loop is done.
    func finished(_ slot: Slot) {
        slot.heavyCalls.subtract(1, ordering: .relaxed)
    }
}

/// The cancel hook of a call served on another loop: the connection may end the call (the client cancelled,
/// its deadline passed, the connection closed) before or after the handler there has returned its own hook.
final class OffloadedCancel: Sendable {
    private enum State {
        case waiting
        case ended
        case handler(@Sendable () -> Void)
    }

    private let state = Mutex<State>(.waiting)

    /// The connection's side: the call ended; runs the handler's hook if it has given one.
    func callEnded() {
        let handler: (@Sendable () -> Void)? = self.state.withLock { state in
            defer { state = .ended }
            if case .handler(let handler) = state { return handler }
            return nil
        }
        handler?()
    }

    /// The handler's side: its hook, run at once when the call ended already.
    func handlerAnswersLater(cancel: (@Sendable () -> Void)?) {
        guard let cancel else { return }
        let ended = self.state.withLock { state in
            if case .ended = state { return true }
            state = .handler(cancel)
            return false
        }
        if ended { cancel() }
    }
}

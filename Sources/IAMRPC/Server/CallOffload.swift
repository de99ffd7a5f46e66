public import NIOCore
import Synchronization

/// Which calls may be served on another event loop than their connection's.
///
/// A connection's calls run on its event loop, so a cheap call costs no thread hop. A heavy call (a batch of
/// checks, a simulation) then holds that loop for hundreds of microseconds while the group's other loops may
/// be idle, and one connection with several such calls in flight gets one core. A call of a listed method
/// whose request has at least ``minimumRequestBytes`` is served (decoded, intercepted, handled, encoded) on
/// another loop of the group when three things hold: the connection has more work waiting behind it (another
/// call open, or more bytes read), fewer offloaded calls are running in the whole server than the group has
/// other loops, and the group has another loop. Otherwise it runs where it always did. The answer goes back
/// to the connection's loop, which writes it; a call that ended meanwhile (cancelled, past its deadline, its
/// connection closed) drops it as it drops any late answer.
public struct CallOffload: Sendable {
    /// Full method names (`/iam.v1.AuthorizationService/AuthorizeBatch`) whose calls may move.
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

/// The loops offloaded calls may run on, and how many run now (one per server, shared by its connections).
final class CallOffloader: Sendable {
    let methods: Set<String>
    let minimumRequestBytes: Int
    private let loops: [any EventLoop]
    /// Offloaded calls whose work has started and not finished, across the server.
    private let running = Atomic<Int>(0)
    /// Where the next pick starts, so offloads spread over the loops.
    private let next = Atomic<Int>(0)

    /// Nil when nothing would ever move: no methods, or a group of one loop.
    init?(_ offload: CallOffload, group: any EventLoopGroup) {
        guard !offload.methods.isEmpty else { return nil }
        var loops: [any EventLoop] = []
        for loop in group.makeIterator() { loops.append(loop) }
        guard loops.count > 1 else { return nil }
        self.methods = offload.methods
        self.minimumRequestBytes = offload.minimumRequestBytes
        self.loops = loops
    }

    /// Another loop than `current` for one offloaded call, or nil when as many offloaded calls run as there
    /// are other loops. A loop returned must be given back with ``finished()`` when the call's work is done.
    func acquire(besides current: any EventLoop) -> (any EventLoop)? {
        let limit = self.loops.count - 1
        guard self.running.add(1, ordering: .relaxed).newValue <= limit else {
            self.running.subtract(1, ordering: .relaxed)
            return nil
        }
        let start = self.next.add(1, ordering: .relaxed).newValue
        for offset in 0..<self.loops.count {
            let loop = self.loops[(start &+ offset) % self.loops.count]
            if loop !== current { return loop }
        }
        self.running.subtract(1, ordering: .relaxed)
        return nil
    }

    /// One offloaded call's work is done.
    func finished() {
        self.running.subtract(1, ordering: .relaxed)
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

public import Synchronization

/// A value behind a lock: `Synchronization.Mutex`, plus what ThreadSanitizer needs to see the lock work.
///
/// On Linux, `Mutex.withLock` takes the lock inline when it is free, but under contention it waits in the
/// standard library's `_lockSlow` (a priority-inheritance futex), which is not compiled for ThreadSanitizer.
/// TSan then sees no ordering between two threads' critical sections and reports the lock's own value as a
/// data race (the sanitizer pass found two such reports, in `Caller.clockContext` and `SQLiteStore.write`).
/// `Locked` adds an acquiring load when the lock is taken and a releasing store before it is given back, on
/// an atomic of its own. Both happen inside the critical section, so they order nothing the lock does not
/// already order, and cost about nothing (the line is the lock's); but they are compiled in our code, where
/// TSan sees them, so the sanitizer pass reports only races the lock does not prevent.
public struct Locked<Value: ~Copyable>: ~Copyable {
    @usableFromInline let mutex: Mutex<Value>
    @usableFromInline let order = Atomic<UInt8>(0)

    /// A lock holding `initialValue`.
    @inlinable
    public init(_ initialValue: consuming sending Value) {
        self.mutex = Mutex(initialValue)
    }

    /// Runs `body` with the value while holding the lock, as `Mutex.withLock` does.
    @inlinable
    public borrowing func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        try self.mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            _ = self.order.load(ordering: .acquiring)
            defer { self.order.store(0, ordering: .releasing) }
            return try body(&value)
        }
    }
}

extension Locked: Sendable where Value: ~Copyable {}

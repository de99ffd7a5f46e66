import Foundation

/// Work split across the cores at start-up (building the snapshot, decoding the stored rows), where one core
/// would otherwise do it all.
package enum Parallel {
    /// `body` over consecutive ranges that cover `0..<count`, run concurrently (one range per core) when there
    /// are at least `minimum` items, else in one call; their results joined in order. `body` must only read
    /// shared state.
    package static func map<R>(_ count: Int, minimum: Int = 2048, _ body: (Range<Int>) -> [R]) -> [R] {
        let chunks = count < minimum ? 1 : max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        guard chunks > 1 else { return body(0..<count) }
        let size = (count + chunks - 1) / chunks
        let parts = UnsafeMutableBufferPointer<[R]>.allocate(capacity: chunks)
        parts.initialize(repeating: [])
        defer {
            parts.deinitialize()
            parts.deallocate()
        }
        // Each chunk writes only its own slot.
        nonisolated(unsafe) let slots = parts
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                slots[chunk] = body((chunk * size)..<min(count, (chunk + 1) * size))
            }
        }
        return Array(parts.joined())
    }
}

/// Work started on another thread at once, whose result a caller collects later with ``wait()``: start-up
/// decodes the stored entity rows on the other cores while its reader thread goes on with the relation tables.
package final class Background<Success: Sendable>: @unchecked Sendable {
    // Written once by the worker before it signals `done`; read only after `done` is awaited.
    private var result: Result<Success, IAMError>?
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a global queue.
    package init(_ body: @escaping @Sendable () throws(IAMError) -> Success) {
        DispatchQueue.global().async {
            self.result = Result(catching: body)
            self.done.signal()
        }
    }

    /// Blocks until the work is done; its result or error.
    package func wait() throws(IAMError) -> Success {
        self.done.wait()
        return try self.result!.get()
    }
}

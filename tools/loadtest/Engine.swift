import Histogram
import IAMRPC
import IAMWire
import NIOCore

/// One kind of call the load applies (Ping, Authorize, GetUser, CreateUser+DeleteUser, ...).
///
/// `start` runs on the connection's event loop and calls `done` there, once, with nil or the failure; it
/// must not block. Closures instead of a generic worker keep the mixed workload's table of operations
/// simple; the cost is one closure context per call (the RPC takes a callback, not a promise).
struct Operation: Sendable {
    /// The name reports use (`authorize`, `get-user`, ...).
    var name: String
    /// Starts call number `sequence` (unique per run; data-set writes make their names from it).
    var start:
        @Sendable (
            _ client: RPCClient, _ sequence: Int, _ options: CallOptions,
            _ done: @escaping (_ error: (any Error)?) -> Void
        ) -> Void

    /// A unary call cycling through `requests`.
    static func unary<Request: WireMessage, Response: WireMessage>(
        _ name: String, _ method: MethodDescriptor, requests: [Request], response: Response.Type
    ) -> Operation {
        precondition(!requests.isEmpty)
        return Operation(name: name) { client, sequence, options, done in
            client.unaryOnEventLoop(method, requests[sequence % requests.count], as: Response.self, options: options) {
                result in
                switch result {
                case .success: done(nil)
                case .failure(let error): done(error)
                }
            }
        }
    }
}

/// How calls are paced.
enum Pacing: Sendable {
    /// Closed loop: each connection keeps this many calls outstanding; a completion sends the next call.
    case closed(inFlight: Int)
    /// Open loop: calls are due at fixed intervals whatever the server does, and each call's latency is
    /// measured from the moment it was due, not from when it was sent (so a server stall shows up in the
    /// latencies of every call that had to wait, which is what a user would see; HdrHistogram's
    /// "coordinated omission" correction, done by construction as wrk2 does). `maxInFlight` bounds the
    /// calls outstanding per connection (the server's MAX_CONCURRENT_CALLS); due calls beyond it wait.
    case open(callsPerSecondPerConnection: Double, maxInFlight: Int)
}

/// What one connection measured: the measured window's figures, and the interval since the last sample
/// (for the progress line and the throughput-over-time chart).
struct WorkerSample: Sendable {
    var intervalHistogram: Histogram<UInt64>
    var intervalCalls: Int
    var intervalErrors: Int
    /// Whether the worker has sent its whole budget of measured calls and every one has completed.
    var budgetDone: Bool
    /// When the last measured call completed (uptime ns; 0 before the first).
    var lastMeasuredCompletion: UInt64
}

/// The measured window's totals of one connection.
struct WorkerResult: Sendable {
    var histograms: [Histogram<UInt64>]
    var calls: [Int]
    var errorsByOperation: [Int]
    /// Failures by status code (raw value 0...16; 17 collects anything that was not an `RPCError`).
    var errorsByStatus: [Int]
    var firstError: String?
    /// Calls still outstanding when the drain gave up (counted nowhere else).
    var abandoned: Int
}

/// Latencies are recorded in nanoseconds; one minute is more than any call's deadline.
func makeHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

/// Drives one `RPCClient` from its own event loop: no Task, lock or thread hop per call (the load
/// tester must cost less CPU per call than the server it measures).
///
/// A call counts in the measured window when its send time (the intended send time in open loop) falls
/// inside `[measureStart, measureEnd)`, wherever it completes: calls that straddle the window's end are
/// waited for instead of dropped, so a stall at the end is not omitted either.
final class Worker: Sendable {
    let client: RPCClient
    let operations: [Operation]
    /// Indexes into `operations`, 1,000 slots filled by weight; a call picks one at random.
    let table: [UInt16]
    let pacing: Pacing
    let options: CallOptions
    let index: Int
    let stride: Int
    /// The most calls this worker sends inside the measured window (its share of `--max-calls`).
    let budget: Int
    private let state: NIOLoopBoundBox<State>

    final class State {
        var histograms: [Histogram<UInt64>]
        var calls: [Int]
        var errorsByOperation: [Int]
        var errorsByStatus = [Int](repeating: 0, count: 18)
        var firstError: String?
        var intervalHistogram = makeHistogram()
        var intervalCalls = 0
        var intervalErrors = 0
        /// Calls sent inside the measured window, errors included (what the budget counts).
        var measuredSends = 0
        var lastMeasuredCompletion: UInt64 = 0
        var measureStart: UInt64
        var measureEnd: UInt64
        var running = true
        var outstanding = 0
        var sequence = 0
        var random: UInt64
        // Open loop: when the next call is due, the spacing, and whether a timer is armed for it.
        var nextDue: UInt64 = 0
        var spacing: UInt64 = 0
        var timerArmed = false
        var drained: EventLoopPromise<Void>?

        init(operations: Int, measureStart: UInt64, measureEnd: UInt64, seed: UInt64) {
            self.measureEnd = measureEnd
            self.histograms = (0..<operations).map { _ in makeHistogram() }
            self.calls = [Int](repeating: 0, count: operations)
            self.errorsByOperation = [Int](repeating: 0, count: operations)
            self.measureStart = measureStart
            self.random = seed | 1
        }
    }

    /// - Parameters:
    ///   - index, stride: this worker's number and the number of workers; call sequence numbers are
    ///     `index + k * stride`, unique across the run.
    ///   - measureStart, measureEnd: uptime nanoseconds at which the measured window opens (after the
    ///     warm-up) and closes as planned (`stop` may close it earlier). Fixed up front, so calls sent after
    ///     the planned end never count, however late the coordinator gets round to stopping.
    init(
        client: RPCClient, operations: [(Operation, weight: Int)], pacing: Pacing, options: CallOptions,
        index: Int, stride: Int, measureStart: UInt64, measureEnd: UInt64, budget: Int = .max
    ) {
        self.client = client
        self.operations = operations.map(\.0)
        let total = operations.reduce(0) { $0 + $1.weight }
        var table: [UInt16] = []
        for (position, entry) in operations.enumerated() {
            let slots = max(1, (entry.weight * 1000 + total / 2) / max(total, 1))
            table += [UInt16](repeating: UInt16(position), count: slots)
        }
        self.table = table
        self.pacing = pacing
        self.options = options
        self.index = index
        self.stride = stride
        self.budget = budget
        self.state = NIOLoopBoundBox.makeBoxSendingValue(
            State(
                operations: operations.count, measureStart: measureStart, measureEnd: measureEnd,
                seed: 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)),
            eventLoop: client.eventLoop)
    }

    /// Starts sending; `origin` is when the run starts (open loop: the first call is due then, staggered
    /// by connection so the connections' calls interleave instead of arriving in bursts).
    func start(origin: UInt64) {
        self.client.eventLoop.execute {
            let state = self.state.value
            switch self.pacing {
            case .closed(let inFlight):
                for _ in 0..<inFlight { self.issue(sendTime: NIODeadline.now().uptimeNanoseconds) }
            case .open(let rate, _):
                state.spacing = max(1, UInt64(1e9 / rate))
                state.nextDue = origin + state.spacing * UInt64(self.index) / UInt64(self.stride)
                self.sendDue()
            }
        }
    }

    /// Open loop: sends every call that is due, up to the in-flight bound, then arms a timer for the next.
    private func sendDue() {
        guard case .open(_, let maxInFlight) = self.pacing else { return }
        let state = self.state.value
        guard state.running, state.measuredSends < self.budget else { return }
        let now = NIODeadline.now().uptimeNanoseconds
        while state.nextDue <= now, state.outstanding < maxInFlight, state.running, state.measuredSends < self.budget {
            let due = state.nextDue
            state.nextDue += state.spacing
            self.issue(sendTime: due)
        }
        // At the bound a completion sends the next due call; otherwise wake up when it is due.
        if state.outstanding < maxInFlight, !state.timerArmed, state.running {
            state.timerArmed = true
            self.client.eventLoop.assumeIsolated().scheduleTask(deadline: .uptimeNanoseconds(state.nextDue)) {
                self.state.value.timerArmed = false
                self.sendDue()
            }
        }
    }

    private func nextOperation(_ state: State) -> Int {
        if self.table.count <= 1 || self.operations.count == 1 { return 0 }
        // xorshift64*: cheap, and per worker, so no shared generator on the hot path.
        state.random ^= state.random >> 12
        state.random ^= state.random << 25
        state.random ^= state.random >> 27
        let value = state.random &* 0x2545_F491_4F6C_DD1D
        return Int(self.table[Int((value >> 33) % UInt64(self.table.count))])
    }

    private func issue(sendTime: UInt64) {
        let state = self.state.value
        if sendTime >= state.measureStart && sendTime < state.measureEnd {
            // The budget spent, the worker sends nothing more; the coordinator ends the run once all are done.
            guard state.measuredSends < self.budget else { return }
            state.measuredSends += 1
        }
        state.outstanding += 1
        let operationIndex = self.nextOperation(state)
        let sequence = self.index + state.sequence * self.stride
        state.sequence += 1
        self.operations[operationIndex].start(self.client, sequence, self.options) { error in
            let state = self.state.value
            state.outstanding -= 1
            let now = NIODeadline.now().uptimeNanoseconds
            let measured = sendTime >= state.measureStart && sendTime < state.measureEnd
            if let error {
                state.intervalErrors += 1
                if measured {
                    let code = (error as? RPCError).map { Int($0.code.rawValue) } ?? 17
                    state.errorsByStatus[min(code, 17)] += 1
                    state.errorsByOperation[operationIndex] += 1
                }
                if state.firstError == nil { state.firstError = "\(self.operations[operationIndex].name): \(error)" }
            } else {
                let latency = now > sendTime ? now - sendTime : 0
                _ = state.intervalHistogram.record(latency)
                state.intervalCalls += 1
                if measured {
                    _ = state.histograms[operationIndex].record(latency)
                    state.calls[operationIndex] += 1
                }
            }
            if measured { state.lastMeasuredCompletion = now }
            if state.running {
                switch self.pacing {
                // The next call's clock starts when it is sent, after this call's bookkeeping, as a client
                // timing one call at a time would time it.
                case .closed: self.issue(sendTime: NIODeadline.now().uptimeNanoseconds)
                case .open: self.sendDue()
                }
            } else if state.outstanding == 0, let drained = state.drained {
                state.drained = nil
                drained.succeed(())
            }
        }
    }

    /// The interval since the last sample (then reset) and the measured calls so far.
    func sample() async throws -> WorkerSample {
        try await self.client.eventLoop.submit {
            let state = self.state.value
            let sample = WorkerSample(
                intervalHistogram: state.intervalHistogram, intervalCalls: state.intervalCalls,
                intervalErrors: state.intervalErrors,
                budgetDone: state.measuredSends >= self.budget && state.outstanding == 0,
                lastMeasuredCompletion: state.lastMeasuredCompletion)
            state.intervalHistogram.reset()
            state.intervalCalls = 0
            state.intervalErrors = 0
            return sample
        }.get()
    }

    /// Closes the measured window at `end` (uptime ns) and stops sending; waits up to `drainTimeout` for
    /// the calls in flight, then returns the window's totals.
    func stop(end: UInt64, drainTimeout: TimeAmount) async throws -> WorkerResult {
        let drained = try await self.client.eventLoop.submit {
            let state = self.state.value
            state.measureEnd = min(state.measureEnd, end)
            state.running = false
            let promise = self.client.eventLoop.makePromise(of: Void.self)
            if state.outstanding == 0 {
                promise.succeed(())
            } else {
                state.drained = promise
                // Whichever comes first, the last completion or the timeout, takes the promise.
                let timeout = self.client.eventLoop.assumeIsolated().scheduleTask(in: drainTimeout) {
                    let state = self.state.value
                    if let drained = state.drained {
                        state.drained = nil
                        drained.succeed(())
                    }
                }
                promise.futureResult.whenComplete { _ in timeout.cancel() }
            }
            return promise.futureResult
        }.get()
        try await drained.get()
        return try await self.client.eventLoop.submit {
            let state = self.state.value
            state.drained = nil
            return WorkerResult(
                histograms: state.histograms, calls: state.calls, errorsByOperation: state.errorsByOperation,
                errorsByStatus: state.errorsByStatus, firstError: state.firstError, abandoned: state.outstanding)
        }.get()
    }
}

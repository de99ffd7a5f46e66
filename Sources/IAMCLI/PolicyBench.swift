package import IAMPolicy

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// CPU seconds this process has used: on a shared machine the wall clock also counts other processes' time, so
/// the bench reports both (the C reference in ../shared/bench reports CPU time).
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// The result of `iam policy evaluate --bench`.
package struct PolicyBenchResult: Sendable {
    /// Checks performed.
    package var checks: Int
    /// Wall-clock seconds they took.
    package var seconds: Double
    /// How many of them were allowed (kept so the optimiser cannot drop the checks).
    package var allowed: Int
    /// CPU seconds the process used meanwhile.
    package var cpuSeconds: Double = 0

    /// Checks per second.
    package var checksPerSecond: Double { seconds > 0 ? Double(checks) / seconds : 0 }

    /// Nanoseconds per check.
    package var nsPerCheck: Double { checks > 0 ? seconds * 1e9 / Double(checks) : 0 }

    /// CPU nanoseconds per check.
    package var cpuNsPerCheck: Double { checks > 0 ? cpuSeconds * 1e9 / Double(checks) : 0 }

    /// `{"checks":..,"seconds":..,"checksPerSecond":..,"nsPerCheck":..,"cpuNsPerCheck":..}`.
    package var jsonLine: String {
        var w = JSONLineWriter()
        w.field("checks", int: checks)
        w.field("seconds", double: (seconds * 1e6).rounded() / 1e6)
        w.field("checksPerSecond", double: checksPerSecond.rounded())
        w.field("nsPerCheck", double: (nsPerCheck * 10).rounded() / 10)
        w.field("cpuNsPerCheck", double: (cpuNsPerCheck * 10).rounded() / 10)
        return w.finish()
    }
}

/// The `--bench` loop, in the spirit of `opa bench`: compiled principals, prepared requests, round-robin checks on
/// the calling thread (one core) for a fixed wall-clock time.
package enum PolicyBench {
    /// Checks between two clock reads: large enough that reading the clock costs nothing measurable, small
    /// enough that the run overshoots its time by well under a millisecond.
    static let batch = 1024

    /// Runs exactly `checks` decide() calls over `workload` round-robin: a fixed amount of work whose instruction
    /// count (`valgrind --tool=callgrind`) does not depend on how busy the machine is.
    package static func run(_ workload: [(CompiledPrincipal, AuthorizationRequest)], checks: Int) -> PolicyBenchResult {
        precondition(!workload.isEmpty, "the workload must not be empty")
        let principals = workload.map(\.0)
        let requests = workload.map(\.1)
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = processCPUSeconds()
        var allowed = 0
        principals.withUnsafeBufferPointer { principals in
            requests.withUnsafeBufferPointer { requests in
                var next = 0
                for _ in 0..<checks {
                    if principals[next].decide(requests[next]) == .allowed { allowed += 1 }
                    next += 1
                    if next == principals.count { next = 0 }
                }
            }
        }
        let elapsed = start.duration(to: clock.now)
        let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return PolicyBenchResult(
            checks: checks, seconds: secondsTaken, allowed: allowed, cpuSeconds: processCPUSeconds() - cpuStart)
    }

    /// Runs `decide` over `workload` round-robin for `seconds` (bounded: at least one batch, at most the time).
    package static func run(_ workload: [(CompiledPrincipal, AuthorizationRequest)], seconds: Double)
        -> PolicyBenchResult
    {
        precondition(!workload.isEmpty, "the workload must not be empty")
        // Two flat arrays read through buffer pointers: the loop borrows each principal and request instead of
        // copying a tuple (and retaining its references) per check, so it measures the engine, not the harness.
        let principals = workload.map(\.0)
        let requests = workload.map(\.1)
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = processCPUSeconds()
        let deadline = start.advanced(by: .nanoseconds(Int64(seconds * 1e9)))
        var checks = 0
        var allowed = 0
        var now = start
        principals.withUnsafeBufferPointer { principals in
            requests.withUnsafeBufferPointer { requests in
                var next = 0
                repeat {
                    for _ in 0..<batch {
                        if principals[next].decide(requests[next]) == .allowed { allowed += 1 }
                        next += 1
                        if next == principals.count { next = 0 }
                    }
                    checks += batch
                    now = clock.now
                } while now < deadline
            }
        }
        let elapsed = start.duration(to: now)
        let secondsTaken = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return PolicyBenchResult(
            checks: checks, seconds: secondsTaken, allowed: allowed, cpuSeconds: processCPUSeconds() - cpuStart)
    }
}

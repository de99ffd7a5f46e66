import Benchmark
import IAMPolicy
import PolicyWorkload

// Policy-engine checks on one core. Each benchmark iteration is 1,000 checks (scalingFactor .kilo) cycling through
// the workload's requests (allowed by exact and wildcard statements, denied, conditional, variable, unmatched); the
// metrics marked `*` in the output (wall clock, CPU, mallocs) are reported per check, throughput in checks per second.
// decide() must not allocate: its malloc count has an absolute threshold of 0 (`swift package benchmark
// thresholds check` fails otherwise).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .cpuTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    for policies in [10, 100, 250, 1_000] {
        let workload = PolicyWorkload(policies: policies)
        let compiled: CompiledPrincipal
        do {
            compiled = try workload.compile()
        } catch {
            fatalError("workload does not validate: \(error)")
        }
        let requests = workload.authorizationRequests()
        let label = "\(policies) policies, \(policies * 4) statements"

        Benchmark(
            "decide: \(label)",
            configuration: .init(thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])])
        ) { benchmark in
            var next = 0
            for _ in benchmark.scaledIterations {
                blackHole(compiled.decide(requests[next]))
                next += 1
                if next == requests.count { next = 0 }
            }
        }

        Benchmark("evaluate (with diagnostics): \(label)") { benchmark in
            var next = 0
            for _ in benchmark.scaledIterations {
                blackHole(compiled.evaluate(requests[next]))
                next += 1
                if next == requests.count { next = 0 }
            }
        }
    }
}

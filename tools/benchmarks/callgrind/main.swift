// The instruction-count harness behind callgrind-engine.sh (not part of any package): compiled with swiftc together
// with Sources/IAMPolicy and Sources/IAMPolicyVectors into one -O module, because valgrind 3.19 cannot run the
// `iam` binary (it crashes in the async runtime's start-up). The loop is `iam policy evaluate --bench-checks`':
// the case file's principal compiled once, its requests round-robin.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let checks = Int(arguments[1]), checks > 0 else {
    print("usage: engine-harness CHECKS CASES.json")
    exit(64)
}
let cases = try VectorFile.evaluationCases(Array(Data(contentsOf: URL(fileURLWithPath: arguments[2]))))
// Every case of a benchmark file has the same principal and policies (make_bench_cases.py): compile once.
let principal = try cases[0].compile()
let requests = cases.map(\.request)
var allowed = 0
requests.withUnsafeBufferPointer { requests in
    var next = 0
    for _ in 0..<checks {
        if principal.decide(requests[next]) == .allowed { allowed += 1 }
        next += 1
        if next == requests.count { next = 0 }
    }
}
print("checks \(checks) allowed \(allowed)")

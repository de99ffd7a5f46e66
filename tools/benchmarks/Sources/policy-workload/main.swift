import Foundation
import IAMPolicy
import PolicyWorkload

// policy-workload POLICIES
//     Writes the benchmark's workload as an `iam policy evaluate` case file, so that
//     `iam policy evaluate --cases FILE --bench SECONDS` measures the same principal as the benchmark.
// policy-workload POLICIES --checks N
//     Compiles the workload and runs exactly N decide() checks (requests round-robin), for counting instructions
//     with `valgrind --tool=callgrind`: run it with N and 2N, and the difference divided by N is instructions per
//     check, a figure that does not depend on how busy the machine is.
let arguments = Array(CommandLine.arguments.dropFirst())
func usage() -> Never {
    print("usage: policy-workload POLICIES [--checks N]   (POLICIES 1...10000, 4 statements each; N 1...1e9)")
    exit(64)
}
guard let first = arguments.first, let policies = Int(first), (1...10_000).contains(policies) else { usage() }
let workload = PolicyWorkload(policies: policies)
switch arguments.count {
case 1:
    print(workload.caseFile(), terminator: "")
case 3 where arguments[1] == "--checks":
    guard let checks = Int(arguments[2]), (1...1_000_000_000).contains(checks) else { usage() }
    let compiled: CompiledPrincipal
    do {
        compiled = try workload.compile()
    } catch {
        print("workload does not validate: \(error)")
        exit(1)
    }
    let requests = workload.authorizationRequests()
    var allowed = 0
    var next = 0
    for _ in 0..<checks {
        if compiled.decide(requests[next]) == .allowed { allowed += 1 }
        next += 1
        if next == requests.count { next = 0 }
    }
    print("checks \(checks) allowed \(allowed)")
default:
    usage()
}

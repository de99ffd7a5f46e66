import Foundation
import PolicyWorkload

// Writes the benchmark's workload as an `iam policy evaluate` case file, so that
// `iam policy evaluate --cases FILE --bench SECONDS` measures the same principal as the benchmark:
//     swift run -c release policy-workload 10 > /tmp/workload-10.json
let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 1, let policies = Int(arguments.first!), (1...10_000).contains(policies) else {
    print("usage: policy-workload POLICIES   (1...10000; each policy has 4 statements)")
    exit(64)
}
print(PolicyWorkload(policies: policies).caseFile(), terminator: "")

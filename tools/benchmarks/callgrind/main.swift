// The instruction-count harness behind callgrind-engine.sh (not part of any package): compiled with swiftc together
// with Sources/IAMPolicy and Sources/IAMPolicyVectors into one -O module, because valgrind 3.19 cannot run the
// `iam` binary (it crashes in the async runtime's start-up). The loop is `iam policy evaluate --bench-checks`':
// the case file's principal compiled once, its requests round-robin.
import Foundation

let arguments = CommandLine.arguments
guard (3...4).contains(arguments.count), let checks = Int(arguments[1]), checks > 0 else {
    print("usage: engine-harness CHECKS CASES.json [decide|server]")
    exit(64)
}
let mode = arguments.count == 4 ? arguments[3] : "decide"
let cases = try VectorFile.evaluationCases(Array(Data(contentsOf: URL(fileURLWithPath: arguments[2]))))
// Every case of a benchmark file has the same principal and policies (make_bench_cases.py): compile once.
let principal = try cases[0].compile()
let requests = cases.map(\.request)
var allowed = 0
switch mode {
case "decide":
    requests.withUnsafeBufferPointer { requests in
        var next = 0
        for _ in 0..<checks {
            if principal.decide(requests[next]) == .allowed { allowed += 1 }
            next += 1
            if next == requests.count { next = 0 }
        }
    }
case "server":
    // What iamd's Authorize does per check on top of the wire decode: the caller's context keys (the case's, as
    // pairs off the wire), layered over the principal's keys (built once) and the clock's (built once a second),
    // the request, and evaluate() with its matched statements and missing keys.
    let principalContext = RequestContext([
        "aws:username": .string("alice"), "aws:userid": .string("AIDAEXAMPLEALICE0001"),
        "aws:PrincipalArn": .string("arn:aws:iam::123456789012:user/alice"),
        "aws:PrincipalAccount": .string("123456789012"), "aws:PrincipalType": .string("User"),
        "aws:PrincipalTag/team": .string("platform"),
    ])
    let clockContext = RequestContext([
        "aws:CurrentTime": .string("2026-12-02T05:00:00Z"), "aws:EpochTime": .string("1796187600"),
    ])
    // The caller sends the request's own keys; the server supplies the principal's and the clock's.
    let serverKeys = Set([
        "aws:username", "aws:userid", "aws:principalarn", "aws:principalaccount", "aws:principaltype",
    ])
    let wire = cases.map { c in
        (
            action: c.action, resource: c.resource,
            pairs: c.context.sorted { $0.key < $1.key }.filter { !serverKeys.contains($0.key.lowercased()) }
                .map { (key: $0.key, value: $0.value) }
        )
    }
    var matched = 0
    for i in 0..<checks {
        let c = wire[i % wire.count]
        let context = RequestContext(layers: [RequestContext(pairs: c.pairs), principalContext, clockContext])
        let result = principal.evaluate(AuthorizationRequest(action: c.action, resource: c.resource, context: context))
        if result.decision == .allowed { allowed += 1 }
        matched &+= result.matched.count &+ result.missingContextKeys.count
    }
    print("matched+missing \(matched)")
default:
    print("unknown mode \(mode)")
    exit(64)
}
print("checks \(checks) allowed \(allowed)")

import ArgumentParser
import Foundation
import IAMQueryAPI

/// `iam-sigv4-bench`: the cost of verifying one SigV4-signed Query request (canonical request, two SHA-256,
/// one HMAC with the cached per-day signing key, constant-time compare), as the front door does per request.
@main
struct SigV4Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-sigv4-bench", abstract: "Time SigV4 verification with the derived-key cache (median of runs)."
    )

    @Option(help: "Verifications per run.") var iterations = 200_000
    @Option(help: "Runs (the median is reported).") var runs = 5

    func run() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let body = Array("Action=GetUser&Version=2010-05-08&UserName=alice".utf8)
        let now = Date()
        let headers = SigV4Signer.sign(
            method: "POST",
            headers: [
                ("Host", "127.0.0.1:7444"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ], body: body, accessKeyID: "AKIAIOSFODNN7EXAMPLE", secret: secret, service: "iam", date: now)
        let verifier = SigV4Verifier { id in
            SigV4Key(accessKeyID: id, secret: { Array(secret.utf8) })
        }
        // The payload hash is part of the cost: the front door hashes every body.
        var results: [Double] = []
        for _ in 0..<self.runs {
            let clock = ContinuousClock()
            let start = clock.now
            var ok = 0
            for _ in 0..<self.iterations {
                let request = SigV4Request(
                    method: "POST", path: "/", query: "", headers: headers,
                    payloadHash: SigV4Verifier.payloadHash(body))
                if case .success = verifier.verify(request, now: now) { ok += 1 }
            }
            let elapsed = clock.now - start
            guard ok == self.iterations else { throw ValidationError("only \(ok) of \(self.iterations) verified") }
            let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            results.append(nanoseconds / Double(self.iterations))
        }
        let sorted = results.sorted()
        print(
            "sigv4_verify_ns_median=\(Int(sorted[sorted.count / 2])) runs=\(sorted.map { Int($0) }) iterations=\(self.iterations)"
        )
    }
}

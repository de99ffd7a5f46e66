import Foundation
import IAMTestSupport
import Testing

/// A real `iamd` child process (TLS with a test certificate chain, SQLite in a temporary folder) and the real
/// `iam` binary pointed at it through the environment, as a user's shell would be.
final class LiveDaemon: Sendable {
    let chain: TestCertificateChain
    let data: URL
    let daemon: ChildProcess
    let endpoint: String

    init() async throws {
        chain = try await TestCertificateChain.makeOffCooperativePool()
        data = URL(fileURLWithPath: chain.directory).appendingPathComponent("data")
        let iamd = try #require(ChildProcess.builtExecutable(named: "iamd"), "iamd must be built next to the tests")
        daemon = try ChildProcess(
            iamd,
            [
                "--port", "0", "--query-port", "off", "--data-dir", data.path, "--tls-cert",
                chain.serverCertificatePath, "--tls-key",
                chain.serverKeyPath, "--log-level", "warning",
            ])
        let line = try await daemon.waitForLine(startingWith: "listening ")
        endpoint = String(line.dropFirst("listening ".count))
    }

    /// The environment `iam` reads: endpoint, CA and the root key's file (nothing of the test's own).
    var environment: [String: String] {
        [
            "IAM_ENDPOINT": endpoint, "IAM_CA_FILE": chain.caCertificatePath,
            "IAM_CREDENTIALS_FILE": data.appendingPathComponent("root-credentials.json").path,
            "HOME": chain.directory, "IAM_ACCESS_KEY_ID": "", "IAM_SECRET_ACCESS_KEY": "", "IAM_PROFILE": "",
        ]
    }

    /// Runs `iam arguments` as a child process.
    func iam(_ arguments: [String], stdin: [UInt8] = [], environment extra: [String: String] = [:]) async throws
        -> CommandResult
    {
        let binary = try #require(ChildProcess.builtExecutable(named: "iam"), "iam must be built next to the tests")
        let result = try await ChildProcess.run(
            binary, arguments, stdin: stdin, environment: environment.merging(extra) { $1 }, timeout: .seconds(120))
        return CommandResult(status: result.status, output: result.output, errorOutput: result.errorOutput)
    }

    /// Runs `iam arguments` and parses its standard output as JSON, failing the test unless it exited 0.
    func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let result = try await iam(arguments)
        #expect(
            result.status == 0, "iam \(arguments.joined(separator: " ")): \(result.errorOutput)",
            sourceLocation: sourceLocation)
        guard !result.output.isEmpty else { return [:] }
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            sourceLocation: sourceLocation)
    }

    func stop() async {
        daemon.signal(SIGTERM)
        _ = try? await daemon.waitForExit(timeout: .seconds(30))
        try? chain.remove()
    }
}

import Foundation
import IAMTestSupport
import Testing

/// iamd's second listener, the AWS front door, as an operator starts it: a free port is printed once it
/// accepts, it speaks HTTP/1.1 over TLS with the server's certificate (checked here by curl against the
/// development CA), unsigned requests get AWS's error document, and `--query-port off` turns it off.
/// The real AWS clients (boto3, the AWS CLI) run against it in tests/aws-clients.
@Suite("iamd's AWS front door listener", .serialized)
struct QueryListenerEndToEndTests {
    func binary(_ name: String) throws -> URL {
        try #require(ChildProcess.builtExecutable(named: name), "\(name) must be built next to the test bundle")
    }

    @Test("--query-port 0 prints the port; HTTPS with ALPN http/1.1; unsigned requests are refused as AWS does")
    func listens() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iam-query-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let daemon = try ChildProcess(
            try binary("iamd"), ["--port", "0", "--query-port", "0", "--data-dir", data.path, "--log-level", "notice"])
        let line = try await daemon.waitForLine(startingWith: "query listening ")
        let endpoint = String(line.dropFirst("query listening ".count))
        let kek = data.appendingPathComponent("kek")
        let attributes = try FileManager.default.attributesOfItem(atPath: kek.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the KEK is made owner-only on first start")

        let curl = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-s", "--http1.1", "--cacert", data.appendingPathComponent("tls/ca.pem").path, "-D", "-",
                "-d", "Action=ListUsers&Version=2010-05-08", "https://\(endpoint)/",
            ])
        #expect(curl.status == 0, "\(curl.errorOutput)")
        #expect(curl.output.hasPrefix("HTTP/1.1 403"), "\(curl.output)")
        #expect(curl.output.lowercased().contains("x-amzn-requestid: "))
        #expect(curl.output.contains("<Code>MissingAuthenticationToken</Code>"))
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit(timeout: .seconds(30))

        let off = try ChildProcess(
            try binary("iamd"),
            ["--port", "0", "--query-port", "off", "--data-dir", data.path, "--log-level", "notice"])
        _ = try await off.waitForLine(startingWith: "listening ")
        off.signal(SIGTERM)
        let output = try await off.waitForExit(timeout: .seconds(30))
        #expect(!output.output.contains("query listening"))
    }
}

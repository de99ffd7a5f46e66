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
        let line = try await daemon.waitForLine(startingWith: "query listening ", timeout: .seconds(300))
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
        _ = try await off.waitForLine(startingWith: "listening ", timeout: .seconds(300))
        off.signal(SIGTERM)
        let output = try await off.waitForExit(timeout: .seconds(30))
        #expect(!output.output.contains("query listening"))
    }

    /// curl with the development CA; `sigv4` signs with curl's own SigV4 (`--aws-sigv4`) as moto's test key.
    func curl(_ data: URL, _ endpoint: String, path: String = "/", form: String, sigv4 service: String? = nil)
        async throws -> ProcessOutput
    {
        var arguments = [
            "-s", "--http1.1", "--cacert", data.appendingPathComponent("tls/ca.pem").path, "-D", "-", "-d", form,
        ]
        if let service {
            arguments += ["--aws-sigv4", "aws:amz:us-east-1:\(service)", "--user", "FOOBARKEY:FOOBARSECRET"]
        }
        return try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/curl"), arguments + ["https://\(endpoint)\(path)"])
    }

    @Test("--test-mode: moto's key is root and POST /moto-api/reset empties the account; neither without the flag")
    func testMode() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iam-testmode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let daemon = try ChildProcess(
            try binary("iamd"),
            ["--port", "0", "--query-port", "0", "--data-dir", data.path, "--log-level", "notice", "--test-mode"])
        let line = try await daemon.waitForLine(startingWith: "query listening ", timeout: .seconds(300))
        let endpoint = String(line.dropFirst("query listening ".count))
        let created = try await curl(
            data, endpoint, form: "Action=CreateUser&Version=2010-05-08&UserName=alice", sigv4: "iam")
        #expect(created.output.hasPrefix("HTTP/1.1 200"), "\(created.output)")
        let reset = try await curl(data, endpoint, path: "/moto-api/reset", form: "")
        #expect(reset.output.hasPrefix("HTTP/1.1 200"), "\(reset.output)")
        let gone = try await curl(
            data, endpoint, form: "Action=GetUser&Version=2010-05-08&UserName=alice", sigv4: "iam")
        #expect(gone.output.hasPrefix("HTTP/1.1 404"), "\(gone.output)")
        #expect(gone.output.contains("<Code>NoSuchEntity</Code>"))
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit(timeout: .seconds(30))

        // The same data folder without the flag: the reset is an unsigned request and moto's key is unknown.
        let plain = try ChildProcess(
            try binary("iamd"), ["--port", "0", "--query-port", "0", "--data-dir", data.path, "--log-level", "notice"])
        let plainLine = try await plain.waitForLine(startingWith: "query listening ", timeout: .seconds(300))
        let plainEndpoint = String(plainLine.dropFirst("query listening ".count))
        let refused = try await curl(data, plainEndpoint, path: "/moto-api/reset", form: "")
        #expect(refused.output.hasPrefix("HTTP/1.1 403"), "\(refused.output)")
        #expect(refused.output.contains("<Code>MissingAuthenticationToken</Code>"))
        let unknown = try await curl(data, plainEndpoint, form: "Action=ListUsers&Version=2010-05-08", sigv4: "iam")
        #expect(unknown.output.hasPrefix("HTTP/1.1 403"), "\(unknown.output)")
        #expect(unknown.output.contains("<Code>InvalidClientTokenId</Code>"))
        plain.signal(SIGTERM)
        _ = try await plain.waitForExit(timeout: .seconds(30))
    }

    @Test("--test-mode is refused on a listener that is not loopback", arguments: ["0.0.0.0", "::", "10.1.2.3"])
    func testModeNeedsLoopback(_ host: String) async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("iam-testmode-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await ChildProcess.run(
            try binary("iamd"),
            ["--host", host, "--port", "0", "--query-port", "0", "--data-dir", data.path, "--test-mode"],
            timeout: .seconds(30))
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("--test-mode listens on a loopback address only"), "\(result.errorOutput)")
        #expect(!result.output.contains("listening"))
    }
}

import Foundation
import IAMTestSupport
import Testing

/// The real `iamd` and `iam` binaries as an operator runs them: TLS with certificates from the openssl recipe,
/// SCRAM authentication with the root key made on first start, and calls that reach the policy engine.
@Suite("iamd + iam end to end", .serialized)
struct DaemonEndToEndTests {
    let chain: TestCertificateChain
    let data: URL

    init() async throws {
        chain = try await TestCertificateChain.makeOffCooperativePool()
        data = URL(fileURLWithPath: chain.directory).appendingPathComponent("data")
    }

    static let allowS3 =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#
    static let denyDelete =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}"#

    func binary(_ name: String) throws -> URL {
        try #require(ChildProcess.builtExecutable(named: name), "\(name) must be built next to the test bundle")
    }

    func startDaemon() async throws -> (ChildProcess, String) {
        let daemon = try ChildProcess(
            try binary("iamd"),
            [
                "--port", "0", "--query-port", "0", "--data-dir", data.path, "--tls-cert", chain.serverCertificatePath,
                "--tls-key", chain.serverKeyPath, "--log-level", "notice",
            ]
        )
        let line = try await daemon.waitForLine(startingWith: "listening ")
        return (daemon, String(line.dropFirst("listening ".count)))
    }

    /// Runs `iam` with the root key's file as its credentials file, unless `environment` names a key (an
    /// explicit --credentials-file would win over the environment, as an explicit --profile does in the AWS CLI).
    func iam(_ arguments: [String], endpoint: String, ca: String? = nil, environment: [String: String] = [:])
        async throws -> ProcessOutput
    {
        let credentials =
            environment["IAM_ACCESS_KEY_ID"] == nil
            ? ["--credentials-file", data.appendingPathComponent("root-credentials.json").path] : []
        return try await ChildProcess.run(
            try binary("iam"),
            arguments + ["--endpoint", endpoint, "--ca-file", ca ?? chain.caCertificatePath] + credentials,
            environment: environment
        )
    }

    @Test("first start makes a root key; ping, simulate, bad credentials, bad trust, restart")
    func lifecycle() async throws {
        defer { try? chain.remove() }
        var (daemon, endpoint) = try await startDaemon()

        // The secret is handed over once, readable by the owner only, and the verifier file does not hold it.
        let rootFile = data.appendingPathComponent("root-credentials.json")
        let attributes = try FileManager.default.attributesOfItem(atPath: rootFile.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: rootFile)) as? [String: String]
        let secret = try #require(root?["secretAccessKey"])
        let keyID = try #require(root?["accessKeyId"])
        #expect(keyID.hasPrefix("AKIA") && keyID.count == 20)
        #expect(secret.count == 40)
        let verifiers = try String(contentsOf: data.appendingPathComponent("credentials.json"), encoding: .utf8)
        #expect(verifiers.contains(keyID))
        #expect(!verifiers.contains(secret))

        let ping = try await iam(["ping", "--payload-size", "2048"], endpoint: endpoint)
        #expect(ping.status == 0, "\(ping.errorOutput)")
        #expect(ping.output.hasPrefix("pong from \(endpoint)"))

        // Allowed from inside the CIDR, implicitly denied from outside it, explicitly denied for deletes.
        let policyArgs = ["simulate-custom-policy", "--policy-input-list", Self.allowS3, Self.denyDelete]
        let allowed = try await iam(
            policyArgs + [
                "--action-names", "s3:GetObject", "--resource-arns", "arn:aws:s3:::photos/cat.jpg",
                "--context-entries", "ContextKeyName=aws:SourceIp,ContextKeyValues=203.0.113.9,ContextKeyType=ip",
            ],
            endpoint: endpoint
        )
        #expect(allowed.status == 0, "\(allowed.errorOutput)")
        let allowedResult = try Self.results(allowed.output)
        #expect(allowedResult.first?["EvalDecision"] as? String == "allowed")
        let matched = allowedResult.first?["MatchedStatements"] as? [[String: Any]]
        #expect(matched?.first?["SourcePolicyId"] as? String == "PolicyInputList.1")
        #expect(matched?.first?["Sid"] as? String == "Read")

        let mixed = try await iam(
            policyArgs + [
                "--action-names", "s3:GetObject", "s3:DeleteObject", "--resource-arns", "arn:aws:s3:::photos/cat.jpg",
            ],
            endpoint: endpoint
        )
        // As with the AWS CLI, a simulation that answers exits 0 whatever it decided (`iam check` exits 1 on a deny).
        #expect(mixed.status == 0)
        let mixedResults = try Self.results(mixed.output)
        #expect(mixedResults.map { $0["EvalDecision"] as? String } == ["implicitDeny", "explicitDeny"])
        #expect((mixedResults[0]["MissingContextValues"] as? [String]) == ["aws:SourceIp"])

        let malformed = try await iam(
            [
                "simulate-custom-policy", "--policy-input-list",
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"a:b":"c"}}}]}"#,
                "--action-names", "s3:GetObject",
            ],
            endpoint: endpoint
        )
        #expect(malformed.status == 254)
        #expect(
            malformed.errorOutput.contains(
                "An error occurred (MalformedPolicyDocument) when calling the SimulateCustomPolicy operation"))
        #expect(malformed.errorOutput.contains("StringEqual"))

        // A wrong secret is refused by SCRAM; an unrelated CA is refused by TLS. Neither gets an answer.
        let wrongSecret = try await iam(
            ["ping"],
            endpoint: endpoint,
            environment: ["IAM_ACCESS_KEY_ID": keyID, "IAM_SECRET_ACCESS_KEY": String(secret.reversed())]
        )
        #expect(wrongSecret.status == 254)
        #expect(wrongSecret.errorOutput.contains("An error occurred (Unauthenticated) when calling the Ping operation"))
        let wrongCA = try await iam(["ping"], endpoint: endpoint, ca: chain.otherCACertificatePath)
        #expect(wrongCA.status == 255)
        #expect(wrongCA.errorOutput.contains("Could not connect to the endpoint URL"))

        // SIGTERM drains and exits cleanly; a restart keeps the same key and makes no new one.
        daemon.signal(SIGTERM)
        let exit = try await daemon.waitForExit(timeout: .seconds(30))
        #expect(exit.status == 0, "\(exit.errorOutput)")
        try FileManager.default.removeItem(at: rootFile)
        (daemon, endpoint) = try await startDaemon()
        #expect(!FileManager.default.fileExists(atPath: rootFile.path))
        let again = try await ChildProcess.run(
            try binary("iam"),
            ["ping", "--endpoint", endpoint, "--ca-file", chain.caCertificatePath],
            environment: ["IAM_ACCESS_KEY_ID": keyID, "IAM_SECRET_ACCESS_KEY": secret]
        )
        #expect(again.status == 0, "\(again.errorOutput)")
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit(timeout: .seconds(30))
    }

    @Test("iamd refuses to start without readable TLS material and says what to do")
    func missingCertificates() async throws {
        defer { try? chain.remove() }
        let result = try await ChildProcess.run(
            try binary("iamd"),
            [
                "--port", "0", "--query-port", "0", "--data-dir", data.path, "--tls-cert", "/nonexistent/server.pem",
                "--tls-key",
                "/nonexistent/k",
            ],
            timeout: .seconds(30)
        )
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("cannot read /nonexistent/server.pem"))
        // Half a pair is refused rather than silently replaced by development certificates.
        let half = try await ChildProcess.run(
            try binary("iamd"),
            ["--port", "0", "--query-port", "0", "--data-dir", data.path, "--tls-cert", chain.serverCertificatePath],
            timeout: .seconds(30)
        )
        #expect(half.status != 0)
        #expect(half.errorOutput.contains("--tls-cert and --tls-key go together"))
    }

    @Test("one iamd per data folder; its files are the owner's; a lost KEK, a bad port or log level stop the start")
    func operatorSafety() async throws {
        defer { try? chain.remove() }
        func run(_ arguments: [String]) async throws -> ProcessOutput {
            try await ChildProcess.run(
                try binary("iamd"),
                [
                    "--query-port", "0", "--data-dir", data.path, "--tls-cert", chain.serverCertificatePath,
                    "--tls-key",
                    chain.serverKeyPath,
                ] + arguments,
                timeout: .seconds(30))
        }
        let (daemon, endpoint) = try await startDaemon()
        let created = try await iam(["create-user", "--user-name", "alice"], endpoint: endpoint)
        #expect(created.status == 0, "\(created.errorOutput)")

        // A second server on the folder would keep its own snapshot (a key deleted through one would keep working
        // on the other): it is refused, and says why.
        let second = try await run(["--port", "0"])
        #expect(second.status == 1)
        #expect(second.errorOutput.contains("another iamd is serving this data folder"), "\(second.errorOutput)")
        #expect(!second.output.contains("listening"))

        for (path, mode) in [(data.path, 0o700), (data.appendingPathComponent("iam.sqlite").path, 0o600)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == mode, "\(path)")
        }

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit(timeout: .seconds(30)).status == 0)
        // The WAL was checkpointed at the clean shutdown: the database file alone holds the user.
        let wal = try? FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("iam.sqlite-wal").path)
        #expect(((wal?[.size] as? Int) ?? 0) == 0)

        // The folder was set up with a KEK; without it the sealed secrets are lost, so the start is refused.
        let kek = data.appendingPathComponent("kek")
        let kept = try Data(contentsOf: kek)
        try FileManager.default.removeItem(at: kek)
        let noKEK = try await run(["--port", "0"])
        #expect(noKEK.status == 1)
        #expect(noKEK.errorOutput.contains("kek is missing"), "\(noKEK.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: kek.path), "no new KEK is made in its place")
        try kept.write(to: kek)

        let badPort = try await run(["--port", "70000"])
        #expect(badPort.status == 1)
        #expect(badPort.errorOutput.contains("--port must be a port number from 0 to 65535"))
        let badLevel = try await run(["--port", "0", "--log-level", "verbose"])
        #expect(badLevel.status == 1)
        #expect(badLevel.errorOutput.contains("--log-level must be one of"))
    }

    @Test("iamd without the PostgreSQL store refuses a postgres:// store and names iamd-pg")
    func postgresStoreNeedsIAMDPostgres() async throws {
        defer { try? chain.remove() }
        let result = try await ChildProcess.run(
            try binary("iamd"),
            [
                "--port", "0", "--query-port", "off", "--data-dir", data.path, "--store",
                "postgres://iam@127.0.0.1:1/iam",
            ],
            timeout: .seconds(30)
        )
        #expect(result.status == 1)
        #expect(result.errorOutput.contains("iamd-pg"), "\(result.errorOutput)")
        // Refused before anything is made: no data folder, no root key.
        #expect(!FileManager.default.fileExists(atPath: data.path))
    }

    @Test("without --tls-cert/--tls-key iamd makes a development CA on first start and keeps it")
    func developmentCertificates() async throws {
        defer { try? chain.remove() }
        func start() async throws -> (ChildProcess, String) {
            let daemon = try ChildProcess(
                try binary("iamd"),
                ["--port", "0", "--query-port", "0", "--data-dir", data.path, "--log-level", "notice"])
            let line = try await daemon.waitForLine(startingWith: "listening ")
            return (daemon, String(line.dropFirst("listening ".count)))
        }
        var (daemon, endpoint) = try await start()
        let tls = data.appendingPathComponent("tls")
        let ca = tls.appendingPathComponent("ca.pem").path
        let keyAttributes = try FileManager.default.attributesOfItem(
            atPath: tls.appendingPathComponent("server.key").path)
        #expect((keyAttributes[.posixPermissions] as? Int) == 0o600)
        let firstCA = try String(contentsOfFile: ca, encoding: .utf8)

        // The client verifies the chain and the host name against the development CA.
        let ping = try await iam(["ping"], endpoint: endpoint, ca: ca)
        #expect(ping.status == 0, "\(ping.errorOutput)")
        // A client trusting another CA is refused, so the certificate really is what is checked.
        let untrusted = try await iam(["ping"], endpoint: endpoint, ca: chain.caCertificatePath)
        #expect(untrusted.status != 0)

        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit(timeout: .seconds(30))
        (daemon, endpoint) = try await start()
        #expect(try String(contentsOfFile: ca, encoding: .utf8) == firstCA, "a restart keeps the same CA")
        let again = try await iam(["ping"], endpoint: endpoint, ca: ca)
        #expect(again.status == 0, "\(again.errorOutput)")
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit(timeout: .seconds(30))
    }

    static func results(_ output: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return try #require(object?["EvaluationResults"] as? [[String: Any]])
    }
}

public import Foundation
public import IAMTLS

/// Runs blocking work (waiting for child processes, file I/O) on a new thread and suspends until it
/// finishes. Swift's cooperative pool has one thread per core, shared by every async test in the process:
/// a test that blocks one of them for seconds stalls every other test's Task, so timers on the event
/// loops fire while the Tasks that should answer them cannot run (issue 6: a 100 ms client deadline
/// that took 4.3 s to be seen, servers closing raw test connections on their handshake timeout).
public func runOffCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// A throwaway PKI for tests, made at run time with the `openssl` CLI in a temporary directory
/// (the recipe of `certs/openssl.cnf`): a CA, a server certificate for ``serverNames``, a
/// mutual-TLS client certificate, and the broken variants failure tests need.
///
/// All keys are EC P-256. Nothing is written outside ``directory``.
public struct TestCertificateChain: Sendable {
    /// The directory holding every file below.
    public var directory: String
    /// The names (DNS names or IP literals) the server certificates are issued for.
    public var serverNames: [String]
    /// The root CA certificate (PEM); trust roots for clients and for mTLS servers.
    public var caCertificatePath: String
    /// The server leaf for ``serverNames``, signed by the CA.
    public var serverCertificatePath: String
    /// The server's private key (shared by every server variant below).
    public var serverKeyPath: String
    /// A client leaf (`CN=iam-test-client`, `clientAuth`), signed by the CA.
    public var clientCertificatePath: String
    /// The client's private key.
    public var clientKeyPath: String
    /// A server leaf for ``serverNames`` signed by the CA whose validity ended a day before it began.
    public var expiredServerCertificatePath: String
    /// A server leaf signed by the CA for `wrong.example.com` only.
    public var wrongHostServerCertificatePath: String
    /// A second, unrelated root CA.
    public var otherCACertificatePath: String
    /// A server leaf for ``serverNames`` signed by the unrelated CA (key: ``serverKeyPath``).
    public var otherCAServerCertificatePath: String
    /// A client leaf signed by the unrelated CA.
    public var otherCAClientCertificatePath: String
    /// The private key of ``otherCAClientCertificatePath``.
    public var otherCAClientKeyPath: String

    /// The host name ``wrongHostServerCertificatePath`` is issued for.
    public static let wrongHostName = "wrong.example.com"
    /// The subject of ``clientCertificatePath`` in RFC 2253 form.
    public static let clientSubject = "CN=iam-test-client,O=swift-iam test"

    /// Runs the recipe. `directory` defaults to a fresh folder under the temporary directory;
    /// `openssl` is the CLI to run. Throws ``CertificateGenerationError`` with openssl's stderr.
    public static func make(
        in directory: URL? = nil,
        serverNames: [String] = ["localhost", "127.0.0.1"],
        openssl: String = "openssl"
    ) throws -> TestCertificateChain {
        let dir =
            directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("iam-certs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let runner = OpenSSLRunner(directory: dir, executable: openssl)
        try Data(recipe.utf8).write(to: dir.appendingPathComponent("openssl.cnf"))

        let serverSAN = serverNames.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        guard !serverNames.isEmpty else {
            throw CertificateGenerationError(message: "serverNames must not be empty")
        }
        for key in ["ca.key", "other-ca.key", "server.key", "client.key", "other-client.key"] {
            try runner.run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        }
        try runner.makeCA(key: "ca.key", subject: "/O=swift-iam test/CN=swift-iam test CA", output: "ca.pem")
        try runner.makeCA(key: "other-ca.key", subject: "/O=unrelated/CN=unrelated test CA", output: "other-ca.pem")

        try runner.run(
            [
                "req", "-config", "openssl.cnf", "-new", "-key", "server.key", "-subj",
                "/O=swift-iam test/CN=\(serverNames[0])", "-out", "server.csr",
            ], san: serverSAN)
        try runner.sign("server.csr", ca: "ca", profile: "v3_server", san: serverSAN, days: 30, output: "server.pem")
        try runner.sign("server.csr", ca: "ca", profile: "v3_server", san: serverSAN, days: -1, output: "expired.pem")
        try runner.sign(
            "server.csr", ca: "other-ca", profile: "v3_server", san: serverSAN, days: 30, output: "other-ca-server.pem")
        try runner.run(
            [
                "req", "-config", "openssl.cnf", "-new", "-key", "server.key", "-subj",
                "/O=swift-iam test/CN=\(wrongHostName)", "-out", "wrong.csr",
            ], san: serverSAN)
        try runner.sign(
            "wrong.csr", ca: "ca", profile: "v3_server", san: "DNS:\(wrongHostName)", days: 30, output: "wrong-host.pem"
        )

        try runner.run(
            [
                "req", "-config", "openssl.cnf", "-new", "-key", "client.key", "-subj",
                "/O=swift-iam test/CN=iam-test-client", "-out", "client.csr",
            ], san: serverSAN)
        try runner.sign("client.csr", ca: "ca", profile: "v3_client", san: serverSAN, days: 30, output: "client.pem")
        try runner.run(
            [
                "req", "-config", "openssl.cnf", "-new", "-key", "other-client.key", "-subj",
                "/O=unrelated/CN=intruder", "-out", "other-client.csr",
            ], san: serverSAN)
        try runner.sign(
            "other-client.csr", ca: "other-ca", profile: "v3_client", san: serverSAN, days: 30,
            output: "other-ca-client.pem")

        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        return TestCertificateChain(
            directory: dir.path,
            serverNames: serverNames,
            caCertificatePath: path("ca.pem"),
            serverCertificatePath: path("server.pem"),
            serverKeyPath: path("server.key"),
            clientCertificatePath: path("client.pem"),
            clientKeyPath: path("client.key"),
            expiredServerCertificatePath: path("expired.pem"),
            wrongHostServerCertificatePath: path("wrong-host.pem"),
            otherCACertificatePath: path("other-ca.pem"),
            otherCAServerCertificatePath: path("other-ca-server.pem"),
            otherCAClientCertificatePath: path("other-ca-client.pem"),
            otherCAClientKeyPath: path("other-client.key")
        )
    }

    /// One chain per test process, made on first use (about 15 openssl runs) and shared.
    ///
    /// From async code call ``loadShared()`` instead: the first call blocks for seconds, and every other
    /// caller blocks behind it, which on a 2-core machine holds every cooperative thread (issue 6).
    public static func shared() throws -> TestCertificateChain {
        try sharedChain.get()
    }

    /// ``shared()`` waited for on a thread of its own, so the first use (and everyone waiting for it)
    /// holds no cooperative thread.
    public static func loadShared() async throws -> TestCertificateChain {
        try await runOffCooperativePool { try shared() }
    }

    /// ``make(in:serverNames:openssl:)`` on a thread of its own (it waits for openssl processes).
    public static func makeOffCooperativePool(
        serverNames: [String] = ["localhost", "127.0.0.1"]
    ) async throws -> TestCertificateChain {
        try await runOffCooperativePool { try make(serverNames: serverNames) }
    }

    private static let sharedChain = Result { try TestCertificateChain.make() }

    /// A server configuration presenting the valid server certificate; with
    /// `requireClientCertificate`, clients must present a certificate issued by the CA.
    public func serverConfiguration(requireClientCertificate: Bool = false) -> TLSConfiguration {
        var configuration = TLSConfiguration.server(
            certificateChainPath: self.serverCertificatePath,
            privateKeyPath: self.serverKeyPath
        )
        if requireClientCertificate {
            configuration.trustRootsPath = self.caCertificatePath
            configuration.requireClientCertificate = true
        }
        return configuration
    }

    /// A client configuration trusting the CA and expecting `serverName` (default: the first of
    /// ``serverNames``); with `presentClientCertificate` it also presents the client certificate.
    public func clientConfiguration(
        serverName: String? = nil,
        presentClientCertificate: Bool = false
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration.client(
            trustRootsPath: self.caCertificatePath,
            serverName: serverName ?? self.serverNames.first
        )
        if presentClientCertificate {
            configuration.certificateChainPath = self.clientCertificatePath
            configuration.privateKeyPath = self.clientKeyPath
        }
        return configuration
    }

    /// Deletes ``directory`` and everything in it.
    public func remove() throws {
        try FileManager.default.removeItem(atPath: self.directory)
    }

    private static func isIPAddress(_ name: String) -> Bool {
        name.contains(":") || (name.split(separator: ".").count == 4 && name.allSatisfy { $0.isNumber || $0 == "." })
    }

    // The text of certs/openssl.cnf (kept identical; IAM_SAN is set per command).
    private static let recipe = """
        [ req ]
        distinguished_name = dn
        prompt             = no

        [ dn ]
        CN = placeholder

        [ v3_ca ]
        basicConstraints     = critical, CA:true, pathlen:0
        keyUsage             = critical, keyCertSign, cRLSign
        subjectKeyIdentifier = hash

        [ v3_server ]
        basicConstraints       = critical, CA:false
        keyUsage               = critical, digitalSignature
        extendedKeyUsage       = serverAuth
        subjectKeyIdentifier   = hash
        authorityKeyIdentifier = keyid
        subjectAltName         = $ENV::IAM_SAN

        [ v3_client ]
        basicConstraints       = critical, CA:false
        keyUsage               = critical, digitalSignature
        extendedKeyUsage       = clientAuth
        subjectKeyIdentifier   = hash
        authorityKeyIdentifier = keyid

        """
}

/// The openssl CLI failed while making a ``TestCertificateChain``.
public struct CertificateGenerationError: Error, CustomStringConvertible, Sendable {
    /// What failed, with openssl's stderr.
    public var message: String
    /// The message.
    public var description: String { "certificate generation failed: \(self.message)" }
}

private struct OpenSSLRunner {
    let directory: URL
    let executable: String

    func makeCA(key: String, subject: String, output: String) throws {
        try self.run([
            "req", "-config", "openssl.cnf", "-x509", "-new", "-key", key, "-subj", subject,
            "-extensions", "v3_ca", "-days", "30", "-sha256", "-out", output,
        ])
    }

    /// Signs `csr` with `ca`.pem/`ca`.key; a negative `days` makes a certificate that expired before
    /// it began (OpenSSL 3 accepts `-days -1`), i.e. one no verifier will accept as current.
    func sign(_ csr: String, ca: String, profile: String, san: String, days: Int, output: String) throws {
        try self.run(
            [
                "x509", "-req", "-in", csr, "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                "-set_serial", "0x" + Crypto.randomBytes(16).map { String($0, radix: 16) }.joined().prefix(30),
                "-days", String(days), "-sha256", "-extfile", "openssl.cnf", "-extensions", profile, "-out", output,
            ],
            san: san
        )
    }

    /// Runs openssl in `directory`, bounded to 30 seconds, and throws with its stderr on failure.
    func run(_ arguments: [String], san: String = "DNS:localhost") throws {
        var environment = ProcessInfo.processInfo.environment
        environment["IAM_SAN"] = san
        environment["OPENSSL_CONF"] = self.directory.appendingPathComponent("openssl.cnf").path
        let output: SpawnedProcess.Output
        do {
            output = try SpawnedProcess.run(
                "/usr/bin/env", [self.executable] + arguments, workingDirectory: self.directory.path,
                environment: environment, timeout: 30)
        } catch {
            throw CertificateGenerationError(message: "openssl \(arguments.joined(separator: " ")): \(error)")
        }
        guard output.status == 0 else {
            throw CertificateGenerationError(
                message: "openssl \(arguments.joined(separator: " ")) exited \(output.status): \(output.errorText)"
            )
        }
    }
}

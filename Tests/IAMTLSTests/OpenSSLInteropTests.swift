import IAMTLS
import IAMTestSupport
import NIOCore
import Testing

/// IAMTLS against another implementation: the `openssl s_client` and `s_server` tools.
@Suite("TLS interop with the openssl CLI")
struct OpenSSLInteropTests {
    let chain: TestCertificateChain

    init() async throws { self.chain = try await TestCertificateChain.loadShared() }

    private func sClient(port: Int, _ extra: [String], input: String) throws -> OpenSSLProcess {
        // -ign_eof: keep the connection after stdin ends, until our server closes it with QUIT.
        try OpenSSLProcess(
            [
                "s_client", "-connect", "127.0.0.1:\(port)", "-ign_eof", "-CAfile", self.chain.caCertificatePath,
                "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost",
            ] + extra,
            input: input
        )
    }

    // MARK: s_client -> IAMTLS server

    @Test(arguments: [
        ("-tls1_3", "TLSv1.3", "TLS_AES_128_GCM_SHA256"), ("-tls1_2", "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
    ])
    func sClientTalksToOurServer(flag: String, version: String, cipher: String) async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration())
        let client = try self.sClient(
            port: server.port, [flag, "-alpn", "iam/1"], input: "hello from s_client\nQUIT\n")
        let output = try await client.waitForExit()
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("hello from s_client"))
        #expect(output.stdout.contains("ALPN protocol: iam/1"))
        #expect(output.stdout.contains(version))
        #expect(output.stdout.contains("Cipher is \(cipher)"), "\(output.stdout)")
        #expect(output.stdout.contains("Verify return code: 0 (ok)"))
        // Our server closed with close_notify; s_client saw an orderly close, we saw no error.
        #expect(server.errors.all.isEmpty, "\(server.errors.all)")
        try await server.stop()
    }

    /// TLS 1.3 KeyUpdate from the peer: "K" asks us to update our keys too, so the reply is produced
    /// inside SSL_read and must be sent even though the application wrote nothing.
    @Test(arguments: ["k", "K"])
    func keyUpdateFromSClient(command: String) async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration())
        // s_client reads commands only without -ign_eof, and then quits at stdin's EOF: keep it open.
        let client = try OpenSSLProcess(
            [
                "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", self.chain.caCertificatePath,
                "-verify_return_error", "-verify_hostname", "localhost", "-tls1_3", "-alpn", "iam/1",
            ],
            input: "before update\n",
            holdInputOpen: true
        )
        _ = try await client.waitForStdout(matching: "before update")
        try client.send(command + "\n")
        _ = try await client.waitForStdout(matching: "KEYUPDATE", timeout: .milliseconds(300))
        try client.send("after update\nQUIT\n")
        let output = try await client.waitForExit()
        #expect(output.status == 0, "\(output.stderr)")
        #expect((output.stdout + output.stderr).contains("KEYUPDATE"), "\(output.stdout)")
        #expect(!output.stdout.contains("\n\(command)\n"))  // taken as a command, not sent as data
        #expect(output.stdout.contains("before update"))
        #expect(output.stdout.contains("after update"))
        #expect(server.errors.all.isEmpty, "\(server.errors.all)")
        try await server.stop()
    }

    /// TLS 1.2 renegotiation is disabled: a client's renegotiation attempt is refused and the
    /// server goes on serving others.
    @Test func tls12RenegotiationIsRefused() async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration())
        let client = try OpenSSLProcess(
            [
                "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", self.chain.caCertificatePath,
                "-verify_return_error", "-verify_hostname", "localhost", "-tls1_2", "-alpn", "iam/1",
            ],
            input: "before renegotiation\n",
            holdInputOpen: true
        )
        _ = try await client.waitForStdout(matching: "before renegotiation")
        try client.send("R\n")
        _ = try await client.waitForStdout(matching: "RENEGOTIATING", timeout: .milliseconds(300))
        try? client.send("after renegotiation\nQUIT\n")  // s_client may be gone already
        let output = try await client.waitForExit()
        // Our server answers the renegotiation ClientHello with a no_renegotiation alert; s_client
        // gives up with a handshake_failure alert, which ends the connection on our side too.
        #expect(output.status != 0)
        #expect(output.stderr.contains("no renegotiation"), "\(output.stderr)")
        #expect(!output.stdout.contains("after renegotiation"))
        #expect(try await server.waitForErrors(1) == [.connectionFailed])
        try await self.expectServerStillServes(server)
        try await server.stop()
    }

    /// TLS 1.2 is limited to ECDHE key exchange with AEAD ciphers: ChaCha20 is accepted, CBC and
    /// static-RSA suites are refused.
    @Test(arguments: [
        ("ECDHE-ECDSA-CHACHA20-POLY1305", true), ("ECDHE-ECDSA-AES256-GCM-SHA384", true),
        ("ECDHE-ECDSA-AES128-SHA", false), ("ECDHE-ECDSA-AES256-SHA384", false), ("AES128-GCM-SHA256", false),
    ])
    func tls12CipherPolicy(cipher: String, accepted: Bool) async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration())
        let client = try self.sClient(
            port: server.port,
            ["-tls1_2", "-cipher", cipher, "-alpn", "iam/1"],
            input: "cipher check\nQUIT\n"
        )
        let output = try await client.waitForExit()
        if accepted {
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout.contains("Cipher is \(cipher)"))
            #expect(server.errors.all.isEmpty)
        } else {
            #expect(output.status != 0)
            #expect(!output.stdout.contains("cipher check"))
            #expect(try await server.waitForErrors(1) == [.handshakeFailed])
            #expect(server.errors.all.first?.message.contains("no shared cipher") == true, "\(server.errors.all)")
        }
        try await server.stop()
    }

    @Test func tls11ClientIsRefused() async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration())
        // SECLEVEL=0 lets this OpenSSL build offer TLS 1.1 at all, so the refusal is our server's.
        let client = try self.sClient(
            port: server.port,
            ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
            input: "should not arrive\nQUIT\n"
        )
        let output = try await client.waitForExit()
        #expect(output.status != 0)
        #expect(!output.stdout.contains("should not arrive"))
        #expect(try await server.waitForErrors(1) == [.unsupportedProtocolVersion])
        #expect(server.errors.all.first?.message.contains("unsupported protocol") == true)
        try await self.expectServerStillServes(server)
        try await server.stop()
    }

    @Test func sClientWithOtherALPNIsRefused() async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration())
        let client = try self.sClient(port: server.port, ["-alpn", "h2"], input: "x\nQUIT\n")
        let output = try await client.waitForExit()
        #expect(output.status != 0)
        #expect(output.stderr.contains("no application protocol"), "\(output.stderr)")
        #expect(try await server.waitForErrors(1) == [.alpnMismatch])
        try await self.expectServerStillServes(server)
        try await server.stop()
    }

    @Test func sClientMutualTLS() async throws {
        let server = try await LoopbackServer.start(self.chain.serverConfiguration(requireClientCertificate: true))
        let withCertificate = try self.sClient(
            port: server.port,
            ["-cert", self.chain.clientCertificatePath, "-key", self.chain.clientKeyPath],
            input: "client with certificate\nQUIT\n"
        )
        let good = try await withCertificate.waitForExit()
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("client with certificate"))

        let withoutCertificate = try self.sClient(port: server.port, [], input: "anonymous client\nQUIT\n")
        let bad = try await withoutCertificate.waitForExit()
        #expect(!bad.stdout.contains("anonymous client\n"))
        #expect(try await server.waitForErrors(1) == [.peerCertificateRequired])
        try await server.stop()
    }

    // MARK: IAMTLS client -> s_server

    @Test(arguments: [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")])
    func ourClientTalksToSServer(flag: String, version: String) async throws {
        let (sServer, port) = try await OpenSSLProcess.startServer([
            "-cert", self.chain.serverCertificatePath, "-key", self.chain.serverKeyPath,
            "-rev", "-naccept", "1", "-alpn", "iam/1", flag,
        ])
        // s_server -rev answers each line reversed.
        let (event, received) = try await runClient(
            port: port,
            self.chain.clientConfiguration(),
            payload: ByteBuffer(string: "hello\n"),
            expectedBytes: 6
        )
        #expect(String(buffer: received) == "olleh\n")
        #expect(
            event
                == .handshakeCompleted(
                    negotiatedALPN: "iam/1",
                    version: version,
                    peerCertificateSubject: "CN=localhost,O=swift-iam test"
                )
        )
        _ = sServer
    }

    /// SNI carries DNS names only: RFC 6066 forbids IP literals in server_name.
    @Test(arguments: [("localhost", true), ("127.0.0.1", false)])
    func sniIsSentForDNSNamesOnly(serverName: String, expectSNI: Bool) async throws {
        let (sServer, port) = try await OpenSSLProcess.startServer([
            "-cert", self.chain.serverCertificatePath, "-key", self.chain.serverKeyPath,
            "-rev", "-naccept", "1", "-alpn", "iam/1", "-tlsextdebug",
        ])
        _ = try await runClient(
            port: port,
            self.chain.clientConfiguration(serverName: serverName),
            payload: ByteBuffer(string: "sni\n"),
            expectedBytes: 4
        )
        let output = try await sServer.waitForExit()
        #expect(output.stdout.contains("TLS client extension \"server name\"") == expectSNI, "\(output.stdout)")
    }

    @Test func ourClientPresentsCertificateToSServer() async throws {
        let (sServer, port) = try await OpenSSLProcess.startServer([
            "-cert", self.chain.serverCertificatePath, "-key", self.chain.serverKeyPath,
            "-rev", "-naccept", "1", "-alpn", "iam/1", "-Verify", "1", "-CAfile", self.chain.caCertificatePath,
            "-verify_return_error",
        ])
        let (_, received) = try await runClient(
            port: port,
            self.chain.clientConfiguration(presentClientCertificate: true),
            payload: ByteBuffer(string: "mutual\n"),
            expectedBytes: 7
        )
        #expect(String(buffer: received) == "lautum\n")
        _ = sServer
    }

    @Test func ourClientRejectsSServerWithUntrustedCertificate() async throws {
        let (sServer, port) = try await OpenSSLProcess.startServer([
            "-cert", self.chain.otherCAServerCertificatePath, "-key", self.chain.serverKeyPath,
            "-rev", "-naccept", "1", "-alpn", "iam/1",
        ])
        let error = await #expect(throws: TLSError.self) {
            _ = try await runClient(
                port: port,
                self.chain.clientConfiguration(),
                payload: ByteBuffer(string: "secret\n"),
                expectedBytes: 7
            )
        }
        #expect(error?.code == .certificateVerifyFailed)
        _ = sServer
    }

    @Test func ourClientRequiresALPNFromSServer() async throws {
        // s_server without -alpn ignores the extension, so no protocol is selected.
        let (sServer, port) = try await OpenSSLProcess.startServer([
            "-cert", self.chain.serverCertificatePath, "-key", self.chain.serverKeyPath, "-rev", "-naccept", "1",
        ])
        let error = await #expect(throws: TLSError.self) {
            _ = try await runClient(
                port: port, self.chain.clientConfiguration(), payload: ByteBuffer(), expectedBytes: 0)
        }
        #expect(error?.code == .alpnMismatch)
        _ = sServer
    }

    private func expectServerStillServes(_ server: LoopbackServer) async throws {
        let (_, received) = try await runClient(
            port: server.port,
            self.chain.clientConfiguration(),
            payload: ByteBuffer(string: "next client"),
            expectedBytes: 11
        )
        #expect(String(buffer: received) == "next client")
    }
}

import Foundation
import IAMTLS
import Testing

/// The development PKI iamd makes on first start, checked by another implementation (the `openssl` CLI).
@Suite struct DevelopmentCertificatesTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("iam-devpki-\(UUID().uuidString)")

    @Test func opensslVerifiesTheChainAndNames() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try DevelopmentCertificates.ensure(in: directory, serverNames: ["localhost", "127.0.0.1", "::1"])
        #expect(files.exist)

        let verify = try await OpenSSLProcess([
            "verify", "-CAfile", files.caCertificatePath, files.serverCertificatePath,
        ])
        .waitForExit()
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains(": OK"))
        for (flag, name) in [("-verify_hostname", "localhost"), ("-verify_ip", "127.0.0.1"), ("-verify_ip", "::1")] {
            let named = try await OpenSSLProcess([
                "verify", "-CAfile", files.caCertificatePath, "-purpose", "sslserver", flag, name,
                files.serverCertificatePath,
            ]).waitForExit()
            #expect(named.status == 0, "\(name): \(named.stderr)")
        }
        let wrong = try await OpenSSLProcess([
            "verify", "-CAfile", files.caCertificatePath, "-verify_hostname", "example.com",
            files.serverCertificatePath,
        ]).waitForExit()
        #expect(wrong.status != 0, "a name the certificate was not issued for must not verify")

        let key = try FileManager.default.attributesOfItem(atPath: files.serverKeyPath)
        #expect((key[.posixPermissions] as? Int) == 0o600)
        let keyText = try String(contentsOfFile: files.serverKeyPath, encoding: .utf8)
        #expect(keyText.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        // server.pem is the chain (leaf, then CA) and the CA's key is not kept anywhere.
        let chain = try String(contentsOfFile: files.serverCertificatePath, encoding: .utf8)
        #expect(chain.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["ca.pem", "server.key", "server.pem"])
    }

    @Test func ensureKeepsAnExistingPKI() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try DevelopmentCertificates.ensure(in: directory)
        let ca = try Data(contentsOf: URL(fileURLWithPath: first.caCertificatePath))
        let second = try DevelopmentCertificates.ensure(in: directory)
        #expect(try Data(contentsOf: URL(fileURLWithPath: second.caCertificatePath)) == ca)
        // With a file missing it starts over: a chain is never made of pieces of two PKIs.
        try FileManager.default.removeItem(atPath: first.serverKeyPath)
        let third = try DevelopmentCertificates.ensure(in: directory)
        #expect(third.exist)
        #expect(try Data(contentsOf: URL(fileURLWithPath: third.caCertificatePath)) != ca)
    }

    @Test func refusesNamesOpenSSLWouldMisread() {
        #expect(throws: TLSError.self) {
            _ = try DevelopmentCertificates.ensure(in: directory, serverNames: ["a,IP:10.0.0.1"])
        }
        #expect(throws: TLSError.self) { _ = try DevelopmentCertificates.ensure(in: directory, serverNames: []) }
    }
}

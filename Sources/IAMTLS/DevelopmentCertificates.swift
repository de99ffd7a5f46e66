internal import COpenSSL
public import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// A development PKI made through OpenSSL's API (no `openssl` executable needed): a CA and a TLS
/// server certificate signed by it, both EC P-256, for the names a local server answers to.
///
/// `iamd` makes one in `<data-dir>/tls/` on its first start when no certificate is configured, so a
/// fresh machine needs nothing but the binary. Clients trust `ca.pem`. The CA's private key is not
/// kept: a development server never issues a second certificate, and a CA key on disk is one more
/// secret to leak. To re-issue, delete the folder.
public struct DevelopmentCertificates: Sendable {
    /// The CA certificate clients trust (`ca.pem`).
    public var caCertificatePath: String
    /// The server certificate chain: leaf then CA (`server.pem`).
    public var serverCertificatePath: String
    /// The server's private key (`server.key`, mode 0600).
    public var serverKeyPath: String

    /// The files in `directory`, whether or not they exist yet.
    public init(directory: URL) {
        caCertificatePath = directory.appendingPathComponent("ca.pem").path
        serverCertificatePath = directory.appendingPathComponent("server.pem").path
        serverKeyPath = directory.appendingPathComponent("server.key").path
    }

    /// True when all three files exist.
    public var exist: Bool {
        [caCertificatePath, serverCertificatePath, serverKeyPath].allSatisfy {
            FileManager.default.fileExists(atPath: $0)
        }
    }

    /// Returns the PKI in `directory`, making it first when any file is missing. `serverNames` are DNS
    /// names or IP literals for the server certificate's subjectAltName; `days` its validity.
    public static func ensure(
        in directory: URL,
        serverNames: [String] = ["localhost", "127.0.0.1", "::1"],
        days: Int = 825
    ) throws(TLSError) -> DevelopmentCertificates {
        let files = DevelopmentCertificates(directory: directory)
        if files.exist { return files }
        guard !serverNames.isEmpty, serverNames.allSatisfy({ !$0.isEmpty && !$0.contains(",") }) else {
            throw TLSError(
                code: .invalidConfiguration,
                message: "development certificate names must be non-empty and contain no commas")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TLSError(code: .invalidConfiguration, message: "cannot create \(directory.path): \(error)")
        }
        var caKey: OpaquePointer?
        var caCertificate: OpaquePointer?
        let ca = try make(commonName: "swift-iam development CA", isCA: true, san: nil, days: days * 2) {
            iam_make_certificate($0, 1, nil, Int32(days * 2), nil, nil, $1, $2, &caKey, &caCertificate)
        }
        defer {
            EVP_PKEY_free(caKey)
            X509_free(caCertificate)
        }
        let san = serverNames.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        let server = try make(commonName: serverNames[0], isCA: false, san: san, days: days) {
            iam_make_certificate($0, 0, san, Int32(days), caKey, caCertificate, $1, $2, nil, nil)
        }
        // The key first and the CA last: `exist` is only true once every file is complete.
        try write(server.key, to: files.serverKeyPath, mode: 0o600)
        try write(server.certificate + ca.certificate, to: files.serverCertificatePath, mode: 0o644)
        try write(ca.certificate, to: files.caCertificatePath, mode: 0o644)
        return files
    }

    private static func make(
        commonName: String,
        isCA: Bool,
        san: String?,
        days: Int,
        _ call: (
            UnsafePointer<CChar>, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
            UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
        ) -> Int32
    ) throws(TLSError) -> (certificate: String, key: String) {
        var certificatePEM: UnsafeMutablePointer<CChar>?
        var keyPEM: UnsafeMutablePointer<CChar>?
        let ok = commonName.withCString { call($0, &certificatePEM, &keyPEM) }
        defer {
            iam_free(certificatePEM)
            iam_free(keyPEM)
        }
        guard ok == 1, let certificatePEM, let keyPEM else {
            throw TLSError.fromErrorQueue(.invalidConfiguration, "making the development certificate for \(commonName)")
        }
        return (String(cString: certificatePEM), String(cString: keyPEM))
    }

    private static func write(_ text: String, to path: String, mode: Int) throws(TLSError) {
        let temporary = path + ".tmp"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        else { throw TLSError(code: .invalidConfiguration, message: "cannot write \(temporary)") }
        // rename(2) is atomic and replaces an existing file (FileManager.replaceItemAt needs one to exist).
        guard rename(temporary, path) == 0 else {
            throw TLSError(code: .invalidConfiguration, message: "cannot move \(temporary) to \(path): errno \(errno)")
        }
    }

    private static func isIPAddress(_ name: String) -> Bool {
        name.contains(":") || name.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
    }
}

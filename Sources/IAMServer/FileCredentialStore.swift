public import Foundation
#if canImport(Glibc)
    import Glibc
#endif
public import IAMRPC
import IAMTLS

/// Access keys kept in a JSON file of SCRAM verifiers (salt, iterations, StoredKey, ServerKey), never
/// secrets: whoever reads the file still cannot authenticate. The file is read once at start.
///
/// It holds the account's root keys (every other key lives in the store); the root access key is
/// created on first start (``FileCredentialStore/bootstrap(in:)``).
public struct FileCredentialStore: CredentialStore {
    private let credentials: [String: SCRAMCredential]
    /// The root keys' secrets sealed under the KEK (``SecretSealer``), by access key id, for SigV4.
    public let sealedSecrets: [String: [UInt8]]

    /// The access key ids the store knows.
    public var accessKeyIDs: [String] { credentials.keys.sorted() }

    /// Loads `url`.
    public init(contentsOf url: URL) throws {
        let file = try JSONDecoder().decode(CredentialFile.self, from: Data(contentsOf: url))
        var credentials: [String: SCRAMCredential] = [:]
        var sealed: [String: [UInt8]] = [:]
        for key in file.keys {
            if let text = key.sealedSecret, let bytes = Data(base64Encoded: text) {
                sealed[key.accessKeyId] = Array(bytes)
            }
            guard let salt = Data(base64Encoded: key.salt), let stored = Data(base64Encoded: key.storedKey),
                let server = Data(base64Encoded: key.serverKey), key.iterations >= SCRAMCredential.defaultIterations
            else {
                throw DaemonError("credential file \(url.path): key \(key.accessKeyId) is malformed")
            }
            credentials[key.accessKeyId] = SCRAMCredential(
                salt: Array(salt),
                iterations: key.iterations,
                storedKey: Array(stored),
                serverKey: Array(server)
            )
        }
        self.credentials = credentials
        self.sealedSecrets = sealed
    }

    /// Seals the root secret for SigV4 where the credential file has no sealed copy yet and
    /// `root-credentials.json` (written on first start, until the operator deletes it) still holds it.
    /// Returns the reloaded store. Keys whose secret is gone keep working over SCRAM only.
    public static func sealRootSecrets(in directory: URL, sealer: SecretSealer) throws -> FileCredentialStore {
        let url = directory.appendingPathComponent("credentials.json")
        var file = try JSONDecoder().decode(CredentialFile.self, from: Data(contentsOf: url))
        let rootURL = directory.appendingPathComponent("root-credentials.json")
        guard let data = try? Data(contentsOf: rootURL),
            let root = try? JSONDecoder().decode(RootCredentials.self, from: data)
        else { return try FileCredentialStore(contentsOf: url) }
        var changed = false
        for index in file.keys.indices
        where file.keys[index].accessKeyId == root.accessKeyId
            && (file.keys[index].sealedSecret.flatMap { Data(base64Encoded: $0) }.map {
                sealer.unseal(Array($0), accessKeyID: root.accessKeyId, purpose: .root) == nil
            } ?? true)
        {
            file.keys[index].sealedSecret = Data(
                sealer.seal(root.secretAccessKey, accessKeyID: root.accessKeyId, purpose: .root)
            ).base64EncodedString()
            changed = true
        }
        if changed {
            try writePrivate(Self.fileEncoder().encode(file), to: url)
        }
        return try FileCredentialStore(contentsOf: url)
    }

    /// The SCRAM verifier of `accessKeyID`, if the file has it.
    public func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential? {
        credentials[accessKeyID]
    }

    /// The verifier of `accessKeyID` without suspending: the file was read at start.
    public func immediateCredential(forAccessKeyID accessKeyID: String) -> ImmediateCredentialLookup {
        credentials[accessKeyID].map { .found($0) } ?? .notFound
    }

    /// How the credential files are written: readable, stable, and with slashes as they are (an operator copies
    /// the root secret out of `root-credentials.json` by hand, and JSON's `\/` for a secret's `/` is not part of it).
    private static func fileEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A new access key pair in AWS's shapes: a 20-character id `AKIA` + 16 characters of
    /// `[A-Z2-7]`, and a 40-character secret of base64 characters, both from OpenSSL's RAND_bytes.
    public static func makeAccessKey() -> (accessKeyID: String, secretAccessKey: String) {
        let base32 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let id = "AKIA" + String(Crypto.randomBytes(16).map { base32[Int($0 & 31)] })
        let secret = String(Data(Crypto.randomBytes(30)).base64EncodedString().prefix(40))
        return (id, secret)
    }

    /// Makes sure `directory` holds a credential file; on first start creates a root access key, stores
    /// its verifier in `credentials.json` and its secret in `root-credentials.json` (mode 0600) so the
    /// operator can pick it up once. Returns the store and, when it was just created, the new key.
    public static func bootstrap(in directory: URL) throws -> (
        store: FileCredentialStore, created: (accessKeyID: String, secretAccessKey: String)?
    ) {
        let file = directory.appendingPathComponent("credentials.json")
        if FileManager.default.fileExists(atPath: file.path) {
            return (try FileCredentialStore(contentsOf: file), nil)
        }
        let key = makeAccessKey()
        let credential = SCRAMCredential.derive(secret: key.secretAccessKey)
        let contents = CredentialFile(keys: [
            .init(
                accessKeyId: key.accessKeyID,
                salt: Data(credential.salt).base64EncodedString(),
                iterations: credential.iterations,
                storedKey: Data(credential.storedKey).base64EncodedString(),
                serverKey: Data(credential.serverKey).base64EncodedString()
            )
        ])
        let encoder = Self.fileEncoder()
        let root = RootCredentials(accessKeyId: key.accessKeyID, secretAccessKey: key.secretAccessKey)
        try writePrivate(encoder.encode(root), to: directory.appendingPathComponent("root-credentials.json"))
        // The verifier file last: its presence is what marks the bootstrap as done.
        try writePrivate(encoder.encode(contents), to: file)
        return (try FileCredentialStore(contentsOf: file), key)
    }

    private static func writePrivate(_ data: Data, to url: URL) throws {
        let temporary = url.appendingPathExtension("tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw DaemonError("cannot write \(temporary.path)") }
        // rename(2) is atomic and replaces an existing file (FileManager.replaceItemAt needs one to exist).
        guard rename(temporary.path, url.path) == 0 else {
            throw DaemonError("cannot move \(temporary.path) to \(url.path): errno \(errno)")
        }
    }
}

/// The JSON the CLI reads with `--credentials-file`: an access key id and its secret.
public struct RootCredentials: Codable, Sendable {
    /// The access key id.
    public var accessKeyId: String
    /// The secret access key.
    public var secretAccessKey: String
}

struct CredentialFile: Codable {
    struct Key: Codable {
        var accessKeyId: String
        var salt: String
        var iterations: Int
        var storedKey: String
        var serverKey: String
        /// The secret sealed under the KEK (base64), for SigV4; absent in files written before sealing.
        var sealedSecret: String? = nil
    }
    var keys: [Key]
}

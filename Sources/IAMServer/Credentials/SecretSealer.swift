public import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import IAMDomain
import IAMTLS

/// Seals access-key secrets with AES-256-GCM under a key-encryption key (KEK), so SigV4 can recompute
/// signatures while the store holds no secret in plain text.
///
/// The additional authenticated data binds each sealed secret to its account, access key id and purpose
/// (`access-key`, `session`, `root`): a sealed blob copied onto another key's row does not open. What it
/// protects: a copy of the database (or a backup) without the KEK file reveals no secret. What it does not:
/// whoever can read both the database and the KEK (the server's own user, root on the host) can unseal every
/// secret — keep the KEK file on another volume or in a secrets manager (`--kek-file`) to separate them.
public struct SecretSealer: Sendable {
    /// What a sealed secret is for; part of the AAD.
    public enum Purpose: String, Sendable {
        /// A user's long-term access key.
        case accessKey = "access-key"
        /// Temporary credentials from AssumeRole.
        case session
        /// The account root's key (in the daemon's credential file).
        case root
    }

    private let kek: [UInt8]
    private let account: String
    /// Version byte of the sealed format: `1 || nonce (12) || ciphertext || tag (16)`.
    private static let formatVersion: UInt8 = 1

    /// A sealer for `account` with a 32-byte KEK.
    public init(kek: [UInt8], account: String) {
        precondition(kek.count == Crypto.aes256GCMKeyLength, "the KEK must be 32 bytes")
        self.kek = kek
        self.account = account
    }

    /// Reads the KEK from `path` (32 bytes as base64 text, or raw); when `create` is set and the file does not
    /// exist, makes one from OpenSSL's CSPRNG with mode 0600.
    public static func load(path: String, account: String, create: Bool) throws -> SecretSealer {
        if !FileManager.default.fileExists(atPath: path) {
            guard create else { throw DaemonError("the key-encryption key file \(path) does not exist") }
            let key = Crypto.randomBytes(Crypto.aes256GCMKeyLength)
            let text = Data(key).base64EncodedString() + "\n"
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
            else { throw DaemonError("cannot create the key-encryption key file \(path)") }
            return SecretSealer(kek: key, account: account)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        if data.count == Crypto.aes256GCMKeyLength { return SecretSealer(kek: Array(data), account: account) }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: text), decoded.count == Crypto.aes256GCMKeyLength else {
            throw DaemonError("the key-encryption key file \(path) must hold 32 bytes (raw or base64)")
        }
        return SecretSealer(kek: Array(decoded), account: account)
    }

    private func aad(_ accessKeyID: String, _ purpose: Purpose) -> [UInt8] {
        Array("swift-iam/sealed-secret/v1\0\(self.account)\0\(accessKeyID)\0\(purpose.rawValue)".utf8)
    }

    /// Seals `secret` for `accessKeyID`.
    public func seal(_ secret: String, accessKeyID: String, purpose: Purpose) -> [UInt8] {
        [Self.formatVersion]
            + Crypto.aes256GCMSeal(key: self.kek, plaintext: Array(secret.utf8), aad: self.aad(accessKeyID, purpose))
    }

    /// The secret, or nil when `sealed` was not made by this KEK for this account, key and purpose.
    public func unseal(_ sealed: [UInt8], accessKeyID: String, purpose: Purpose) -> [UInt8]? {
        guard sealed.first == Self.formatVersion else { return nil }
        return Crypto.aes256GCMOpen(
            key: self.kek, sealed: Array(sealed.dropFirst()), aad: self.aad(accessKeyID, purpose))
    }
}

/// What SigV4 needs of one access key: a way to unseal its secret, and for sessions the token's hash and expiry.
public struct SigningSecret: Sendable {
    /// Unseals the secret (only called when no derived signing key is cached).
    public let unseal: @Sendable () -> [UInt8]?
    /// SHA-256 of the session token (temporary credentials only).
    public let sessionTokenHash: [UInt8]?
    /// When temporary credentials expire.
    public let expiration: Date?
}

/// SigV4's secret lookup: the root keys from the daemon's credential file, every other key from the current
/// authorization snapshot, so a key created, deactivated or deleted by a committed write is seen by the next
/// request on any connection.
public struct SigningSecrets: Sendable {
    let sealer: SecretSealer?
    let rootSealed: [String: [UInt8]]
    let publisher: SnapshotPublisher

    /// The key's signing material; nil for unknown or inactive long-term keys, keys without a sealed secret,
    /// and when the server has no KEK. Expired sessions are returned (the verifier answers ExpiredToken).
    public func secret(forAccessKeyID accessKeyID: String) -> SigningSecret? {
        guard let sealer = self.sealer else { return nil }
        if let sealed = self.rootSealed[accessKeyID] {
            return SigningSecret(
                unseal: { sealer.unseal(sealed, accessKeyID: accessKeyID, purpose: .root) }, sessionTokenHash: nil,
                expiration: nil)
        }
        guard let id = try? AccessKeyID(accessKeyID), let entry = self.publisher.snapshot.credential(accessKeyID: id),
            entry.isActive, let sealed = entry.sealedSecret
        else { return nil }
        let purpose: SecretSealer.Purpose = entry.sessionTokenHash == nil ? .accessKey : .session
        return SigningSecret(
            unseal: { sealer.unseal(sealed, accessKeyID: accessKeyID, purpose: purpose) },
            sessionTokenHash: entry.sessionTokenHash, expiration: entry.expiration)
    }
}

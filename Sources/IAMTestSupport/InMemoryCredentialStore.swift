public import IAMRPC

/// A credential store in memory, for tests: it derives each credential from a secret when the key is
/// added and forgets the secret. It answers on the event loop (``immediateCredential(forAccessKeyID:)``),
/// as the daemon's snapshot-backed store does.
public final class InMemoryCredentialStore: CredentialStore {
    private let credentials: [String: SCRAMCredential]

    /// Creates a store holding the given access key ids and secrets.
    public init(secrets: [String: String], iterations: Int = SCRAMCredential.defaultIterations) {
        self.credentials = secrets.mapValues { SCRAMCredential.derive(secret: $0, iterations: iterations) }
    }

    /// Looks up a credential.
    public func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential? {
        self.credentials[accessKeyID]
    }

    /// Looks up a credential without suspending.
    public func immediateCredential(forAccessKeyID accessKeyID: String) -> ImmediateCredentialLookup {
        self.credentials[accessKeyID].map { .found($0) } ?? .notFound
    }
}

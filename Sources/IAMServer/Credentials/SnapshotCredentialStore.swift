import Foundation
import IAMDomain
import IAMRPC

/// SCRAM's credential lookup: the root keys from the daemon's credential file, every other key (long-term
/// or session) from the current authorization snapshot, so a key created, deactivated or deleted by a
/// committed write is known to the next handshake on any connection. Only usable keys are returned: an
/// inactive, deleted or expired key fails authentication exactly like an unknown one.
///
/// The daemon's root keys (a file read at start) and the snapshot are both in memory, so the lookup answers
/// on the connection's event loop without a thread hop.
struct SnapshotCredentialStore: CredentialStore {
    let root: any CredentialStore

    let publisher: SnapshotPublisher

    func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential? {
        if let root = try await self.root.credential(forAccessKeyID: accessKeyID) { return root }
        return self.stored(accessKeyID)
    }

    func immediateCredential(forAccessKeyID accessKeyID: String) -> ImmediateCredentialLookup {
        switch self.root.immediateCredential(forAccessKeyID: accessKeyID) {
        case .found(let credential): return .found(credential)
        case .deferred: return .deferred  // the root store must be asked first
        case .notFound: return self.stored(accessKeyID).map { .found($0) } ?? .notFound
        }
    }

    /// A usable key of the snapshot's.
    private func stored(_ accessKeyID: String) -> SCRAMCredential? {
        guard let id = try? AccessKeyID(accessKeyID),
            let entry = self.publisher.snapshot.credential(accessKeyID: id), entry.isUsable(at: Date())
        else { return nil }
        return SCRAMCredential(
            salt: entry.verifier.salt, iterations: entry.verifier.iterations, storedKey: entry.verifier.storedKey,
            serverKey: entry.verifier.serverKey)
    }
}

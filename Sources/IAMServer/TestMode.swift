import IAMDomain

/// `iamd --test-mode`: what a parity suite written for a mock of AWS (moto's server mode) needs of a real
/// server, and nothing more: fixed root credentials the suite signs with, and a reset between test cases.
///
/// Both would be holes in a real deployment (a secret printed in the source, an unauthenticated endpoint
/// that deletes everything), so the mode exists only when asked for, only on a loopback listener, and
/// nothing of it is reachable without the flag.
public enum TestMode {
    /// moto's mock credentials (`moto/core/models.py`, `MockAWS._fake_creds`), which its tests sign with.
    /// They are a root key of the account in test mode, on the AWS front door only: the binary protocol's
    /// SCRAM takes key ids of 16...128 characters and this one has 9.
    public static let accessKeyID = "FOOBARKEY"
    /// The secret of ``accessKeyID``.
    public static let secretAccessKey = "FOOBARSECRET"
    /// The reset endpoint moto's `ServerModeMockAWS.reset()` posts to.
    public static let resetPath = "/moto-api/reset"

    /// Whether `host` is a loopback address (`127.0.0.0/8`, `::1`) or `localhost`, the only hosts the test
    /// mode listens on.
    public static func isLoopback(_ host: String) -> Bool {
        var address = host
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        if address.lowercased() == "localhost" || address == "::1" || address == "0:0:0:0:0:0:0:1" { return true }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isASCII) && octet.allSatisfy(\.isNumber)
                && (Int(octet) ?? 256) <= 255
        }
    }
}

/// The test mode's reset: every entity of the account deleted in one write (``IAMDirectory/removeEverything()``),
/// then the authorization snapshot brought up to it, so a key of the previous test case is refused at once.
public struct TestModeControl: Sendable {
    private let directory: IAMDirectory
    private let publisher: SnapshotPublisher

    /// The control of an assembled server.
    public init(assembly: ServerAssembly) {
        self.directory = IAMDirectory(store: assembly.store, account: assembly.publisher.snapshot.account)
        self.publisher = assembly.publisher
    }

    /// Deletes everything and waits until the snapshot reflects it; throws the store's ``IAMError``.
    public func reset() async throws {
        let committed = try await self.directory.removeEverything()
        _ = try await self.publisher.catchUp(atLeast: committed.revision)
    }
}

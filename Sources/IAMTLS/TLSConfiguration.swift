public import NIOCore

/// Everything a ``TLSContext`` needs: which side we are, our certificate, whom we trust, and the
/// protocol policy (versions, ALPN, timeouts). Build one per process role and share the context.
public struct TLSConfiguration: Sendable {
    /// Which end of the handshake this configuration is for.
    public enum Role: Hashable, Sendable {
        /// Initiates the handshake and verifies the server.
        case client
        /// Accepts handshakes and presents a certificate.
        case server
    }

    /// A TLS protocol version usable as a floor.
    public struct ProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
        let rawValue: Int32
        /// TLS 1.2 (RFC 5246), with ECDHE + AEAD cipher suites only.
        public static let tls12 = ProtocolVersion(rawValue: 0x0303)
        /// TLS 1.3 (RFC 8446).
        public static let tls13 = ProtocolVersion(rawValue: 0x0304)
        /// Orders by protocol version.
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
        /// `TLSv1.2` or `TLSv1.3`, as OpenSSL spells them.
        public var description: String { self == .tls13 ? "TLSv1.3" : "TLSv1.2" }
    }

    /// The side of the connection.
    public var role: Role
    /// PEM file with our certificate followed by any intermediates. Required for servers; for
    /// clients only with mutual TLS.
    public var certificateChainPath: String?
    /// PEM file with the private key for ``certificateChainPath``.
    public var privateKeyPath: String?
    /// PEM file of CA certificates to verify the peer against (the server's CA for clients, the
    /// client CA for mutual TLS servers). Clients without it use the system's default trust store.
    public var trustRootsPath: String?
    /// Clients: verify the server's certificate and name (default `true`; turn off only in tests).
    /// Servers: ask for a client certificate and verify it if one is sent (default `false`).
    public var verifyPeer: Bool
    /// Servers: refuse clients that present no valid certificate (mutual TLS). Implies ``verifyPeer``.
    public var requireClientCertificate: Bool
    /// Clients: the name the server's certificate must match (DNS name or IP literal); DNS names
    /// are also sent as SNI. ``TLSHandler`` can override it per connection.
    public var serverName: String?
    /// ALPN protocols in preference order. A server picks the first of its own it shares with the
    /// client and refuses a client that offers ALPN without a match; a client with a non-empty list
    /// requires the server to select one. Empty disables ALPN.
    public var alpn: [String]
    /// The lowest protocol version accepted; TLS 1.3 is always preferred.
    public var minimumVersion: ProtocolVersion
    /// The highest protocol version offered or accepted (default TLS 1.3); lower it only to test
    /// or to talk to a peer that cannot do TLS 1.3.
    public var maximumVersion: ProtocolVersion
    /// How long the handshake may take from channel activation before the connection is closed.
    public var handshakeTimeout: TimeAmount
    /// How long to wait for the peer's close_notify after sending ours before closing anyway.
    public var closeTimeout: TimeAmount
    /// OpenSSL cipher list for TLS 1.2: forward-secret ECDHE with AEAD ciphers only.
    public var tls12CipherList: String
    /// OpenSSL cipher-suite list for TLS 1.3.
    public var tls13CipherSuites: String

    /// The default TLS 1.2 cipher list: ECDHE key exchange, AES-GCM or ChaCha20-Poly1305.
    public static let defaultTLS12CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        + "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        + "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    /// The default TLS 1.3 cipher suites.
    public static let defaultTLS13CipherSuites =
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// A configuration with the defaults for `role`: ALPN `["iam/1"]`, TLS 1.2 minimum, 10 s
    /// handshake timeout, 5 s close timeout, and peer verification on for clients only.
    public init(role: Role) {
        self.role = role
        self.certificateChainPath = nil
        self.privateKeyPath = nil
        self.trustRootsPath = nil
        self.verifyPeer = role == .client
        self.requireClientCertificate = false
        self.serverName = nil
        self.alpn = ["iam/1"]
        self.minimumVersion = .tls12
        self.maximumVersion = .tls13
        self.handshakeTimeout = .seconds(10)
        self.closeTimeout = .seconds(5)
        self.tls12CipherList = Self.defaultTLS12CipherList
        self.tls13CipherSuites = Self.defaultTLS13CipherSuites
    }

    /// A server presenting `certificateChainPath`/`privateKeyPath`; set ``trustRootsPath`` and
    /// ``requireClientCertificate`` for mutual TLS.
    public static func server(certificateChainPath: String, privateKeyPath: String) -> TLSConfiguration {
        var configuration = TLSConfiguration(role: .server)
        configuration.certificateChainPath = certificateChainPath
        configuration.privateKeyPath = privateKeyPath
        return configuration
    }

    /// A client that verifies the server against the CAs in `trustRootsPath` (or the system store
    /// when nil) and checks that its certificate matches `serverName`.
    public static func client(trustRootsPath: String?, serverName: String?) -> TLSConfiguration {
        var configuration = TLSConfiguration(role: .client)
        configuration.trustRootsPath = trustRootsPath
        configuration.serverName = serverName
        return configuration
    }
}

import Foundation
public import IAMRPC
import IAMTLS

/// Everything an ``IAMClient`` needs: where the server is, whom to trust, who is calling, and how long to wait.
///
/// ```swift
/// var configuration = try IAMClientConfiguration()  // IAM_ENDPOINT, IAM_CA_FILE, the default credential chain
/// configuration.defaultTimeout = .seconds(5)
/// let client = IAMClient(configuration: configuration)
/// ```
public struct IAMClientConfiguration: Sendable {
    /// The port `iamd` listens on by default.
    public static let defaultPort = 7443

    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// Where the caller's access key comes from.
    public var credentials: IAMCredentialProvider
    /// PEM file of the CA certificates that may sign the server's certificate (nil: the system's trust store).
    public var caFile: String?
    /// The name the server's certificate must carry (nil: ``host``).
    public var serverName: String?
    /// PEM certificate chain presented for mutual TLS (nil: none).
    public var clientCertificateFile: String?
    /// PEM private key of ``clientCertificateFile``.
    public var clientKeyFile: String?
    /// How long a call may take, retries included, unless its `CallOptions.timeout` says otherwise.
    public var defaultTimeout: Duration
    /// How long one connection attempt (TCP, TLS, authentication) may take.
    public var connectTimeout: Duration
    /// When failed idempotent calls are repeated.
    public var retry: IAMRetryPolicy
    /// Connection limits and compression (IAMRPC's options).
    public var connection: ConnectionOptions
    /// Temporary credentials are obtained again this long before they expire (default 5 minutes; AWS's
    /// shortest session is 15). A margin longer than the session obtains them again for every call.
    public var credentialRefreshMargin: Duration
    /// The environment the credential chain reads (the process's by default; tests pass their own).
    public var environment: [String: String]

    /// A configuration for `endpoint` (`host:port`, `[v6]:port`, or a host alone for port 7443).
    ///
    /// - Parameters:
    ///   - endpoint: nil reads `IAM_ENDPOINT`, else `127.0.0.1:7443`.
    ///   - caFile: nil reads `IAM_CA_FILE`, else `data/tls/ca.pem` when it exists (what `iamd` makes on
    ///     first start), else the system's trust store.
    ///   - credentials: the default chain unless given.
    ///   - environment: what `IAM_*` variables are read from (nil: the process's environment).
    /// - Throws: ``IAMClientError`` (INVALID_ARGUMENT) when the endpoint cannot be parsed.
    public init(
        endpoint: String? = nil,
        caFile: String? = nil,
        credentials: IAMCredentialProvider = .default,
        environment: [String: String]? = nil
    ) throws(IAMClientError) {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let text = endpoint ?? environment["IAM_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:7443"
        (self.host, self.port) = try Self.parseEndpoint(text)
        self.caFile =
            caFile ?? environment["IAM_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.isReadableFile(atPath: "data/tls/ca.pem") ? "data/tls/ca.pem" : nil)
        self.credentials = credentials
        self.defaultTimeout = .seconds(30)
        self.connectTimeout = .seconds(10)
        self.retry = IAMRetryPolicy()
        self.connection = ConnectionOptions()
        self.credentialRefreshMargin = .seconds(300)
        self.environment = environment
    }

    /// `host:port` as given to ``init(endpoint:caFile:credentials:environment:)``.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func parseEndpoint(_ text: String) throws(IAMClientError) -> (String, Int) {
        var rest = Substring(text)
        for scheme in ["https://", "iam://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw .configuration("endpoint \"\(text)\": unclosed [ in an IPv6 address")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .configuration("endpoint \"\(text)\" must be host:port") }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw .configuration("endpoint \"\(text)\" has no host; expected host:port") }
        guard let portText else { return (String(host), defaultPort) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .configuration("endpoint \"\(text)\" must be host:port with a port in 1...65535")
        }
        return (String(host), port)
    }

    /// The TLS settings for IAMRPC, checking that the files named exist before any connection is tried.
    func tlsConfiguration() throws(IAMClientError) -> TLSConfiguration {
        var tls = TLSConfiguration(role: .client)
        for (what, path) in [
            ("CA file", caFile), ("client certificate", clientCertificateFile), ("client key", clientKeyFile),
        ] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw .configuration("cannot read the \(what) \(path)")
            }
        }
        if (clientCertificateFile == nil) != (clientKeyFile == nil) {
            throw .configuration("a client certificate needs its key and a key its certificate")
        }
        tls.trustRootsPath = caFile
        tls.serverName = serverName ?? host
        tls.certificateChainPath = clientCertificateFile
        tls.privateKeyPath = clientKeyFile
        return tls
    }

    /// Where the credentials come from, read now without any network call, for a trace: the chain's step (the
    /// environment, a file and profile) and the key id, never a secret; or why none resolve.
    public var credentialsSource: String {
        do {
            switch try credentialResolver.resolve(credentials.kind) {
            case .key(let key, let origin): return "\(key.accessKeyID) from \(origin)"
            case .assumeRole(let role, _, _, let source): return "assume-role \(role) with \(source.accessKeyID)"
            }
        } catch {
            return "none: \(error.message)"
        }
    }

    /// The resolver for this configuration's environment.
    var credentialResolver: CredentialResolver {
        CredentialResolver(
            environment: environment,
            homeDirectory: environment["HOME"] ?? NSHomeDirectory(),
            currentDirectory: FileManager.default.currentDirectoryPath
        )
    }
}

internal import COpenSSL

/// An OpenSSL `SSL_CTX` built once from a ``TLSConfiguration`` and shared by every connection
/// (``TLSHandler``) of that role. Certificates, keys and trust roots are loaded here, once.
///
/// Sendable because the `SSL_CTX` is never mutated after `init`: OpenSSL documents `SSL_new`
/// on a fully set-up context as safe from any thread.
public final class TLSContext: @unchecked Sendable {
    /// The configuration this context was built from.
    public let configuration: TLSConfiguration
    let sslContext: OpaquePointer
    private let alpnList: OpaquePointer?

    /// Builds the context; fails with ``TLSError/Code/invalidConfiguration`` (with OpenSSL's
    /// reason) when a file cannot be read, the key does not match, or a setting is invalid.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let sslContext = SSL_CTX_new(TLS_method()) else {
            throw TLSError.fromErrorQueue(.invalidConfiguration, "SSL_CTX_new failed")
        }
        var alpnList: OpaquePointer?
        do {
            try Self.configure(sslContext, configuration, alpnList: &alpnList)
        } catch {
            SSL_CTX_free(sslContext)
            if let alpnList { iam_alpn_free(alpnList) }
            throw error
        }
        self.configuration = configuration
        self.sslContext = sslContext
        self.alpnList = alpnList
    }

    deinit {
        SSL_CTX_free(self.sslContext)
        if let alpnList { iam_alpn_free(alpnList) }
    }

    private static func configure(
        _ ctx: OpaquePointer,
        _ configuration: TLSConfiguration,
        alpnList: inout OpaquePointer?
    ) throws(TLSError) {
        let minimum = configuration.minimumVersion == .tls13 ? IAM_TLS1_3_VERSION : IAM_TLS1_2_VERSION
        guard
            iam_SSL_CTX_configure(ctx, minimum, configuration.tls12CipherList, configuration.tls13CipherSuites)
                == 1
        else {
            throw TLSError.fromErrorQueue(.invalidConfiguration, "invalid protocol or cipher settings")
        }
        guard configuration.minimumVersion <= configuration.maximumVersion else {
            throw TLSError(
                code: .invalidConfiguration,
                message:
                    "minimumVersion \(configuration.minimumVersion) is above maximumVersion \(configuration.maximumVersion)"
            )
        }
        if configuration.maximumVersion == .tls12 {
            guard iam_SSL_CTX_set_max_proto_version(ctx, IAM_TLS1_2_VERSION) == 1 else {
                throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot cap the protocol version at TLS 1.2")
            }
        }

        if let chain = configuration.certificateChainPath {
            guard SSL_CTX_use_certificate_chain_file(ctx, chain) == 1 else {
                throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot load certificate chain '\(chain)'")
            }
            guard let key = configuration.privateKeyPath else {
                throw TLSError(code: .invalidConfiguration, message: "certificateChainPath set without privateKeyPath")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot load private key '\(key)'")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.fromErrorQueue(
                    .invalidConfiguration,
                    "private key '\(key)' does not match certificate '\(chain)'"
                )
            }
        } else if configuration.role == .server {
            throw TLSError(
                code: .invalidConfiguration, message: "a server needs certificateChainPath and privateKeyPath")
        }

        let verifyPeer = configuration.verifyPeer || configuration.requireClientCertificate
        if let roots = configuration.trustRootsPath {
            guard SSL_CTX_load_verify_locations(ctx, roots, nil) == 1 else {
                throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot load trust roots '\(roots)'")
            }
            if configuration.role == .server, verifyPeer {
                guard iam_SSL_CTX_set_client_CA_file(ctx, roots) == 1 else {
                    throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot read CA names from '\(roots)'")
                }
            }
        } else if verifyPeer {
            if configuration.role == .server {
                throw TLSError(
                    code: .invalidConfiguration,
                    message: "verifying client certificates needs trustRootsPath (the client CA file)"
                )
            }
            guard SSL_CTX_set_default_verify_paths(ctx) == 1 else {
                throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot load the system trust store")
            }
        }
        var mode: Int32 = SSL_VERIFY_NONE
        if verifyPeer { mode |= SSL_VERIFY_PEER }
        if configuration.role == .server, configuration.requireClientCertificate {
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        }
        SSL_CTX_set_verify(ctx, mode, nil)

        if !configuration.alpn.isEmpty {
            var wire: [UInt8] = []
            for name in configuration.alpn {
                let bytes = Array(name.utf8)
                guard (1...255).contains(bytes.count) else {
                    throw TLSError(
                        code: .invalidConfiguration,
                        message: "ALPN protocol names must be 1...255 bytes, got '\(name)'"
                    )
                }
                wire.append(UInt8(bytes.count))
                wire.append(contentsOf: bytes)
            }
            switch configuration.role {
            case .server:
                alpnList = iam_SSL_CTX_set_alpn_server(ctx, wire, UInt32(wire.count))
                guard alpnList != nil else {
                    throw TLSError(code: .invalidConfiguration, message: "cannot allocate the ALPN list")
                }
            case .client:
                // Unlike almost every other OpenSSL call, SSL_CTX_set_alpn_protos returns 0 on success.
                guard SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0 else {
                    throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot set ALPN protocols")
                }
            }
        }
    }

    /// Creates the per-connection `SSL` in the right handshake role with the expected peer name.
    func makeConnection(serverName: String?) throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let ssl = SSL_new(self.sslContext) else {
            throw TLSError.fromErrorQueue(.invalidConfiguration, "SSL_new failed")
        }
        switch self.configuration.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let name = serverName ?? self.configuration.serverName {
                guard iam_SSL_set_expected_peer_name(ssl, name) == 1 else {
                    SSL_free(ssl)
                    throw TLSError.fromErrorQueue(.invalidConfiguration, "invalid server name '\(name)'")
                }
            } else if self.configuration.verifyPeer {
                // Verifying a chain without a name would accept any certificate the CA ever issued.
                SSL_free(ssl)
                throw TLSError(
                    code: .invalidConfiguration,
                    message: "a verifying client needs serverName (a DNS name or IP address to check)"
                )
            }
        }
        return ssl
    }
}

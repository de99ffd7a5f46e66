internal import COpenSSL

/// A TLS failure: what went wrong (``code``) and a message for people that includes OpenSSL's
/// error-queue text where OpenSSL reported one.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure. A struct wrapping a private enum so new codes do not break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case invalidConfiguration
            case handshakeFailed
            case certificateVerifyFailed
            case peerCertificateRequired
            case alpnMismatch
            case unsupportedProtocolVersion
            case handshakeTimeout
            case uncleanShutdown
            case connectionFailed
            case alreadyClosed
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The configuration could not be applied (missing or unreadable file, key not matching
        /// the certificate, bad ALPN name, client without a name to verify...).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The handshake failed for a reason without a more specific code (e.g. plaintext bytes, no
        /// shared cipher, the peer closed the connection mid-handshake, an alert from the peer).
        public static let handshakeFailed = Code(.handshakeFailed)
        /// The peer's certificate did not verify: unknown CA, expired, wrong host name or IP.
        public static let certificateVerifyFailed = Code(.certificateVerifyFailed)
        /// Mutual TLS: the server requires a client certificate and none was sent.
        public static let peerCertificateRequired = Code(.peerCertificateRequired)
        /// Both sides use ALPN but share no protocol, or the client requires one and got none.
        public static let alpnMismatch = Code(.alpnMismatch)
        /// The peer offered only protocol versions below the configured minimum.
        public static let unsupportedProtocolVersion = Code(.unsupportedProtocolVersion)
        /// The handshake did not complete within the configured time.
        public static let handshakeTimeout = Code(.handshakeTimeout)
        /// The connection ended without the peer's close_notify (a possible truncation attack).
        public static let uncleanShutdown = Code(.uncleanShutdown)
        /// A record could not be read or written after the handshake (bad MAC, unexpected
        /// message, an alert from the peer...).
        public static let connectionFailed = Code(.connectionFailed)
        /// A write was issued after the connection began closing.
        public static let alreadyClosed = Code(.alreadyClosed)

        /// The code's name, e.g. `handshakeTimeout`.
        public var description: String { self.wrapped.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A description for people; includes OpenSSL's error-queue text when there was any.
    public var message: String

    /// Creates an error with a code and a message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `TLSError.<code>: <message>`.
    public var description: String { "TLSError.\(self.code): \(self.message)" }
}

extension TLSError {
    /// Builds an error from OpenSSL's thread-local error queue and empties the queue, so the next
    /// operation on this thread starts clean. `fallback` is used when OpenSSL queued nothing.
    /// The first queued SSL reason picks a more specific code where one exists.
    static func fromErrorQueue(
        _ code: Code,
        _ context: String,
        verifyResult: Int = 0
    ) -> TLSError {
        var code = code
        var texts: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        // Bounded: OpenSSL's queue holds at most 16 entries (ERR_NUM_ERRORS).
        for _ in 0..<32 {
            let error = ERR_get_error()
            if error == 0 { break }
            ERR_error_string_n(error, &buffer, buffer.count)
            texts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            if texts.count == 1, iam_ERR_GET_LIB(error) == iam_ERR_LIB_SSL() {
                code = Self.specificCode(reason: iam_ERR_GET_REASON(error)) ?? code
            }
        }
        var message = context
        if verifyResult != 0 {
            code = .certificateVerifyFailed
            let reason = String(cString: X509_verify_cert_error_string(verifyResult))
            message += ": certificate verify failed (\(reason))"
        }
        if !texts.isEmpty {
            message += " [OpenSSL: " + texts.joined(separator: "; ") + "]"
        }
        return TLSError(code: code, message: message)
    }

    private static func specificCode(reason: Int32) -> Code? {
        switch reason {
        case iam_SSL_R_NO_APPLICATION_PROTOCOL(), iam_SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL():
            return .alpnMismatch
        case iam_SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE(), iam_SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED():
            return .peerCertificateRequired
        case iam_SSL_R_UNSUPPORTED_PROTOCOL():
            return .unsupportedProtocolVersion
        case iam_SSL_R_CERTIFICATE_VERIFY_FAILED():
            return .certificateVerifyFailed
        default:
            return nil
        }
    }
}

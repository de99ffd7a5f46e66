public import IAMWire

/// What an ``IAMClient`` call throws: the call's status, AWS's error code and the server's message.
///
/// Errors the server ends a call with carry AWS's code (`NoSuchEntity`, `EntityAlreadyExists`,
/// `MalformedPolicyDocument`, `AccessDenied`, ...) exactly as the AWS SDKs report it. Failures that never
/// reached the server (no credentials, an unreadable CA file, an unreachable endpoint) have no AWS code and a
/// status that says which: `unauthenticated`, `invalidArgument`, `unavailable`.
public struct IAMClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The canonical status the call ended with (never `ok`).
    public var status: StatusCode
    /// AWS's error code, e.g. `NoSuchEntity`; nil when the failure was local or the server sent none.
    public var code: String?
    /// A human-readable explanation.
    public var message: String
    /// The request id the server recorded for the call, when the call reached it.
    public var requestID: String?
    /// Whether the failure happened in this process before anything was sent (no credentials, an unreadable
    /// CA file, a malformed endpoint), as opposed to a refusal by the server or a lost connection.
    public var isLocal: Bool

    /// Creates an error.
    public init(
        status: StatusCode, code: String? = nil, message: String, requestID: String? = nil, isLocal: Bool = false
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.isLocal = isLocal
    }

    /// The error an RPC ended with, keeping its status, code, message and request id.
    public init(_ error: RPCError) {
        self.init(
            status: error.code, code: error.iamErrorCode, message: error.message, requestID: error.requestID)
    }

    /// `Code: message` when the server named an AWS code, else `STATUS: message`.
    public var description: String {
        "\(self.code ?? self.status.description): \(self.message)"
    }

    /// A local configuration problem found before anything was sent.
    static func configuration(_ message: String) -> IAMClientError {
        IAMClientError(status: .invalidArgument, message: message, isLocal: true)
    }

    /// No usable credentials.
    static func credentials(_ message: String) -> IAMClientError {
        IAMClientError(status: .unauthenticated, message: message, isLocal: true)
    }
}

public import IAMWire

/// Per-call settings a client passes with each call.
public struct CallOptions: Sendable {
    /// How long the caller waits; sent to the server as the call's deadline. `nil` waits forever
    /// (bounded only by the connection's lifetime).
    public var timeout: Duration?
    /// Metadata sent with CALL_START.
    public var metadata: Metadata
    /// The request id sent with CALL_START (printable ASCII, at most 128 bytes). When `nil` the server
    /// assigns one; either way CALL_END returns it (`RPCResponse.requestID`, `RPCError.requestID`).
    public var requestID: String?

    /// Creates call options.
    public init(timeout: Duration? = nil, metadata: Metadata = Metadata(), requestID: String? = nil) {
        self.timeout = timeout
        self.metadata = metadata
        self.requestID = requestID
    }
}

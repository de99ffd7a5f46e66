public import IAMDomain
public import IAMRPC
public import IAMWire

// IAMDomain cannot see the wire, so the one mapping from its typed errors to a call's end lives here.
extension IAMError: RPCErrorConvertible {
    /// The status (WIRE.md §7.3, carried by the code as ``IAMError/status``), AWS's code and message.
    ///
    /// A `ServiceFailure`'s message is meant for the server's log and may name internals (a SQLite error), so
    /// the caller gets AWS's generic wording instead.
    public var rpcError: RPCError {
        let status = StatusCode(rawValue: self.status.rawValue) ?? .internalError
        let message =
            self.code == .serviceFailure
            ? "The request processing has failed because of an unknown error, exception or failure."
            : self.message
        return RPCError(code: status, message: message, iamErrorCode: self.code.awsCode)
    }
}

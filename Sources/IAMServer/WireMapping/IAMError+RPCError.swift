public import IAMDomain
public import IAMRPC
public import IAMWire

/// A domain error crosses the wire as the status its code maps to (WIRE.md §7), AWS's code and its message.
extension IAMError: RPCErrorConvertible {
    /// The status, message and IAM error code the caller receives.
    public var rpcError: RPCError {
        RPCError(
            code: StatusCode(rawValue: self.status.rawValue) ?? .unknown, message: self.message,
            iamErrorCode: self.code.awsCode)
    }
}

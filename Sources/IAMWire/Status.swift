/// A canonical status code, with exactly gRPC's numbers (0 `ok` ... 16 `unauthenticated`), sent as one
/// byte in the CALL_END frame.
public struct StatusCode: Hashable, Sendable, CustomStringConvertible {
    /// The number on the wire (0...16).
    public let rawValue: UInt8

    /// Creates a status from its wire number, or nil if it is not a canonical code (0...16).
    @inlinable
    public init?(rawValue: UInt8) {
        guard rawValue <= 16 else { return nil }
        self.rawValue = rawValue
    }

    /// Creates a status from a received byte; numbers this version does not know map to `unknown`,
    /// as gRPC does.
    @inlinable
    public init(wireValue: UInt8) {
        self.rawValue = wireValue <= 16 ? wireValue : 2
    }

    @usableFromInline
    init(uncheckedRawValue: UInt8) {
        self.rawValue = uncheckedRawValue
    }

    /// 0: the call succeeded.
    public static let ok = StatusCode(uncheckedRawValue: 0)
    /// 1: the call was cancelled, typically by the caller.
    public static let cancelled = StatusCode(uncheckedRawValue: 1)
    /// 2: an error with no better code.
    public static let unknown = StatusCode(uncheckedRawValue: 2)
    /// 3: the request is invalid regardless of system state.
    public static let invalidArgument = StatusCode(uncheckedRawValue: 3)
    /// 4: the deadline passed before the call completed.
    public static let deadlineExceeded = StatusCode(uncheckedRawValue: 4)
    /// 5: a requested entity does not exist.
    public static let notFound = StatusCode(uncheckedRawValue: 5)
    /// 6: the entity the call tried to create already exists.
    public static let alreadyExists = StatusCode(uncheckedRawValue: 6)
    /// 7: the caller is authenticated but not allowed to do this.
    public static let permissionDenied = StatusCode(uncheckedRawValue: 7)
    /// 8: a quota or limit was hit (message too large, too many calls, a service limit).
    public static let resourceExhausted = StatusCode(uncheckedRawValue: 8)
    /// 9: the system is not in the state the call requires.
    public static let failedPrecondition = StatusCode(uncheckedRawValue: 9)
    /// 10: the call was aborted, typically by a concurrency conflict.
    public static let aborted = StatusCode(uncheckedRawValue: 10)
    /// 11: a value is past the valid range.
    public static let outOfRange = StatusCode(uncheckedRawValue: 11)
    /// 12: the method is not implemented or not known.
    public static let unimplemented = StatusCode(uncheckedRawValue: 12)
    /// 13: an invariant of the system broke.
    public static let internalError = StatusCode(uncheckedRawValue: 13)
    /// 14: the service is unavailable (shutting down, connection lost); retrying may succeed.
    public static let unavailable = StatusCode(uncheckedRawValue: 14)
    /// 15: unrecoverable data loss.
    public static let dataLoss = StatusCode(uncheckedRawValue: 15)
    /// 16: the caller is not authenticated.
    public static let unauthenticated = StatusCode(uncheckedRawValue: 16)

    /// gRPC's upper-case name, e.g. `RESOURCE_EXHAUSTED`.
    public var description: String {
        switch self.rawValue {
        case 0: "OK"
        case 1: "CANCELLED"
        case 2: "UNKNOWN"
        case 3: "INVALID_ARGUMENT"
        case 4: "DEADLINE_EXCEEDED"
        case 5: "NOT_FOUND"
        case 6: "ALREADY_EXISTS"
        case 7: "PERMISSION_DENIED"
        case 8: "RESOURCE_EXHAUSTED"
        case 9: "FAILED_PRECONDITION"
        case 10: "ABORTED"
        case 11: "OUT_OF_RANGE"
        case 12: "UNIMPLEMENTED"
        case 13: "INTERNAL"
        case 14: "UNAVAILABLE"
        case 15: "DATA_LOSS"
        case 16: "UNAUTHENTICATED"
        default: "UNKNOWN(\(self.rawValue))"
        }
    }

    /// All seventeen canonical codes in numeric order.
    public static let allCases: [StatusCode] = (0...16).map { StatusCode(uncheckedRawValue: $0) }
}

/// The error a call ends with; it crosses the wire in the CALL_END frame.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The canonical status (never `ok`).
    public var code: StatusCode
    /// A human-readable explanation.
    public var message: String
    /// AWS's error code string ("NoSuchEntity", "MalformedPolicyDocument", ...) or nil.
    public var iamErrorCode: String?
    /// The call's request id as the server recorded it (from CALL_END, WIRE.md §7.3); nil when the call
    /// failed without a CALL_END (locally, or the connection was lost).
    public var requestID: String?

    /// Creates a call error.
    public init(code: StatusCode, message: String, iamErrorCode: String? = nil, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.iamErrorCode = iamErrorCode
        self.requestID = requestID
    }

    /// `CODE (IamCode): message`.
    public var description: String {
        if let iamErrorCode {
            return "\(self.code) (\(iamErrorCode)): \(self.message)"
        }
        return "\(self.code): \(self.message)"
    }
}

extension RPCError {
    /// The status a wire failure ends a single call with, keeping its explanation.
    public init(_ error: WireError) {
        self.init(code: error.code.statusCode, message: error.message)
    }
}

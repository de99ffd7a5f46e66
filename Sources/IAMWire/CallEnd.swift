public import NIOCore

/// The payload of CALL_END (WIRE.md §7.3): status, IAM error code, message, request id.
public struct CallEnd: Hashable, Sendable {
    /// Longest IAM error code in bytes.
    public static let maxIAMErrorCodeLength = 64
    /// Longest message in bytes.
    public static let maxMessageLength = 4096

    /// The canonical status.
    public var status: StatusCode
    /// AWS's error code ("NoSuchEntity", ...) or nil.
    public var iamErrorCode: String?
    /// A human-readable message (UTF-8).
    public var message: String
    /// The call's request id: the one its CALL_START carried, or the one the server assigned when that
    /// was empty (WIRE.md §7.1), so the client learns the id the audit log records. Printable ASCII,
    /// at most 128 bytes; empty only from a server that assigns none.
    public var requestID: String

    /// Creates a call end.
    public init(status: StatusCode, message: String = "", iamErrorCode: String? = nil, requestID: String = "") {
        self.status = status
        self.message = message
        self.iamErrorCode = iamErrorCode
        self.requestID = requestID
    }

    /// The end of a call that failed with `error`.
    public init(_ error: RPCError, requestID: String = "") {
        self.init(status: error.code, message: error.message, iamErrorCode: error.iamErrorCode, requestID: requestID)
    }

    /// The end of a successful call.
    public static let ok = CallEnd(status: .ok)

    /// The call's error (carrying the request id), or nil when the status is OK.
    public var error: RPCError? {
        self.status == .ok
            ? nil
            : RPCError(
                code: self.status,
                message: self.message,
                iamErrorCode: self.iamErrorCode,
                requestID: self.requestID.isEmpty ? nil : self.requestID
            )
    }

    /// Writes the payload. Never fails: an over-long message is truncated at a UTF-8 boundary, and the
    /// IAM code and request id are cut to 64 and 128 bytes with non-printable bytes replaced by `?`.
    public func encode(into buffer: inout ByteBuffer) {
        var code = ""
        if let iamErrorCode, !iamErrorCode.isEmpty {
            code =
                iamErrorCode.utf8.count <= Self.maxIAMErrorCodeLength && utf8Bytes(of: iamErrorCode, areIn: 0x20...0x7E)
                ? iamErrorCode : sanitizedPrintable(iamErrorCode, maxBytes: Self.maxIAMErrorCodeLength)
        }
        let message = self.message.isEmpty ? "" : truncatedUTF8(self.message, maxBytes: Self.maxMessageLength)
        let requestID =
            self.requestID.utf8.count <= CallStart.maxRequestIDLength
                && utf8Bytes(of: self.requestID, areIn: 0x20...0x7E)
            ? self.requestID : sanitizedPrintable(self.requestID, maxBytes: CallStart.maxRequestIDLength)
        buffer.writeRaw(reserving: 5 + code.utf8.count + message.utf8.count + requestID.utf8.count) { writer in
            writer.write(self.status.rawValue)
            writer.writeLengthPrefixed(code, lengthBytes: 1)
            writer.writeLengthPrefixed(message, lengthBytes: 2)
            writer.writeLengthPrefixed(requestID, lengthBytes: 1)
        }
    }

    /// Writes the payload of a successful CALL_END whose request id `writeRequestID` writes straight into the
    /// buffer: for a server that makes a call's id from parts (WIRE.md §7.1), so that sending it back costs no
    /// String. What it writes must be printable ASCII of at most ``CallStart/maxRequestIDLength`` bytes; unlike
    /// ``encode(into:)``, nothing is checked or replaced.
    public static func encodeSuccess(
        into buffer: inout ByteBuffer, requestID writeRequestID: (inout ByteBuffer) -> Void
    ) {
        // Status, an empty IAM code, an empty message, and the id's length, patched in once the id is written.
        buffer.writeRaw(reserving: 5) { writer in
            writer.write(UInt32(StatusCode.ok.rawValue) << 24)
            writer.write(UInt8(0))
        }
        let lengthIndex = buffer.writerIndex - 1
        writeRequestID(&buffer)
        let length = buffer.writerIndex - lengthIndex - 1
        precondition(length <= CallStart.maxRequestIDLength, "a request id is at most 128 bytes")
        buffer.patch(UInt8(length), at: lengthIndex)
    }

    /// Reads a CALL_END payload. An unknown status number reads as UNKNOWN.
    /// - Throws: `malformedFrame` (a connection error for the client, WIRE.md §7.3).
    public init(decoding payload: ByteBuffer) throws(WireError) {
        var payload = payload
        self = try payload.readPayload { (payload) throws(WireError) -> CallEnd in
            guard let status = payload.readInteger(as: UInt8.self) else {
                throw .malformedFrame("CALL_END payload is empty")
            }
            let code = try payload.readBoundedString(
                lengthBytes: 1,
                range: 0...Self.maxIAMErrorCodeLength,
                charset: .printable,
                field: "IAM error code"
            )
            let message = try payload.readBoundedString(
                lengthBytes: 2,
                range: 0...Self.maxMessageLength,
                charset: .utf8,
                field: "status message"
            )
            let requestID = try payload.readBoundedString(
                lengthBytes: 1,
                range: 0...CallStart.maxRequestIDLength,
                charset: .printable,
                field: "request id"
            )
            guard payload.remaining == 0 else {
                throw .malformedFrame("CALL_END has \(payload.remaining) bytes after the request id")
            }
            return CallEnd(
                status: StatusCode(wireValue: status),
                message: message,
                iamErrorCode: code.isEmpty ? nil : code,
                requestID: requestID
            )
        }
    }
}

/// The payload of GOAWAY (WIRE.md §9.1): last stream id, error code, message.
public struct GoAway: Hashable, Sendable {
    /// Longest message in bytes.
    public static let maxMessageLength = 1024

    /// The highest stream id the sender accepted and will finish.
    public var lastStreamID: UInt32
    /// Why the connection ends.
    public var code: GoAwayCode
    /// A human-readable message for logs (UTF-8).
    public var message: String

    /// Creates a GOAWAY payload.
    public init(lastStreamID: UInt32, code: GoAwayCode, message: String = "") {
        self.lastStreamID = lastStreamID
        self.code = code
        self.message = message
    }

    /// Writes the payload; an over-long message is truncated at a UTF-8 boundary and bit 31 of the
    /// stream id is cleared.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(self.lastStreamID & 0x7FFF_FFFF, self.code.rawValue)
        buffer.writeLengthPrefixed(truncatedUTF8(self.message, maxBytes: Self.maxMessageLength), lengthBytes: 2)
    }

    /// Reads a GOAWAY payload.
    /// - Throws: `malformedFrame`.
    public init(decoding payload: ByteBuffer) throws(WireError) {
        var payload = payload
        self = try payload.readPayload { (payload) throws(WireError) -> GoAway in
            guard let lastStreamID = payload.readInteger(as: UInt32.self),
                let code = payload.readInteger(as: UInt8.self)
            else {
                throw .malformedFrame("GOAWAY payload is shorter than 5 bytes")
            }
            guard lastStreamID & 0x8000_0000 == 0 else {
                throw .malformedFrame("GOAWAY last stream id has the reserved bit set")
            }
            let message = try payload.readBoundedString(
                lengthBytes: 2,
                range: 0...Self.maxMessageLength,
                charset: .utf8,
                field: "GOAWAY message"
            )
            guard payload.remaining == 0 else {
                throw .malformedFrame("GOAWAY has \(payload.remaining) bytes after the message")
            }
            return GoAway(lastStreamID: lastStreamID, code: GoAwayCode(rawValue: code), message: message)
        }
    }
}

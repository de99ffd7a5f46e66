/// A failure of the wire protocol itself: a frame or message that cannot be read, a limit crossed, or a
/// peer breaking the rules of `Protocol/WIRE.md`.
///
/// `WireError` never crosses the wire as-is. The connection maps it to a GOAWAY error code (connection
/// errors) or to a call's END status (`statusCode`), and the message it sends to the peer names only
/// what the peer itself sent.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of wire failure this is. A struct wrapping a private enum so new codes can be added
    /// without breaking exhaustive switches in callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: UInt8, Hashable, Sendable {
            case badPreface = 1
            case unsupportedVersion
            case frameTooLarge
            case malformedFrame
            case unknownFrameType
            case badFlags
            case badStreamID
            case malformedMessage
            case messageTooLarge
            case compressionFailed
            case decompressionFailed
            case limitExceeded
            case protocolViolation
            case authenticationFailed
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// The first bytes of the connection are not the `IAMW` magic.
        public static let badPreface = Code(.badPreface)
        /// The peers share no protocol version.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// A frame header declares a payload longer than the receiver's max frame size.
        public static let frameTooLarge = Code(.frameTooLarge)
        /// A control frame's payload does not have the layout WIRE.md gives it (too short, trailing bytes,
        /// a length field pointing past the end, invalid UTF-8 or ASCII, a value out of range).
        public static let malformedFrame = Code(.malformedFrame)
        /// A frame type this implementation does not know (fatal in protocol version 1).
        public static let unknownFrameType = Code(.unknownFrameType)
        /// A flag bit that is not defined for the frame's type is set.
        public static let badFlags = Code(.badFlags)
        /// A stream id that breaks the rules (0 on a call frame, non-zero on a connection frame, even id
        /// from a client, ids not increasing).
        public static let badStreamID = Code(.badStreamID)
        /// A protobuf message body cannot be decoded.
        public static let malformedMessage = Code(.malformedMessage)
        /// A message (after decompression) is larger than the receiver's max message size.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// Compressing an outbound message failed (zlib reported an error).
        public static let compressionFailed = Code(.compressionFailed)
        /// A compressed message is not a valid zlib stream (corrupt, truncated or with trailing bytes).
        public static let decompressionFailed = Code(.decompressionFailed)
        /// A count or size limit other than frame/message size was crossed (metadata entries, method name
        /// length, concurrent calls, ...).
        public static let limitExceeded = Code(.limitExceeded)
        /// A frame that is well formed but not allowed in the current state (a call before authentication,
        /// MESSAGE on an unknown stream, a second SETTINGS without ACK, ...).
        public static let protocolViolation = Code(.protocolViolation)
        /// The authentication exchange failed: malformed SCRAM text, an unknown mechanism, a wrong proof
        /// or server signature, or limits on salt/iterations/nonce crossed (WIRE.md §6).
        public static let authenticationFailed = Code(.authenticationFailed)

        /// The code's name, e.g. `frameTooLarge`.
        public var description: String {
            switch self.value {
            case .badPreface: "badPreface"
            case .unsupportedVersion: "unsupportedVersion"
            case .frameTooLarge: "frameTooLarge"
            case .malformedFrame: "malformedFrame"
            case .unknownFrameType: "unknownFrameType"
            case .badFlags: "badFlags"
            case .badStreamID: "badStreamID"
            case .malformedMessage: "malformedMessage"
            case .messageTooLarge: "messageTooLarge"
            case .compressionFailed: "compressionFailed"
            case .decompressionFailed: "decompressionFailed"
            case .limitExceeded: "limitExceeded"
            case .protocolViolation: "protocolViolation"
            case .authenticationFailed: "authenticationFailed"
            }
        }

        /// The canonical status a call ends with when this error belongs to a single call.
        public var statusCode: StatusCode {
            switch self.value {
            case .messageTooLarge, .limitExceeded: .resourceExhausted
            // A CALL_START payload that does not parse is the caller's fault (WIRE.md §7.1).
            case .malformedMessage, .malformedFrame: .invalidArgument
            case .compressionFailed: .internalError
            case .unsupportedVersion: .unimplemented
            case .authenticationFailed: .unauthenticated
            case .badPreface, .frameTooLarge, .unknownFrameType, .badFlags, .badStreamID, .decompressionFailed,
                .protocolViolation:
                .internalError
            }
        }

        /// The GOAWAY error code (see `GoAwayCode`) a peer sends when this error ends the connection.
        public var goAwayCode: GoAwayCode {
            switch self.value {
            case .frameTooLarge, .messageTooLarge, .limitExceeded: .resourceExhausted
            case .unsupportedVersion: .unsupportedVersion
            case .compressionFailed: .internalError
            case .decompressionFailed: .compressionError
            case .authenticationFailed: .unauthenticated
            case .badPreface, .malformedFrame, .unknownFrameType, .badFlags, .badStreamID, .malformedMessage,
                .protocolViolation:
                .protocolError
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A human-readable explanation naming the offending value and the limit or rule it broke.
    public var message: String

    /// Creates an error with a code and an explanation.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(self.code): \(self.message)" }

    /// The connection's preface does not start with the `IAMW` magic.
    public static func badPreface(_ message: String) -> WireError { WireError(code: .badPreface, message: message) }
    /// The peers share no protocol version.
    public static func unsupportedVersion(_ message: String) -> WireError {
        WireError(code: .unsupportedVersion, message: message)
    }
    /// A frame's declared payload length exceeds `limit`.
    public static func frameTooLarge(length: Int, limit: Int) -> WireError {
        WireError(code: .frameTooLarge, message: "frame payload of \(length) bytes exceeds the max frame size \(limit)")
    }
    /// A control payload has the wrong layout.
    public static func malformedFrame(_ message: String) -> WireError {
        WireError(code: .malformedFrame, message: message)
    }
    /// A frame type byte this implementation does not know.
    public static func unknownFrameType(_ type: UInt8) -> WireError {
        WireError(code: .unknownFrameType, message: "unknown frame type 0x\(String(type, radix: 16))")
    }
    /// Flags not defined for the frame type are set.
    public static func badFlags(_ flags: UInt8, type: FrameType) -> WireError {
        WireError(code: .badFlags, message: "flags 0x\(String(flags, radix: 16)) are not valid on a \(type) frame")
    }
    /// A stream id breaks the rules.
    public static func badStreamID(_ message: String) -> WireError {
        WireError(code: .badStreamID, message: message)
    }
    /// A protobuf message body cannot be decoded (used by generated decoders).
    public static func malformedMessage(_ message: String) -> WireError {
        WireError(code: .malformedMessage, message: message)
    }
    /// A message is larger than `limit` bytes.
    public static func messageTooLarge(_ message: String) -> WireError {
        WireError(code: .messageTooLarge, message: message)
    }
    /// zlib failed to compress.
    public static func compressionFailed(_ message: String) -> WireError {
        WireError(code: .compressionFailed, message: message)
    }
    /// A compressed payload is not a valid zlib stream.
    public static func decompressionFailed(_ message: String) -> WireError {
        WireError(code: .decompressionFailed, message: message)
    }
    /// A count or size limit was crossed.
    public static func limitExceeded(_ message: String) -> WireError {
        WireError(code: .limitExceeded, message: message)
    }
    /// The authentication exchange failed.
    public static func authenticationFailed(_ message: String) -> WireError {
        WireError(code: .authenticationFailed, message: message)
    }
    /// A frame is not allowed in the current state.
    public static func protocolViolation(_ message: String) -> WireError {
        WireError(code: .protocolViolation, message: message)
    }
}

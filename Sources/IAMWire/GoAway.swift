/// The error code of a GOAWAY frame (WIRE.md §9). A struct wrapping the wire byte so codes added by a
/// later version are still representable; receivers treat unknown codes like `internalError`.
public struct GoAwayCode: Hashable, Sendable, CustomStringConvertible {
    /// The byte on the wire.
    public let rawValue: UInt8

    /// Wraps a code byte (known or not).
    @inlinable
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// 0x00: graceful shutdown or idle timeout; calls up to the last stream id finish normally.
    public static let noError = GoAwayCode(rawValue: 0x00)
    /// 0x01: the peer broke a rule of WIRE.md (bad frame, flags, stream id, state).
    public static let protocolError = GoAwayCode(rawValue: 0x01)
    /// 0x02: the sender hit an internal failure.
    public static let internalError = GoAwayCode(rawValue: 0x02)
    /// 0x03: a frame exceeded the max frame size, or another connection limit was crossed.
    public static let resourceExhausted = GoAwayCode(rawValue: 0x03)
    /// 0x04: the compression context is unusable.
    public static let compressionError = GoAwayCode(rawValue: 0x04)
    /// 0x05: the peers share no protocol version.
    public static let unsupportedVersion = GoAwayCode(rawValue: 0x05)
    /// 0x06: authentication failed, or a call arrived before it succeeded.
    public static let unauthenticated = GoAwayCode(rawValue: 0x06)
    /// 0x07: the handshake (preface, settings, authentication) did not finish in time, or a PING went
    /// unanswered.
    public static let timeout = GoAwayCode(rawValue: 0x07)

    /// True for the codes version 1 defines.
    @inlinable
    public var isKnown: Bool { self.rawValue <= 0x07 }

    /// The status a client fails its outstanding calls with when a connection ends with this code.
    public var callStatus: StatusCode {
        switch self.rawValue {
        case 0x06: .unauthenticated
        case 0x07: .unavailable
        case 0x05: .unimplemented
        case 0x03: .resourceExhausted
        case 0x00: .unavailable
        default: .unavailable
        }
    }

    /// The upper-case name used in WIRE.md, e.g. `PROTOCOL_ERROR`.
    public var description: String {
        switch self.rawValue {
        case 0x00: "NO_ERROR"
        case 0x01: "PROTOCOL_ERROR"
        case 0x02: "INTERNAL_ERROR"
        case 0x03: "RESOURCE_EXHAUSTED"
        case 0x04: "COMPRESSION_ERROR"
        case 0x05: "UNSUPPORTED_VERSION"
        case 0x06: "UNAUTHENTICATED"
        case 0x07: "TIMEOUT"
        default: "UNKNOWN(0x\(String(self.rawValue, radix: 16)))"
        }
    }
}

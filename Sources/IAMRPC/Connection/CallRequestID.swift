package import NIOCore

/// A call's request id (WIRE.md §7.1): the caller's, or `<instance>-<connection>-<stream>` when the caller sent
/// none. An assigned id is kept in its parts and spelled out only when something reads it: most calls only send
/// it back in their CALL_END, which ``write(into:)`` does without making a String (that String cost about 1.5k
/// instructions a call: its allocation, its validation and its copy).
package enum CallRequestID: Sendable, Hashable {
    /// The id the caller's CALL_START carried (already checked: printable ASCII, at most 128 bytes).
    case caller(String)
    /// The id the server assigns: its instance id (hexadecimal digits), the connection's number and the stream id.
    case assigned(instance: String, connection: UInt64, stream: UInt32)

    /// The id as text.
    package var text: String {
        switch self {
        case .caller(let text):
            return text
        case .assigned(let instance, let connection, let stream):
            let instance = instance.utf8
            return String(unsafeUninitializedCapacity: instance.count + 2 + 20 + 10) { bytes in
                var end = bytes.initialize(fromContentsOf: instance)
                bytes[end] = UInt8(ascii: "-")
                end = Self.writeDecimal(connection, into: bytes, at: end + 1)
                bytes[end] = UInt8(ascii: "-")
                return Self.writeDecimal(UInt64(stream), into: bytes, at: end + 1)
            }
        }
    }

    /// Appends the id's bytes (what ``text`` spells) to `buffer`.
    package func write(into buffer: inout ByteBuffer) {
        switch self {
        case .caller(let text):
            buffer.writeString(text)
        case .assigned(let instance, let connection, let stream):
            buffer.writeString(instance)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 2 + 20 + 10) { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                bytes[0] = UInt8(ascii: "-")
                let end = Self.writeDecimal(connection, into: bytes, at: 1)
                bytes[end] = UInt8(ascii: "-")
                return Self.writeDecimal(UInt64(stream), into: bytes, at: end + 1)
            }
        }
    }

    /// Writes `value` in decimal at `index`; returns the index after its last digit.
    static func writeDecimal(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at index: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = value
        for position in stride(from: index + digits - 1, through: index, by: -1) {
            bytes[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
            remaining /= 10
        }
        return index + digits
    }
}

public import NIOCore

/// The 8-byte connection preface each side sends first (WIRE.md §2): `"IAMW" | min u8 | max u8 |
/// selected u8 | reserved u8`. It is not a frame.
public struct Preface: Hashable, Sendable {
    /// Bytes in a preface.
    public static let size = 8
    /// The magic `IAMW` as one big-endian integer.
    public static let magic: UInt32 = 0x4941_4D57
    /// The protocol version this implementation speaks.
    public static let currentVersion: UInt8 = 1

    /// Lowest version the sender speaks (>= 1).
    public var minVersion: UInt8
    /// Highest version the sender speaks (>= minVersion).
    public var maxVersion: UInt8
    /// Client: 0. Server: the version chosen for the connection, or 0 when there is none.
    public var selectedVersion: UInt8

    /// Creates a preface.
    public init(minVersion: UInt8, maxVersion: UInt8, selectedVersion: UInt8) {
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.selectedVersion = selectedVersion
    }

    /// The preface a version-1 client sends: `49 41 4D 57 01 01 00 00`.
    public static let client = Preface(minVersion: 1, maxVersion: 1, selectedVersion: 0)

    /// The server's answer to `clientPreface`: the highest version both ranges contain, or a preface
    /// with `selectedVersion == 0` when there is none (the server then sends GOAWAY UNSUPPORTED_VERSION).
    public static func serverReply(
        to clientPreface: Preface,
        supporting range: ClosedRange<UInt8> = 1...1
    ) -> Preface {
        let low = max(clientPreface.minVersion, range.lowerBound)
        let high = min(clientPreface.maxVersion, range.upperBound)
        return Preface(
            minVersion: range.lowerBound,
            maxVersion: range.upperBound,
            selectedVersion: low <= high ? high : 0
        )
    }

    /// Writes the 8 bytes.
    @inlinable
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(Self.magic, self.minVersion, self.maxVersion, self.selectedVersion, UInt8(0))
    }

    /// Reads a preface from the front of `buffer`.
    ///
    /// Returns nil (consuming nothing) while fewer than 8 bytes are readable, but checks the magic
    /// bytes that have arrived so garbage is refused at its first wrong byte rather than after 8.
    /// - Throws: `WireError.badPreface` for a wrong magic, a non-zero reserved byte, or min 0 / max < min.
    public static func read(from buffer: inout ByteBuffer) throws(WireError) -> Preface? {
        let available = min(buffer.readableBytes, 4)
        for offset in 0..<available {
            let expected = UInt8(truncatingIfNeeded: Self.magic >> (24 - 8 * UInt32(offset)))
            let actual = buffer.getInteger(at: buffer.readerIndex + offset, as: UInt8.self)!
            if actual != expected {
                throw .badPreface(
                    "byte \(offset) of the preface is 0x\(String(actual, radix: 16)), expected 0x\(String(expected, radix: 16)) (\"IAMW\")"
                )
            }
        }
        guard
            let (_, minVersion, maxVersion, selected, reserved) = buffer.readMultipleIntegers(
                as: (UInt32, UInt8, UInt8, UInt8, UInt8).self
            )
        else { return nil }
        guard reserved == 0 else { throw .badPreface("reserved preface byte is \(reserved), must be 0") }
        guard minVersion >= 1, maxVersion >= minVersion else {
            throw .badPreface("invalid version range \(minVersion)...\(maxVersion)")
        }
        return Preface(minVersion: minVersion, maxVersion: maxVersion, selectedVersion: selected)
    }
}

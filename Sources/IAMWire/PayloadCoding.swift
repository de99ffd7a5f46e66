public import NIOCore

/// Bounded readers and writers shared by the control-payload codecs. Every length is checked against
/// both its limit and the bytes remaining before anything is read or allocated.
extension ByteBuffer {
    /// Which bytes a string field may hold.
    enum FieldCharset {
        /// 0x20...0x7E.
        case printable
        /// 0x21...0x7E (no space).
        case printableNoSpace
        /// a-z 0-9 - _ .
        case metadataKey
        /// Well-formed UTF-8.
        case utf8
    }

    /// Runs `body` over the readable bytes, borrowed once, and consumes what it read.
    mutating func readPayload<Result>(_ body: (inout RawPayloadReader) throws(WireError) -> Result) throws(WireError)
        -> Result
    {
        let (result, read) = try self.withUnsafeReadableBytes { (bytes) throws(WireError) -> (Result, Int) in
            var reader = RawPayloadReader(bytes)
            let result = try body(&reader)
            return (result, reader.index)
        }
        self.moveReaderIndex(forwardBy: read)
        return result
    }

    /// Writes a length-prefixed field (the caller has validated it).
    mutating func writeLengthPrefixed(_ text: String, lengthBytes: Int) {
        self.writeRaw(reserving: lengthBytes + text.utf8.count) {
            $0.writeLengthPrefixed(text, lengthBytes: lengthBytes)
        }
    }

    /// Appends up to `size` bytes that `body` stores through a ``RawPayloadWriter``: one capacity check and one
    /// writer-index move for a run of small fields. ByteBuffer's `writeInteger` and `writeString` cost about 250
    /// instructions each, and a CALL_START or CALL_END is a handful of them on every call.
    mutating func writeRaw(reserving size: Int, _ body: (inout RawPayloadWriter) -> Void) {
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            var writer = RawPayloadWriter(UnsafeMutableRawBufferPointer(rebasing: bytes[..<size]))
            body(&writer)
            return writer.count
        }
    }

    /// Overwrites the big-endian `value` at `index`, in bytes already written (a length patched in afterwards).
    @inlinable
    mutating func patch<T: FixedWidthInteger>(_ value: T, at index: Int) {
        let offset = index - self.readerIndex
        precondition(
            offset >= 0 && offset + MemoryLayout<T>.size <= self.readableBytes, "patch outside the bytes written")
        self.withUnsafeMutableReadableBytes { $0.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self) }
    }
}

/// Stores big-endian integers and length-prefixed strings into memory reserved in a ByteBuffer. Every store is
/// checked against the reservation, so a wrong size can crash but never write out of bounds.
struct RawPayloadWriter {
    private let bytes: UnsafeMutableRawBufferPointer
    /// Bytes stored so far.
    private(set) var count = 0

    init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func write<T: FixedWidthInteger>(_ value: T) {
        precondition(MemoryLayout<T>.size <= self.bytes.count &- self.count, "payload write past its reservation")
        self.bytes.storeBytes(of: value.bigEndian, toByteOffset: self.count, as: T.self)
        self.count &+= MemoryLayout<T>.size
    }

    /// A u8 or u16 length, then the string's UTF-8 bytes (the caller has checked that the length fits).
    mutating func writeLengthPrefixed(_ text: String, lengthBytes: Int) {
        var text = text
        text.withUTF8 { utf8 in
            if lengthBytes == 1 { self.write(UInt8(utf8.count)) } else { self.write(UInt16(utf8.count)) }
            precondition(utf8.count <= self.bytes.count &- self.count, "payload write past its reservation")
            if let source = utf8.baseAddress, let target = self.bytes.baseAddress {
                (target + self.count).copyMemory(from: source, byteCount: utf8.count)
            }
            self.count &+= utf8.count
        }
    }
}

/// Reads big-endian integers and bounded strings from borrowed payload bytes: one borrow for a whole payload
/// instead of one ByteBuffer call (about 250 instructions) per field. Every length is checked against its limit
/// and the bytes remaining before anything is read or allocated.
struct RawPayloadReader {
    private let bytes: UnsafeRawBufferPointer
    /// Bytes read so far.
    private(set) var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Bytes not read yet.
    var remaining: Int { self.bytes.count - self.index }

    /// The next big-endian integer, or nil (nothing read) when fewer bytes remain.
    mutating func readInteger<T: FixedWidthInteger>(as type: T.Type = T.self) -> T? {
        guard let value = self.peekInteger(as: type) else { return nil }
        self.index += MemoryLayout<T>.size
        return value
    }

    /// The next big-endian integer without reading it, or nil when fewer bytes remain.
    func peekInteger<T: FixedWidthInteger>(as: T.Type = T.self) -> T? {
        guard MemoryLayout<T>.size <= self.remaining else { return nil }
        return T(bigEndian: self.bytes.loadUnaligned(fromByteOffset: self.index, as: T.self))
    }

    /// Reads a u8 or u16 length, then that many bytes as a string whose bytes must all be in `charset`.
    mutating func readBoundedString(
        lengthBytes: Int,
        range: ClosedRange<Int>,
        charset: ByteBuffer.FieldCharset,
        field: StaticString
    ) throws(WireError) -> String {
        let length: Int
        if lengthBytes == 1 {
            guard let byte = self.readInteger(as: UInt8.self) else {
                throw .malformedFrame("payload ends before the length of \(field)")
            }
            length = Int(byte)
        } else {
            guard let word = self.readInteger(as: UInt16.self) else {
                throw .malformedFrame("payload ends before the length of \(field)")
            }
            length = Int(word)
        }
        guard range.contains(length) else {
            throw .malformedFrame("\(field) is \(length) bytes; allowed \(range.lowerBound)...\(range.upperBound)")
        }
        guard length <= self.remaining else {
            throw .malformedFrame("\(field) claims \(length) bytes but only \(self.remaining) remain")
        }
        return try self.readCheckedString(length: length, charset: charset, field: field)
    }

    /// Reads `length` bytes (at most `remaining`) as a string whose bytes must all be in `charset`.
    mutating func readCheckedString(length: Int, charset: ByteBuffer.FieldCharset, field: StaticString)
        throws(WireError) -> String
    {
        precondition(length <= self.remaining, "the caller bounds the length")
        guard length > 0 else { return "" }
        let view = UnsafeRawBufferPointer(rebasing: self.bytes[self.index..<(self.index + length)])
        let valid: Bool
        switch charset {
        case .printable:
            valid = view.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
        case .printableNoSpace:
            valid = view.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
        case .metadataKey:
            valid = view.allSatisfy(isMetadataKeyByte)
        case .utf8:
            // Decoding with repair and comparing byte counts would allocate; validate directly.
            var iterator = view.makeIterator()
            var decoder = UTF8()
            var result = true
            decoding: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue: continue
                case .emptyInput: break decoding
                case .error:
                    result = false
                    break decoding
                }
            }
            valid = result
        }
        guard valid else { throw .malformedFrame("\(field) holds bytes that are not \(charset.name)") }
        self.index += length
        return String(decoding: view, as: UTF8.self)
    }

    /// Reads a u8 length and that many bytes if they spell `known` exactly and returns true; reads nothing and
    /// returns false otherwise.
    mutating func readLengthPrefixed(spelling known: String) -> Bool {
        let count = known.utf8.count
        guard (1...Int(UInt8.max)).contains(count), self.remaining > count,
            self.peekInteger(as: UInt8.self) == UInt8(count)
        else { return false }
        let field = UnsafeRawBufferPointer(rebasing: self.bytes[(self.index + 1)..<(self.index + 1 + count)])
            .assumingMemoryBound(to: UInt8.self)
        let same =
            known.utf8.withContiguousStorageIfAvailable { Protobuf.bytesEqual(field, $0) }
            ?? field.elementsEqual(known.utf8)
        if same { self.index += 1 + count }
        return same
    }
}

extension ByteBuffer.FieldCharset {
    var name: String {
        switch self {
        case .printable: "printable ASCII"
        case .printableNoSpace: "printable ASCII without space"
        case .metadataKey: "a-z 0-9 - _ ."
        case .utf8: "UTF-8"
        }
    }
}

/// Whether every UTF-8 byte of `text` lies in `allowed`. A native string's bytes are scanned in place; only a
/// bridged or otherwise non-contiguous string goes through the UTF-8 view's iterator.
func utf8Bytes(of text: String, areIn allowed: ClosedRange<UInt8>) -> Bool {
    if let answer = text.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(allowed.contains) }) {
        return answer
    }
    return text.utf8.allSatisfy(allowed.contains)
}

@inline(__always)
func isMetadataKeyByte(_ byte: UInt8) -> Bool {
    (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F || byte == 0x2E
}

/// The longest prefix of `string` that is at most `maxBytes` UTF-8 bytes and ends on a scalar
/// boundary, so a truncated message stays valid UTF-8.
func truncatedUTF8(_ string: String, maxBytes: Int) -> String {
    let utf8 = string.utf8
    guard utf8.count > maxBytes else { return string }
    var end = utf8.index(utf8.startIndex, offsetBy: maxBytes)
    // Continuation bytes are 0b10xxxxxx; back up to the first byte of the scalar that would be cut.
    while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 {
        end = utf8.index(before: end)
    }
    return String(decoding: utf8[..<end], as: UTF8.self)
}

/// `string` reduced to printable ASCII of at most `maxBytes` bytes (other bytes become `?`); used where
/// a sender must not fail (CALL_END's IAM code).
func sanitizedPrintable(_ string: String, maxBytes: Int) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(min(string.utf8.count, maxBytes))
    for byte in string.utf8.prefix(maxBytes) {
        bytes.append(byte >= 0x20 && byte <= 0x7E ? byte : 0x3F)
    }
    return String(decoding: bytes, as: UTF8.self)
}

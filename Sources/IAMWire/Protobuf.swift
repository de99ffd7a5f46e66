public import NIOCore

// Protobuf wire-format primitives (https://protobuf.dev/programming-guides/encoding/) used by the
// messages that iam-codegen writes into Generated/: ProtobufWriter and ProtobufReader work on a
// ByteBuffer's bytes borrowed once per message: no reflection, no intermediate arrays. Every length read off the wire is checked
// against the bytes still readable before anything is allocated or sliced.

/// A message with protobuf's wire encoding; the generated request/response types conform.
public protocol WireMessage: Sendable, Hashable {
    /// Creates a message with every field at its default (proto3: zero, empty, absent).
    init()
    /// Appends the protobuf encoding of `self` (fields in field-number order, defaults omitted as proto3 does).
    func encode(into buffer: inout ByteBuffer)
    /// Merges fields read from `buffer` until it is empty; unknown fields are skipped; every length
    /// is bounded by the bytes remaining before anything is allocated.
    mutating func merge(from buffer: inout ByteBuffer) throws(WireError)
    /// The exact number of bytes `encode(into:)` appends. Generated messages compute it without
    /// encoding; it sizes the length prefix of nested messages and lets callers reserve capacity.
    var encodedSize: Int { get }
    /// Writes the encoding into memory reserved for it. Generated messages encode through this: one
    /// reservation per message, then plain stores (a ByteBuffer write per field costs far more).
    func encode(to writer: inout ProtobufWriter)
    /// Merges fields from `reader` until it is at its end (what `merge(from:)` of generated messages
    /// does after borrowing the buffer's bytes once).
    mutating func merge(from reader: inout ProtobufReader) throws(WireError)
    /// Whether a decoded value may be held by the thread's ``Interner`` and given again for the same bytes: true
    /// for generated messages of scalars, enums, lists or maps of them, and messages or lists of messages of such,
    /// without `bytes` at any depth (a held slice would keep its frame alive).
    static var isInternable: Bool { get }
}

extension WireMessage {
    /// Hand-written conformances are not held.
    public static var isInternable: Bool { false }

    /// Fallback for hand-written conformances: encodes into a scratch buffer to learn the size.
    public var encodedSize: Int {
        var scratch = ByteBufferAllocator().buffer(capacity: 64)
        self.encode(into: &scratch)
        return scratch.readableBytes
    }

    /// Fallback for hand-written conformances: encodes into a scratch buffer and copies it.
    public func encode(to writer: inout ProtobufWriter) {
        var scratch = ByteBufferAllocator().buffer(capacity: 64)
        self.encode(into: &scratch)
        writer.writeRawBytes(scratch)
    }

    /// Fallback for hand-written conformances: decodes from a slice of the reader's bytes.
    public mutating func merge(from reader: inout ProtobufReader) throws(WireError) {
        var slice = reader.readRemainingSlice()
        try self.merge(from: &slice)
    }

    /// Decodes a whole message from the readable bytes of `buffer`, consuming them. An internable message the
    /// thread decoded lately from the same bytes is that value, as a nested one is (see ``Interner``): a backend
    /// repeating an Authorize request, or a client receiving the answer it received before.
    @inlinable
    public init(decoding buffer: inout ByteBuffer) throws(WireError) {
        guard Self.isInternable else {
            self.init()
            try self.merge(from: &buffer)
            return
        }
        self = try buffer.readingProtobuf { reader, interner throws(WireError) in
            try reader.readInternable(Self.self, length: reader.remaining, interner: interner)
        }
    }

    /// Decodes a whole message from `buffer` without changing the caller's copy.
    @inlinable
    public init(decoding buffer: ByteBuffer) throws(WireError) {
        var copy = buffer
        try self.init(decoding: &copy)
    }

    /// The protobuf encoding of `self` in a new buffer of exactly the right capacity.
    @inlinable
    public func encoded(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: self.encodedSize)
        self.encode(into: &buffer)
        return buffer
    }

    /// The protobuf encoding of `self` in a new buffer (default allocator).
    @inlinable
    public var encodedBuffer: ByteBuffer {
        self.encoded(allocator: ByteBufferAllocator())
    }
}

/// One RPC method: the service's fully qualified protobuf name and the method's name.
///
/// Its names live in one shared, immutable box: a descriptor travels with every call (the server's call
/// context, the client's pending call), and copying it is then one retain instead of one per name.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    private final class Names: Sendable {
        let service: String
        let method: String
        let action: String?
        let fullName: String

        init(service: String, method: String, action: String?) {
            self.service = service
            self.method = method
            self.action = action
            self.fullName = "/\(service)/\(method)"
        }
    }

    private let names: Names

    /// The fully qualified service name, e.g. "iam.v1.IAM".
    public var service: String { self.names.service }
    /// The method name as written in the IDL, e.g. "CreateUser".
    public var method: String { self.names.method }
    /// The action a call of this method is authorized as, e.g. "iam:CreateUser" or "sts:AssumeRole";
    /// nil for methods that need authentication only. Generated from the IDL with the method table.
    public var action: String? { self.names.action }
    /// The path sent in CALL_START, e.g. "/iam.v1.IAM/CreateUser" (gRPC's spelling), built once.
    public var fullName: String { self.names.fullName }

    /// Creates a descriptor; generated code builds one per `rpc` of the IDL.
    public init(service: String, method: String, action: String? = nil) {
        self.names = Names(service: service, method: method, action: action)
    }

    /// Descriptors are equal when they name the same method: the path is the identity on the wire, the
    /// action an attribute the method table derives from it.
    public static func == (lhs: MethodDescriptor, rhs: MethodDescriptor) -> Bool {
        lhs.names === rhs.names || (lhs.service == rhs.service && lhs.method == rhs.method)
    }

    /// Hashes the path only, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.service)
        hasher.combine(self.method)
    }

    /// Same as `fullName`.
    public var description: String { self.fullName }
}

/// The low three bits of a protobuf tag: how the field's value is laid out.
public enum ProtobufWireType: UInt8, Sendable, Hashable {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// fixed64, sfixed64, double.
    case fixed64 = 1
    /// string, bytes, embedded messages, packed repeated fields, map entries.
    case lengthDelimited = 2
    /// Deprecated proto2 group start; only ever skipped.
    case startGroup = 3
    /// Deprecated proto2 group end; only ever skipped.
    case endGroup = 4
    /// fixed32, sfixed32, float.
    case fixed32 = 5
}

/// A decoded field key: field number and wire type.
public struct ProtobufTag: Sendable, Hashable {
    /// The field number (1 ... 2^29 - 1).
    public var fieldNumber: Int
    /// How the value that follows is encoded.
    public var wireType: ProtobufWireType

    /// Creates a tag.
    @inlinable
    public init(fieldNumber: Int, wireType: ProtobufWireType) {
        self.fieldNumber = fieldNumber
        self.wireType = wireType
    }
}

/// Size computations and integer transforms shared by the generated code.
public enum Protobuf {
    /// The largest field number protobuf allows.
    public static let maxFieldNumber = (1 << 29) - 1

    /// Nesting limit for skipping unknown groups, so hostile input cannot make skipping quadratic
    /// or unbounded; real proto3 senders never emit groups at all.
    public static let maxGroupDepth = 64

    /// Bytes needed for `value` as a varint (1 ... 10).
    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        // Each byte carries 7 bits; a zero still takes one byte.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    /// Bytes needed for an int32/enum value: negatives are sign-extended to ten bytes, as protobuf requires.
    @inlinable
    public static func varintSize(_ value: Int32) -> Int {
        varintSize(UInt64(bitPattern: Int64(value)))
    }

    /// Bytes needed for an int64 value as a varint.
    @inlinable
    public static func varintSize(_ value: Int64) -> Int {
        varintSize(UInt64(bitPattern: value))
    }

    /// Bytes needed for a uint32 value as a varint.
    @inlinable
    public static func varintSize(_ value: UInt32) -> Int {
        varintSize(UInt64(value))
    }

    /// Bytes needed for the key of `fieldNumber`.
    @inlinable
    public static func tagSize(_ fieldNumber: Int) -> Int {
        varintSize(UInt64(truncatingIfNeeded: fieldNumber) << 3)
    }

    /// Bytes needed for a length prefix plus `length` bytes of payload.
    @inlinable
    public static func lengthDelimitedSize(_ length: Int) -> Int {
        varintSize(UInt64(truncatingIfNeeded: length)) + length
    }

    /// The string spelled by `utf8`, or nil when it is not valid UTF-8.
    ///
    /// `String(validating:as:)` is generic and unspecialised here, and looked up type metadata on every
    /// call (a quarter of a decode's time). Decoding with repair is specialised and fast; repair
    /// replaces each invalid sequence with U+FFFD (EF BF BD), so the result spells the input byte for
    /// byte exactly when the input was valid.
    @inlinable
    public static func validatedString(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
        var string = String(decoding: utf8, as: UTF8.self)
        let identical = string.withUTF8 { decoded in
            decoded.count == utf8.count && Self.bytesEqual(decoded, utf8)
        }
        return identical ? string : nil
    }

    /// Byte equality eight bytes at a time (`elementsEqual` compares one generic element at a time).
    @inlinable
    static func bytesEqual(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = lhs.count
        guard count == rhs.count else { return false }
        guard count > 0, let left = lhs.baseAddress, let right = rhs.baseAddress else { return true }
        let leftRaw = UnsafeRawPointer(left)
        let rightRaw = UnsafeRawPointer(right)
        var offset = 0
        while offset &+ 8 <= count {
            if leftRaw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != rightRaw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset &+= 8
        }
        while offset < count {
            if left[offset] != right[offset] { return false }
            offset &+= 1
        }
        return true
    }

    /// ZigZag-encodes a sint32 so small negative numbers stay short.
    @inlinable
    public static func zigZag(_ value: Int32) -> UInt32 {
        UInt32(bitPattern: (value << 1) ^ (value >> 31))
    }

    /// ZigZag-encodes a sint64.
    @inlinable
    public static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    /// Reverses `zigZag(_:)` for sint32.
    @inlinable
    public static func unZigZag(_ value: UInt32) -> Int32 {
        Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }

    /// Reverses `zigZag(_:)` for sint64.
    @inlinable
    public static func unZigZag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))
    }
}

// MARK: - Whole-message encoding and decoding

extension ByteBuffer {
    /// Appends the encoding of `message` with one capacity reservation: sizes it with `encodedSize`,
    /// then lets it write through a `ProtobufWriter`. Generated `encode(into:)` methods call this.
    @inlinable
    public mutating func writeProtobufEncoding<M: WireMessage>(of message: M) {
        let size = message.encodedSize
        guard size > 0 else { return }
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            var writer = ProtobufWriter(bytes)
            message.encode(to: &writer)
            // A mismatch would mean encodedSize and encode(to:) disagree: a generator bug, not input.
            precondition(writer.count == size, "protobuf encodedSize \(size) but \(writer.count) bytes written")
            return size
        }
    }

    /// Merges all readable bytes into `message`, borrowing them once for a `ProtobufReader`, and
    /// consumes them. Generated `merge(from:)` methods call this.
    @inlinable
    public mutating func mergeProtobufEncoding<M: WireMessage>(into message: inout M) throws(WireError) {
        try self.readingProtobuf { reader, _ throws(WireError) in try message.merge(from: &reader) }
    }

    /// What `body` reads through a `ProtobufReader` over all readable bytes (borrowed once) and the thread's interner
    /// (a decode runs on one thread, start to end); the bytes are consumed when it succeeds.
    @inlinable
    mutating func readingProtobuf<T>(_ body: (inout ProtobufReader, Interner) throws(WireError) -> T)
        throws(WireError) -> T
    {
        // The reader slices `bytes` fields out of this copy (zero-copy); nothing mutates it meanwhile.
        let base = self
        let interner = Interner.current
        let result: Result<T, WireError> = base.withUnsafeReadableBytes { bytes in
            var reader = ProtobufReader(bytes: bytes, base: base, baseOffset: base.readerIndex, interner: interner)
            do throws(WireError) {
                return .success(try body(&reader, interner))
            } catch {
                return .failure(error)
            }
        }
        let value = try result.get()
        self.moveReaderIndex(forwardBy: base.readableBytes)
        return value
    }
}

/// Writes protobuf into memory reserved for exactly the message's `encodedSize` bytes.
///
/// Every write checks that it stays inside the reservation, so a wrong size can crash but never
/// write out of bounds.
public struct ProtobufWriter {
    @usableFromInline let start: UnsafeMutableRawPointer?
    @usableFromInline let capacity: Int
    @usableFromInline var written: Int

    /// Bytes written so far.
    @inlinable
    public var count: Int { self.written }

    /// A writer over `bytes` (valid only while they are).
    @inlinable
    public init(_ bytes: UnsafeMutableRawBufferPointer) {
        self.start = bytes.baseAddress
        self.capacity = bytes.count
        self.written = 0
    }

    @inlinable
    mutating func claim(_ length: Int) -> UnsafeMutableRawPointer {
        precondition(length <= self.capacity &- self.written, "protobuf write past the reserved size")
        let pointer = self.start.unsafelyUnwrapped + self.written
        self.written &+= length
        return pointer
    }

    /// Writes `value` as a base-128 varint.
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        let size = Protobuf.varintSize(value)
        let pointer = self.claim(size)
        var remaining = value
        for index in 0..<(size &- 1) {
            pointer.storeBytes(of: UInt8(truncatingIfNeeded: remaining) | 0x80, toByteOffset: index, as: UInt8.self)
            remaining >>= 7
        }
        pointer.storeBytes(of: UInt8(truncatingIfNeeded: remaining), toByteOffset: size &- 1, as: UInt8.self)
    }

    /// Writes an int32 or enum value, sign-extended to 64 bits as protobuf requires.
    @inlinable
    public mutating func writeVarint(_ value: Int32) {
        self.writeVarint(UInt64(bitPattern: Int64(value)))
    }

    /// Writes an int64 value as a varint of its two's-complement bits.
    @inlinable
    public mutating func writeVarint(_ value: Int64) {
        self.writeVarint(UInt64(bitPattern: value))
    }

    /// Writes a uint32 value as a varint.
    @inlinable
    public mutating func writeVarint(_ value: UInt32) {
        self.writeVarint(UInt64(value))
    }

    /// Writes a field key.
    @inlinable
    public mutating func writeTag(_ fieldNumber: Int, _ wireType: ProtobufWireType) {
        self.writeVarint(UInt64(truncatingIfNeeded: fieldNumber) << 3 | UInt64(wireType.rawValue))
    }

    /// Writes a bool as one byte.
    @inlinable
    public mutating func writeBool(_ value: Bool) {
        self.claim(1).storeBytes(of: value ? 1 : 0, as: UInt8.self)
    }

    /// Writes four little-endian bytes.
    @inlinable
    public mutating func writeFixed32(_ value: UInt32) {
        self.claim(4).storeBytes(of: value.littleEndian, as: UInt32.self)
    }

    /// Writes eight little-endian bytes.
    @inlinable
    public mutating func writeFixed64(_ value: UInt64) {
        self.claim(8).storeBytes(of: value.littleEndian, as: UInt64.self)
    }

    /// Writes a float's IEEE-754 bits.
    @inlinable
    public mutating func writeFloat(_ value: Float) {
        self.writeFixed32(value.bitPattern)
    }

    /// Writes a double's IEEE-754 bits.
    @inlinable
    public mutating func writeDouble(_ value: Double) {
        self.writeFixed64(value.bitPattern)
    }

    /// Writes a length prefix and the string's UTF-8 bytes.
    @inlinable
    public mutating func writeString(_ value: String) {
        let length = value.utf8.count
        self.writeVarint(UInt64(length))
        guard length > 0 else { return }
        let pointer = self.claim(length)
        let copied: Void? = value.utf8.withContiguousStorageIfAvailable { utf8 in
            if let source = utf8.baseAddress {
                pointer.copyMemory(from: source, byteCount: length)
            }
        }
        if copied == nil {
            // Non-contiguous (bridged) strings only; Swift-native strings take the path above.
            for (index, byte) in value.utf8.enumerated() {
                pointer.storeBytes(of: byte, toByteOffset: index, as: UInt8.self)
            }
        }
    }

    /// Writes a length prefix and the readable bytes of `value`.
    @inlinable
    public mutating func writeBytes(_ value: ByteBuffer) {
        self.writeVarint(UInt64(value.readableBytes))
        self.writeRawBytes(value)
    }

    /// Writes the readable bytes of `value` with no prefix.
    @inlinable
    public mutating func writeRawBytes(_ value: ByteBuffer) {
        let length = value.readableBytes
        guard length > 0 else { return }
        let pointer = self.claim(length)
        value.withUnsafeReadableBytes { source in
            if let base = source.baseAddress {
                pointer.copyMemory(from: base, byteCount: length)
            }
        }
    }

    /// Writes a length prefix and an embedded message.
    ///
    /// The message goes first, after one byte for its length (under 128 bytes, the common case), and moves up when
    /// the length takes more. Sizing it first would size its own embedded messages again, once per level of nesting
    /// (a batch's statements were sized three times). The moved bytes stay within the reserved size, which counted
    /// the real length, and while the message is written its bytes sit at or before their final place.
    @inlinable
    public mutating func writeMessage<M: WireMessage>(_ value: M) {
        let lengthAt = self.written
        _ = self.claim(1)
        value.encode(to: &self)
        let length = self.written &- lengthAt &- 1
        let lengthSize = Protobuf.varintSize(UInt64(length))
        if lengthSize > 1 {
            _ = self.claim(lengthSize &- 1)
            let base = self.start.unsafelyUnwrapped
            // copyMemory is memmove: the two ranges overlap.
            (base + lengthAt + lengthSize).copyMemory(from: base + lengthAt + 1, byteCount: length)
        }
        let end = self.written
        self.written = lengthAt
        self.writeVarint(UInt64(length))
        self.written = end
    }
}

/// Reads protobuf from borrowed bytes; `bytes` fields come out as zero-copy slices of the
/// ByteBuffer the bytes belong to. Every length is checked against the bytes remaining first.
public struct ProtobufReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var index: Int
    @usableFromInline let end: Int
    @usableFromInline let base: ByteBuffer
    @usableFromInline let baseOffset: Int
    /// Where strings and messages it met before come from; unowned, as the thread's interner outlives every
    /// decode on it.
    @usableFromInline unowned(unsafe) let interner: Interner?

    /// A reader over `bytes`, which are the readable bytes of `base` starting at `baseOffset`; strings of
    /// ``Interner/minimumLength`` to ``Interner/maximumLength`` bytes, and internable messages of at most
    /// ``Interner/maximumLength``, come from `interner`, which must outlive the reader.
    @inlinable
    public init(bytes: UnsafeRawBufferPointer, base: ByteBuffer, baseOffset: Int, interner: Interner? = nil) {
        self.bytes = bytes
        self.index = 0
        self.end = bytes.count
        self.base = base
        self.baseOffset = baseOffset
        self.interner = interner
    }

    @inlinable
    init(parent: ProtobufReader, end: Int) {
        self.bytes = parent.bytes
        self.index = parent.index
        self.end = end
        self.base = parent.base
        self.baseOffset = parent.baseOffset
        self.interner = parent.interner
    }

    /// Bytes left before the end of this (sub-)message.
    @inlinable
    public var remaining: Int { self.end &- self.index }

    /// Whether every byte has been read.
    @inlinable
    public var isAtEnd: Bool { self.index >= self.end }

    @inlinable
    func byte(at offset: Int) -> UInt8 {
        self.bytes.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Reads a varint of at most ten bytes.
    @inlinable
    public mutating func readVarint() throws(WireError) -> UInt64 {
        guard self.index < self.end else {
            throw WireError.malformedMessage("protobuf message ends inside a varint")
        }
        let first = self.byte(at: self.index)
        if first < 0x80 {
            self.index &+= 1
            return UInt64(first)
        }
        var value = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        var position = self.index &+ 1
        while position < self.end {
            let byte = self.byte(at: position)
            position &+= 1
            // The tenth byte may only carry the top bit; protobuf parsers drop the excess, as do we.
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                self.index = position
                return value
            }
            shift &+= 7
            if shift >= 70 {
                throw WireError.malformedMessage("protobuf varint longer than 10 bytes")
            }
        }
        throw WireError.malformedMessage("protobuf message ends inside a varint")
    }

    /// Reads the next field key, or nil at the end of the message.
    @inlinable
    public mutating func readTag() throws(WireError) -> ProtobufTag? {
        guard self.index < self.end else { return nil }
        let key = try self.readVarint()
        guard let wireType = ProtobufWireType(rawValue: UInt8(truncatingIfNeeded: key & 7)) else {
            throw WireError.malformedMessage("protobuf tag has invalid wire type \(key & 7)")
        }
        let fieldNumber = key >> 3
        guard fieldNumber >= 1 && fieldNumber <= UInt64(Protobuf.maxFieldNumber) else {
            throw WireError.malformedMessage("protobuf tag has invalid field number \(fieldNumber)")
        }
        return ProtobufTag(fieldNumber: Int(fieldNumber), wireType: wireType)
    }

    /// Reads a varint as a bool (non-zero is true).
    @inlinable
    public mutating func readBool() throws(WireError) -> Bool {
        try self.readVarint() != 0
    }

    /// Reads four little-endian bytes.
    @inlinable
    public mutating func readFixed32() throws(WireError) -> UInt32 {
        guard self.end &- self.index >= 4 else {
            throw WireError.malformedMessage("protobuf message ends inside a fixed32 field")
        }
        let value = self.bytes.loadUnaligned(fromByteOffset: self.index, as: UInt32.self)
        self.index &+= 4
        return UInt32(littleEndian: value)
    }

    /// Reads eight little-endian bytes.
    @inlinable
    public mutating func readFixed64() throws(WireError) -> UInt64 {
        guard self.end &- self.index >= 8 else {
            throw WireError.malformedMessage("protobuf message ends inside a fixed64 field")
        }
        let value = self.bytes.loadUnaligned(fromByteOffset: self.index, as: UInt64.self)
        self.index &+= 8
        return UInt64(littleEndian: value)
    }

    /// Reads a float from fixed32 bits.
    @inlinable
    public mutating func readFloat() throws(WireError) -> Float {
        Float(bitPattern: try self.readFixed32())
    }

    /// Reads a double from fixed64 bits.
    @inlinable
    public mutating func readDouble() throws(WireError) -> Double {
        Double(bitPattern: try self.readFixed64())
    }

    /// Reads a length prefix, bounded by the bytes remaining.
    @inlinable
    public mutating func readLength() throws(WireError) -> Int {
        let length = try self.readVarint()
        guard length <= UInt64(self.end &- self.index) else {
            throw WireError.malformedMessage(
                "protobuf length \(length) exceeds the \(self.end &- self.index) bytes remaining"
            )
        }
        return Int(length)
    }

    /// Reads a length-delimited UTF-8 string; invalid UTF-8 is rejected as proto3 requires.
    @inlinable
    public mutating func readString() throws(WireError) -> String {
        let length = try self.readLength()
        if length == 0 { return "" }
        let start = self.index
        let string = self.bytes.withMemoryRebound(to: UInt8.self) { codeUnits in
            let utf8 = UnsafeBufferPointer(rebasing: codeUnits[start..<(start &+ length)])
            if let interner = self.interner, length >= Interner.minimumLength,
                length <= Interner.maximumLength
            {
                return interner.string(utf8)
            }
            return Protobuf.validatedString(utf8)
        }
        guard let string else {
            throw WireError.malformedMessage("protobuf string field is not valid UTF-8")
        }
        self.index &+= length
        return string
    }

    /// Reads a length-delimited field as a zero-copy slice of the underlying ByteBuffer.
    @inlinable
    public mutating func readBytes() throws(WireError) -> ByteBuffer {
        let length = try self.readLength()
        // Cannot fail: the length is bounded by the bytes remaining, which lie inside `base`.
        let slice = self.base.getSlice(at: self.baseOffset &+ self.index, length: length)!
        self.index &+= length
        return slice
    }

    /// The rest of this (sub-)message as a ByteBuffer slice, consuming it.
    @inlinable
    public mutating func readRemainingSlice() -> ByteBuffer {
        let slice = self.base.getSlice(at: self.baseOffset &+ self.index, length: self.end &- self.index)!
        self.index = self.end
        return slice
    }

    /// Reads a length prefix and returns a reader limited to that many bytes (packed fields, map entries).
    @inlinable
    public mutating func readDelimited() throws(WireError) -> ProtobufReader {
        let length = try self.readLength()
        let nested = ProtobufReader(parent: self, end: self.index &+ length)
        self.index &+= length
        return nested
    }

    /// The varint of at most ten bytes at `index`, which moves past it; the reader itself does not move. Nil at the
    /// end of the message: the look-ahead scans (``countLengthDelimited(_:)``, ``consecutiveRun(_:)``) then stop,
    /// and the read that follows reports what is wrong.
    @inlinable
    func peekVarint(at index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < self.end && shift < 70 {
            let byte = self.bytes.load(fromByteOffset: index, as: UInt8.self)
            index &+= 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift &+= 7
        }
        return nil
    }

    /// How many length-delimited values of `tag`'s field this message holds from here on, counting the one
    /// whose tag was just read: a repeated message field's decoder reserves that much before its first append,
    /// where appending one at a time would reallocate and move the array at every doubling (an AuthorizeBatch of
    /// 100 moved its checks seven times). The scan only skips, over the raw bytes: a length prefix costs a varint
    /// read, no value is decoded. Anything malformed, or a group, ends the count early (the decode itself then
    /// reports it), and the count never exceeds the bytes remaining, so the reservation is never larger than the
    /// array the decode would build anyway.
    @inlinable
    public func countLengthDelimited(_ tag: ProtobufTag) -> Int {
        var index = self.index
        func varint() -> UInt64? { self.peekVarint(at: &index) }
        guard let first = varint(), first <= UInt64(end &- index) else { return 0 }
        index &+= Int(first)
        let wanted = UInt64(tag.fieldNumber) << 3 | UInt64(ProtobufWireType.lengthDelimited.rawValue)
        var count = 1
        while index < end, let key = varint() {
            switch key & 7 {
            case 0:
                guard varint() != nil else { return count }
            case 1:
                index &+= 8
            case 5:
                index &+= 4
            case 2:
                guard let length = varint(), length <= UInt64(end &- index) else { return count }
                index &+= Int(length)
                if key == wanted { count &+= 1 }
            default:
                return count
            }
        }
        return count
    }

    /// Reads an embedded message.
    @inlinable
    public mutating func readMessage<M: WireMessage>(_: M.Type = M.self) throws(WireError) -> M {
        guard M.isInternable, let interner = self.interner else {
            var message = M()
            try self.mergeMessage(into: &message)
            return message
        }
        let length = try self.readLength()
        return try self.readInternable(M.self, length: length, interner: interner)
    }

    /// The internable message in the next `length` bytes (which the caller has checked are there), moving past
    /// them: the value the thread decoded lately from the same bytes when its interner holds one (see
    /// ``Interner``), else decoded, and held when it is at most ``Interner/maximumLength`` bytes.
    @inlinable
    mutating func readInternable<M: WireMessage>(_: M.Type, length: Int, interner: Interner) throws(WireError) -> M {
        let start = self.index
        let held = length <= Interner.maximumLength
        let encoded = UnsafeBufferPointer(
            rebasing: self.bytes.assumingMemoryBound(to: UInt8.self)[start..<(start &+ length)])
        if held, let message = interner.value(M.self, encoded) {
            self.index &+= length
            return message
        }
        var nested = ProtobufReader(parent: self, end: start &+ length)
        self.index &+= length
        var message = M()
        try message.merge(from: &nested)
        if held { interner.hold(message, decodedFrom: encoded) }
        return message
    }

    /// Reads a value of a repeated message field (the reader is just past its key, `tag`) and appends it to `array`.
    /// At the field's first value, an internable type's run of consecutive values that the thread decoded lately from
    /// the same bytes is that array, whole (see ``Interner``): a check's context entries, repeated by the checks of a
    /// batch and by a backend's calls, cost no array and no element decode; a run met first is read whole here, and
    /// held when it is at most ``Interner/maximumRunLength`` bytes. Either way the array is sized before the first
    /// append, so it does not grow on the way.
    @inlinable
    public mutating func readRepeatedMessage<M: WireMessage>(_ tag: ProtobufTag, into array: inout [M])
        throws(WireError)
    {
        guard array.isEmpty else {
            array.append(try self.readMessage(M.self))
            return
        }
        guard M.isInternable, let interner = self.interner, let run = self.consecutiveRun(tag) else {
            array.reserveCapacity(self.countLengthDelimited(tag))
            array.append(try self.readMessage(M.self))
            return
        }
        let encoded = UnsafeBufferPointer(
            rebasing: self.bytes.assumingMemoryBound(to: UInt8.self)[self.index..<run.end])
        let held = encoded.count <= Interner.maximumRunLength
        if held, let decoded = interner.value([M].self, encoded) {
            self.index &+= encoded.count
            array = decoded
            return
        }
        array.reserveCapacity(run.count)
        array.append(try self.readMessage(M.self))
        while self.index < run.end {
            _ = try self.readTag()  // `tag` again: the run is the values with no other field between them
            array.append(try self.readMessage(M.self))
        }
        if held { interner.hold(array, decodedFrom: encoded) }
    }

    /// Where the run of consecutive length-delimited values of `tag` that starts here (at the first one's length)
    /// ends, and how many values it has; nil when a length runs past the message's end (reading then fails).
    @inlinable
    func consecutiveRun(_ tag: ProtobufTag) -> (end: Int, count: Int)? {
        let end = self.end
        var index = self.index
        func varint() -> UInt64? { self.peekVarint(at: &index) }
        let wanted = UInt64(tag.fieldNumber) << 3 | UInt64(ProtobufWireType.lengthDelimited.rawValue)
        var count = 0
        while true {
            guard let length = varint(), length <= UInt64(end &- index) else { return nil }
            index &+= Int(length)
            count &+= 1
            let valueEnd = index
            guard index < end, varint() == wanted else { return (valueEnd, count) }
        }
    }

    /// Merges an embedded message into `message` (protobuf's rule for a singular message field seen twice).
    @inlinable
    public mutating func mergeMessage<M: WireMessage>(into message: inout M) throws(WireError) {
        var nested = try self.readDelimited()
        try message.merge(from: &nested)
    }

    /// The error for a known field that arrived with a wire type its declared type never uses (`08 01` —
    /// field 1 as a varint — where field 1 is `bytes`): the message does not decode (WIRE.md §7.2).
    /// Generated decoders throw it; protobuf's own runtimes would keep the field as unknown instead.
    public static func wrongWireType(_ tag: ProtobufTag) -> WireError {
        WireError.malformedMessage(
            "protobuf field \(tag.fieldNumber) arrived with wire type \(tag.wireType.rawValue), which its declared type never uses"
        )
    }

    /// Skips the value of a field this decoder does not know, whatever its wire type.
    @inlinable
    public mutating func skipField(_ tag: ProtobufTag) throws(WireError) {
        switch tag.wireType {
        case .varint:
            _ = try self.readVarint()
        case .fixed64:
            _ = try self.readFixed64()
        case .fixed32:
            _ = try self.readFixed32()
        case .lengthDelimited:
            self.index &+= try self.readLength()
        case .startGroup:
            try self.skipGroup(startingWith: tag.fieldNumber)
        case .endGroup:
            throw WireError.malformedMessage("protobuf end-group tag for field \(tag.fieldNumber) without a start")
        }
    }

    @usableFromInline
    mutating func skipGroup(startingWith fieldNumber: Int) throws(WireError) {
        // A stack instead of recursion: hostile nesting cannot blow the stack.
        var open: [Int] = [fieldNumber]
        while let current = open.last {
            guard let tag = try self.readTag() else {
                throw WireError.malformedMessage("protobuf message ends inside group \(current)")
            }
            switch tag.wireType {
            case .startGroup:
                guard open.count < Protobuf.maxGroupDepth else {
                    throw WireError.malformedMessage("protobuf groups nested deeper than \(Protobuf.maxGroupDepth)")
                }
                open.append(tag.fieldNumber)
            case .endGroup:
                guard tag.fieldNumber == current else {
                    throw WireError.malformedMessage(
                        "protobuf end-group tag for field \(tag.fieldNumber) inside group \(current)"
                    )
                }
                open.removeLast()
            default:
                try self.skipField(tag)
            }
        }
    }
}

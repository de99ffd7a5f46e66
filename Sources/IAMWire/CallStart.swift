public import NIOCore

/// The payload of CALL_START (WIRE.md §7.1): method, timeout, request id and metadata.
public struct CallStart: Hashable, Sendable {
    /// Longest method name in bytes.
    public static let maxMethodLength = 255
    /// Longest request id in bytes.
    public static let maxRequestIDLength = 128
    /// Most metadata entries.
    public static let maxMetadataEntries = 64
    /// Longest metadata key in bytes.
    public static let maxMetadataKeyLength = 64
    /// Longest metadata value in bytes.
    public static let maxMetadataValueLength = 4096
    /// Most bytes of all metadata keys and values together.
    public static let maxMetadataBytes = 8192

    /// The method's full name, e.g. `/iam.v1.IAM/CreateUser`.
    public var method: String
    /// Microseconds the client waits from sending the frame; 0 = no deadline.
    public var timeoutMicroseconds: UInt64
    /// The request id (printable ASCII, up to 128 bytes); empty = the server assigns one.
    public var requestID: String
    /// Metadata, in order.
    public var metadata: Metadata

    /// Creates a call start.
    public init(
        method: String, timeoutMicroseconds: UInt64 = 0, requestID: String = "", metadata: Metadata = Metadata()
    ) {
        self.method = method
        self.timeoutMicroseconds = timeoutMicroseconds
        self.requestID = requestID
        self.metadata = metadata
    }

    /// Creates a call start with a `Duration` timeout (nil = none). A timeout below 1 µs becomes 1 µs
    /// so that it does not read as "no deadline".
    public init(method: String, timeout: Duration?, requestID: String = "", metadata: Metadata = Metadata()) {
        var micros: UInt64 = 0
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            if seconds < 0 {
                micros = 1
            } else {
                let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
                micros = overflow ? UInt64.max : whole &+ UInt64(attoseconds / 1_000_000_000_000)
                micros = max(micros, 1)
            }
        }
        self.init(method: method, timeoutMicroseconds: micros, requestID: requestID, metadata: metadata)
    }

    /// The timeout as a `Duration`, or nil when there is no deadline.
    public var timeout: Duration? {
        guard self.timeoutMicroseconds > 0 else { return nil }
        // Saturate: a u64 of microseconds fits in Duration's range only up to Int64 seconds.
        return .microseconds(Int64(clamping: self.timeoutMicroseconds))
    }

    /// Writes the payload.
    /// - Throws: `malformedFrame` for a method, request id or metadata that WIRE.md does not allow,
    ///   `limitExceeded` for too many or too large metadata entries.
    public func encode(into buffer: inout ByteBuffer) throws(WireError) {
        let method = self.method.utf8
        guard (1...Self.maxMethodLength).contains(method.count), utf8Bytes(of: self.method, areIn: 0x21...0x7E)
        else {
            throw .malformedFrame("method name must be 1...255 bytes of printable ASCII without space")
        }
        let requestID = self.requestID.utf8
        guard requestID.count <= Self.maxRequestIDLength, utf8Bytes(of: self.requestID, areIn: 0x20...0x7E) else {
            throw .malformedFrame("request id must be 0...128 bytes of printable ASCII")
        }
        let metadataBytes = try Self.validate(self.metadata)
        // Every field through one reservation (validate's total counts each entry's three length bytes).
        buffer.writeRaw(reserving: 11 + method.count + requestID.count + metadataBytes) { writer in
            writer.writeLengthPrefixed(self.method, lengthBytes: 1)
            writer.write(self.timeoutMicroseconds)
            writer.writeLengthPrefixed(self.requestID, lengthBytes: 1)
            writer.write(UInt8(self.metadata.count))
            for (key, value) in self.metadata {
                writer.writeLengthPrefixed(key, lengthBytes: 1)
                writer.writeLengthPrefixed(value, lengthBytes: 2)
            }
        }
    }

    /// Checks metadata against WIRE.md §7.1 and returns its encoded size.
    private static func validate(_ metadata: Metadata) throws(WireError) -> Int {
        guard !metadata.isEmpty else { return 0 }
        guard metadata.count <= Self.maxMetadataEntries else {
            throw .limitExceeded("\(metadata.count) metadata entries; at most \(Self.maxMetadataEntries)")
        }
        var total = 0
        for (key, value) in metadata {
            // Sizes are limits (RESOURCE_EXHAUSTED), characters are malformation (INVALID_ARGUMENT): WIRE.md §7.1.
            guard key.utf8.count <= Self.maxMetadataKeyLength else {
                throw .limitExceeded("metadata key of \(key.utf8.count) bytes; at most \(Self.maxMetadataKeyLength)")
            }
            guard value.utf8.count <= Self.maxMetadataValueLength else {
                throw .limitExceeded(
                    "metadata value of \(value.utf8.count) bytes for \"\(key)\"; at most \(Self.maxMetadataValueLength)"
                )
            }
            guard !key.isEmpty, key.utf8.allSatisfy(isMetadataKeyByte) else {
                throw .malformedFrame("metadata key \"\(key)\" must be 1...64 bytes of a-z 0-9 - _ .")
            }
            guard utf8Bytes(of: value, areIn: 0x20...0x7E) else {
                throw .malformedFrame("metadata value for \"\(key)\" must be 0...4096 bytes of printable ASCII")
            }
            total += key.utf8.count + value.utf8.count
        }
        guard total <= Self.maxMetadataBytes else {
            throw .limitExceeded("metadata holds \(total) bytes; at most \(Self.maxMetadataBytes)")
        }
        return total + 3 * metadata.count
    }

    /// Reads a CALL_START payload.
    /// - Throws: `malformedFrame` (the call ends INVALID_ARGUMENT) or `limitExceeded` (the call ends
    ///   RESOURCE_EXHAUSTED); see WIRE.md §7.1.
    public init(decoding payload: ByteBuffer) throws(WireError) {
        try self.init(decoding: payload, expectingMethod: nil)
    }

    /// Reads a CALL_START payload whose method is probably `expected` (a server passes the method of the
    /// connection's previous call): when the bytes spell it, `expected` itself becomes `method`, neither
    /// allocated nor validated again. `expected` must be a method name this decoder accepts.
    public init(decoding payload: ByteBuffer, expectingMethod expected: String?) throws(WireError) {
        var payload = payload
        let (method, timeout, requestID, metadata) = try payload.readPayload {
            (reader) throws(WireError) -> (String, UInt64, String, Metadata) in
            try Self.read(from: &reader, expectingMethod: expected)
        }
        self.init(method: method, timeoutMicroseconds: timeout, requestID: requestID, metadata: metadata)
    }

    private static func read(from payload: inout RawPayloadReader, expectingMethod expected: String?)
        throws(WireError) -> (String, UInt64, String, Metadata)
    {
        let method: String
        if let expected, payload.readLengthPrefixed(spelling: expected) {
            method = expected
        } else {
            method = try payload.readBoundedString(
                lengthBytes: 1,
                range: 1...Self.maxMethodLength,
                charset: .printableNoSpace,
                field: "method"
            )
        }
        guard let timeout = payload.readInteger(as: UInt64.self) else {
            throw .malformedFrame("CALL_START ends before the timeout")
        }
        let requestID = try payload.readBoundedString(
            lengthBytes: 1,
            range: 0...Self.maxRequestIDLength,
            charset: .printable,
            field: "request id"
        )
        guard let count = payload.readInteger(as: UInt8.self) else {
            throw .malformedFrame("CALL_START ends before the metadata count")
        }
        guard count <= Self.maxMetadataEntries else {
            throw .limitExceeded("\(count) metadata entries; at most \(Self.maxMetadataEntries)")
        }
        var metadata = Metadata()
        var total = 0
        if count > 0 {
            metadata.storage.reserveCapacity(Int(count))
        }
        for _ in 0..<count {
            // An over-long key or value is a size limit (RESOURCE_EXHAUSTED), not malformation (WIRE.md §7.1).
            if let length = payload.peekInteger(as: UInt8.self), Int(length) > Self.maxMetadataKeyLength {
                throw .limitExceeded("metadata key of \(length) bytes; at most \(Self.maxMetadataKeyLength)")
            }
            let key = try payload.readBoundedString(
                lengthBytes: 1,
                range: 1...Self.maxMetadataKeyLength,
                charset: .metadataKey,
                field: "metadata key"
            )
            if let length = payload.peekInteger(as: UInt16.self), Int(length) > Self.maxMetadataValueLength {
                throw .limitExceeded(
                    "metadata value of \(length) bytes for \"\(key)\"; at most \(Self.maxMetadataValueLength)")
            }
            let value = try payload.readBoundedString(
                lengthBytes: 2,
                range: 0...Self.maxMetadataValueLength,
                charset: .printable,
                field: "metadata value"
            )
            total += key.utf8.count + value.utf8.count
            guard total <= Self.maxMetadataBytes else {
                throw .limitExceeded("metadata holds more than \(Self.maxMetadataBytes) bytes")
            }
            // Keys are already lower case (the charset check enforces it), so skip normalisation.
            metadata.storage.append(.init(key: key, value: value))
        }
        guard payload.remaining == 0 else {
            throw .malformedFrame("CALL_START has \(payload.remaining) bytes after the last metadata entry")
        }
        return (method, timeout, requestID, metadata)
    }
}

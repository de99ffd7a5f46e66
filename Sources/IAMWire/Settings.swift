public import NIOCore

/// The id of one SETTINGS entry (WIRE.md §5). Unknown ids are ignored by receivers.
public struct SettingID: Hashable, Sendable, CustomStringConvertible {
    /// The u16 on the wire.
    public let rawValue: UInt16

    /// Wraps an id (known or not).
    @inlinable
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// 0x0001: largest frame payload the sender accepts.
    public static let maxFrameSize = SettingID(rawValue: 0x0001)
    /// 0x0002: calls the sender runs at once.
    public static let maxConcurrentCalls = SettingID(rawValue: 0x0002)
    /// 0x0003: largest message (after decompression) the sender accepts.
    public static let maxMessageSize = SettingID(rawValue: 0x0003)
    /// 0x0004: bit mask of algorithms the sender can decompress (bit 0 = zlib).
    public static let compression = SettingID(rawValue: 0x0004)
    /// 0x0005: advisory: smallest uncompressed size the sender would like to receive compressed.
    public static let compressionThreshold = SettingID(rawValue: 0x0005)
    /// 0x0006: seconds without calls after which the sender closes the connection (0 = never).
    public static let idleTimeout = SettingID(rawValue: 0x0006)

    /// The upper-case name used in WIRE.md.
    public var description: String {
        switch self.rawValue {
        case 1: "MAX_FRAME_SIZE"
        case 2: "MAX_CONCURRENT_CALLS"
        case 3: "MAX_MESSAGE_SIZE"
        case 4: "COMPRESSION"
        case 5: "COMPRESSION_THRESHOLD"
        case 6: "IDLE_TIMEOUT"
        default: "UNKNOWN(0x\(String(self.rawValue, radix: 16)))"
        }
    }
}

/// Compression algorithms a peer can decompress (the COMPRESSION setting's bit mask).
public struct CompressionAlgorithms: OptionSet, Hashable, Sendable {
    /// The bit mask.
    public var rawValue: UInt32

    /// Wraps a bit mask.
    @inlinable
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Bit 0: zlib, RFC 1950 (WIRE.md §10).
    public static let zlib = CompressionAlgorithms(rawValue: 1)
}

/// What a peer is willing to receive, as carried by a SETTINGS frame (WIRE.md §5). A freshly created
/// value holds the protocol defaults, which apply until the peer's SETTINGS arrives.
public struct ConnectionSettings: Hashable, Sendable {
    /// Default MAX_FRAME_SIZE: 1 MiB.
    public static let defaultMaxFrameSize = 1 << 20
    /// Allowed MAX_FRAME_SIZE values: 16 KiB ... 16 MiB (the hard cap).
    public static let maxFrameSizeRange = (16 << 10)...(16 << 20)
    /// Default MAX_CONCURRENT_CALLS.
    public static let defaultMaxConcurrentCalls = 100
    /// Allowed MAX_CONCURRENT_CALLS values.
    public static let maxConcurrentCallsRange = 0...1_000_000
    /// Default MAX_MESSAGE_SIZE: 4 MiB.
    public static let defaultMaxMessageSize = 4 << 20
    /// Allowed MAX_MESSAGE_SIZE values: 1 KiB ... 64 MiB.
    public static let maxMessageSizeRange = (1 << 10)...(64 << 20)
    /// Default COMPRESSION_THRESHOLD (bytes): see WIRE.md §16 for the measurement.
    public static let defaultCompressionThreshold = 1024
    /// Allowed COMPRESSION_THRESHOLD values.
    public static let compressionThresholdRange = 0...(16 << 20)
    /// Default IDLE_TIMEOUT (seconds).
    public static let defaultIdleTimeoutSeconds = 300
    /// Allowed IDLE_TIMEOUT values.
    public static let idleTimeoutRange = 0...86_400
    /// Most entries one SETTINGS frame may hold.
    public static let maxEntries = 32
    /// Bytes per entry.
    public static let entrySize = 6

    /// Largest frame payload the sender accepts.
    public var maxFrameSize: Int
    /// Calls the sender runs at once.
    public var maxConcurrentCalls: Int
    /// Largest message (after decompression) the sender accepts.
    public var maxMessageSize: Int
    /// Algorithms the sender can decompress.
    public var compression: CompressionAlgorithms
    /// Advisory: smallest uncompressed message size the sender wants compressed.
    public var compressionThreshold: Int
    /// Seconds without calls after which the sender closes the connection; 0 = never.
    public var idleTimeoutSeconds: Int

    /// The protocol defaults (what to assume before the peer's SETTINGS arrives).
    public init(
        maxFrameSize: Int = ConnectionSettings.defaultMaxFrameSize,
        maxConcurrentCalls: Int = ConnectionSettings.defaultMaxConcurrentCalls,
        maxMessageSize: Int = ConnectionSettings.defaultMaxMessageSize,
        compression: CompressionAlgorithms = [],
        compressionThreshold: Int = ConnectionSettings.defaultCompressionThreshold,
        idleTimeoutSeconds: Int = ConnectionSettings.defaultIdleTimeoutSeconds
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxConcurrentCalls = maxConcurrentCalls
        self.maxMessageSize = maxMessageSize
        self.compression = compression
        self.compressionThreshold = compressionThreshold
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }

    /// Reads a SETTINGS payload (without ACK) on top of the defaults.
    public init(decoding payload: ByteBuffer) throws(WireError) {
        self.init()
        try self.apply(payload)
    }

    /// Applies the entries of a SETTINGS payload in order (the last of repeated ids wins; unknown ids
    /// are ignored).
    /// - Throws: `malformedFrame` if the length is not a multiple of 6 or there are more than 32
    ///   entries, or a known setting's value is out of range.
    public mutating func apply(_ payload: ByteBuffer) throws(WireError) {
        var payload = payload
        guard payload.readableBytes % Self.entrySize == 0 else {
            throw .malformedFrame("SETTINGS payload of \(payload.readableBytes) bytes is not a multiple of 6")
        }
        guard payload.readableBytes / Self.entrySize <= Self.maxEntries else {
            throw .malformedFrame(
                "SETTINGS holds \(payload.readableBytes / Self.entrySize) entries; at most \(Self.maxEntries)"
            )
        }
        while let (rawID, value) = payload.readMultipleIntegers(as: (UInt16, UInt32).self) {
            let id = SettingID(rawValue: rawID)
            let number = Int(value)
            switch id {
            case .maxFrameSize:
                self.maxFrameSize = try Self.check(number, Self.maxFrameSizeRange, id)
            case .maxConcurrentCalls:
                self.maxConcurrentCalls = try Self.check(number, Self.maxConcurrentCallsRange, id)
            case .maxMessageSize:
                self.maxMessageSize = try Self.check(number, Self.maxMessageSizeRange, id)
            case .compression:
                guard value & ~CompressionAlgorithms.zlib.rawValue == 0 else {
                    throw .malformedFrame("COMPRESSION sets undefined bits 0x\(String(value, radix: 16))")
                }
                self.compression = CompressionAlgorithms(rawValue: value)
            case .compressionThreshold:
                self.compressionThreshold = try Self.check(number, Self.compressionThresholdRange, id)
            case .idleTimeout:
                self.idleTimeoutSeconds = try Self.check(number, Self.idleTimeoutRange, id)
            default:
                // Unknown settings are ignored so new ones can be added without a new version.
                continue
            }
        }
    }

    private static func check(_ value: Int, _ range: ClosedRange<Int>, _ id: SettingID) throws(WireError) -> Int {
        guard range.contains(value) else {
            throw .malformedFrame("\(id) = \(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// The raw entries of a SETTINGS payload in order, including unknown ids (for logging, tests and
    /// re-encoding byte for byte).
    /// - Throws: `malformedFrame` if the length is not a multiple of 6 or there are more than 32 entries.
    public static func entries(in payload: ByteBuffer) throws(WireError) -> [(id: SettingID, value: UInt32)] {
        var payload = payload
        guard payload.readableBytes % Self.entrySize == 0, payload.readableBytes / Self.entrySize <= Self.maxEntries
        else {
            throw .malformedFrame("SETTINGS payload of \(payload.readableBytes) bytes is not 0...32 entries of 6 bytes")
        }
        var entries: [(id: SettingID, value: UInt32)] = []
        entries.reserveCapacity(payload.readableBytes / Self.entrySize)
        while let (id, value) = payload.readMultipleIntegers(as: (UInt16, UInt32).self) {
            entries.append((SettingID(rawValue: id), value))
        }
        return entries
    }

    /// Writes raw entries as a SETTINGS payload, in the given order.
    public static func encode(entries: [(id: SettingID, value: UInt32)], into buffer: inout ByteBuffer) {
        for entry in entries {
            buffer.writeMultipleIntegers(entry.id.rawValue, entry.value)
        }
    }

    /// Writes all six entries in id order (36 bytes) — the canonical encoding.
    public func encode(into buffer: inout ByteBuffer) {
        // Values are clamped into their ranges so an encoder never emits a frame the peer must refuse.
        func clamp(_ value: Int, _ range: ClosedRange<Int>) -> UInt32 {
            UInt32(min(max(value, range.lowerBound), range.upperBound))
        }
        buffer.writeMultipleIntegers(
            SettingID.maxFrameSize.rawValue,
            clamp(self.maxFrameSize, Self.maxFrameSizeRange),
            SettingID.maxConcurrentCalls.rawValue,
            clamp(self.maxConcurrentCalls, Self.maxConcurrentCallsRange),
            SettingID.maxMessageSize.rawValue,
            clamp(self.maxMessageSize, Self.maxMessageSizeRange)
        )
        buffer.writeMultipleIntegers(
            SettingID.compression.rawValue,
            self.compression.rawValue & CompressionAlgorithms.zlib.rawValue,
            SettingID.compressionThreshold.rawValue,
            clamp(self.compressionThreshold, Self.compressionThresholdRange),
            SettingID.idleTimeout.rawValue,
            clamp(self.idleTimeoutSeconds, Self.idleTimeoutRange)
        )
    }
}

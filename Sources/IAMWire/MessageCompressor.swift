internal import CZlib
public import NIOCore

/// Per-connection message compression (WIRE.md §10): one zlib (RFC 1950) deflate stream and one inflate
/// stream, created on first use and reset after every message — creating a stream costs ~95 µs,
/// resetting a few.
///
/// zlib is driven through the small `CZlib` shim: one C call deflates a whole message straight out of
/// the caller's buffer and resets the stream, and inflation reads the payload where it lies, so a
/// message costs no allocation beyond its output and no copy of its input (tools/benchmarks/README.md
/// has the figures).
///
/// Not thread-safe: a connection uses it from its event loop only.
public final class MessageCompressor {
    /// Messages shorter than this many bytes are sent uncompressed.
    public var threshold: Int
    /// zlib level (1 = fastest ... 9 = smallest).
    public let level: Int
    /// zlib memLevel (1...9): the deflate hash table has 2^(memoryLevel+7) entries and is zeroed on every
    /// reset, so a smaller table makes the per-message reset cheaper (WIRE.md §16).
    public let memoryLevel: Int

    /// zlib's window: 2^15 = 32 KiB, the largest RFC 1950 allows (the `78` header byte).
    private static let windowBits: Int32 = 15

    private var deflater: OpaquePointer?
    private var inflater: OpaquePointer?
    /// Reused between messages: deflate output when compressing in place, so compressing allocates
    /// nothing once it has grown.
    private var scratch: ByteBuffer

    /// Creates a compressor.
    /// - Parameters:
    ///   - threshold: smallest message compressed (default 1 KiB, WIRE.md §16).
    ///   - level: zlib level 0...9 (default 1).
    ///   - memoryLevel: zlib memLevel 1...9 (default 8, zlib's own default).
    public init(threshold: Int = ConnectionSettings.defaultCompressionThreshold, level: Int = 1, memoryLevel: Int = 8) {
        self.threshold = threshold
        self.level = min(max(level, 0), 9)
        self.memoryLevel = min(max(memoryLevel, 1), 9)
        self.scratch = ByteBuffer()
    }

    deinit {
        iam_zstream_free(self.deflater)
        iam_zstream_free(self.inflater)
    }

    private func makeDeflater() throws(WireError) -> OpaquePointer {
        if let deflater { return deflater }
        guard let deflater = iam_deflate_new(Int32(self.level), Self.windowBits, Int32(self.memoryLevel)) else {
            throw .compressionFailed("cannot create a zlib deflate stream")
        }
        self.deflater = deflater
        return deflater
    }

    private func makeInflater() throws(WireError) -> OpaquePointer {
        if let inflater { return inflater }
        guard let inflater = iam_inflate_new(Self.windowBits) else {
            throw .decompressionFailed("cannot create a zlib inflate stream")
        }
        self.inflater = inflater
        return inflater
    }

    /// A stream zlib failed on is in an unknown state: drop it; the next message creates a fresh one.
    private func dropDeflater() {
        iam_zstream_free(self.deflater)
        self.deflater = nil
    }

    /// Compresses `buffer`'s bytes from index `start` to its writer index in place, if that makes them
    /// smaller; returns whether it did. On `false` the bytes are unchanged. Used by
    /// `FrameEncoder.writeMessage`.
    public func compressTail(of buffer: inout ByteBuffer, from start: Int) throws(WireError) -> Bool {
        let rawLength = buffer.writerIndex - start
        guard rawLength > 0, start >= buffer.readerIndex else { return false }
        let deflater = try self.makeDeflater()
        // Deflate into the scratch buffer (the input stays where it is), then copy the smaller result back.
        self.scratch.clear()
        defer { self.releaseLargeScratch() }
        let bound = iam_deflate_bound(deflater, rawLength)
        var written = -1
        buffer.withVeryUnsafeBytes { storage in
            let input = storage.baseAddress!.assumingMemoryBound(to: UInt8.self) + start
            self.scratch.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { output in
                written = iam_deflate_message(
                    deflater, input, rawLength, output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count)
                return max(written, 0)
            }
        }
        guard written >= 0 else {
            self.dropDeflater()
            throw .compressionFailed("zlib deflate failed")
        }
        guard written < rawLength else { return false }
        buffer.moveWriterIndex(to: start)
        buffer.writeImmutableBuffer(self.scratch)
        return true
    }

    /// Keeps the scratch buffer for typical messages but does not let one large message pin megabytes
    /// to an idle connection.
    private func releaseLargeScratch() {
        if self.scratch.capacity > 256 << 10 {
            self.scratch = ByteBuffer()
        }
    }

    /// Compresses all of `message` into `buffer` as one complete zlib stream, whatever its size;
    /// returns the number of bytes written.
    @discardableResult
    public func compress(_ message: ByteBuffer, into buffer: inout ByteBuffer) throws(WireError) -> Int {
        let deflater = try self.makeDeflater()
        let bound = iam_deflate_bound(deflater, message.readableBytes)
        var written = -1
        _ = message.withUnsafeReadableBytes { input in
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { output in
                written = iam_deflate_message(
                    deflater,
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    input.count,
                    output.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    output.count
                )
                return max(written, 0)
            }
        }
        guard written >= 0 else {
            self.dropDeflater()
            throw .compressionFailed("zlib deflate failed")
        }
        return written
    }

    /// Inflates one compressed MESSAGE payload.
    ///
    /// zlib fills whatever room the output buffer has, and ByteBuffer capacities are powers of two, so
    /// the output grows by doubling only while the doubled capacity stays within `maxSize`; past that,
    /// the rest is inflated 16 KiB at a time and refused the moment the total would pass `maxSize`. So a
    /// zip bomb costs at most `maxSize` bytes of memory plus a 16 KiB window, and the time to inflate
    /// `maxSize + 16 KiB` bytes — never its full size.
    /// - Throws: `messageTooLarge` (the call ends RESOURCE_EXHAUSTED) or `decompressionFailed` for an
    ///   empty, corrupt, truncated or trailing-garbage zlib stream or one needing a preset dictionary.
    public func decompress(
        _ payload: ByteBuffer,
        maxSize: Int,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) throws(WireError) -> ByteBuffer {
        guard payload.readableBytes > 0 else { throw .decompressionFailed("empty compressed payload") }
        let inflater = try self.makeInflater()
        defer {
            if iam_inflate_reset(inflater) != 0 {
                iam_zstream_free(self.inflater)
                self.inflater = nil
            }
        }
        // The largest power of two within the limit: a capacity NIO will not round up past it.
        let directCap = maxSize >= 1 ? 1 << (Int.bitWidth - 1 - maxSize.leadingZeroBitCount) : 1
        // IAM payloads (JSON policies, repeated records) inflate 3-10x (WIRE.md §16); starting at 8x avoids
        // most regrowth.
        var output = allocator.buffer(capacity: min(directCap, max(4096, payload.readableBytes * 8)))
        var consumed = 0
        // The payload is read where it lies (a slice of the connection's read buffer): no copy.
        let status = payload.withUnsafeReadableBytes { input -> Int in
            let base = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
            func inflate(into buffer: inout ByteBuffer) -> Int {
                var status = IAM_INFLATE_CORRUPT
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { room in
                    var produced = 0
                    status = Int(
                        iam_inflate(
                            inflater, base, input.count, &consumed,
                            room.baseAddress!.assumingMemoryBound(to: UInt8.self), room.count, &produced))
                    return produced
                }
                return status
            }
            var status = inflate(into: &output)
            while status == IAM_INFLATE_OUTPUT_FULL, output.capacity * 2 <= directCap {
                output.reserveCapacity(output.capacity * 2)
                status = inflate(into: &output)
            }
            guard status == IAM_INFLATE_OUTPUT_FULL else { return status }
            // At the largest direct capacity: the rest goes through a window, checked before each append.
            var window = allocator.buffer(capacity: 16 << 10)
            while status == IAM_INFLATE_OUTPUT_FULL {
                window.clear()
                status = inflate(into: &window)
                guard output.readableBytes + window.readableBytes <= maxSize else { return -1 }
                output.writeBuffer(&window)
            }
            return status
        }
        switch status {
        case IAM_INFLATE_END:
            break
        case -1:
            throw Self.tooLarge(maxSize)
        case IAM_INFLATE_TRUNCATED:
            throw .decompressionFailed("compressed message is truncated")
        default:
            throw .decompressionFailed("compressed message is not a valid zlib stream")
        }
        guard output.readableBytes <= maxSize else { throw Self.tooLarge(maxSize) }
        guard consumed == payload.readableBytes else {
            throw .decompressionFailed("\(payload.readableBytes - consumed) bytes follow the end of the zlib stream")
        }
        return output
    }

    /// Built only when needed: the message is a formatted string, so making it per call would allocate.
    private static func tooLarge(_ maxSize: Int) -> WireError {
        .messageTooLarge("compressed message inflates past the max message size \(maxSize)")
    }
}

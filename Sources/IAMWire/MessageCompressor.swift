import CompressNIO
public import NIOCore

/// Per-connection message compression (WIRE.md §10): one zlib (RFC 1950) deflate stream and one inflate
/// stream, created on first use and reset after every message — creating a stream costs ~95 µs,
/// resetting ~8 µs.
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

    private var deflater: ZlibCompressor?
    private var inflater: ZlibDecompressor?
    /// Reused between messages so compressing allocates nothing once it has grown.
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

    private func makeDeflater() throws(WireError) -> ZlibCompressor {
        if let deflater { return deflater }
        do {
            let configuration = ZlibConfiguration(
                windowSize: 15,
                compressionLevel: Int32(self.level),
                memoryLevel: Int32(self.memoryLevel),
                strategy: .default
            )
            let deflater = try ZlibCompressor(algorithm: .zlib, configuration: configuration)
            self.deflater = deflater
            return deflater
        } catch {
            throw .compressionFailed("cannot create a zlib deflate stream: \(error)")
        }
    }

    private func makeInflater() throws(WireError) -> ZlibDecompressor {
        if let inflater { return inflater }
        do {
            let inflater = try ZlibDecompressor(algorithm: .zlib, windowSize: 15)
            self.inflater = inflater
            return inflater
        } catch {
            throw .decompressionFailed("cannot create a zlib inflate stream: \(error)")
        }
    }

    /// Compresses `buffer`'s bytes from index `start` to its writer index in place, if that makes them
    /// smaller; returns whether it did. On `false` the bytes are unchanged. Used by
    /// `FrameEncoder.writeMessage`.
    public func compressTail(of buffer: inout ByteBuffer, from start: Int) throws(WireError) -> Bool {
        let rawLength = buffer.writerIndex - start
        guard rawLength > 0 else { return false }
        self.scratch.clear()
        // A read-only copy out of `buffer`: no slice stays alive to force a copy-on-write later.
        self.scratch.writeImmutableBuffer(buffer.getSlice(at: start, length: rawLength)!)
        buffer.moveWriterIndex(to: start)
        defer { self.releaseLargeScratch() }
        let written = try self.deflate(from: &self.scratch, into: &buffer)
        if written >= rawLength {
            buffer.moveWriterIndex(to: start)
            self.scratch.moveReaderIndex(to: 0)
            buffer.writeBuffer(&self.scratch)
            return false
        }
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
        self.scratch.clear()
        self.scratch.writeImmutableBuffer(message)
        defer { self.releaseLargeScratch() }
        return try self.deflate(from: &self.scratch, into: &buffer)
    }

    private func deflate(from input: inout ByteBuffer, into buffer: inout ByteBuffer) throws(WireError) -> Int {
        let deflater = try self.makeDeflater()
        let start = buffer.writerIndex
        // deflateBound: one Z_FINISH call always completes, so no output loop is needed.
        buffer.reserveCapacity(minimumWritableBytes: deflater.maxSize(from: input))
        do {
            try deflater.deflate(from: &input, to: &buffer, flush: .finish)
            try deflater.reset()
        } catch {
            buffer.moveWriterIndex(to: start)
            // A stream in an unknown state is dropped; the next message creates a fresh one.
            self.deflater = nil
            throw .compressionFailed("zlib deflate failed: \(error)")
        }
        return buffer.writerIndex - start
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
            do {
                try inflater.reset()
            } catch {
                self.inflater = nil
            }
        }
        // CompressNIO needs mutable input; this copies the compressed bytes only (the payload is a
        // slice of the connection's read buffer).
        var input = payload
        let tooLarge = WireError.messageTooLarge("compressed message inflates past the max message size \(maxSize)")
        // The largest power of two within the limit: a capacity NIO will not round up past it.
        let directCap = maxSize >= 1 ? 1 << (Int.bitWidth - 1 - maxSize.leadingZeroBitCount) : 1
        // IAM payloads (JSON policies, repeated records) inflate 3-10x (WIRE.md §16); starting at 8x avoids
        // most regrowth.
        var output = allocator.buffer(capacity: min(directCap, max(4096, payload.readableBytes * 8)))
        var finished = false
        while !finished {
            do {
                try inflater.inflate(from: &input, to: &output)
                finished = true
            } catch let error as CompressNIOError where error == .bufferOverflow {
                guard output.capacity * 2 <= directCap else { break }
                output.reserveCapacity(output.capacity * 2)
            } catch {
                throw Self.inflateError(error)
            }
        }
        if !finished {
            var window = allocator.buffer(capacity: 16 << 10)
            while !finished {
                window.clear()
                do {
                    try inflater.inflate(from: &input, to: &window)
                    finished = true
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    // Window full; more may follow.
                } catch {
                    throw Self.inflateError(error)
                }
                guard output.readableBytes + window.readableBytes <= maxSize else { throw tooLarge }
                output.writeBuffer(&window)
            }
        }
        guard output.readableBytes <= maxSize else { throw tooLarge }
        guard input.readableBytes == 0 else {
            throw .decompressionFailed("\(input.readableBytes) bytes follow the end of the zlib stream")
        }
        // All input consumed without an error means either Z_STREAM_END or a stream cut short. One more
        // call with no input tells them apart: after the end zlib reports the end again, a truncated
        // stream reports that it needs input. `input` owns its storage now, so its empty view is safe
        // to hand to zlib, and a tiny probe buffer keeps `output` from growing.
        var probe = allocator.buffer(capacity: 16)
        do {
            try inflater.inflate(from: &input, to: &probe)
        } catch {
            throw .decompressionFailed("compressed message is truncated")
        }
        guard probe.readableBytes == 0 else { throw .decompressionFailed("compressed message is truncated") }
        return output
    }

    private static func inflateError(_ error: any Error) -> WireError {
        if let error = error as? CompressNIOError, error == .inputBufferOverflow {
            return .decompressionFailed("compressed message is truncated")
        }
        return .decompressionFailed("compressed message is not a valid zlib stream (\(error))")
    }
}

public import NIOCore

/// An incremental frame decoder (WIRE.md §3-4): append bytes as they arrive, take complete frames out.
///
/// A value type with no I/O, so it works inside a NIO `ByteToMessageDecoder` (use the static
/// `decodeFrame(from:maxFrameSize:)` on the handler's cumulation buffer), over an `AsyncSequence` of
/// buffers, and in a unit test with no channel. Everything it throws is a connection error: send
/// `GOAWAY(error.code.goAwayCode)` and close.
///
/// Checks made here (stateless, on the header, before the payload is buffered): length against the
/// max frame size; type known (core) or skipped (extension, 0x80-0xFF); flags allowed for the type;
/// stream id reserved bit and 0-vs-non-zero rule; fixed payload sizes (PING 8, SETTINGS a multiple of 6
/// and at most 32 entries, SETTINGS ACK and CANCEL 0). Payloads are slices sharing the input's storage.
///
/// Memory: the decoder lets go of its input as soon as every byte of it was returned, and after a large
/// frame moves a small remainder into a buffer of its own size, so a connection that once received a
/// 1 MiB message does not keep 1 MiB once that message is handled (the frames returned keep their
/// storage only as long as their holder does).
public struct FrameDecoder: Sendable {
    /// Largest payload accepted; a header declaring more fails at once with `frameTooLarge`.
    public var maxFrameSize: Int
    /// Extension frames (types 0x80-0xFF) skipped so far.
    @inlinable
    public var skippedExtensionFrames: Int { self._skippedExtensionFrames }

    @usableFromInline
    var _skippedExtensionFrames: Int = 0

    @usableFromInline
    var buffer: ByteBuffer

    /// Creates a decoder.
    /// - Parameter maxFrameSize: the MAX_FRAME_SIZE this side advertised (default 1 MiB).
    public init(maxFrameSize: Int = ConnectionSettings.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
        self.buffer = ByteBuffer()
    }

    /// Bytes received but not yet returned as frames.
    @inlinable
    public var bufferedBytes: Int { self.buffer.readableBytes }

    /// The capacity of the storage the decoder holds on to (0 when it holds none): what a connection
    /// keeps between bursts, for tests of buffer release.
    package var retainedCapacity: Int { self.buffer.capacity }

    /// Above this, a buffer whose unread part is less than a quarter of it is compacted after a frame is
    /// taken out.
    @usableFromInline
    static let compactionThreshold = 64 * 1024

    /// Appends received bytes.
    @inlinable
    public mutating func append(_ bytes: ByteBuffer) {
        if self.buffer.readableBytes == 0 {
            // The common case (every previous frame was complete): adopt the buffer, no copy.
            self.buffer = bytes
        } else {
            // A partial frame is pending. Drop the consumed prefix once it dominates, so a peer that
            // always leaves a frame half-sent cannot make the buffer grow without bound.
            if self.buffer.readerIndex > 4096, self.buffer.readerIndex > self.buffer.readableBytes {
                self.buffer.discardReadBytes()
            }
            var bytes = bytes
            self.buffer.writeBuffer(&bytes)
        }
    }

    /// Appends received bytes.
    @inlinable
    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        self.append(ByteBuffer(bytes: bytes))
    }

    /// Takes the peer's 8-byte preface off the front, or returns nil until all 8 bytes are here. Call it
    /// until it returns a value, then call `nextFrame()`.
    /// - Throws: `badPreface` as soon as a received byte cannot be the start of a preface.
    public mutating func decodePreface() throws(WireError) -> Preface? {
        let preface = try Preface.read(from: &self.buffer)
        self.releaseConsumedStorage()
        return preface
    }

    /// The next complete frame, or nil when more bytes are needed. Unknown extension frames are skipped.
    @inlinable
    public mutating func nextFrame() throws(WireError) -> Frame? {
        var skipped = 0
        defer { self._skippedExtensionFrames += skipped }
        let frame = try Self.decodeFrame(from: &self.buffer, maxFrameSize: self.maxFrameSize, skipped: &skipped)
        if frame == nil || self.buffer.readableBytes == 0 { self.releaseConsumedStorage() }
        return frame
    }

    /// Drops the storage once everything in it was returned (the returned frames' slices keep it alive as
    /// long as they need it), and when only part of a frame is left (what is kept until the next burst),
    /// copies it out of a buffer more than four times its size.
    @inlinable
    mutating func releaseConsumedStorage() {
        let unread = self.buffer.readableBytes
        if unread == 0 {
            if self.buffer.capacity > 0 { self.buffer = ByteBuffer() }  // shared empty storage, no allocation
        } else if self.buffer.capacity > Self.compactionThreshold, unread < self.buffer.capacity / 4 {
            var compact = ByteBufferAllocator().buffer(capacity: unread)
            compact.writeImmutableBuffer(self.buffer)
            self.buffer = compact
        }
    }

    /// Reads one frame from the front of `buffer`, or returns nil (consuming nothing of an incomplete
    /// frame) when more bytes are needed. Unknown extension frames are consumed and skipped.
    @inlinable
    public static func decodeFrame(from buffer: inout ByteBuffer, maxFrameSize: Int) throws(WireError) -> Frame? {
        var skipped = 0
        return try self.decodeFrame(from: &buffer, maxFrameSize: maxFrameSize, skipped: &skipped)
    }

    @inlinable
    static func decodeFrame(
        from buffer: inout ByteBuffer,
        maxFrameSize: Int,
        skipped: inout Int
    ) throws(WireError) -> Frame? {
        while true {
            guard let header = FrameHeader.peek(in: buffer) else { return nil }
            let length = header.length
            let type = header.type
            let flags = header.flags
            let streamID = header.streamID
            // Validate the header before waiting for (and so buffering) the payload.
            guard Int(length) <= maxFrameSize else {
                throw .frameTooLarge(length: Int(length), limit: maxFrameSize)
            }
            if type.isExtension {
                guard buffer.readableBytes >= FrameHeader.size + Int(length) else { return nil }
                buffer.moveReaderIndex(forwardBy: FrameHeader.size + Int(length))
                skipped += 1
                continue
            }
            try Self.validate(type: type, flags: flags, streamID: streamID, length: length)
            guard buffer.readableBytes >= FrameHeader.size + Int(length) else { return nil }
            buffer.moveReaderIndex(forwardBy: FrameHeader.size)
            let payload = buffer.readSlice(length: Int(length))!
            return Frame(type: type, flags: flags, streamID: streamID, payload: payload)
        }
    }

    @inlinable
    static func validate(type: FrameType, flags: FrameFlags, streamID: UInt32, length: UInt32) throws(WireError) {
        guard type.isKnown else { throw .unknownFrameType(type.rawValue) }
        guard type.allowedFlags.isSuperset(of: flags) else { throw .badFlags(flags.rawValue, type: type) }
        guard streamID & 0x8000_0000 == 0 else {
            throw .badStreamID("stream id 0x\(String(streamID, radix: 16)) has the reserved bit set")
        }
        if type.isCallFrame {
            guard streamID != 0 else { throw .badStreamID("\(type) frame on stream 0") }
        } else {
            guard streamID == 0 else { throw .badStreamID("\(type) frame on stream \(streamID); must be 0") }
        }
        switch type {
        case .ping:
            guard length == 8 else { throw .malformedFrame("PING payload is \(length) bytes; must be 8") }
        case .settings:
            if flags.contains(.ack) {
                guard length == 0 else { throw .malformedFrame("SETTINGS ACK payload is \(length) bytes; must be 0") }
            } else {
                guard length % 6 == 0, length <= 6 * 32 else {
                    throw .malformedFrame("SETTINGS payload of \(length) bytes is not 0...32 entries of 6 bytes")
                }
            }
        case .cancel:
            guard length == 0 else { throw .malformedFrame("CANCEL payload is \(length) bytes; must be 0") }
        default:
            break
        }
    }
}

extension Frame {
    /// The 8 opaque bytes of a PING frame (the decoder has checked there are exactly 8).
    @inlinable
    public var pingData: UInt64? {
        guard self.type == .ping else { return nil }
        return self.payload.getInteger(at: self.payload.readerIndex, as: UInt64.self)
    }
}

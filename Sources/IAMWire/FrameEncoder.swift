public import NIOCore

/// Writes frames into a caller's `ByteBuffer`, so everything one read produces can be flushed with a
/// single write (WIRE.md §3-9). A value type; it holds only the peer's limits.
public struct FrameEncoder: Sendable {
    /// The peer's MAX_FRAME_SIZE: a MESSAGE whose payload would be larger is refused with
    /// `frameTooLarge` (the caller fails the call RESOURCE_EXHAUSTED; nothing is written).
    public var peerMaxFrameSize: Int
    /// The peer's MAX_MESSAGE_SIZE for uncompressed message bytes.
    public var peerMaxMessageSize: Int

    /// Creates an encoder with the protocol defaults; update the limits when the peer's SETTINGS arrives.
    public init(
        peerMaxFrameSize: Int = ConnectionSettings.defaultMaxFrameSize,
        peerMaxMessageSize: Int = ConnectionSettings.defaultMaxMessageSize
    ) {
        self.peerMaxFrameSize = peerMaxFrameSize
        self.peerMaxMessageSize = peerMaxMessageSize
    }

    /// Adopts the limits of the peer's SETTINGS.
    public mutating func apply(peerSettings: ConnectionSettings) {
        self.peerMaxFrameSize = peerSettings.maxFrameSize
        self.peerMaxMessageSize = peerSettings.maxMessageSize
    }

    /// Writes a preface (8 bytes).
    @inlinable
    public func writePreface(_ preface: Preface, into buffer: inout ByteBuffer) {
        preface.write(into: &buffer)
    }

    /// Writes a frame with an already-built payload (the payload's readable bytes are copied).
    @inlinable
    public func writeFrame(_ frame: Frame, into buffer: inout ByteBuffer) {
        frame.header.write(into: &buffer)
        buffer.writeImmutableBuffer(frame.payload)
    }

    /// Writes a frame whose payload `body` writes directly after the header; the length is patched in
    /// afterwards, so no intermediate buffer is needed.
    @inlinable
    public func writeFrame<E: Error>(
        type: FrameType,
        flags: FrameFlags = [],
        streamID: UInt32,
        into buffer: inout ByteBuffer,
        payload body: (inout ByteBuffer) throws(E) -> Void
    ) throws(E) {
        let headerIndex = buffer.writerIndex
        FrameHeader(length: 0, type: type, flags: flags, streamID: streamID).write(into: &buffer)
        do {
            try body(&buffer)
        } catch {
            buffer.moveWriterIndex(to: headerIndex)
            throw error
        }
        let length = buffer.writerIndex - headerIndex - FrameHeader.size
        buffer.patch(UInt32(length), at: headerIndex)
    }

    /// SETTINGS carrying what this side accepts.
    public func writeSettings(_ settings: ConnectionSettings, into buffer: inout ByteBuffer) {
        self.writeFrame(type: .settings, streamID: 0, into: &buffer) { settings.encode(into: &$0) }
    }

    /// SETTINGS with ACK (empty payload).
    @inlinable
    public func writeSettingsAck(into buffer: inout ByteBuffer) {
        FrameHeader(length: 0, type: .settings, flags: .ack, streamID: 0).write(into: &buffer)
    }

    /// PING (or its ACK) with 8 opaque bytes.
    @inlinable
    public func writePing(_ data: UInt64, ack: Bool, into buffer: inout ByteBuffer) {
        FrameHeader(length: 8, type: .ping, flags: ack ? .ack : [], streamID: 0).write(into: &buffer)
        buffer.writeInteger(data)
    }

    /// GOAWAY.
    public func writeGoAway(_ goAway: GoAway, into buffer: inout ByteBuffer) {
        self.writeFrame(type: .goAway, streamID: 0, into: &buffer) { goAway.encode(into: &$0) }
    }

    /// CALL_START on `streamID`.
    /// - Throws: the `CallStart` validation errors; nothing is written then.
    public func writeCallStart(_ start: CallStart, streamID: UInt32, into buffer: inout ByteBuffer) throws(WireError) {
        try self.writeFrame(type: .callStart, streamID: streamID, into: &buffer) {
            (b: inout ByteBuffer) throws(WireError) in
            try start.encode(into: &b)
        }
    }

    /// CALL_END on `streamID`.
    public func writeCallEnd(_ end: CallEnd, streamID: UInt32, into buffer: inout ByteBuffer) {
        self.writeFrame(type: .callEnd, streamID: streamID, into: &buffer) { end.encode(into: &$0) }
    }

    /// A successful CALL_END on `streamID` whose request id `writeRequestID` writes (``CallEnd/encodeSuccess(into:requestID:)``).
    @inlinable
    public func writeSuccessCallEnd(
        streamID: UInt32, into buffer: inout ByteBuffer, requestID writeRequestID: (inout ByteBuffer) -> Void
    ) {
        self.writeFrame(type: .callEnd, streamID: streamID, into: &buffer) {
            CallEnd.encodeSuccess(into: &$0, requestID: writeRequestID)
        }
    }

    /// CANCEL on `streamID`.
    @inlinable
    public func writeCancel(streamID: UInt32, into buffer: inout ByteBuffer) {
        FrameHeader(length: 0, type: .cancel, flags: [], streamID: streamID).write(into: &buffer)
    }

    /// An AUTH_* frame whose payload is SCRAM text (`AUTH_SERVER_FIRST`, `AUTH_CLIENT_FINAL`,
    /// `AUTH_SERVER_FINAL`).
    public func writeAuth(_ type: FrameType, message: String, into buffer: inout ByteBuffer) {
        self.writeFrame(type: type, streamID: 0, into: &buffer) { $0.writeString(message) }
    }

    /// AUTH_CLIENT_FIRST: mechanism name then the client-first message.
    public func writeAuthClientFirst(_ first: AuthClientFirst, into buffer: inout ByteBuffer) {
        self.writeFrame(type: .authClientFirst, streamID: 0, into: &buffer) { first.encode(into: &$0) }
    }

    /// MESSAGE whose payload is the already-encoded `message`; compressed when `compressor` is given
    /// and the message is at least its threshold and compressing makes it smaller.
    /// - Throws: `frameTooLarge` / `messageTooLarge` when the peer's limits refuse it (nothing is
    ///   written), `compressionFailed` if zlib fails.
    @inlinable
    public func writeMessage(
        _ message: ByteBuffer,
        streamID: UInt32,
        endStream: Bool = false,
        compressor: MessageCompressor? = nil,
        into buffer: inout ByteBuffer
    ) throws(WireError) {
        try self.writeMessage(streamID: streamID, endStream: endStream, compressor: compressor, into: &buffer) {
            $0.writeImmutableBuffer(message)
        }
    }

    /// MESSAGE whose payload `body` encodes straight into `buffer` (e.g. a generated message's
    /// `encode(into:)`); then compressed in place as `writeMessage(_:...)` describes.
    @inlinable
    public func writeMessage(
        streamID: UInt32,
        endStream: Bool = false,
        compressor: MessageCompressor? = nil,
        into buffer: inout ByteBuffer,
        body: (inout ByteBuffer) -> Void
    ) throws(WireError) {
        let headerIndex = buffer.writerIndex
        FrameHeader(length: 0, type: .message, flags: [], streamID: streamID).write(into: &buffer)
        let bodyStart = buffer.writerIndex
        body(&buffer)
        let rawLength = buffer.writerIndex - bodyStart
        guard rawLength <= self.peerMaxMessageSize else {
            buffer.moveWriterIndex(to: headerIndex)
            throw .messageTooLarge(
                "message of \(rawLength) bytes exceeds the peer's max message size \(self.peerMaxMessageSize)"
            )
        }
        var flags: FrameFlags = endStream ? .endStream : []
        if let compressor, rawLength >= compressor.threshold {
            do {
                if try compressor.compressTail(of: &buffer, from: bodyStart) {
                    flags.insert(.compressed)
                }
            } catch {
                buffer.moveWriterIndex(to: headerIndex)
                throw error
            }
        }
        let length = buffer.writerIndex - bodyStart
        guard length <= self.peerMaxFrameSize else {
            buffer.moveWriterIndex(to: headerIndex)
            throw .frameTooLarge(length: length, limit: self.peerMaxFrameSize)
        }
        buffer.patch(UInt32(length), at: headerIndex)
        if !flags.isEmpty {
            buffer.patch(flags.rawValue, at: headerIndex + 5)
        }
    }
}

extension FrameEncoder {
    /// SETTINGS with exactly these raw entries (tests, vectors, and peers announcing extension settings).
    public func writeSettings(entries: [(id: SettingID, value: UInt32)], into buffer: inout ByteBuffer) {
        self.writeFrame(type: .settings, streamID: 0, into: &buffer) {
            ConnectionSettings.encode(entries: entries, into: &$0)
        }
    }
}

import NIOCore
import Testing

import IAMWire

/// What a decoder keeps between bursts (issue 12): a connection that once received a 1 MiB message must
/// not keep 1 MiB once the message is handled.
@Suite("Frame decoder memory")
struct FrameDecoderMemoryTests {
    static func pingFrame() -> [UInt8] {
        var out = ByteBuffer()
        FrameHeader(length: 8, type: .ping, flags: [], streamID: 0).write(into: &out)
        out.writeBytes([1, 2, 3, 4, 5, 6, 7, 8])
        return Array(out.readableBytesView)
    }

    static func messageFrame(payloadSize: Int) -> [UInt8] {
        var out = ByteBuffer()
        FrameHeader(length: UInt32(payloadSize), type: .message, flags: .endStream, streamID: 1).write(into: &out)
        out.writeRepeatingByte(0x61, count: payloadSize)
        return Array(out.readableBytesView)
    }

    @Test("after a 1 MiB frame only the unread rest of the next frame is kept, in a buffer of its size")
    func largeFrameIsNotKept() throws {
        var decoder = FrameDecoder(maxFrameSize: 2 << 20)
        let ping = Self.pingFrame()
        // The big frame followed by the first 7 bytes of a PING, fed in 64 KiB reads as a socket would.
        let stream = Self.messageFrame(payloadSize: 1 << 20) + ping.prefix(7)
        var offset = 0
        var frames: [Frame] = []
        while offset < stream.count {
            let end = min(offset + 65_536, stream.count)
            decoder.append(ByteBuffer(bytes: stream[offset..<end]))
            offset = end
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        #expect(frames.count == 1)
        #expect(frames.first?.payload.readableBytes == 1 << 20)
        #expect(decoder.bufferedBytes == 7)
        // It had grown past 1 MiB while the frame arrived; now it holds a buffer the size of what is left.
        #expect(decoder.retainedCapacity <= 1024, "kept \(decoder.retainedCapacity) bytes")

        decoder.append(ByteBuffer(bytes: ping.dropFirst(7)))
        let last = try #require(try decoder.nextFrame())
        #expect(last.type == .ping)
        #expect(last.pingData == 0x0102_0304_0506_0708)
        #expect(decoder.retainedCapacity == 0, "nothing unread, nothing kept")
    }

    @Test("a fully consumed read leaves the decoder holding no storage")
    func consumedInputIsReleased() throws {
        var decoder = FrameDecoder()
        decoder.append(ByteBuffer(bytes: Self.pingFrame() + Self.messageFrame(payloadSize: 300)))
        #expect(decoder.retainedCapacity > 0)
        #expect(try decoder.nextFrame()?.type == .ping)
        let message = try #require(try decoder.nextFrame())
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.retainedCapacity == 0)
        // The frame handed out still owns its bytes.
        #expect(message.payload.readableBytes == 300)
        #expect(message.payload.getInteger(at: message.payload.readerIndex, as: UInt8.self) == 0x61)
    }

    @Test("a frame split across many small reads still decodes and leaves nothing behind")
    func dripFedFrame() throws {
        var decoder = FrameDecoder()
        let bytes = Self.messageFrame(payloadSize: 5_000)
        var frames: [Frame] = []
        for byte in bytes {
            decoder.append(ByteBuffer(bytes: [byte]))
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        #expect(frames.count == 1)
        #expect(frames.first?.payload.readableBytes == 5_000)
        #expect(decoder.retainedCapacity == 0)
    }
}

import IAMServer
import IAMTestSupport
import IAMWire
import NIOCore
import NIOEmbedded
import Testing

@testable import IAMRPC

/// What a server connection keeps between bursts (issue 12): a connection that once carried a 1 MiB
/// message and its 1 MiB answer does not keep them.
@Suite("Server connection memory")
struct ConnectionMemoryTests {
    enum Delivery: String, CaseIterable, Sendable {
        /// The whole call in one read.
        case oneRead
        /// In 64 KiB reads, as a socket delivers it: the decoder accumulates the frame.
        case socketSizedReads
    }

    @Test("after a 1 MiB echo the connection's own buffers are small again", arguments: Delivery.allCases)
    func buffersShrinkAfterALargeCall(delivery: Delivery) throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        let handler = try server.channel.pipeline.syncOperations.handler(type: ServerConnectionHandler.self)
        // Between bursts with no call open, an authenticated connection keeps no buffer of its own.
        let idle = handler.retainedBufferCapacity
        #expect(idle == 0, "after the opening: \(idle)")

        // Random bytes, so compression cannot make the answer small (and 4 KiB under MAX_FRAME_SIZE, so even
        // deflated, which adds a little to random bytes, it fits one frame).
        var generator = SystemRandomNumberGenerator()
        let payload = (0..<((1 << 20) - 4096)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var out = ByteBuffer()
        let encoder = FrameEncoder()
        try encoder.writeCallStart(
            CallStart(method: TestService.echo.fullName, timeout: nil, metadata: Metadata()), streamID: 1, into: &out)
        try encoder.writeMessage(
            PingRequest(payload: ByteBuffer(bytes: payload)).encodedBuffer, streamID: 1, endStream: true, into: &out)
        let bytes = Array(out.readableBytesView)
        let before = server.frames.count
        switch delivery {
        case .oneRead:
            try server.deliver(bytes)
        case .socketSizedReads:
            try server.deliver(bytes, cutAt: Array(stride(from: 65_536, to: bytes.count, by: 65_536)))
        }
        let answer = server.frames(after: before)
        #expect(answer.map(\.type) == [.message, .callEnd])
        #expect(answer.last?.callEnd?.status == .ok)
        #expect((answer.first?.payload.readableBytes ?? 0) > 1 << 19, "the answer is about 1 MiB")

        let kept = handler.retainedBufferCapacity
        #expect(kept == 0, "a connection that carried 1 MiB each way keeps \(kept) bytes of buffers")
        #expect(handler.callTableCapacity == 0, "the finished call left \(handler.callTableCapacity) table slots")
        #expect(!server.isClosed)
    }
}

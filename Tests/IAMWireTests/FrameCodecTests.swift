import IAMWire
import NIOCore
import Testing

@Suite("Frame codec")
struct FrameCodecTests {
    /// One frame of every type, built with the encoder.
    static func everyFrame() throws -> [(name: String, bytes: ByteBuffer)] {
        let encoder = FrameEncoder()
        var out: [(String, ByteBuffer)] = []
        func add(_ name: String, _ body: (inout ByteBuffer) throws -> Void) rethrows {
            var buffer = ByteBuffer()
            try body(&buffer)
            out.append((name, buffer))
        }
        add("SETTINGS") { encoder.writeSettings(ConnectionSettings(compression: .zlib), into: &$0) }
        add("SETTINGS ACK") { encoder.writeSettingsAck(into: &$0) }
        add("AUTH_CLIENT_FIRST") {
            encoder.writeAuthClientFirst(
                AuthClientFirst(
                    message: SCRAM.ClientFirst(
                        accessKeyID: "AKIAIOSFODNN7EXAMPLE", nonce: String(repeating: "n", count: 24)
                    ).message),
                into: &$0
            )
        }
        add("AUTH_SERVER_FIRST") {
            encoder.writeAuth(.authServerFirst, message: "r=abc,s=AAAAAAAAAAA=,i=4096", into: &$0)
        }
        add("AUTH_CLIENT_FINAL") { encoder.writeAuth(.authClientFinal, message: "c=biws,r=x,p=AAAA", into: &$0) }
        add("AUTH_SERVER_FINAL") { encoder.writeAuth(.authServerFinal, message: "e=invalid-proof", into: &$0) }
        add("PING") { encoder.writePing(0x0102_0304_0506_0708, ack: false, into: &$0) }
        add("PING ACK") { encoder.writePing(.max, ack: true, into: &$0) }
        add("GOAWAY") { encoder.writeGoAway(GoAway(lastStreamID: 99, code: .noError, message: "bye"), into: &$0) }
        try add("CALL_START") {
            try encoder.writeCallStart(
                CallStart(method: "/iam.v1.IAM/GetUser", timeoutMicroseconds: 1, requestID: "r", metadata: ["a": "b"]),
                streamID: 1,
                into: &$0
            )
        }
        try add("MESSAGE") {
            try encoder.writeMessage(ByteBuffer(string: "hello"), streamID: 3, endStream: true, into: &$0)
        }
        try add("MESSAGE compressed") {
            try encoder.writeMessage(
                ByteBuffer(repeating: 0x41, count: 4096),
                streamID: 5,
                compressor: MessageCompressor(),
                into: &$0
            )
        }
        add("CALL_END") {
            encoder.writeCallEnd(
                CallEnd(status: .notFound, message: "no", iamErrorCode: "NoSuchEntity"), streamID: 7, into: &$0)
        }
        add("CANCEL") { encoder.writeCancel(streamID: 9, into: &$0) }
        return out
    }

    @Test("every frame type round-trips through the decoder, however the bytes arrive", arguments: Feeding.all)
    func roundTripEveryType(_ feeding: Feeding) throws {
        let frames = try Self.everyFrame()
        var all = ByteBuffer()
        for (_, bytes) in frames { all.writeImmutableBuffer(bytes) }
        let (decoded, leftover) = try decodeAll(Array(all.readableBytesView), feeding: feeding)
        #expect(leftover == 0)
        try #require(decoded.count == frames.count)
        var reencoded = ByteBuffer()
        for (item, (name, original)) in zip(decoded, frames) {
            guard case .frame(let frame) = item else {
                Issue.record("not a frame: \(name)")
                continue
            }
            // Header fields survive, and writing the frame back gives the original bytes.
            var one = ByteBuffer()
            FrameEncoder().writeFrame(frame, into: &one)
            #expect(one == original, "\(name)")
            #expect(frame.header.length == UInt32(original.readableBytes - FrameHeader.size))
            reencoded.writeImmutableBuffer(one)
        }
        #expect(reencoded == all)
        let types = decoded.compactMap { if case .frame(let f) = $0 { f.type } else { nil } }
        #expect(Set(types) == Set(FrameType.allKnown))
    }

    @Test("a decoded payload is a slice sharing the input's storage")
    func payloadIsSlice() throws {
        var bytes = ByteBuffer()
        try FrameEncoder().writeMessage(ByteBuffer(repeating: 7, count: 1000), streamID: 1, into: &bytes)
        var decoder = FrameDecoder()
        decoder.append(bytes)
        let frame = try #require(try decoder.nextFrame())
        let sameStorage = bytes.withUnsafeReadableBytes { all in
            frame.payload.withUnsafeReadableBytes { payload in
                payload.baseAddress == all.baseAddress! + FrameHeader.size
            }
        }
        #expect(sameStorage)
    }

    @Test("the header is exactly length u32 BE | type | flags | stream id u32 BE")
    func headerLayout() {
        var buffer = ByteBuffer()
        FrameHeader(length: 0x0102_0304, type: .message, flags: [.compressed, .endStream], streamID: 0x0506_0708)
            .write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == [1, 2, 3, 4, 0x11, 0x03, 5, 6, 7, 8])
        #expect(FrameHeader.read(from: &buffer)?.streamID == 0x0506_0708)
    }

    @Test("a length above the limit is refused from the header alone, before the payload is buffered")
    func oversizedLength() throws {
        var decoder = FrameDecoder(maxFrameSize: 16 << 10)
        var header = ByteBuffer()
        FrameHeader(length: UInt32.max, type: .message, flags: [], streamID: 1).write(into: &header)
        decoder.append(header)
        #expect(throws: WireError.self) { _ = try decoder.nextFrame() }
        do {
            _ = try decoder.nextFrame()
        } catch {
            #expect(error.code == .frameTooLarge)
            #expect(error.code.goAwayCode == .resourceExhausted)
        }
        // Exactly the limit is fine.
        var ok = FrameDecoder(maxFrameSize: 16 << 10)
        var frame = ByteBuffer()
        try FrameEncoder().writeMessage(ByteBuffer(repeating: 1, count: 16 << 10), streamID: 1, into: &frame)
        ok.append(frame)
        #expect(try ok.nextFrame()?.payload.readableBytes == 16 << 10)
    }

    @Test("a truncated frame waits for the rest and consumes nothing")
    func truncated() throws {
        var bytes = ByteBuffer()
        FrameEncoder().writeCallEnd(CallEnd(status: .ok), streamID: 1, into: &bytes)
        let all = Array(bytes.readableBytesView)
        for cut in 0..<all.count {
            var decoder = FrameDecoder()
            decoder.append(ByteBuffer(bytes: all[..<cut]))
            #expect(try decoder.nextFrame() == nil, "cut at \(cut)")
            #expect(decoder.bufferedBytes == cut)
            decoder.append(ByteBuffer(bytes: all[cut...]))
            #expect(try decoder.nextFrame()?.type == .callEnd)
            #expect(decoder.bufferedBytes == 0)
        }
    }

    @Test("unknown core frame types are refused", arguments: [UInt8(0x00), 0x08, 0x0F, 0x14, 0x42, 0x7F])
    func unknownCoreType(_ type: UInt8) {
        var decoder = FrameDecoder()
        decoder.append(ByteBuffer(bytes: [0, 0, 0, 0, type, 0, 0, 0, 0, 1]))
        #expect {
            _ = try decoder.nextFrame()
        } throws: { error in
            (error as? WireError)?.code == .unknownFrameType
        }
    }

    @Test(
        "extension frame types are skipped, even large ones split across reads, whatever their flags and stream id",
        arguments: [UInt8(0x80), 0xC0, 0xFF])
    func extensionSkipped(_ type: UInt8) throws {
        var bytes = ByteBuffer()
        // Bit 31 of the stream id set: only MAX_FRAME_SIZE applies to an extension frame (WIRE.md §3, §4).
        FrameEncoder().writeFrame(
            Frame(
                type: FrameType(rawValue: type), flags: FrameFlags(rawValue: 0xFF), streamID: 0x8000_1234,
                payload: ByteBuffer(repeating: 9, count: 3000)), into: &bytes)
        FrameEncoder().writePing(42, ack: false, into: &bytes)
        for feeding in Feeding.all {
            let (items, leftover) = try decodeAll(Array(bytes.readableBytesView), feeding: feeding)
            #expect(items == [.frame(Frame(type: .ping, streamID: 0, payload: ByteBuffer(integer: UInt64(42))))])
            #expect(leftover == 0)
        }
    }

    @Test("flags not allowed for the type are refused")
    func badFlags() {
        for type in FrameType.allKnown {
            for bit in 0..<8 {
                let flags = FrameFlags(rawValue: 1 << bit)
                let allowed = type.allowedFlags.contains(flags)
                let stream: UInt32 = type.isCallFrame ? 1 : 0
                let length: UInt32 = type == .ping ? 8 : 0
                var buffer = ByteBuffer()
                FrameHeader(length: length, type: type, flags: flags, streamID: stream).write(into: &buffer)
                buffer.writeRepeatingByte(0, count: Int(length))
                var decoder = FrameDecoder()
                decoder.append(buffer)
                if allowed {
                    #expect(throws: Never.self, "\(type) flag \(bit)") { _ = try decoder.nextFrame() }
                } else {
                    #expect("\(type) flag \(bit)") {
                        _ = try decoder.nextFrame()
                    } throws: { ($0 as? WireError)?.code == .badFlags }
                }
            }
        }
    }

    @Test("stream id rules: 0 for connection frames, non-zero for call frames, bit 31 clear")
    func streamIDs() {
        for type in FrameType.allKnown {
            for stream: UInt32 in [0, 1, 0x8000_0000, 0x8000_0001] {
                let length: UInt32 = type == .ping ? 8 : 0
                var buffer = ByteBuffer()
                FrameHeader(length: length, type: type, flags: [], streamID: stream).write(into: &buffer)
                buffer.writeRepeatingByte(0, count: Int(length))
                var decoder = FrameDecoder()
                decoder.append(buffer)
                let valid = stream & 0x8000_0000 == 0 && (type.isCallFrame ? stream != 0 : stream == 0)
                if valid {
                    #expect(throws: Never.self) { _ = try decoder.nextFrame() }
                } else {
                    #expect("\(type) on \(stream)") {
                        _ = try decoder.nextFrame()
                    } throws: { ($0 as? WireError)?.code == .badStreamID }
                }
            }
        }
    }

    static let badSizes: [(FrameType, FrameFlags, Int)] = [
        (.ping, FrameFlags(), 7), (.ping, FrameFlags(), 9), (.ping, .ack, 0), (.settings, .ack, 6),
        (.settings, FrameFlags(), 7), (.settings, FrameFlags(), 6 * 33), (.cancel, FrameFlags(), 1),
    ]

    @Test("fixed payload sizes are enforced on the header", arguments: badSizes)
    func fixedSizes(_ type: FrameType, _ flags: FrameFlags, _ length: Int) {
        var buffer = ByteBuffer()
        FrameHeader(length: UInt32(length), type: type, flags: flags, streamID: type.isCallFrame ? 1 : 0).write(
            into: &buffer)
        // No payload bytes: the size check happens before waiting for them.
        var decoder = FrameDecoder()
        decoder.append(buffer)
        #expect {
            _ = try decoder.nextFrame()
        } throws: { ($0 as? WireError)?.code == .malformedFrame }
    }

    @Test("the static decode works on a caller's cumulation buffer (ByteToMessageDecoder style)")
    func staticDecode() throws {
        var buffer = ByteBuffer()
        FrameEncoder().writePing(1, ack: false, into: &buffer)
        FrameEncoder().writePing(2, ack: true, into: &buffer)
        buffer.writeBytes([0, 0, 0])
        #expect(try FrameDecoder.decodeFrame(from: &buffer, maxFrameSize: 1 << 20)?.pingData == 1)
        #expect(try FrameDecoder.decodeFrame(from: &buffer, maxFrameSize: 1 << 20)?.flags == .ack)
        #expect(try FrameDecoder.decodeFrame(from: &buffer, maxFrameSize: 1 << 20) == nil)
        #expect(buffer.readableBytes == 3)
    }

    @Test("the encoder refuses messages over the peer's limits and writes nothing")
    func encoderLimits() throws {
        var buffer = ByteBuffer(string: "keep")
        let encoder = FrameEncoder(peerMaxFrameSize: 16 << 10, peerMaxMessageSize: 32 << 10)
        #expect {
            try encoder.writeMessage(ByteBuffer(repeating: 1, count: (16 << 10) + 1), streamID: 1, into: &buffer)
        } throws: { ($0 as? WireError)?.code == .frameTooLarge }
        // Compressed it fits in a frame, but the uncompressed size is over the peer's message limit.
        #expect {
            try encoder.writeMessage(
                ByteBuffer(repeating: 0, count: (32 << 10) + 1),
                streamID: 1,
                compressor: MessageCompressor(),
                into: &buffer
            )
        } throws: { ($0 as? WireError)?.code == .messageTooLarge }
        #expect(buffer == ByteBuffer(string: "keep"))
        // Compression makes a 20 KiB message fit into a 16 KiB frame.
        try encoder.writeMessage(
            ByteBuffer(repeating: 0, count: 20 << 10), streamID: 1, compressor: MessageCompressor(), into: &buffer)
        #expect(buffer.readableBytes < 200)
    }

    @Test("a long stream of frames in random splits decodes completely (consumed bytes are discarded)")
    func longStream() throws {
        var buffer = ByteBuffer()
        for index in 0..<3000 {
            FrameEncoder().writePing(UInt64(index), ack: false, into: &buffer)
        }
        for feeding in [Feeding.randomSplits(seed: 11), .randomSplits(seed: 12)] {
            let (items, leftover) = try decodeAll(Array(buffer.readableBytesView), feeding: feeding)
            #expect(leftover == 0)
            #expect(
                items.map { if case .frame(let f) = $0 { f.pingData } else { nil } }
                    == (0..<3000).map { UInt64?(UInt64($0)) })
        }
    }

    @Test("several frames written into one buffer decode in order (one flush per read)")
    func batching() throws {
        var buffer = ByteBuffer()
        let encoder = FrameEncoder()
        for stream in stride(from: UInt32(1), through: 199, by: 2) {
            try encoder.writeMessage(ByteBuffer(string: "r\(stream)"), streamID: stream, into: &buffer)
            encoder.writeCallEnd(.ok, streamID: stream, into: &buffer)
        }
        var decoder = FrameDecoder()
        decoder.append(buffer)
        var count = 0
        while let frame = try decoder.nextFrame() {
            #expect(frame.streamID == UInt32(count / 2 * 2 + 1))
            count += 1
        }
        #expect(count == 200)
    }
}

@Suite("Preface")
struct PrefaceTests {
    @Test("client and server prefaces and negotiation")
    func negotiation() throws {
        var buffer = ByteBuffer()
        Preface.client.write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == [0x49, 0x41, 0x4D, 0x57, 1, 1, 0, 0])
        let reply = Preface.serverReply(to: try #require(try Preface.read(from: &buffer)))
        #expect(reply == Preface(minVersion: 1, maxVersion: 1, selectedVersion: 1))
        #expect(
            Preface.serverReply(to: Preface(minVersion: 1, maxVersion: 3, selectedVersion: 0), supporting: 2...4)
                .selectedVersion == 3)
        #expect(Preface.serverReply(to: Preface(minVersion: 2, maxVersion: 3, selectedVersion: 0)).selectedVersion == 0)
    }

    @Test("garbage is refused at its first byte", arguments: [[UInt8(0x16)], Array("GET".utf8), [0x49, 0x41, 0x00]])
    func garbage(_ bytes: [UInt8]) {
        var decoder = FrameDecoder()
        decoder.append(ByteBuffer(bytes: bytes))
        #expect {
            _ = try decoder.decodePreface()
        } throws: { ($0 as? WireError)?.code == .badPreface }
    }

    @Test("a partial correct preface waits")
    func partial() throws {
        for feeding in Feeding.all {
            let (items, leftover) = try decodeAll(
                [0x49, 0x41, 0x4D, 0x57, 1, 2, 0, 0, 0, 0], feeding: feeding, expectingPrefaceAt: [0])
            #expect(items == [.preface(Preface(minVersion: 1, maxVersion: 2, selectedVersion: 0))])
            #expect(leftover == 2)
        }
    }
}

import Foundation
import IAMWire
import NIOCore
import Testing

@Suite("Message compression")
struct CompressionTests {
    /// A policy-like JSON document of about `size` bytes: what IAM messages mostly carry.
    static func policyText(size: Int) -> ByteBuffer {
        var text = #"{"Version":"2012-10-17","Statement":["#
        var index = 0
        while text.utf8.count < size {
            text += #"{"Sid":"S\#(index)","Effect":"Allow","Action":["iam:GetUser","s3:GetObject"],"#
            text += #""Resource":"arn:aws:s3:::bucket-\#(index)/*"},"#
            index += 1
        }
        return ByteBuffer(string: String(text.utf8.prefix(size))!)
    }

    @Test("round trip through one reused compressor, many messages", arguments: [1, 100, 1023, 1024, 5000, 65536])
    func roundTrip(_ size: Int) throws {
        let compressor = MessageCompressor(threshold: 0)
        for round in 0..<5 {
            let message = Self.policyText(size: size + round)
            var compressed = ByteBuffer()
            try compressor.compress(message, into: &compressed)
            // RFC 1950 header: CM = 8 (deflate), 32 KiB window, level-1 FLEVEL, FDICT clear, FCHECK valid.
            let cmf = compressed.getInteger(at: 0, as: UInt8.self)!
            let flg = compressed.getInteger(at: 1, as: UInt8.self)!
            #expect(cmf == 0x78)
            #expect((UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0)
            #expect(flg & 0x20 == 0)
            let inflated = try compressor.decompress(compressed, maxSize: 1 << 20)
            #expect(inflated == message)
        }
    }

    @Test("the encoder compresses only at or above the threshold and only when it helps")
    func threshold() throws {
        let compressor = MessageCompressor(threshold: 1024)
        let encoder = FrameEncoder()
        for (size, expectCompressed) in [(1023, false), (1024, true), (4096, true)] {
            var buffer = ByteBuffer()
            try encoder.writeMessage(Self.policyText(size: size), streamID: 1, compressor: compressor, into: &buffer)
            var decoder = FrameDecoder()
            decoder.append(buffer)
            let frame = try #require(try decoder.nextFrame())
            #expect(frame.flags.contains(.compressed) == expectCompressed, "\(size)")
            let message =
                expectCompressed ? try compressor.decompress(frame.payload, maxSize: 1 << 20) : frame.payload
            #expect(message == Self.policyText(size: size))
        }
        // Random bytes do not compress: sent as they are, without the flag.
        var generator = SeededGenerator(seed: 7)
        let random = ByteBuffer(bytes: (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        var buffer = ByteBuffer(string: "prefix")
        try encoder.writeMessage(random, streamID: 1, endStream: true, compressor: compressor, into: &buffer)
        buffer.moveReaderIndex(forwardBy: 6)
        let frame = try #require(try FrameDecoder.decodeFrame(from: &buffer, maxFrameSize: 1 << 20))
        #expect(frame.flags == .endStream)
        #expect(frame.payload == random)
    }

    /// CPU time this thread has used, in nanoseconds.
    static func threadCPUNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    @Test("a zip bomb (100 MB of zeros) is refused with RESOURCE_EXHAUSTED without inflating it")
    func zipBomb() throws {
        let compressor = MessageCompressor(threshold: 0, level: 9)
        var bomb = ByteBuffer()
        // Level 9 gets zeros to about 1000:1, so the bomb is ~100 KB — well under a 1 MiB frame.
        let zeros = ByteBuffer(repeating: 0, count: 100_000_000)
        try compressor.compress(zeros, into: &bomb)
        #expect(bomb.readableBytes < 200_000)
        let refusing = Self.threadCPUNanoseconds()
        #expect {
            _ = try compressor.decompress(bomb, maxSize: ConnectionSettings.defaultMaxMessageSize)
        } throws: { error in
            let error = error as! WireError
            return error.code == .messageTooLarge && error.code.statusCode == .resourceExhausted
        }
        let refused = Self.threadCPUNanoseconds() - refusing
        // Stopping after 4 MiB costs a small part of inflating all 100 MB. Compared in this thread's CPU
        // time, which a loaded machine does not inflate the way it does wall time (issue 6: a 2 s wall-clock
        // bound failed at 3.8 s with the code right).
        let inflating = Self.threadCPUNanoseconds()
        #expect(try compressor.decompress(bomb, maxSize: 100_000_000).readableBytes == 100_000_000)
        let inflated = Self.threadCPUNanoseconds() - inflating
        #expect(refused * 2 < inflated, "refusing took \(refused) ns of CPU, inflating everything \(inflated) ns")
        // The compressor is still usable afterwards.
        var small = ByteBuffer()
        try compressor.compress(ByteBuffer(string: "after"), into: &small)
        #expect(try compressor.decompress(small, maxSize: 100) == ByteBuffer(string: "after"))
    }

    @Test("exactly max size inflates; one byte more is refused")
    func exactLimit() throws {
        let compressor = MessageCompressor(threshold: 0)
        // 65536 fills a power-of-two buffer exactly; 100,000 and 3,000,000 also go through the 16 KiB tail
        // window past the largest power of two within the limit.
        for size in [1, 1024, 4096, 65536, 100_000, 3_000_000] {
            let longer = Self.policyText(size: size + 1)
            let message = longer.getSlice(at: longer.readerIndex, length: size)!
            var exact = ByteBuffer()
            try compressor.compress(message, into: &exact)
            #expect(try compressor.decompress(exact, maxSize: size) == message)
            var over = ByteBuffer()
            try compressor.compress(longer, into: &over)
            #expect {
                _ = try compressor.decompress(over, maxSize: size)
            } throws: { ($0 as? WireError)?.code == .messageTooLarge }
            #expect(try compressor.decompress(over, maxSize: size + 1) == longer)
        }
    }

    @Test(
        "corrupt, truncated, trailing and foreign payloads fail with decompressionFailed, and the next message still works"
    )
    func corrupt() throws {
        let compressor = MessageCompressor(threshold: 0)
        var good = ByteBuffer()
        try compressor.compress(Self.policyText(size: 3000), into: &good)
        let bytes = Array(good.readableBytesView)
        var cases: [(String, [UInt8])] = [
            ("empty", []),
            ("header only", Array(bytes.prefix(2))),
            ("truncated", Array(bytes.dropLast(1))),
            ("truncated checksum", Array(bytes.dropLast(4))),
            ("bad header", [0x78, 0x02] + bytes.dropFirst(2)),
            ("preset dictionary", [0x78, 0xBB] + bytes.dropFirst(2)),
            ("wrong Adler-32", bytes.dropLast(1) + [bytes.last! ^ 0x01]),
            ("trailing garbage", bytes + [0x00]),
            ("two streams", bytes + bytes),
            ("raw deflate", Array(bytes.dropFirst(2).dropLast(4))),
            ("gzip magic", [0x1F, 0x8B, 0x08, 0x00] + bytes.dropFirst(2)),
        ]
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0xFF
        cases.append(("flipped byte", flipped))
        for (name, payload) in cases {
            #expect("\(name)") {
                _ = try compressor.decompress(ByteBuffer(bytes: payload), maxSize: 1 << 20)
            } throws: { error in
                let code = (error as? WireError)?.code
                return code == .decompressionFailed && code?.statusCode == .internalError
            }
            #expect(try compressor.decompress(good, maxSize: 1 << 20) == Self.policyText(size: 3000), "after \(name)")
        }
    }

    @Test("random bytes never crash the inflater", arguments: [UInt64(1), 2, 3, 4])
    func fuzz(_ seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let compressor = MessageCompressor()
        for _ in 0..<200 {
            let length = Int.random(in: 1...300, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Half the time start with a valid zlib header to reach the deflate decoder.
            if Bool.random(using: &generator), bytes.count > 2 {
                bytes[0] = 0x78
                bytes[1] = 0x01
            }
            do {
                let out = try compressor.decompress(ByteBuffer(bytes: bytes), maxSize: 4096)
                #expect(out.readableBytes <= 4096)
            } catch {
                #expect(error.code == .decompressionFailed || error.code == .messageTooLarge)
            }
        }
    }
}

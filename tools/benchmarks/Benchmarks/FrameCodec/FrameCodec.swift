import Benchmark
import IAMWire
import NIOCore

// The wire hot path without I/O: the frames of one unary call encoded into a reused buffer and decoded again
// (CALL_START with its payload, request MESSAGE, response MESSAGE, CALL_END), and a 1 KiB message through the
// per-connection zlib streams. Each iteration is 1,000 operations (scalingFactor .kilo); the metrics marked `*`
// are per operation. The codec must not allocate beyond the buffers it is given: encoding has a malloc
// threshold of 0.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .cpuTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    let encoder = FrameEncoder()
    let body = ByteBuffer(repeating: 0x61, count: 226)
    let start = CallStart(method: "/iam.v1.Authorization/Authorize", timeoutMicroseconds: 5_000_000, requestID: "r-1")

    func encodeCall(into buffer: inout ByteBuffer) {
        // The writes cannot fail: every size is far below the default limits.
        try? encoder.writeCallStart(start, streamID: 1, into: &buffer)
        try? encoder.writeMessage(body, streamID: 1, endStream: true, into: &buffer)
        try? encoder.writeMessage(body, streamID: 1, into: &buffer)
        encoder.writeCallEnd(.ok, streamID: 1, into: &buffer)
    }

    Benchmark(
        "encode one unary call (4 frames, 226 B messages)",
        configuration: .init(thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])])
    ) { benchmark in
        var buffer = ByteBuffer()
        buffer.reserveCapacity(4096)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            encodeCall(into: &buffer)
            blackHole(buffer.writerIndex)
        }
    }

    var encoded = ByteBuffer()
    encodeCall(into: &encoded)
    let call = encoded
    Benchmark("decode one unary call (4 frames, CALL_START/CALL_END payloads parsed)") { benchmark in
        for _ in benchmark.scaledIterations {
            var buffer = call
            while let frame = try FrameDecoder.decodeFrame(from: &buffer, maxFrameSize: 1 << 20) {
                switch frame.type {
                case .callStart: blackHole(try CallStart(decoding: frame.payload))
                case .callEnd: blackHole(try CallEnd(decoding: frame.payload))
                default: blackHole(frame)
                }
            }
        }
    }

    // A policy-like 1 KiB JSON document: what the compression threshold is about.
    let policyText =
        #"{"Version":"2012-10-17","Statement":["#
        + String(
            repeating: #"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"},"#, count: 14)
    let policy = ByteBuffer(string: String(policyText.prefix(1024)))
    let compressor = MessageCompressor(threshold: 0, level: 1)
    var compressed = ByteBuffer()
    _ = try? compressor.compress(policy, into: &compressed)
    let deflated = compressed

    Benchmark("deflate 1 KiB (reused stream, level 1)", configuration: .init(scalingFactor: .one)) { benchmark in
        var out = ByteBuffer()
        out.reserveCapacity(4096)
        for _ in benchmark.scaledIterations {
            out.clear()
            blackHole(try compressor.compress(policy, into: &out))
        }
    }

    Benchmark("inflate 1 KiB (reused stream, bounded)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try compressor.decompress(deflated, maxSize: 1 << 20))
        }
    }
}

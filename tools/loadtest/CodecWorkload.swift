import ArgumentParser
import IAMWire
import NIOCore

/// `iam-loadtest codec`: the wire codec's per-message work in a loop, with no I/O, for instruction counts
/// (callgrind) and profiles. Instructions per message = (total(2N) - total(N)) / N, which cancels start-up.
struct Codec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one codec operation N times without I/O (for callgrind / perf; prints a checksum)."
    )

    @Argument(help: "deflate, inflate, or echo (inflate a request, deflate the same bytes as the response).")
    var operation: String
    @Option(help: "Message bytes (policy-like JSON text).") var size = 1024
    @Option(help: "Iterations.") var count = 10_000

    func run() throws {
        var text = ByteBuffer()
        let statement = #"{"Sid":"S1","Effect":"Allow","Action":["iam:GetUser","s3:GetObject"],"#
        let pattern = Array((statement + #""Resource":"arn:aws:s3:::b/*"},"#).utf8)
        for index in 0..<self.size { text.writeInteger(pattern[index % pattern.count]) }
        let compressor = MessageCompressor(threshold: 0, level: 1)
        var compressed = ByteBuffer()
        try compressor.compress(text, into: &compressed)
        var checksum = 0
        var out = ByteBuffer()
        out.reserveCapacity(2 * self.size + 64)
        switch self.operation {
        case "deflate":
            for _ in 0..<self.count {
                out.clear()
                checksum &+= try compressor.compress(text, into: &out)
            }
        case "inflate":
            for _ in 0..<self.count {
                checksum &+= try compressor.decompress(compressed, maxSize: 1 << 22).readableBytes
            }
        case "echo":
            let encoder = FrameEncoder()
            for _ in 0..<self.count {
                let request = try compressor.decompress(compressed, maxSize: 1 << 22)
                out.clear()
                try encoder.writeMessage(request, streamID: 1, compressor: compressor, into: &out)
                checksum &+= out.readableBytes
            }
        default:
            throw ValidationError("unknown operation \(self.operation)")
        }
        print("checksum \(checksum)")
    }
}

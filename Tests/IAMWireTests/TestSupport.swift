import IAMWire
import NIOCore

/// Hex helpers for golden vectors.
enum Hex {
    static func decode(_ hex: String) -> [UInt8] {
        precondition(hex.utf8.count % 2 == 0, "odd hex length")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            bytes.append(nibble(high) << 4 | nibble(low))
        }
        return bytes
    }

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ buffer: ByteBuffer) -> String {
        encode(buffer.readableBytesView)
    }

    private static func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: preconditionFailure("not hex: \(c)")
        }
    }
}

/// A small deterministic generator (SplitMix64) so random splits are reproducible from the seed
/// printed in a failure.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D4_9BB1_3311_12EB
        return z ^ (z >> 31)
    }
}

/// How bytes are handed to a decoder (STYLE.md rule 10).
enum Feeding: CustomStringConvertible, Sendable {
    case allAtOnce
    case byteByByte
    case randomSplits(seed: UInt64)

    static let all: [Feeding] = [.allAtOnce, .byteByByte, .randomSplits(seed: 1), .randomSplits(seed: 0xC0FFEE)]

    var description: String {
        switch self {
        case .allAtOnce: "all at once"
        case .byteByByte: "byte by byte"
        case .randomSplits(let seed): "random splits (seed \(seed))"
        }
    }

    /// Splits `bytes` into the chunks this feeding delivers.
    func chunks(of bytes: [UInt8]) -> [ByteBuffer] {
        switch self {
        case .allAtOnce:
            return [ByteBuffer(bytes: bytes)]
        case .byteByByte:
            return bytes.map { ByteBuffer(bytes: [$0]) }
        case .randomSplits(let seed):
            var generator = SeededGenerator(seed: seed)
            var chunks: [ByteBuffer] = []
            var index = 0
            while index < bytes.count {
                let size = Int.random(in: 1...max(1, min(64, bytes.count - index)), using: &generator)
                chunks.append(ByteBuffer(bytes: bytes[index..<(index + size)]))
                index += size
            }
            return chunks
        }
    }
}

/// One thing a decoder produced.
enum Decoded: Equatable {
    case preface(Preface)
    case frame(Frame)
}

/// Feeds `bytes` to a fresh decoder as `feeding` says, reading a preface first when `prefaces` says so
/// (a whole-call transcript has two), and returns everything decoded plus the bytes left buffered.
func decodeAll(
    _ bytes: [UInt8],
    feeding: Feeding,
    maxFrameSize: Int = ConnectionSettings.defaultMaxFrameSize,
    expectingPrefaceAt prefacePositions: Set<Int> = []
) throws(WireError) -> (items: [Decoded], leftover: Int) {
    var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
    var items: [Decoded] = []
    for chunk in feeding.chunks(of: bytes) {
        decoder.append(chunk)
        while true {
            if prefacePositions.contains(items.count) {
                guard let preface = try decoder.decodePreface() else { break }
                items.append(.preface(preface))
            } else {
                guard let frame = try decoder.nextFrame() else { break }
                items.append(.frame(frame))
            }
        }
    }
    return (items, decoder.bufferedBytes)
}

import IAMWire
import NIOCore
import Testing

/// Random and mutated input: every decoder either succeeds or throws a `WireError`; none crashes, hangs
/// or depends on how the bytes were split.
@Suite("Fuzzing")
struct FuzzTests {
    /// The outcome of decoding a byte stream, comparable across feedings.
    enum Outcome: Equatable {
        case frames([Frame], leftover: Int)
        case failed(WireError.Code)
    }

    static func outcome(_ bytes: [UInt8], _ feeding: Feeding, maxFrameSize: Int) -> Outcome {
        do {
            let (items, leftover) = try decodeAll(bytes, feeding: feeding, maxFrameSize: maxFrameSize)
            return .frames(items.compactMap { if case .frame(let f) = $0 { f } else { nil } }, leftover: leftover)
        } catch {
            return .failed(error.code)
        }
    }

    /// A valid stream of mixed frames to mutate.
    static func validStream() throws -> [UInt8] {
        var buffer = ByteBuffer()
        let encoder = FrameEncoder()
        encoder.writeSettings(ConnectionSettings(compression: .zlib), into: &buffer)
        encoder.writePing(7, ack: false, into: &buffer)
        try encoder.writeCallStart(
            CallStart(method: "/iam.v1.IAM/GetUser", timeoutMicroseconds: 9, requestID: "x", metadata: ["k": "v"]),
            streamID: 1,
            into: &buffer
        )
        try encoder.writeMessage(ByteBuffer(string: "payload"), streamID: 1, endStream: true, into: &buffer)
        encoder.writeCallEnd(
            CallEnd(status: .notFound, message: "m", iamErrorCode: "NoSuchEntity"), streamID: 1, into: &buffer)
        encoder.writeGoAway(GoAway(lastStreamID: 1, code: .noError, message: "bye"), into: &buffer)
        encoder.writeCancel(streamID: 3, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test("mutated streams decode the same way however they are split", arguments: [UInt64(1), 2, 3])
    func mutatedStreams(_ seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let valid = try Self.validStream()
        for round in 0..<300 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            let expected = Self.outcome(bytes, .allAtOnce, maxFrameSize: 16 << 10)
            for feeding in [Feeding.byteByByte, .randomSplits(seed: UInt64(round))] {
                #expect(Self.outcome(bytes, feeding, maxFrameSize: 16 << 10) == expected, "round \(round) \(feeding)")
            }
            // Whatever frames came out, their payload decoders must not crash either.
            if case .frames(let frames, _) = expected {
                for frame in frames {
                    Self.decodePayload(frame)
                }
            }
        }
    }

    static func decodePayload(_ frame: Frame) {
        do {
            switch frame.type {
            case .settings: _ = try ConnectionSettings(decoding: frame.payload)
            case .callStart: _ = try CallStart(decoding: frame.payload)
            case .callEnd: _ = try CallEnd(decoding: frame.payload)
            case .goAway: _ = try GoAway(decoding: frame.payload)
            case .authClientFirst: _ = try AuthClientFirst(decoding: frame.payload)
            default: break
            }
        } catch {
            // Any WireError is an acceptable answer to garbage.
            _ = error.code
        }
    }

    @Test("random bytes never crash the frame decoder or the payload decoders", arguments: [UInt64(10), 11])
    func randomBytes(_ seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<1000 {
            let bytes = (0..<Int.random(in: 0...120, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            _ = Self.outcome(bytes, .allAtOnce, maxFrameSize: 1 << 20)
            let payload = ByteBuffer(bytes: bytes)
            for type in FrameType.allKnown {
                Self.decodePayload(Frame(type: type, streamID: 1, payload: payload))
            }
            var preface = ByteBuffer(bytes: bytes)
            _ = try? Preface.read(from: &preface)
        }
    }
}

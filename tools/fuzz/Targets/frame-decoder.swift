// Fuzz target: IAMWire's FrameDecoder fed an arbitrary byte stream in arbitrary splits.
//
// Input: [flags] [max frame size selector] [split count] [split sizes...] [stream...]
// Invariants: no crash; the frames and the outcome (clean or which error) do not depend on how the stream
// was cut; nothing beyond one frame (header + max frame size) is ever buffered once the decoder asks for
// more; every frame's payload is within the limit and re-encodes to a frame that decodes to itself.
import IAMWire
import NIOCore

private enum Outcome: Equatable {
    case needMore
    case failed(WireError.Code)
}

private func decode(_ chunks: [[UInt8]], preface: Bool, maxFrameSize: Int) -> ([Frame], Preface?, Outcome) {
    var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
    var frames: [Frame] = []
    var received: Preface?
    var prefaceDone = !preface
    do throws(WireError) {
        for chunk in chunks {
            decoder.append(ByteBuffer(bytes: chunk))
            if !prefaceDone {
                guard let value = try decoder.decodePreface() else { continue }
                received = value
                prefaceDone = true
            }
            while let frame = try decoder.nextFrame() {
                invariant(
                    frame.payload.readableBytes <= maxFrameSize,
                    "payload of \(frame.payload.readableBytes) > \(maxFrameSize)")
                frames.append(frame)
            }
            // Asking for more: at most one incomplete frame (or preface) may be held.
            invariant(
                decoder.bufferedBytes < FrameHeader.size + maxFrameSize,
                "\(decoder.bufferedBytes) bytes buffered with max frame size \(maxFrameSize)"
            )
        }
    } catch {
        return (frames, received, .failed(error.code))
    }
    return (frames, received, .needMore)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let flags = input.byte()
    let maxFrameSize = 16 + Int(input.byte()) * 64
    let splitCount = Int(input.byte() % 16)
    let splits = (0..<splitCount).map { _ in 1 + Int(input.byte()) }
    let stream = input.rest()

    let whole = decode([stream], preface: flags & 1 == 1, maxFrameSize: maxFrameSize)

    var chunks: [[UInt8]] = []
    var offset = 0
    var next = 0
    while offset < stream.count {
        let length = splits.isEmpty ? 1 : splits[next % splits.count]
        next += 1
        chunks.append(Array(stream[offset..<min(stream.count, offset + length)]))
        offset += length
    }
    let split = decode(chunks, preface: flags & 1 == 1, maxFrameSize: maxFrameSize)
    invariant(whole.0 == split.0, "frames differ by split: \(whole.0.count) vs \(split.0.count)")
    invariant(whole.1 == split.1, "preface differs by split")
    invariant(whole.2 == split.2, "outcome differs by split: \(whole.2) vs \(split.2)")

    // Re-encoding a decoded frame gives bytes that decode to the same frame.
    let encoder = FrameEncoder()
    for frame in whole.0 {
        var bytes = ByteBuffer()
        encoder.writeFrame(frame, into: &bytes)
        invariant(bytes.readableBytes == FrameHeader.size + frame.payload.readableBytes, "encoded size")
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        decoder.append(bytes)
        let again: Frame?
        do { again = try decoder.nextFrame() } catch { fatalError("re-encoded \(frame.type) fails: \(error)") }
        invariant(again == frame, "re-encoded \(frame.type) decodes differently")
        invariant(decoder.bufferedBytes == 0, "bytes left after a re-encoded frame")
    }
    return 0
}

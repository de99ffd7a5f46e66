// Fuzz target: the bounded inflater (IAMWire's MessageCompressor over the CZlib shim) with small limits.
//
// Input: [max size selector] [mode] [bytes...]. Mode bit 0 clear: the bytes are a compressed payload from a
// peer. Set: the bytes are a message; the harness compresses it and inflates it back.
// Invariants: no crash; never more than the max size comes out (zip bombs are refused, not inflated);
// inflating the same payload twice on one compressor (reset between messages) gives the same result; what
// inflates re-compresses and inflates back to the same bytes; a message round-trips exactly when it fits the
// limit and fails with messageTooLarge when it does not.
import IAMWire
import NIOCore

private let compressor = MessageCompressor(threshold: 0)

private func inflate(_ payload: ByteBuffer, maxSize: Int) -> Result<ByteBuffer, WireError> {
    do { return .success(try compressor.decompress(payload, maxSize: maxSize)) } catch { return .failure(error) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let selector = input.byte()
    // 0...16 KiB plus a few sizes around powers of two, where the output buffer's growth changes strategy.
    let maxSize =
        selector < 128
        ? Int(selector) * 128 : [0, 1, 2, 255, 256, 257, 4095, 4096, 4097, 16384, 16385][Int(selector) % 11]
    let mode = input.byte()
    let bytes = ByteBuffer(bytes: input.rest())

    if mode & 1 == 0 {
        let first = inflate(bytes, maxSize: maxSize)
        let second = inflate(bytes, maxSize: maxSize)
        invariant(first == second, "inflating the same payload twice differs (reset between messages)")
        guard case .success(let output) = first else { return 0 }
        invariant(output.readableBytes <= maxSize, "inflated \(output.readableBytes) bytes past the limit \(maxSize)")
        var recompressed = ByteBuffer()
        do { try compressor.compress(output, into: &recompressed) } catch { fatalError("compress failed: \(error)") }
        invariant(inflate(recompressed, maxSize: maxSize) == .success(output), "re-compressed output differs")
    } else {
        var compressed = ByteBuffer()
        do { try compressor.compress(bytes, into: &compressed) } catch { fatalError("compress failed: \(error)") }
        switch inflate(compressed, maxSize: maxSize) {
        case .success(let output):
            invariant(
                bytes.readableBytes <= maxSize, "a \(bytes.readableBytes)-byte message inflated under limit \(maxSize)")
            invariant(output == bytes, "round trip changed the message")
        case .failure(let error):
            invariant(
                bytes.readableBytes > maxSize && error.code == .messageTooLarge,
                "a \(bytes.readableBytes)-byte message failed under limit \(maxSize): \(error)")
        }
    }
    return 0
}

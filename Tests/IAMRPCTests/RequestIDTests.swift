import IAMWire
import NIOCore
import Testing

@testable import IAMRPC

/// The server writes the request ids it assigns (`<instance>-<connection>-<stream>`) digit by digit.
@Suite("Assigned request ids")
struct RequestIDTests {
    @Test("numbers are spelled in decimal, in place", arguments: [0, 7, 10, 99, 12_345, UInt64(UInt32.max), .max])
    func decimal(value: UInt64) {
        let text = String(unsafeUninitializedCapacity: 24) { bytes in
            bytes[0] = UInt8(ascii: "<")
            let end = CallRequestID.writeDecimal(value, into: bytes, at: 1)
            bytes[end] = UInt8(ascii: ">")
            return end + 1
        }
        #expect(text == "<\(value)>")
    }

    @Test(
        "an assigned id is the same written into CALL_END bytes as spelled as text",
        arguments: [(UInt64(0), UInt32(1)), (1, 3), (42, 99_999), (.max, .max)])
    func assignedIDBytes(connection: UInt64, stream: UInt32) {
        let id = CallRequestID.assigned(instance: "9a3f12bc", connection: connection, stream: stream)
        #expect(id.text == "9a3f12bc-\(connection)-\(stream)")
        var buffer = ByteBuffer(bytes: [0xEE])
        id.write(into: &buffer)
        #expect(buffer.readableBytesView.dropFirst().elementsEqual(id.text.utf8), "wrote after what was there")
        let caller = CallRequestID.caller("req-from-the-caller")
        #expect(caller.text == "req-from-the-caller")
        var callerBuffer = ByteBuffer()
        caller.write(into: &callerBuffer)
        #expect(String(buffer: callerBuffer) == "req-from-the-caller")
    }

    @Test("a success CALL_END written from parts decodes like one encoded from a String")
    func successCallEndFromParts() throws {
        let id = CallRequestID.assigned(instance: "1000abcd", connection: 7, stream: 4_294_967_295)
        var fromParts = ByteBuffer()
        CallEnd.encodeSuccess(into: &fromParts) { id.write(into: &$0) }
        var fromString = ByteBuffer()
        CallEnd(status: .ok, requestID: id.text).encode(into: &fromString)
        #expect(fromParts == fromString)
        let decoded = try CallEnd(decoding: fromParts)
        #expect(decoded.status == .ok && decoded.error == nil && decoded.requestID == "1000abcd-7-4294967295")
    }
}

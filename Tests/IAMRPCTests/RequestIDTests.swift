import Testing

@testable import IAMRPC

/// The server writes the request ids it assigns (`<instance>-<connection>-<stream>`) digit by digit.
@Suite("Assigned request ids")
struct RequestIDTests {
    @Test("numbers are spelled in decimal, in place", arguments: [0, 7, 10, 99, 12_345, UInt64(UInt32.max), .max])
    func decimal(value: UInt64) {
        let text = String(unsafeUninitializedCapacity: 24) { bytes in
            bytes[0] = UInt8(ascii: "<")
            let end = ServerConnectionHandler.writeDecimal(value, into: bytes, at: 1)
            bytes[end] = UInt8(ascii: ">")
            return end + 1
        }
        #expect(text == "<\(value)>")
    }
}

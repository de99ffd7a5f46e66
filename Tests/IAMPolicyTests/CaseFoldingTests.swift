import Testing

@testable import IAMPolicy

@Suite("Case folding of context keys")
struct CaseFoldingTests {
    @Test("a word is lower-cased as each of its bytes is, every byte value in every position")
    func wordFolding() {
        for position in 0..<8 {
            for fill: UInt8 in [0x00, 0x40, 0x41, 0x5A, 0x5B, 0x61, 0x7F, 0x80, 0xC1, 0xDA, 0xFF] {
                for value in UInt8.min...UInt8.max {
                    var bytes = [UInt8](repeating: fill, count: 8)
                    bytes[position] = value
                    let word = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    let expected = bytes.map(lowerByte).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(asciiLowercased(word: word) == expected, "byte \(value) at \(position) among \(fill)")
                }
            }
        }
    }

    @Test(
        "folded equality at every length around the eight-byte steps", arguments: [1, 7, 8, 9, 15, 16, 17, 24, 25, 40])
    func foldedEquality(length: Int) {
        let lower = String((0..<length).map { Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0 % 26))) })
        let upper = lower.uppercased()
        #expect(asciiEqualFolded(upper, lower))
        #expect(asciiEqualFolded(lower, lower))
        #expect(!asciiEqualFolded(upper + "x", lower))
        for index in 0..<length {
            // One byte changed anywhere, or turned into the byte just past "Z" or before "A", breaks equality.
            for replacement: UInt8 in [UInt8(ascii: "["), UInt8(ascii: "@"), UInt8(ascii: "#"), 0xC3] {
                var bytes = Array(upper.utf8)
                bytes[index] = replacement
                let changed = String(decoding: bytes, as: UTF8.self)
                #expect(!asciiEqualFolded(changed, lower), "\(changed)")
            }
        }
    }

    @Test("a long key spelled in capitals is found in any case")
    func longKeyLookup() {
        let context = RequestContext(pairs: [
            ("aws:RequestedRegion", .string("us-east-1")), ("MyService:SomeVeryLongContextKeyName", .string("x")),
        ])
        #expect(context["AWS:REQUESTEDREGION"] == .string("us-east-1"))
        #expect(context["aws:requestedregion"] == .string("us-east-1"))
        #expect(context["myservice:someverylongcontextkeyname"] == .string("x"))
        #expect(context["aws:requestedregio"] == nil)
    }
}

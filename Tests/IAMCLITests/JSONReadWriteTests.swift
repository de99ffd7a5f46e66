import IAMPolicy
import IAMPolicyVectors
import Testing

@testable import IAMCLI

/// The CLI reads case files with the engine's JSON reader (`JSONParser`, package access) and writes its output
/// lines with `JSONLineWriter`: these tests pin what the CLI relies on (raw byte ranges, duplicate keys kept, bounds).
@Suite("JSON reading and writing in the CLI")
struct JSONReadWriteTests {
    @Test func keepsTheRawBytesOfEveryValue() throws {
        let text = #"[ {"document" : {"b": 10.50, "a":[1e3, "x\u00e9"]} , "id":"k"} ]"#
        let bytes = Array(text.utf8)
        let root = try JSONParser.parse(bytes, maxDepth: 128, rejectDuplicateKeys: false)
        guard case .array(let items) = root.value, let first = items.first, let document = first["document"] else {
            Issue.record("unexpected shape")
            return
        }
        #expect(String(decoding: bytes[document.range], as: UTF8.self) == #"{"b": 10.50, "a":[1e3, "x\u00e9"]}"#)
        #expect(first["id"]?.string == "k")
        guard case .array(let a)? = document["a"]?.value else {
            Issue.record("a is not an array")
            return
        }
        #expect(a.last?.string == "xé")
    }

    @Test func duplicateKeysAreKeptInOrder() throws {
        let root = try JSONParser.parse(Array(#"{"k":1,"k":2}"#.utf8), maxDepth: 8, rejectDuplicateKeys: false)
        guard case .object(let members) = root.value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["k", "k"])
    }

    @Test(arguments: [
        "", " ", "{", "}", "[", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "01", "-", "1.", "1e", "tru", "nul",
        "\"unterminated", "\"bad \\q escape\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\u{01}\"", "[] []",
        "\u{FEFF}[]",
    ])
    func malformedTextIsAnError(_ text: String) {
        #expect(throws: PolicyError.self) {
            try JSONParser.parse(Array(text.utf8), maxDepth: 128, rejectDuplicateKeys: false)
        }
    }

    @Test func invalidUTF8CaseFileIsAnInputError() throws {
        #expect(throws: VectorFileError.self) { try VectorFile.evaluationCases([0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D]) }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: PolicyError.self) { try JSONParser.parse(Array(deep.utf8), maxDepth: 128) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONParser.parse(Array(ok.utf8), maxDepth: 128) }
    }

    @Test func arbitraryBytesNeverCrash() {
        // A deterministic generator (no time-dependent randomness): 5,000 inputs of up to 64 bytes drawn from
        // JSON's structural characters and a few others. Parsing must return or throw, never trap.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array(#"{}[]:,"\ueE+-.0123456789truefalsnl xé"#.utf8) + [0x00, 0x1F, 0xFF, 0xC3]
        var parsed = 0
        for _ in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 58)
            var bytes: [UInt8] = []
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            if (try? JSONParser.parse(bytes, maxDepth: 128, rejectDuplicateKeys: false)) != nil { parsed += 1 }
        }
        #expect(parsed < 5_000)
    }

    @Test func writerEscapesAndRoundTrips() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F} é 東 😀"
        var writer = JSONLineWriter()
        writer.field("s", string: tricky)
        writer.field("n", string: nil)
        writer.field("i", int: -3)
        writer.field("d", double: .nan)
        writer.field("list", strings: ["a", "\"b\""])
        let line = writer.finish()
        #expect(!line.contains("\n"))
        let value = try JSONParser.parse(Array(line.utf8))
        #expect(value["s"]?.string == tricky)
        #expect(
            value["list"].map { node in
                if case .array(let items) = node.value { items.compactMap(\.string) } else { [] }
            } == ["a", "\"b\""])
        if case .null? = value["n"]?.value {} else { Issue.record("n is not null") }
        if case .null? = value["d"]?.value {} else { Issue.record("NaN must be written as null") }
        if case .number("-3")? = value["i"]?.value {} else { Issue.record("i is not -3") }
    }
}

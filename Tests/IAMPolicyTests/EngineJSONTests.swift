import IAMPolicy
import Testing

/// The package-level JSON reader shared by the engine, the CLI and the vector runner.
@Suite("Engine: JSON reader")
struct EngineJSONTests {
    @Test func keepsOrderRangesAndNumberText() throws {
        let text = #"[{"b": 1.50, "a": {"x": [true, null]}}, "s\u00e9"]"#
        let bytes = Array(text.utf8)
        let root = try JSONParser.parse(bytes)
        guard case .array(let items) = root.value, case .object(let members) = items[0].value else {
            Issue.record("unexpected shape")
            return
        }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(members[0].value.value == .number("1.50"))
        #expect(String(decoding: bytes[members[1].value.range], as: UTF8.self) == #"{"x": [true, null]}"#)
        #expect(items[1].string == "s\u{e9}")
        #expect(items[0]["a"]?["x"]?.typeName == "array")
        #expect(root.range == 0..<bytes.count)
    }

    @Test func escapesUnescapeAlongsideRawUTF8() throws {
        let cases: [(String, String)] = [
            (#""arn:aws:iam::123456789012:user\/path\/name""#, "arn:aws:iam::123456789012:user/path/name"),
            (#""\/""#, "/"),
            (
                #""Z\u00fcrich \u6771 \ud83d\ude00 \"q\" \\ \b\f\n\r\t""#,
                "Z\u{fc}rich \u{6771} \u{1F600} \"q\" \\ \u{08}\u{0C}\n\r\t"
            ),
            (#""Zürich \/ 東京 😀 tail""#, "Zürich / 東京 😀 tail"),
            (#""\u0000x""#, "\u{0}x"),
        ]
        for (json, expected) in cases {
            #expect(try JSONParser.parse(Array(json.utf8)).string == expected, "\(json)")
        }
        for bad in [#""\ud83d""#, #""\ude00""#, #""\x""#, #""ab\"#, "\"a\u{01}\""] {
            #expect(throws: PolicyError.self, "\(bad)") { try JSONParser.parse(Array(bad.utf8)) }
        }
    }

    @Test func duplicatesAreAnErrorOnlyWhenAsked() throws {
        let bytes = Array(#"{"k": 1, "k": 2}"#.utf8)
        #expect(throws: PolicyError.self) { try JSONParser.parse(bytes) }
        let kept = try JSONParser.parse(bytes, rejectDuplicateKeys: false)
        guard case .object(let members) = kept.value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.value.value) == [.number("1"), .number("2")])
        #expect(kept["k"]?.value == .number("1"))
    }

    @Test func depthBoundIsConfigurable() throws {
        let deep = Array((String(repeating: "[", count: 50) + String(repeating: "]", count: 50)).utf8)
        #expect(throws: PolicyError.self) { try JSONParser.parse(deep) }
        _ = try JSONParser.parse(deep, maxDepth: 128)
    }
}

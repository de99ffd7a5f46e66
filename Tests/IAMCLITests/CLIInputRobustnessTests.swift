import Testing

@testable import IAMCLI

/// Input the `cli` fuzz target (tools/fuzz/Targets/cli.swift) showed the CLI mishandling: each is a clear usage
/// error or the right value now, never a crash.
@Suite("iam CLI: hostile input found by fuzzing")
struct CLIInputRobustnessTests {
    /// A query 100,000 levels deep, named by its shape so the test log does not print it.
    struct DeepQuery: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var text: String
    }

    /// A --query nested or chained many thousands deep overflowed the stack (parsing, evaluating and freeing an
    /// expression recurse once per level); it is a usage error now, and real queries are far below the bound.
    @Test(arguments: [
        DeepQuery(
            testDescription: "(((a)))",
            text: String(repeating: "(", count: 100_000) + "a" + String(repeating: ")", count: 100_000)),
        DeepQuery(testDescription: "!!!a", text: String(repeating: "!", count: 100_000) + "a"),
        DeepQuery(testDescription: "a.a.a", text: "a" + String(repeating: ".a", count: 100_000)),
        DeepQuery(testDescription: "a[*][*]", text: "a" + String(repeating: "[*]", count: 100_000)),
        DeepQuery(testDescription: "a || a || a", text: "a" + String(repeating: " || a", count: 100_000)),
        DeepQuery(testDescription: "[[[", text: String(repeating: "[", count: 100_000)),
    ])
    func deepQueriesAreUsageErrors(_ query: DeepQuery) {
        #expect(throws: InputError.self) { try JMESPath.parse(query.text) }
    }

    @Test func queriesBelowTheBoundStillWork() throws {
        let value = try AWSJSON.parse(#"{"a": {"a": {"a": 1}}}"#)
        let deep = String(repeating: "(", count: 100) + "a.a.a" + String(repeating: ")", count: 100)
        #expect(try JMESPath.parse(deep).evaluate(value) == .int(1))
        let wide = "[" + Array(repeating: "a.a.a", count: 100).joined(separator: ", ") + "]"
        #expect(try JMESPath.parse(wide).evaluate(value) == .array(Array(repeating: .int(1), count: 100)))
    }

    /// Shorthand was split by Characters, where a quote, comma or equals sign next to a combining mark or a
    /// prepended character joins it into one Character; the AWS CLI reads code points, and so does this now.
    @Test func shorthandIsReadByUnicodeScalars() throws {
        let combining = try Shorthand.pairs("Key=\"\u{301}x\",Value=v")
        #expect(combining.map(\.key) == ["Key", "Value"])
        #expect(combining.map(\.values) == [["\u{301}x"], ["v"]])
        let prepended = try Shorthand.pairs("Key=a\u{600},Value=b")
        #expect(prepended.map(\.key) == ["Key", "Value"])
        #expect(prepended.map(\.values) == [["a\u{600}"], ["b"]])
        let list = try Shorthand.pairs("Values=[\"\u{301}\",'\u{600}']")
        #expect(list.map(\.values) == [["\u{301}", "\u{600}"]])
        let tag = try Shorthand.parse("Key=\"\u{301}\",Value=\u{600}", as: Shapes.message("Tag"))
        #expect(
            tag
                == .object([
                    .init(key: "Key", value: .string("\u{301}")), .init(key: "Value", value: .string("\u{600}")),
                ]))
    }

    /// `9e999` read as infinity, which printed as `inf`: text no JSON reader takes back. A number beyond a double's
    /// range is an input error now, as the engine's own numbers are; numbers within it still read and print.
    @Test func numbersBeyondADoublesRangeAreRefused() throws {
        for text in ["9e999", "-9e999", #"{"MaxItems": 1e400}"#, "[1, 2e308]"] {
            #expect(throws: InputError.self, "\(text)") { try AWSJSON.parse(text) }
        }
        let within = try AWSJSON.parse("[1.5e308, -2.5, 1e-400]")
        #expect(try AWSJSON.parse(within.rendered(indent: nil)) == within)
        #expect(within.rendered(indent: nil) == "[1.5e+308, -2.5, 0.0]")
        #expect(AWSJSON.double(.infinity).rendered() == "Infinity")
    }

    /// A policy document whose text is `null` decoded as JSON null, which encodes as no document at all, so a request
    /// changed on its way through the transcoder and back. Only objects and arrays (what encoding takes as a
    /// document) are shown as JSON now; other text stays text.
    @Test func policyDocumentTextThatIsNotAnObjectStaysText() throws {
        for document in [#""null""#, #""5""#, #"{"Version": "2012-10-17", "Statement": []}"#] {
            let request = try AWSJSON.parse(#"{"RoleName": "r", "PolicyName": "p", "PolicyDocument": \#(document)}"#)
            let bytes = try Transcoder.encode(request, as: "PutRolePolicyRequest")
            let decoded = try Transcoder.decode(bytes, as: "PutRolePolicyRequest", topLevel: false)
            #expect(decoded == request, "\(document)")
        }
    }

    @Test("a paramfile's leading ~ is the home folder, as the AWS CLI expands it")
    func homeExpansion() {
        #expect(ParameterReader.expandingHome("~/p.json", home: "/home/a") == "/home/a/p.json")
        #expect(ParameterReader.expandingHome("~", home: "/home/a") == "/home/a")
        #expect(ParameterReader.expandingHome("~bob/p.json", home: "/home/a") == "~bob/p.json")
        #expect(ParameterReader.expandingHome("/tmp/~/p.json", home: "/home/a") == "/tmp/~/p.json")
        #expect(ParameterReader.expandingHome("~/p.json", home: nil) == "~/p.json")
    }
}

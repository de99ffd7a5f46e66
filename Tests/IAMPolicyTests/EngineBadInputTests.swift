import IAMPolicy
import Testing

@Suite("Engine: bad input never crashes or hangs")
struct EngineBadInputTests {
    typealias F = EngineFixtures

    static let sample = F.doc(
        #"{"Sid":"A1","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::b/${aws:username}/*","#
            + #""Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"#
            + #""DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"NumericLessThan":{"s3:max-keys":10}}}"#
    )

    func expectError(_ bytes: [UInt8], code: String = "MalformedPolicyDocument", _ fragment: String) {
        do {
            _ = try PolicyDocument.parse(bytes: bytes, kind: .identity)
            Issue.record("accepted")
        } catch {
            #expect(error.code == code)
            #expect(error.message.contains(fragment), "message was: \(error.message)")
        }
    }

    @Test func oneMegabyteDocumentIsRefusedBeforeParsing() {
        let big = [UInt8](repeating: UInt8(ascii: "["), count: 1 << 20)
        expectError(big, code: "LimitExceeded", "131072")
        // A large but not huge document that is mostly whitespace is parsed (whitespace is not counted).
        let padded = Array((String(repeating: " ", count: 200_000) + Self.sample).utf8)
        #expect(throws: Never.self) { try PolicyDocument.parse(bytes: padded, kind: .identity) }
    }

    @Test(arguments: [33, 100, 3_000])
    func deepNestingIsRefused(depth: Int) {
        let text =
            #"{"Version":"2012-10-17","Statement":"# + String(repeating: "[", count: depth)
            + String(repeating: "]", count: depth) + "}"
        expectError(Array(text.utf8), "nests deeper than 32")
        let objects = String(repeating: #"{"a":"#, count: depth / 3) + "1" + String(repeating: "}", count: depth / 3)
        expectError(Array(objects.utf8), depth / 3 > 32 ? "nests deeper" : "Unknown element")
    }

    /// Nesting 10,000 deep is over the managed-policy quota, so it is refused before the parser runs at all.
    @Test func tenThousandDeepIsRefusedBySize() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        expectError(Array(text.utf8), code: "LimitExceeded", "6144")
        // Resource policies may be larger (20,480), so there the depth bound refuses it, without deep recursion.
        do {
            _ = try PolicyDocument.parse(text, kind: .resource)
            Issue.record("accepted")
        } catch {
            #expect(error.code == "MalformedPolicyDocument")
            #expect(error.message.contains("nests deeper"))
        }
    }

    @Test(
        arguments: [
            [0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82],
        ] as [[UInt8]])
    func invalidUTF8IsRefused(bad: [UInt8]) {
        var bytes = Array(F.doc(#"{"Sid":"X","Effect":"Allow","Action":"s3:*","Resource":"*"}"#).utf8)
        bytes.insert(contentsOf: bad, at: 40)
        expectError(bytes, "not valid UTF-8")
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("   ", "unexpected end of input"),
        ("nul", "invalid literal"),
        (#"{"Version":"2012-10-17" "Statement":[]}"#, "expected ',' or '}'"),
        (#"{"Version":"2012-10-17","Statement":[{},]}"#, "unexpected character ']'"),
        (#"{"Version":'2012-10-17'}"#, "unexpected character"),
        (#"{"a":"\x"}"#, "invalid escape"),
        (#"{"a":"\ud800"}"#, "unpaired surrogate"),
        (#"{"a":"\u12"}"#, "invalid \\u escape"),
        (#"{"a":01}"#, "expected ',' or '}'"),
        (#"{"a":-}"#, "invalid number"),
        (#"{"a":1.}"#, "invalid number"),
        (#"{"a":"unterminated"#, "unterminated string"),
        (#"{"a":[1,2"#, "unterminated array"),
        ("{\"a\":\"tab\tinside\"}", "control character"),
        (#"{"a":1}{"b":2}"#, "unexpected text after the end"),
    ])
    func malformedJSON(text: String, fragment: String) {
        expectError(Array(text.utf8), fragment)
    }

    @Test func duplicateKeyInLargeObject() {
        let keys = (0..<40).map { #""aws:k\#($0)":"v""# } + [#""aws:k7":"again""#]
        let text = F.doc(
            #"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{\#(keys.joined(separator: ","))}}}"#
        )
        expectError(
            Array(text.utf8), #"Statement[0].Condition.StringEquals: Syntax errors in policy. Duplicate key "aws:k7""#)
    }

    @Test func wrongTypesEverywhere() {
        let replacements = [#"null"#, #"true"#, #"1"#, #""x""#, #"[]"#, #"{}"#, #"[null]"#, #"[{}]"#]
        let slots = [
            #"{"Version":@,"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            #"{"Version":"2012-10-17","Statement":@}"#,
            #"{"Version":"2012-10-17","Statement":{"Effect":@,"Action":"s3:*","Resource":"*"}}"#,
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":@,"Resource":"*"}}"#,
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":@}}"#,
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":@}}"#,
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":@}}}"#,
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:x":@}}}}"#,
        ]
        for slot in slots {
            for value in replacements {
                let text = slot.replacing("@", with: value)
                do {
                    _ = try PolicyDocument.parse(text, kind: .identity)
                } catch {
                    #expect(error.code == "MalformedPolicyDocument")
                    #expect(!error.message.isEmpty)
                }
            }
        }
    }

    @Test(arguments: [
        "999.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/1000000000000000000000",
        "::::", "1:2:3:4:5:6:7:8:9", "12345::", ":1::", "1::2::3", "::ffff:1.2.3.999", "", " 1.2.3.4",
        String(repeating: "1", count: 2_000),
    ])
    func absurdCIDRs(value: String) {
        let text = F.doc(
            #"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"\#(value)"}}}"#
        )
        do {
            _ = try PolicyDocument.parse(text, kind: .identity)
            Issue.record("accepted \(value)")
        } catch {
            #expect(error.code == "MalformedPolicyDocument")
        }
    }

    @Test(arguments: [
        "2020-13-01", "2020-00-10", "2020-01-01T25:00:00Z", "2020-01-01T10:61:00Z", "2020-01-01T10:00:00+25:00",
        "2020-0101", "1e10", "9999999999999999999999999", "9223372036854775808", "NaN", "inf", "",
        String(repeating: "9", count: 3_000),
    ])
    func absurdDates(value: String) {
        let text = F.doc(
            #"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"\#(value)"}}}"#
        )
        #expect(throws: PolicyError.self) { try PolicyDocument.parse(text, kind: .identity) }
    }

    /// Dates AWS's date check accepts (any day 1-31, years far outside 0000-9999, a missing time) but that are no
    /// instant: saved with a warning, and the condition matches no date, also for the negated operator's positive
    /// test.
    @Test(arguments: ["2021-02-29", "99999-01-01", "-1-01-01", "2020-01-01T", "2020-01-01T10", "01T"])
    func awsAcceptedDatesWarnAndNeverMatch(value: String) throws {
        let text = F.doc(
            #"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"\#(value)"}}}"#
        )
        let document = try PolicyDocument.parse(text, kind: .identity)
        #expect(document.warnings.count == 1)
        #expect(document.warnings.first?.path == "Statement[0].Condition.DateLessThan.aws:CurrentTime")
        let compiled = CompiledPrincipal(
            principal: Principal(arn: "arn:aws:iam::123456789012:user/a", kind: .user),
            policies: [PolicyInput(id: "p", role: .identity, document: document)])
        for now in ["1970-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            let request = AuthorizationRequest(
                action: "s3:GetObject", resource: "arn:aws:s3:::b/k",
                context: RequestContext(["aws:CurrentTime": .string(now)]))
            #expect(compiled.decide(request) == .implicitDeny, "\(value) matched \(now)")
        }
    }

    @Test(arguments: ["nan", "inf", "-inf", "0x10", "1e5", "1,000", "--1", "1-", ".", "", "1.2.3", "+", "١٢"])
    func absurdNumbers(value: String) {
        let text = F.doc(
            #"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"s3:max-keys":"\#(value)"}}}"#
        )
        #expect(throws: PolicyError.self) { try PolicyDocument.parse(text, kind: .identity) }
    }

    /// Every prefix of a valid document and every single-byte corruption of it gives a PolicyError or a
    /// document, never a crash (bounded: one pass over a ~400-byte document).
    @Test func truncationsAndCorruptions() {
        let bytes = Array(Self.sample.utf8)
        var rejected = 0
        for n in 0..<bytes.count {
            do {
                _ = try PolicyDocument.parse(bytes: bytes[..<n], kind: .identity)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected == bytes.count)
        let noise: [UInt8] = [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0xFF, 0x2A, 0x24]
        var generator = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            var copy = bytes
            copy[Int(generator.next() % UInt64(copy.count))] = noise[Int(generator.next() % UInt64(noise.count))]
            if let doc = try? PolicyDocument.parse(bytes: copy, kind: .identity) {
                // Whatever parses must also compile and evaluate.
                let compiled = CompiledPrincipal(
                    principal: F.alice,
                    policies: [PolicyInput(id: "p", role: .identity, document: doc)]
                )
                _ = compiled.evaluate(
                    F.request("s3:GetObject", "arn:aws:s3:::b/alice/x", ["aws:username": .string("alice")]))
            }
        }
    }

    /// Random strings from the characters addresses, dates and numbers are made of: every one is either refused
    /// with a PolicyError or accepted and then usable as a request value (bounded: 400 strings per operator).
    @Test(arguments: ["IpAddress", "DateEquals", "NumericEquals", "ArnLike", "StringLike", "BinaryEquals"])
    func randomTypedValues(op: String) throws {
        let alphabet = Array("0123456789abcdefABCDEF:./-+TZtz *?$".utf8)
        var generator = SplitMix64(seed: UInt64(op.utf8.count))
        for _ in 0..<400 {
            let length = Int(generator.next() % 40)
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            let value = String(decoding: bytes, as: UTF8.self)
            let text = F.doc(
                #"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"\#(op)":{"aws:x":"\#(value)"}}}"#
            )
            guard let doc = try? PolicyDocument.parse(text, kind: .identity) else { continue }
            let compiled = CompiledPrincipal(
                principal: F.alice,
                policies: [PolicyInput(id: "p", role: .identity, document: doc)]
            )
            let r = F.request("s3:GetObject", "arn:aws:s3:::b/k", ["aws:x": .string(value)])
            #expect(compiled.decide(r) == compiled.evaluate(r).decision)
            if op != "StringLike" && op != "ArnLike" {
                // A value always equals itself (and lies in its own block).
                #expect(compiled.decide(r) == .allowed, "\(op) \(value)")
            }
        }
    }

    @Test func hostileRequestsEvaluate() throws {
        let compiled = try F.compile(identity: [Self.sample])
        let long = String(repeating: "a*", count: 5_000)
        let requests = [
            F.request("", ""),
            F.request(":", ":::::"),
            F.request("s3:GetObject", "arn:aws:s3:::b/" + long),
            F.request(long, long),
            F.request(
                "s3:GetObject",
                "arn:aws:s3:::b/alice/x",
                [
                    "aws:username": .string(String(repeating: "x", count: 100_000)),
                    "aws:SourceIp": .string("::::"),
                    "aws:CurrentTime": .string("99999-99-99"),
                    "s3:max-keys": .string("1e999999"),
                ]
            ),
            F.request("s3:GetObject", "arn:aws:s3:::b/alice/x", ["aws:username": .list(["a", "b"])]),
        ]
        for r in requests {
            #expect(compiled.decide(r) == compiled.evaluate(r).decision)
        }
        // A pathological glob finishes quickly (one backtrack point: O(pattern x text)).
        let glob = F.doc(
            #"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/\#(String(repeating: "*a", count: 500))b"}"#)
        let slow = try F.compile(identity: [glob])
        #expect(
            slow.decide(F.request("s3:GetObject", "arn:aws:s3:::b/" + String(repeating: "a", count: 5_000)))
                == .implicitDeny)
    }
}

/// Deterministic generator so the corruption test is reproducible.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

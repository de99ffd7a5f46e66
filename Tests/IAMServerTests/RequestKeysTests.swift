import Foundation
import IAMPolicy
import Testing

@testable import IAMServer

/// The server-filled request keys on the authorization hot path: `aws:CurrentTime` text and how a caller's
/// context keys give way to the server's.
@Suite("Request keys: aws:CurrentTime and the principal's keys")
struct RequestKeysTests {
    /// Foundation's formatter, the reference the hand-rolled one must match byte for byte.
    static func reference(_ date: Date) -> String {
        var formatter = Date.ISO8601FormatStyle()
        formatter.timeZone = TimeZone(identifier: "UTC")!
        return date.formatted(formatter)
    }

    @Test(
        "aws:CurrentTime matches ISO8601FormatStyle",
        arguments: [
            0, 1, -1, 59, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_164_800, 1_709_251_199, 1_780_000_000.75,
            4_107_542_399, 253_402_300_799, -86_401, -2_208_988_800, -62_135_596_800,
        ] as [Double])
    func currentTimeText(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(UTCTime.iso8601(date) == Self.reference(date))
    }

    @Test("aws:CurrentTime matches ISO8601FormatStyle over many random instants")
    func currentTimeRandom() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let date = Date(
                timeIntervalSince1970: Double.random(in: 0..<253_402_300_800, using: &generator))
            #expect(UTCTime.iso8601(date) == Self.reference(date))
        }
    }

    @Test("before 1970 and after 9999 the formatter answers")
    func currentTimeOutOfRange() {
        for seconds in [253_402_300_800, -0.5, -12_219_292_800] as [Double] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(UTCTime.iso8601(date) == Self.reference(date))
        }
    }

    @Test("the clock's keys follow the second asked for, on every thread")
    func clockContextPerSecond() async {
        let base = 1_780_000_000.0
        for offset in [0.0, 0.25, 0.999, 1.0, 61.5, 0.5] {
            let date = Date(timeIntervalSince1970: base + offset)
            let context = Caller.clockContext(at: date)
            #expect(context["aws:EpochTime"] == .string(String(Int(base + offset.rounded(.down)))))
            #expect(context["aws:CurrentTime"] == .string(UTCTime.iso8601(date)))
            #expect(context["aws:SecureTransport"] == .string("true"))
        }
        // Threads keep their own second: one thread moving on does not change what another answers.
        let answers = await withTaskGroup(of: String?.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let second = base + Double(index % 2) * 10
                    var last: ContextValue?
                    for _ in 0..<200 {
                        last = Caller.clockContext(at: Date(timeIntervalSince1970: second))["aws:EpochTime"]
                    }
                    guard case .string(let text) = last else { return nil }
                    return "\(index % 2):\(text)"
                }
            }
            return await group.reduce(into: Set<String?>()) { $0.insert($1) }
        }
        #expect(answers == ["0:\(Int(base))", "1:\(Int(base) + 10)"])
    }

    @Test("the server's keys replace the caller's in any case; other caller keys stay")
    func mergeServerKeysWin() {
        // Authorize and SimulatePrincipalPolicy put the principal's keys in a layer above the caller's.
        let caller = RequestContext(pairs: [
            ("AWS:USERNAME", .string("mallory")), ("aws:principalarn", .string("arn:aws:iam::1:user/x")),
            ("aws:SourceIp", .string("203.0.113.9")), ("aws:usernameX", .string("kept")),
        ])
        let principal = RequestContext([
            "aws:username": .string("alice"), "aws:PrincipalArn": .string("arn:aws:iam::123456789012:user/alice"),
        ])
        let values = RequestContext(layers: [caller, principal])
        #expect(values["aws:username"] == .string("alice"))
        #expect(values["aws:PrincipalArn"] == .string("arn:aws:iam::123456789012:user/alice"))
        #expect(values["aws:SourceIp"] == .string("203.0.113.9"))
        #expect(values["aws:usernameX"] == .string("kept"))
        #expect(Set(values.keys) == ["aws:username", "aws:principalarn", "aws:sourceip", "aws:usernamex"])
    }

    @Test("ASCII folding only: non-letters and non-ASCII bytes must match exactly")
    func asciiFolding() {
        func same(_ a: String, _ b: String) -> Bool { RequestContext(pairs: [(a, .string("v"))])[b] != nil }
        #expect(same("aws:SourceIp", "AWS:SOURCEIP"))
        #expect(!same("a@b", "a`b"))
        #expect(!same("tag/é", "tag/É"))
        #expect(!same("aws:a", "aws:ab"))
        #expect(same("x", "X"))
    }

    @Test("UTC text: SigV4's compact form and protobuf milliseconds agree with ISO8601FormatStyle")
    func compactAndMilliseconds() {
        for seconds in [0, 59, 951_782_400, 1_780_000_000.75, 253_402_300_799, -1, -86_401] as [Double] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(UTCTime.compact(date) == Self.reference(date).filter { $0 != "-" && $0 != ":" })
        }
        #expect(UTCTime.iso8601(milliseconds: 1_500) == "1970-01-01T00:00:01Z")
        #expect(UTCTime.iso8601(milliseconds: -1) == "1969-12-31T23:59:59Z")
        #expect(
            UTCTime.iso8601(milliseconds: 1_780_000_000_999)
                == Self.reference(Date(timeIntervalSince1970: 1_780_000_000)))
    }
}

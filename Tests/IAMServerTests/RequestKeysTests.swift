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
        #expect(Caller.iso8601(date) == Self.reference(date))
    }

    @Test("aws:CurrentTime matches ISO8601FormatStyle over many random instants")
    func currentTimeRandom() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let date = Date(
                timeIntervalSince1970: Double.random(in: 0..<253_402_300_800, using: &generator))
            #expect(Caller.iso8601(date) == Self.reference(date))
        }
    }

    @Test("before 1970 and after 9999 the formatter answers")
    func currentTimeOutOfRange() {
        for seconds in [253_402_300_800, -0.5, -12_219_292_800] as [Double] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Caller.iso8601(date) == Self.reference(date))
        }
    }

    @Test("the server's keys replace the caller's in any case; other caller keys stay")
    func mergeServerKeysWin() {
        var values: [String: ContextValue] = [
            "AWS:USERNAME": .string("mallory"), "aws:principalarn": .string("arn:aws:iam::1:user/x"),
            "aws:SourceIp": .string("203.0.113.9"), "aws:usernameX": .string("kept"),
        ]
        AuthorizationService.merge(
            ["aws:username": .string("alice"), "aws:PrincipalArn": .string("arn:aws:iam::123456789012:user/alice")],
            into: &values)
        #expect(
            values == [
                "aws:username": .string("alice"), "aws:PrincipalArn": .string("arn:aws:iam::123456789012:user/alice"),
                "aws:SourceIp": .string("203.0.113.9"), "aws:usernameX": .string("kept"),
            ])
    }

    @Test("ASCII folding only: non-letters and non-ASCII bytes must match exactly")
    func asciiFolding() {
        #expect(AuthorizationService.asciiCaseInsensitiveEqual("aws:SourceIp", "AWS:SOURCEIP"))
        #expect(!AuthorizationService.asciiCaseInsensitiveEqual("a@b", "a`b"))
        #expect(!AuthorizationService.asciiCaseInsensitiveEqual("tag/é", "tag/É"))
        #expect(!AuthorizationService.asciiCaseInsensitiveEqual("aws:a", "aws:ab"))
        #expect(AuthorizationService.asciiCaseInsensitiveEqual("", ""))
    }
}

import Foundation
import IAMPolicy
import Testing

@testable import IAMCLI

private struct NotAnObject: Error {
    var line: String
}

/// Reads the JSON object on one output line.
private func object(_ line: String) throws -> JSONNode {
    let value = try JSONParser.parse(Array(line.utf8), maxDepth: 16, rejectDuplicateKeys: false)
    guard case .object = value.value else { throw NotAnObject(line: line) }
    return value
}

/// The ids of the cases in a vector file, in order.
private func caseIDs(_ path: String) throws -> [String] {
    let root = try JSONParser.parse(
        Array(try Data(contentsOf: URL(fileURLWithPath: path))), maxDepth: 128, rejectDuplicateKeys: false)
    guard case .array(let items) = root.value else { return [] }
    return items.compactMap { $0["id"]?.string }
}

/// Checks the output of `iam policy evaluate` on a whole vector file: exit 0, one well-formed line per case, in order.
private func expectAllAsExpected(_ result: CommandResult, file: String) throws {
    let ids = try caseIDs(VectorFiles.path(file))
    #expect(ids.count > 0)
    #expect(result.status == 0, "\(file): \(result.errorOutput)")
    let lines = result.lines
    try #require(lines.count == ids.count, "\(file): \(lines.count) lines for \(ids.count) cases")
    for (line, id) in zip(lines, ids) {
        let value = try object(line)
        #expect(value["id"]?.string == id)
        #expect(value["mismatch"] == nil, "\(line)")
        if VectorFiles.isValidation(file) {
            #expect(["valid", "invalid"].contains(value["decision"]?.string ?? ""), "\(line)")
        } else {
            #expect(["allowed", "explicitDeny", "implicitDeny"].contains(value["decision"]?.string ?? ""), "\(line)")
            guard case .array? = value["matched"]?.value, case .array? = value["missingContextKeys"]?.value else {
                Issue.record("matched / missingContextKeys missing: \(line)")
                continue
            }
        }
    }
}

@Suite("iam policy evaluate: every vector file")
struct VectorFileTests {
    @Test("there are vector files to run")
    func filesExist() {
        #expect(VectorFiles.all.count >= 2)
        #expect(VectorFiles.all.contains { VectorFiles.isValidation($0) })
    }

    @Test("in-process", arguments: VectorFiles.all)
    func inProcess(_ file: String) async throws {
        var args = ["policy", "evaluate", "--cases", VectorFiles.path(file)]
        if VectorFiles.isValidation(file) { args.append("--validation") }
        try expectAllAsExpected(await CLI.inProcess(args), file: file)
    }

    @Test("the iam binary", arguments: VectorFiles.all)
    func binary(_ file: String) async throws {
        var args = ["policy", "evaluate", "--cases", VectorFiles.path(file)]
        if VectorFiles.isValidation(file) { args.append("--validation") }
        try expectAllAsExpected(try await CLI.process(args), file: file)
    }
}

private let validPolicy =
    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
private let lowercaseEffect =
    #"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:GetObject","Resource":"*"}]}"#
private let trustPolicy =
    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

@Suite("iam policy validate")
struct ValidateTests {
    /// Runs a command both in-process and as the real binary and checks they agree exactly.
    private func both(_ args: [String], stdin: [UInt8] = []) async throws -> CommandResult {
        let a = await CLI.inProcess(args, stdin: stdin)
        let b = try await CLI.process(args, stdin: stdin)
        #expect(a.status == b.status, "in-process and binary exit codes differ for \(args)")
        #expect(a.output == b.output, "in-process and binary output differ for \(args)")
        return a
    }

    @Test func validFilePrintsValid() async throws {
        let dir = try TemporaryDirectory()
        let result = try await both(["policy", "validate", try dir.file("p.json", validPolicy)])
        #expect(result.status == 0)
        #expect(result.output == "valid\n")
    }

    @Test func invalidFilePrintsTheAWSErrorAndExits1() async throws {
        let dir = try TemporaryDirectory()
        let result = try await both(["policy", "validate", try dir.file("p.json", lowercaseEffect)])
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("MalformedPolicyDocument: "), "\(result.output)")
        #expect(result.output.contains("Effect"), "the message names the element: \(result.output)")
    }

    @Test func warningsKeepTheDocumentValidUnlessStrict() async throws {
        let dir = try TemporaryDirectory()
        // AWS saves February 30 (its date check takes any day 1-31); no instant matches it.
        let file = try dir.file(
            "p.json",
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","#
                + #""Condition":{"DateLessThan":{"aws:CurrentTime":"2026-02-30T00:00:00Z"}}}]}"#)
        let lenient = try await both(["policy", "validate", file])
        #expect(lenient.status == 0)
        let lines = lenient.output.split(separator: "\n")
        #expect(lines.first == "valid")
        #expect(lines.count == 2 && lines[1].hasPrefix("warning: Statement[0].Condition.DateLessThan"), "\(lines)")
        let strict = try await both(["policy", "validate", "--strict", file])
        #expect(strict.status == 1)
        #expect(strict.output == lenient.output)
        // A document without warnings passes --strict.
        #expect(try await both(["policy", "validate", "--strict", try dir.file("ok.json", validPolicy)]).status == 0)
    }

    @Test func standardInput() async throws {
        let ok = try await both(["policy", "validate", "-"], stdin: Array(validPolicy.utf8))
        #expect(ok.status == 0)
        #expect(ok.output == "valid\n")
        let bad = try await both(["policy", "validate", "-"], stdin: Array("{".utf8))
        #expect(bad.status == 1)
        #expect(bad.output.hasPrefix("MalformedPolicyDocument: "))
    }

    @Test func kindDecidesWhatIsAllowed() async throws {
        let dir = try TemporaryDirectory()
        let trust = try dir.file("trust.json", trustPolicy)
        let asTrust = try await both(["policy", "validate", "--kind", "trust", trust])
        #expect(asTrust.status == 0)
        // An identity policy may not name a principal (and needs a Resource).
        let asIdentity = try await both(["policy", "validate", "--kind", "identity", trust])
        #expect(asIdentity.status == 1)
        #expect(asIdentity.output.hasPrefix("MalformedPolicyDocument: "))
    }

    @Test func sizeQuotaIsLimitExceeded() async throws {
        let dir = try TemporaryDirectory()
        let padding = String(repeating: "x", count: 6_200)
        let big =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/\#(padding)"}]}"#
        let result = try await both(["policy", "validate", try dir.file("big.json", big)])
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("LimitExceeded: "), "\(result.output)")
        // The same document is within an inline role policy's 10,240 characters.
        #expect(
            try await both(["policy", "validate", "--kind", "inline-role", try dir.file("b2.json", big)]).status == 0)
    }

    @Test func invalidUTF8IsMalformed() async throws {
        let dir = try TemporaryDirectory()
        var bytes = Array(
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/"#
                .utf8)
        bytes += [0xC3, 0x28, 0xFF]
        bytes += Array(#""}]}"#.utf8)
        let result = try await both(["policy", "validate", try dir.file("bad.json", bytes)])
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("MalformedPolicyDocument: "), "\(result.output)")
    }

    @Test func hugeInputIsRefusedWithoutReadingItAll() async throws {
        let dir = try TemporaryDirectory()
        // 4 MiB of nesting: far past every bound; must be a clean error, not a crash or a long wait.
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 4 << 20)
        let result = try await both(["policy", "validate", try dir.file("huge.json", bytes)])
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("LimitExceeded: ") || result.output.hasPrefix("MalformedPolicyDocument: "))
    }

    @Test func deepNestingIsMalformed() async throws {
        let text = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        let result = try await both(["policy", "validate", "-"], stdin: Array(text.utf8))
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("MalformedPolicyDocument: ") || result.output.hasPrefix("LimitExceeded: "))
    }

    @Test func unknownKindIsAnInputError() async throws {
        let dir = try TemporaryDirectory()
        let result = try await both(["policy", "validate", "--kind", "bucket", try dir.file("p.json", validPolicy)])
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
    }

    @Test func missingFileIsAnInputError() async throws {
        let result = try await both(["policy", "validate", "/nonexistent/dir/policy.json"])
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
    }

    @Test func missingArgumentIsAUsageError() async throws {
        let result = try await both(["policy", "validate"])
        #expect(result.status == 252)
    }
}

@Suite("iam policy evaluate")
struct EvaluateTests {
    private func evaluate(_ cases: String, _ extra: [String] = []) async throws -> CommandResult {
        let dir = try TemporaryDirectory()
        let path = try dir.file("cases.json", cases)
        let result = await CLI.inProcess(["policy", "evaluate", "--cases", path] + extra)
        let binary = try await CLI.process(["policy", "evaluate", "--cases", path] + extra)
        #expect(result.status == binary.status)
        if !(extra.first ?? "").hasPrefix("--bench") { #expect(result.output == binary.output) }
        return result
    }

    private static let principal = #"{"arn":"arn:aws:iam::111122223333:user/alice","type":"user","name":"alice"}"#

    @Test func outputLineHasTheIssueShape() async throws {
        let cases = """
            [{"id":"c1","policies":[{"kind":"identity","id":"p1","document":{"Version":"2012-10-17","Statement":[
               {"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*",
                "Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"}}}]}}],
              "principal":\(Self.principal),
              "request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k","context":{"aws:PrincipalTag/team":"red"}},
              "expect":"allowed"}]
            """
        let result = try await evaluate(cases)
        #expect(result.status == 0)
        #expect(
            result.output
                == #"{"id":"c1","decision":"allowed","matched":[{"policy":"p1","type":"identity","index":0,"sid":"Read"}],"missingContextKeys":[]}"#
                + "\n")
    }

    @Test func wrongExpectationExits1AndSaysWhy() async throws {
        let cases = """
            [{"id":"wrong","policies":[{"kind":"identity","document":{"Version":"2012-10-17","Statement":[
               {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}}],
              "principal":\(Self.principal),"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},
              "expect":"explicitDeny"}]
            """
        let result = try await evaluate(cases)
        #expect(result.status == 1)
        let line = try object(try #require(result.lines.first))
        #expect(line["decision"]?.string == "allowed")
        #expect(line["mismatch"] != nil)
        #expect(result.errorOutput.contains("wrong"))
    }

    @Test func pinnedDiagnosticsAreChecked() async throws {
        let cases = """
            [{"id":"m","policies":[{"kind":"identity","document":{"Version":"2012-10-17","Statement":[
               {"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
                "Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}]}}],
              "principal":\(Self.principal),"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},
              "expect":"implicitDeny","expectMatched":[],"expectMissingContextKeys":["aws:SourceIp"]}]
            """
        let result = try await evaluate(cases)
        #expect(result.status == 1, "the missing key is aws:SourceVpc, so the pinned list must not match")
        let line = try object(try #require(result.lines.first))
        guard case .array(let keys)? = line["missingContextKeys"]?.value else {
            Issue.record("no missingContextKeys")
            return
        }
        #expect(keys.compactMap(\.string) == ["aws:SourceVpc"])
    }

    @Test func documentAsStringAndGeneratedPolicyIDs() async throws {
        let inner =
            #"{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}"#
        let cases = """
            [{"id":"s","policies":[{"kind":"identity","document":{"Version":"2012-10-17","Statement":[
               {"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}},{"kind":"identity","document":"\(inner)"}],
              "principal":\(Self.principal),"request":{"action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},
              "expect":"allowed","expectMatched":[{"policy":"policy-2","index":0,"sid":null}]}]
            """
        let result = try await evaluate(cases)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func invalidPolicyInACaseIsReported() async throws {
        let cases = """
            [{"id":"bad","policies":[{"kind":"identity","document":{"Version":"2012-10-17","Statement":[
               {"Effect":"Permit","Action":"s3:GetObject","Resource":"*"}]}}],
              "principal":\(Self.principal),"request":{"action":"s3:GetObject","resource":"*"},"expect":"allowed"}]
            """
        let result = try await evaluate(cases)
        #expect(result.status == 1)
        let line = try object(try #require(result.lines.first))
        #expect(line["decision"]?.string == "error")
        #expect(line["error_code"]?.string == "MalformedPolicyDocument")
    }

    @Test func validationCasesHaveTheirOwnShape() async throws {
        let cases = """
            [{"id":"v1","kind":"trust","document":\(trustPolicy),"expect":"valid"},
             {"id":"v2","kind":"identity","document":"{\\"Statement\\":[]}","expect":"invalid",
              "error_code":"MalformedPolicyDocument"}]
            """
        let result = try await evaluate(cases, ["--validation"])
        #expect(result.status == 0, "\(result.output)")
        let lines = try result.lines.map(object)
        try #require(lines.count == 2)
        #expect(lines[0]["decision"]?.string == "valid")
        #expect(lines[0]["error_code"].map { if case .null = $0.value { true } else { false } } == true)
        #expect(lines[1]["decision"]?.string == "invalid")
        #expect(lines[1]["error_code"]?.string == "MalformedPolicyDocument")
        #expect(lines[1]["message"]?.string?.isEmpty == false)
    }

    @Test(arguments: ["", "{", "{}", "[1]", #"[{"id":"x"}]"#, #"[{"id":"x","request":{"action":5}}]"#])
    func malformedCaseFilesAreInputErrors(_ text: String) async throws {
        let result = try await evaluate(text)
        #expect(result.status == 2, "\(text): \(result.errorOutput)")
        #expect(result.output.isEmpty)
        #expect(result.errorOutput.hasPrefix("error: "))
    }

    @Test func benchPrintsOneMeasurementLine() async throws {
        let result = try await evaluate(
            try String(contentsOfFile: VectorFiles.path("actions.json"), encoding: .utf8), ["--bench", "0.2"])
        #expect(result.status == 0, "\(result.errorOutput)")
        let line = try object(try #require(result.lines.first))
        #expect(result.lines.count == 1)
        guard case .number(let checks)? = line["checks"]?.value, case .number(let seconds)? = line["seconds"]?.value,
            case .number(let cps)? = line["checksPerSecond"]?.value, case .number(let ns)? = line["nsPerCheck"]?.value
        else {
            Issue.record("fields missing: \(result.output)")
            return
        }
        #expect((Int(checks) ?? 0) >= 1024)
        #expect((Double(seconds) ?? 0) >= 0.2)
        #expect((Double(cps) ?? 0) > 0)
        #expect((Double(ns) ?? 0) > 0)
    }

    @Test func benchChecksRunsExactlyThatManyChecks() async throws {
        let result = try await evaluate(
            try String(contentsOfFile: VectorFiles.path("actions.json"), encoding: .utf8), ["--bench-checks", "777"])
        #expect(result.status == 0, "\(result.errorOutput)")
        let line = try object(try #require(result.lines.first))
        guard case .number(let checks)? = line["checks"]?.value, case .number(let cpu)? = line["cpuNsPerCheck"]?.value
        else {
            Issue.record("fields missing: \(result.output)")
            return
        }
        #expect(checks == "777")
        #expect((Double(cpu) ?? -1) >= 0)
    }

    @Test(arguments: [
        ["--bench", "0"], ["--bench", "-1"], ["--bench", "5000"], ["--bench", "1", "--validation"],
        ["--bench-checks", "0"], ["--bench-checks", "10", "--bench", "1"], ["--bench-checks", "10", "--validation"],
    ])
    func benchArgumentsAreValidated(_ extra: [String]) async throws {
        let result = await CLI.inProcess(["policy", "evaluate", "--cases", "-"] + extra)
        #expect(result.status == 252, "\(extra): \(result.errorOutput)")
    }
}

@Suite("iam command tree")
struct CommandTreeTests {
    @Test func helpExitsZero() async throws {
        let result = await CLI.inProcess(["--help"])
        #expect(result.status == 0)
        #expect(result.output.contains("policy"))
        let binary = try await CLI.process(["policy", "--help"])
        #expect(binary.status == 0)
        #expect(binary.output.contains("validate"))
        #expect(binary.output.contains("evaluate"))
    }

    @Test func unknownSubcommandIsAUsageError() async throws {
        let result = try await CLI.process(["frobnicate"])
        #expect(result.status == 252)
        #expect(!result.errorOutput.isEmpty)
    }
}

import Testing

@testable import IAMCLI

/// The server commands' local checks: bad input is refused with the AWS CLI's usage status (252) and a message
/// before anything is sent; a configuration that cannot work exits 255. (Calls against a real `iamd` are in
/// CLIBehaviourTests, CLIOriginScenarioTests and EndToEndTests.)
@Suite("iam server commands: local input checks")
struct RemoteCommandTests {
    static let policy = #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#

    @Test(
        "malformed context entries",
        arguments: [
            ("Bogus", "expected key=value"),
            ("ContextKeyName=k,ContextKeyValues=v,ContextKeyType=colour", "valid values: string, stringList"),
            ("Name=k", "Unknown key \"Name\", must be one of: ContextKeyName, ContextKeyValues, ContextKeyType"),
        ]
    )
    func contextEntries(entry: String, message: String) async {
        let result = await CLI.inProcess([
            "simulate-custom-policy", "--policy-input-list", Self.policy, "--action-names", "s3:GetObject",
            "--context-entries", entry, "--endpoint", "127.0.0.1:1",
        ])
        #expect(result.status == 252)
        #expect(result.errorOutput.contains(message), "\(result.errorOutput)")
    }

    @Test("a policy file that cannot be read")
    func unreadablePolicyFile() async {
        let result = await CLI.inProcess([
            "simulate-custom-policy", "--policy-input-list", "file:///nonexistent/policy.json", "--action-names",
            "s3:X",
        ])
        #expect(result.status == 252)
        #expect(result.errorOutput.contains("Unable to load paramfile file:///nonexistent/policy.json"))
    }

    @Test(
        "endpoint, credentials and CA are checked before connecting",
        arguments: [
            (["--endpoint", "127.0.0.1:70000"], "must be host:port with a port in 1...65535"),
            (["--endpoint", ":7443"], "has no host"),
            (
                ["--endpoint", "127.0.0.1:7443", "--credentials-file", "/nonexistent/creds.json"],
                "/nonexistent/creds.json"
            ),
        ])
    func connectionOptions(arguments: [String], message: String) async throws {
        let dir = try TemporaryDirectory()
        let credentials = try dir.file("creds.json", #"{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":"x"}"#)
        var args = ["ping"] + arguments
        if !arguments.contains("--credentials-file") { args += ["--credentials-file", credentials] }
        let result = await CLI.inProcess(args)
        #expect(result.status == 255)
        #expect(result.errorOutput.contains(message), "\(result.errorOutput)")
    }

    @Test("a CA file that does not exist")
    func missingCAFile() async throws {
        let dir = try TemporaryDirectory()
        let credentials = try dir.file("creds.json", #"{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":"x"}"#)
        let result = await CLI.inProcess([
            "ping", "--endpoint", "127.0.0.1:7443", "--credentials-file", credentials, "--ca-file",
            "/nonexistent/ca.pem",
        ])
        #expect(result.status == 255)
        #expect(result.errorOutput.contains("cannot read the CA file /nonexistent/ca.pem"))
    }

    @Test("shorthand: lists continue after commas, brackets and quotes group")
    func shorthand() throws {
        let entry = try Shorthand.parse(
            "ContextKeyName=aws:SourceIp,ContextKeyValues=203.0.113.9,198.51.100.1,ContextKeyType=ipList",
            as: Shapes.message("ContextEntry"))
        #expect(
            entry
                == .object([
                    .init(key: "ContextKeyName", value: .string("aws:SourceIp")),
                    .init(key: "ContextKeyValues", value: .array([.string("203.0.113.9"), .string("198.51.100.1")])),
                    .init(key: "ContextKeyType", value: .string("ipList")),
                ]))
        let quoted = try Shorthand.parse(#"Key="a,b=c",Value=[x]"#, as: Shapes.message("Tag"))
        #expect(
            quoted == .object([.init(key: "Key", value: .string("a,b=c")), .init(key: "Value", value: .string("x"))]))
    }

    @Test("JMESPath subset over AWS's JSON")
    func query() throws {
        let value = try AWSJSON.parse(
            #"{"Users":[{"UserName":"a","Path":"/x/","Tags":[{"Key":"k"}]},{"UserName":"b","Path":"/"}],"IsTruncated":false}"#
        )
        func run(_ expression: String) throws -> String {
            try JMESPath.parse(expression).evaluate(value).rendered(indent: nil)
        }
        #expect(try run("Users[*].UserName") == #"["a", "b"]"#)
        #expect(try run("Users[-1].UserName") == #""b""#)
        #expect(try run("Users[?Path=='/'].UserName | [0]") == #""b""#)
        #expect(try run("Users[*].[UserName, Path]") == #"[["a", "/x/"], ["b", "/"]]"#)
        #expect(try run("Users[*].Tags[].Key") == #"["k"]"#)
        #expect(try run("{n: length(Users), t: IsTruncated}") == #"{"n": 2, "t": false}"#)
        #expect(try run("Users[?starts_with(Path, '/x')].UserName") == #"["a"]"#)
        #expect(throws: InputError.self) { try JMESPath.parse("Users[?") }
    }
}

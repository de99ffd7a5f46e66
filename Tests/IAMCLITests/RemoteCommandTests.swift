import Testing

/// The server commands' local checks: bad input is refused with exit status 2 and a message before anything
/// is sent. (Calls against a real `iamd` are in EndToEndTests.)
@Suite("iam server commands: local input checks")
struct RemoteCommandTests {
    static let policy = #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#

    @Test(
        "malformed context entries",
        arguments: [
            ("Bogus", "expected ContextKeyName"),
            ("ContextKeyName=aws:SourceIp", "needs ContextKeyName and ContextKeyValues"),
            ("ContextKeyName=k,ContextKeyValues=v,ContextKeyType=colour", "unknown ContextKeyType"),
        ]
    )
    func contextEntries(entry: String, message: String) async {
        let result = await CLI.inProcess([
            "simulate-custom-policy", "--policy-input-list", Self.policy, "--action-names", "s3:GetObject",
            "--context-entries", entry,
        ])
        #expect(result.status == 2)
        #expect(result.errorOutput.contains(message), "\(result.errorOutput)")
    }

    @Test("a policy file that cannot be read")
    func unreadablePolicyFile() async {
        let result = await CLI.inProcess([
            "simulate-custom-policy", "--policy-input-list", "file:///nonexistent/policy.json", "--action-names",
            "s3:X",
        ])
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("cannot read /nonexistent/policy.json"))
    }

    @Test(
        "endpoint, credentials and CA are checked before connecting",
        arguments: [
            (["--endpoint", "localhost"], "must be host:port"),
            (["--endpoint", "127.0.0.1:70000"], "must be host:port"),
            (["--endpoint", "127.0.0.1:7443", "--credentials-file", "/nonexistent/creds.json"], "no credentials"),
        ])
    func connectionOptions(arguments: [String], message: String) async throws {
        let dir = try TemporaryDirectory()
        let credentials = try dir.file("creds.json", #"{"accessKeyId":"AKIAEXAMPLE","secretAccessKey":"x"}"#)
        var args = ["ping"] + arguments
        if !arguments.contains("--credentials-file") { args += ["--credentials-file", credentials] }
        let result = await CLI.inProcess(args)
        #expect(result.status == 2)
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
        #expect(result.status == 2)
        #expect(result.errorOutput.contains("cannot read the CA file /nonexistent/ca.pem"))
    }
}

import Testing

@testable import IAMCLI

/// `iam OPERATION ...` is parsed by the operation's own command (the root's walk over every subcommand was a
/// sixth of a call's CPU); anything that is not a clean parse goes to the root, whose help and errors users see.
@Suite("iam CLI: dispatch straight to an operation's command")
struct CommandDispatchTests {
    @Test("every IAM, STS and Authorization operation is found by its AWS CLI name")
    func everyOperationByName() {
        let all = iamCommands + stsCommands + authorizationCommands
        #expect(IAMCommand.operations.count == all.count)
        #expect(IAMCommand.operations["get-user"]?.operation.name == "GetUser")
        #expect(IAMCommand.operations["assume-role"]?.operation.name == "AssumeRole")
    }

    @Test("a clean command line is parsed by the operation alone, with its flags and the global ones")
    func cleanParse() throws {
        let parsed = try #require(
            IAMCommand.parsedOperation(
                IAMCommand.normalized(["--output", "text", "get-user", "--user-name", "alice"])))
        let command = try #require(parsed as? GetUserCommand)
        #expect(command.userName == "alice")
        #expect(command.global.output == .text)
    }

    @Test("an STS command may be written after `sts`, as the AWS CLI writes it")
    func stsPrefix() {
        #expect(IAMCommand.normalized(["sts", "get-caller-identity"]) == ["get-caller-identity"])
        #expect(
            IAMCommand.normalized(["--output", "text", "sts", "assume-role", "--role-arn", "r"])
                == ["assume-role", "--role-arn", "r", "--output", "text"])
        // Not an STS command: left for the parser to refuse.
        #expect(IAMCommand.normalized(["sts", "get-user"]) == ["sts", "get-user"])
        #expect(IAMCommand.normalized(["get-user", "--user-name", "sts"]) == ["get-user", "--user-name", "sts"])
    }

    @Test("--endpoint-url is the AWS CLI's URL form of --endpoint")
    func endpointURL() {
        #expect(ConnectionOptions.endpoint(ofURL: "https://127.0.0.1:7443") == "127.0.0.1:7443")
        #expect(ConnectionOptions.endpoint(ofURL: "HTTPS://iam.example:7443/") == "iam.example:7443")
        #expect(ConnectionOptions.endpoint(ofURL: "iam.example:7443") == "iam.example:7443")
    }

    @Test("help, unknown flags, a flag without its value and unknown commands are left to the root parser")
    func fallBack() {
        #expect(IAMCommand.parsedOperation(["get-user", "--help"]) == nil)
        #expect(IAMCommand.parsedOperation(["get-user", "-h"]) == nil)
        #expect(IAMCommand.parsedOperation(["get-user", "help"]) == nil)
        #expect(IAMCommand.parsedOperation(["get-user", "--user-nam", "alice"]) == nil)
        #expect(IAMCommand.parsedOperation(["get-user", "--user-name"]) == nil)
        #expect(IAMCommand.parsedOperation(["policy", "validate", "p.json"]) == nil)
        #expect(IAMCommand.parsedOperation(["no-such-command"]) == nil)
        #expect(IAMCommand.parsedOperation([]) == nil)
    }
}

import Foundation
import Testing

/// The AWS CLI's conventions against a real `iamd`: error text and exit statuses, pagination across pages,
/// the output formats and --query, and the input forms (file://, -, shorthand, --cli-input-json).
@Suite("iam CLI: errors, pagination, formats, inputs", .serialized)
struct CLIBehaviourTests {
    @Test("service errors, usage errors and connection problems print as the AWS CLI does, with its exit statuses")
    func errors() async throws {
        let server = try await LiveDaemon()
        defer { Task { await server.stop() } }

        let missing = try await server.iam(["get-user", "--user-name", "nobody"])
        #expect(missing.status == 254)
        #expect(missing.output.isEmpty)
        #expect(
            missing.errorOutput
                == "\nAn error occurred (NoSuchEntity) when calling the GetUser operation: The user with name nobody cannot be found.\n"
        )

        let unknownFlag = try await server.iam(["create-user", "--bogus", "x"])
        #expect(unknownFlag.status == 252)
        #expect(unknownFlag.errorOutput.contains("--bogus"))

        let badShorthand = try await server.iam(["create-user", "--user-name", "bob", "--tags", "Colour=blue"])
        #expect(badShorthand.status == 252)
        #expect(badShorthand.errorOutput.contains("Error parsing parameter '--tags'"))
        #expect(badShorthand.errorOutput.contains("Unknown key \"Colour\", must be one of: Key, Value"))
        // A tag without its Value is refused before sending, as botocore refuses it; nobody is created.
        let noValue = try await server.iam(["create-user", "--user-name", "bob", "--tags", "Key=team"])
        #expect(noValue.status == 252)
        #expect(noValue.errorOutput.contains("Missing required parameter in Tags[0]: \"Value\""))
        #expect(try await server.iam(["get-user", "--user-name", "bob"]).status == 254)

        let missingFile = try await server.iam([
            "create-policy", "--policy-name", "p", "--policy-document", "file:///nonexistent/p.json",
        ])
        #expect(missingFile.status == 252)
        #expect(missingFile.errorOutput.contains("Unable to load paramfile file:///nonexistent/p.json"))

        let badEnum = try await server.iam(["list-policies", "--scope", "Everything"])
        #expect(badEnum.status == 252)
        #expect(badEnum.errorOutput.contains("valid values: All, AWS, Local"))

        let unreachable = try await server.iam(["get-user", "--endpoint", "127.0.0.1:1", "--cli-read-timeout", "5"])
        #expect(unreachable.status == 255)
        #expect(unreachable.errorOutput.contains("Could not connect to the endpoint URL: \"127.0.0.1:1\""))

        let noCredentials = try await server.iam(
            ["get-user"], environment: ["IAM_CREDENTIALS_FILE": "/nonexistent/credentials"])
        #expect(noCredentials.status == 255)
        #expect(noCredentials.errorOutput.contains("/nonexistent/credentials"))

        let wrongSecret = try await server.iam(
            ["get-caller-identity"],
            environment: [
                "IAM_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "IAM_SECRET_ACCESS_KEY": "wrong",
                "IAM_CREDENTIALS_FILE": "",
            ])
        #expect(wrongSecret.status == 254)
        #expect(wrongSecret.errorOutput.contains("when calling the GetCallerIdentity operation"))

        let badQuery = try await server.iam(["get-caller-identity", "--query", "Arn[?"])
        #expect(badQuery.status == 252)

        // A member AWS's model requires, given neither as a flag nor in --cli-input-json: the AWS CLI's usage
        // error before any call; given either way, the call goes ahead.
        let noName = try await server.iam(["attach-user-policy", "--user-name", "someone"])
        #expect(noName.status == 252)
        #expect(noName.errorOutput.contains("iam: error: the following arguments are required: --policy-arn"))
        let neither = try await server.iam(["create-user"])
        #expect(neither.status == 252)
        #expect(neither.errorOutput.contains("the following arguments are required: --user-name"))
        let fromJSON = try await server.iam(["create-user", "--cli-input-json", #"{"UserName": "from-json"}"#])
        #expect(fromJSON.status == 0, "\(fromJSON.errorOutput)")
        #expect(fromJSON.output.contains("\"UserName\": \"from-json\""))
    }

    @Test("list commands follow Marker across pages; --max-items and --starting-token split the same list")
    func pagination() async throws {
        let server = try await LiveDaemon()
        defer { Task { await server.stop() } }
        let names = (0..<7).map { "user\($0)" }
        for name in names { _ = try await server.json(["create-user", "--user-name", name, "--path", "/team/"]) }

        // Page size 2 makes four calls; the output is one list, as with the AWS CLI.
        let all = try await server.json(["list-users", "--page-size", "2", "--debug"])
        #expect((all["Users"] as? [[String: Any]])?.compactMap { $0["UserName"] as? String } == names)
        // As the AWS CLI prints a merged list: no IsTruncated or Marker, and NextToken only when it stopped early.
        #expect(all["IsTruncated"] == nil && all["Marker"] == nil)
        #expect(all["NextToken"] == nil)
        let traced = try await server.iam(["list-users", "--page-size", "2", "--debug"])
        // The trace names where the key came from (here the credentials file), not the chain's default spelling.
        #expect(traced.errorOutput.contains("from \(server.data.appendingPathComponent("root-credentials.json").path)"))
        let fromEnvironment = try await server.iam(
            ["get-user", "--user-name", "user0", "--debug"],
            environment: ["IAM_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE01", "IAM_SECRET_ACCESS_KEY": "wrong"])
        #expect(fromEnvironment.errorOutput.contains("AKIAEXAMPLEEXAMPLE01 from environment (IAM_ACCESS_KEY_ID)"))
        #expect(traced.errorOutput.components(separatedBy: "calling /iam.v1.IAM/ListUsers").count - 1 == 4)

        // --max-items 3 with pages of 2 stops inside the second page; the token resumes right after.
        let first = try await server.json(["list-users", "--page-size", "2", "--max-items", "3"])
        #expect(
            (first["Users"] as? [[String: Any]])?.compactMap { $0["UserName"] as? String } == [
                "user0", "user1", "user2",
            ])
        #expect(first["IsTruncated"] == nil)
        let token = try #require(first["NextToken"] as? String)
        let rest = try await server.json(["list-users", "--page-size", "2", "--starting-token", token])
        #expect((rest["Users"] as? [[String: Any]])?.compactMap { $0["UserName"] as? String } == Array(names[3...]))
        // In text the token is the last line, labelled, as the AWS CLI prints it.
        let text = try await server.iam(["list-users", "--page-size", "2", "--max-items", "3", "--output", "text"])
        let lines = text.output.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.last == "NEXTTOKEN\t\(token)")
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("USERS\t") })

        // --no-paginate prints one page as the service returns it.
        let page = try await server.json(["list-users", "--page-size", "5", "--no-paginate"])
        #expect((page["Users"] as? [Any])?.count == 5)
        #expect(page["IsTruncated"] as? Bool == true)
        #expect(page["Marker"] is String)
    }

    @Test("--output text and table, and --query")
    func formats() async throws {
        let server = try await LiveDaemon()
        defer { Task { await server.stop() } }
        _ = try await server.json(["create-user", "--user-name", "alice", "--path", "/eng/"])
        _ = try await server.json(["create-user", "--user-name", "bob"])

        // A user with no policies or groups still has its detail's lists, empty, as AWS sends them.
        let details = try await server.json(["get-account-authorization-details", "--filter", "User"])
        let bob = try #require(
            (details["UserDetailList"] as? [[String: Any]])?.first { $0["UserName"] as? String == "bob" })
        for list in ["UserPolicyList", "GroupList", "AttachedManagedPolicies"] {
            #expect((bob[list] as? [Any])?.isEmpty == true, "\(list)")
        }

        let names = try await server.iam(["list-users", "--query", "Users[*].UserName", "--output", "text"])
        #expect(names.output == "alice\tbob\n")
        let projected = try await server.iam([
            "list-users", "--query", "Users[?Path=='/eng/'].{Name: UserName, Path: Path}",
        ])
        #expect(projected.output == "[\n    {\n        \"Name\": \"alice\",\n        \"Path\": \"/eng/\"\n    }\n]\n")
        let first = try await server.iam(["list-users", "--query", "Users[0].UserName"])
        #expect(first.output == "\"alice\"\n")
        let count = try await server.iam(["list-users", "--query", "length(Users)"])
        #expect(count.output == "2\n")

        // Text: one line per user, its scalar members in key order, prefixed by the list's name.
        let text = try await server.iam(["get-user", "--user-name", "alice", "--output", "text"])
        let fields = text.output.split(separator: "\t").map(String.init)
        #expect(fields.first == "USER")
        #expect(fields.contains("/eng/") && fields.last == "alice\n")

        let table = try await server.iam(["get-user", "--user-name", "alice", "--output", "table"])
        #expect(table.output.contains("GetUser"))
        #expect(table.output.contains("UserName"))
        #expect(table.output.contains("alice"))

        // Global options also work before the command, as in `aws --output text iam ...`.
        let before = try await server.iam([
            "--output", "text", "--query", "User.UserName", "get-user", "--user-name", "bob",
        ])
        #expect(before.output == "bob\n", "\(before.errorOutput)")
    }

    @Test("file://, - for standard input, shorthand lists and --cli-input-json")
    func inputs() async throws {
        let server = try await LiveDaemon()
        defer { Task { await server.stop() } }
        let document =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
        _ = try await server.json(["create-user", "--user-name", "carol"])
        let put = try await server.iam(
            ["put-user-policy", "--user-name", "carol", "--policy-name", "read", "--policy-document", "-"],
            stdin: Array(document.utf8))
        #expect(put.status == 0, "\(put.errorOutput)")
        let got = try await server.json(["get-user-policy", "--user-name", "carol", "--policy-name", "read"])
        #expect((got["PolicyDocument"] as? [String: Any])?["Version"] as? String == "2012-10-17")

        let files = try TemporaryDirectory()
        let input = try files.file(
            "input.json", #"{"UserName": "dave", "Path": "/ops/", "Tags": [{"Key": "team", "Value": "ops"}]}"#)
        let created = try await server.json(["create-user", "--cli-input-json", "file://\(input)", "--path", "/sre/"])
        let user = try #require(created["User"] as? [String: Any])
        #expect(user["UserName"] as? String == "dave")
        #expect(user["Path"] as? String == "/sre/")

        let unknown = try await server.iam(["create-user", "--cli-input-json", #"{"UserName": "x", "Colour": "red"}"#])
        #expect(unknown.status == 252)
        #expect(unknown.errorOutput.contains("Unknown parameter in input: \"Colour\""))
        // The AWS CLI's spellings of the global options work, before the command or after it; --region and
        // --no-cli-pager are taken and ignored. The environment's endpoint and CA are wrong here, so the call
        // succeeds only through --endpoint-url and --ca-bundle.
        let aliased = try await server.iam(
            [
                "--region", "us-east-1", "--no-cli-pager", "get-user", "--user-name", "carol", "--endpoint-url",
                "https://\(server.endpoint)/", "--ca-bundle", server.chain.caCertificatePath, "--color", "off",
            ], environment: ["IAM_ENDPOINT": "127.0.0.1:1", "IAM_CA_FILE": "/nonexistent/ca.pem"])
        #expect(aliased.status == 0, "\(aliased.errorOutput)")
        #expect(aliased.output.contains("\"UserName\": \"carol\""))
        let broken = try await server.iam(["create-user", "--cli-input-json", "{bad json"])
        #expect(broken.status == 252)
        #expect(broken.errorOutput.contains("Error parsing parameter '--cli-input-json': Invalid JSON at line 1"))
        #expect(!broken.errorOutput.contains("policy"))

        let simulated = try await server.json([
            "simulate-custom-policy", "--policy-input-list",
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#,
            "--action-names", "s3:GetObject", "--context-entries",
            "ContextKeyName=aws:SourceIp,ContextKeyValues=203.0.113.9,ContextKeyType=ip",
        ])
        #expect((simulated["EvaluationResults"] as? [[String: Any]])?.first?["EvalDecision"] as? String == "allowed")

        let skeleton = try await server.iam(["create-user", "--generate-cli-skeleton"])
        #expect(skeleton.output.contains("\"UserName\": \"\""))
        #expect(skeleton.output.contains("\"PermissionsBoundary\""))

        // fileb:// for a text member is the file's text, as botocore sends the bytes it reads (not base64).
        let policyFile = try files.file("p.json", document)
        let byBytes = try await server.iam([
            "put-user-policy", "--user-name", "carol", "--policy-name", "bytes", "--policy-document",
            "fileb://\(policyFile)",
        ])
        #expect(byBytes.status == 0, "\(byBytes.errorOutput)")
    }
}

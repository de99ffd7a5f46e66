import Foundation
import Testing

/// The origin scenario (Tests/IAMServerTests/OriginScenarioTests) typed as a user types it: the `iam` binary
/// against a real `iamd`, AWS CLI commands and flags, AWS's JSON on standard output, `iam check` exit statuses.
@Suite("iam CLI: the origin scenario against a real iamd", .serialized)
struct CLIOriginScenarioTests {
    static let policy = """
        {"Version":"2012-10-17","Statement":[
          {"Sid":"ManageApis","Effect":"Allow","Action":["apigateway:GET","apigateway:POST"],
           "Resource":"arn:aws:apigateway:us-east-1::/restapis/*"},
          {"Sid":"InvokePets","Effect":"Allow","Action":"execute-api:Invoke",
           "Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"}]}
        """
    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    static let pets = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"
    static let alice = "arn:aws:iam::123456789012:user/alice"

    @Test("policy, user, group, API Gateway role, checks before and after")
    func scenario() async throws {
        let server = try await LiveDaemon()
        defer { Task { await server.stop() } }
        let files = try TemporaryDirectory()
        let policyFile = try files.file("pets.json", Self.policy)

        let user = try await server.json(["create-user", "--user-name", "alice", "--tags", "Key=team,Value=api"])
        let created = try #require(user["User"] as? [String: Any])
        #expect(created["Arn"] as? String == Self.alice)
        #expect((created["UserId"] as? String)?.hasPrefix("AIDA") == true)
        #expect((created["Tags"] as? [[String: String]]) == [["Key": "team", "Value": "api"]])

        let policy = try await server.json([
            "create-policy", "--policy-name", "ApiGatewayPets", "--policy-document", "file://\(policyFile)",
        ])
        let policyARN = try #require((policy["Policy"] as? [String: Any])?["Arn"] as? String)
        #expect(policyARN == "arn:aws:iam::123456789012:policy/ApiGatewayPets")

        let check = ["check", "--principal", Self.alice, "--action", "execute-api:Invoke", "--resource", Self.pets]
        var decision = try await server.iam(check)
        #expect(decision.status == 1)
        #expect(decision.output.hasPrefix("implicitDeny"))

        // Attached to the user: allowed by the InvokePets statement; an attach prints nothing, as AWS's does.
        let attach = try await server.iam(["attach-user-policy", "--user-name", "alice", "--policy-arn", policyARN])
        #expect(attach.status == 0 && attach.output.isEmpty, "\(attach.errorOutput)")
        decision = try await server.iam(check)
        #expect(decision.status == 0, "\(decision.errorOutput)")
        #expect(decision.output.hasPrefix("allowed"))
        #expect(decision.output.contains("Sid InvokePets"))

        let simulated = try await server.json([
            "simulate-principal-policy", "--policy-source-arn", Self.alice, "--action-names", "execute-api:Invoke",
            "apigateway:DELETE", "--resource-arns", Self.pets,
        ])
        let results = try #require(simulated["EvaluationResults"] as? [[String: Any]])
        #expect(results.map { $0["EvalDecision"] as? String } == ["allowed", "implicitDeny"])

        // Detached, then through a group she joins.
        _ = try await server.json(["detach-user-policy", "--user-name", "alice", "--policy-arn", policyARN])
        decision = try await server.iam(check)
        #expect(decision.status == 1)
        _ = try await server.json(["create-group", "--group-name", "pet-readers"])
        _ = try await server.json(["attach-group-policy", "--group-name", "pet-readers", "--policy-arn", policyARN])
        _ = try await server.json(["add-user-to-group", "--group-name", "pet-readers", "--user-name", "alice"])
        decision = try await server.iam(check)
        #expect(decision.status == 0, "\(decision.output)")
        let groups = try await server.json(["list-groups-for-user", "--user-name", "alice"])
        #expect((groups["Groups"] as? [[String: Any]])?.map { $0["GroupName"] as? String } == ["pet-readers"])

        // The API Gateway role with AWS's logging policy: API Gateway may assume it, the role may push logs.
        let trustFile = try files.file("trust.json", Self.trust)
        let role = try await server.json([
            "create-role", "--role-name", "ApiGatewayLogs", "--assume-role-policy-document", "file://\(trustFile)",
        ])
        let roleARN = try #require((role["Role"] as? [String: Any])?["Arn"] as? String)
        #expect(
            ((role["Role"] as? [String: Any])?["AssumeRolePolicyDocument"] as? [String: Any])?["Version"] as? String
                == "2012-10-17")
        _ = try await server.json([
            "attach-role-policy", "--role-name", "ApiGatewayLogs", "--policy-arn",
            "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        ])
        decision = try await server.iam([
            "check", "--principal", "apigateway.amazonaws.com", "--action", "sts:AssumeRole", "--resource", roleARN,
        ])
        #expect(decision.status == 0, "\(decision.output)\(decision.errorOutput)")
        decision = try await server.iam([
            "check", "--principal", roleARN, "--action", "logs:PutLogEvents", "--resource",
            "arn:aws:logs:us-east-1:123456789012:log-group:x:log-stream:y",
        ])
        #expect(decision.status == 0)
        decision = try await server.iam([
            "check", "--principal", roleARN, "--action", "execute-api:Invoke", "--resource", Self.pets,
        ])
        #expect(decision.status == 1)

        let attached = try await server.json(["list-attached-role-policies", "--role-name", "ApiGatewayLogs"])
        #expect(
            (attached["AttachedPolicies"] as? [[String: Any]])?.map { $0["PolicyName"] as? String }
                == ["AmazonAPIGatewayPushToCloudWatchLogs"])
        let identity = try await server.json(["get-caller-identity"])
        #expect(identity["Arn"] as? String == "arn:aws:iam::123456789012:root")
    }
}

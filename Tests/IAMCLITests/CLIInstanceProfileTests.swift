import Foundation
import Testing

/// The instance profile commands end to end, the real `iam` binary against a real `iamd` on SQLite: AWS's flag
/// names and JSON, the errors and exit statuses of the AWS CLI, and Terraform's order for destroying a role.
@Suite("iam CLI: instance profiles", .serialized)
struct CLIInstanceProfileTests {
    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    @Test("create, add a role, get, list, tags, the delete conflicts, remove, delete")
    func instanceProfiles() async throws {
        let server = try await LiveDaemon()
        defer { Task { await server.stop() } }

        let created = try await server.json([
            "create-instance-profile", "--instance-profile-name", "web", "--path", "/fleet/", "--tags",
            "Key=team,Value=api",
        ])
        let profile = try #require(created["InstanceProfile"] as? [String: Any])
        #expect(profile["InstanceProfileName"] as? String == "web")
        #expect(profile["Arn"] as? String == "arn:aws:iam::123456789012:instance-profile/fleet/web")
        #expect((profile["InstanceProfileId"] as? String)?.hasPrefix("AIPA") == true)
        #expect(profile["Path"] as? String == "/fleet/")
        #expect((profile["CreateDate"] as? String)?.hasSuffix("+00:00") == true)
        // AWS's InstanceProfile always has Roles, even when empty, as the AWS CLI prints it.
        #expect((profile["Roles"] as? [Any])?.isEmpty == true)
        #expect(profile["Tags"] as? [[String: String]] == [["Key": "team", "Value": "api"]])
        #expect(created["revision"] == nil)

        _ = try await server.json(["create-role", "--role-name", "app", "--assume-role-policy-document", Self.trust])
        let added = try await server.iam([
            "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "app",
        ])
        #expect(added.status == 0, "\(added.errorOutput)")
        #expect(added.output.isEmpty)
        let again = try await server.iam([
            "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "app",
        ])
        #expect(again.status == 254)
        #expect(
            again.errorOutput
                == "\nAn error occurred (LimitExceeded) when calling the AddRoleToInstanceProfile operation: "
                + "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1\n")

        let got = try await server.json(["get-instance-profile", "--instance-profile-name", "web"])
        let roles = try #require((got["InstanceProfile"] as? [String: Any])?["Roles"] as? [[String: Any]])
        #expect(roles.map { $0["RoleName"] as? String } == ["app"])
        #expect(roles.first?["Arn"] as? String == "arn:aws:iam::123456789012:role/app")
        // The trust policy prints as a JSON object, as the AWS CLI decodes it.
        #expect((roles.first?["AssumeRolePolicyDocument"] as? [String: Any])?["Version"] as? String == "2012-10-17")

        let names = try await server.iam([
            "list-instance-profiles-for-role", "--role-name", "app", "--query",
            "InstanceProfiles[*].InstanceProfileName",
            "--output", "text",
        ])
        #expect(names.output == "web\n")
        let listed = try await server.json(["list-instance-profiles", "--path-prefix", "/fleet/"])
        let entries = try #require(listed["InstanceProfiles"] as? [[String: Any]])
        #expect(entries.map { $0["InstanceProfileName"] as? String } == ["web"])
        #expect(entries.first?["Tags"] == nil)

        // Terraform's role destroy: the role is in a profile, so DeleteRole conflicts until it is removed.
        let conflict = try await server.iam(["delete-role", "--role-name", "app"])
        #expect(conflict.status == 254)
        #expect(
            conflict.errorOutput
                == "\nAn error occurred (DeleteConflict) when calling the DeleteRole operation: "
                + "Cannot delete entity, must remove roles from instance profile first.\n")
        let profileConflict = try await server.iam(["delete-instance-profile", "--instance-profile-name", "web"])
        #expect(profileConflict.status == 254)
        #expect(profileConflict.errorOutput.contains("(DeleteConflict)"))

        _ = try await server.json([
            "tag-instance-profile", "--instance-profile-name", "web", "--tags", "Key=Team,Value=ops",
        ])
        let tags = try await server.json(["list-instance-profile-tags", "--instance-profile-name", "web"])
        #expect(
            tags["Tags"] as? [[String: String]] == [["Key": "team", "Value": "api"], ["Key": "Team", "Value": "ops"]])
        #expect(tags["IsTruncated"] == nil, "a merged list prints no IsTruncated, as the AWS CLI's")
        _ = try await server.json(["untag-instance-profile", "--instance-profile-name", "web", "--tag-keys", "team"])
        let after = try await server.json(["list-instance-profile-tags", "--instance-profile-name", "web"])
        #expect(after["Tags"] as? [[String: String]] == [["Key": "Team", "Value": "ops"]])

        _ = try await server.json([
            "remove-role-from-instance-profile", "--instance-profile-name", "web", "--role-name", "app",
        ])
        let none = try await server.json(["list-instance-profiles-for-role", "--role-name", "app"])
        #expect((none["InstanceProfiles"] as? [Any])?.isEmpty == true)
        _ = try await server.json(["delete-role", "--role-name", "app"])
        _ = try await server.json(["delete-instance-profile", "--instance-profile-name", "web"])
        let gone = try await server.iam(["get-instance-profile", "--instance-profile-name", "web"])
        #expect(gone.status == 254)
        #expect(
            gone.errorOutput
                == "\nAn error occurred (NoSuchEntity) when calling the GetInstanceProfile operation: "
                + "Instance Profile web cannot be found.\n")
        // A missing required name is the AWS CLI's usage error, before any call.
        let missingName = try await server.iam(["create-instance-profile"])
        #expect(missingName.status == 252)
        #expect(
            missingName.errorOutput.contains("the following arguments are required: --instance-profile-name"))
    }
}

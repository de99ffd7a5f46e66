import Foundation
import Testing

@testable import IAMQueryAPI

/// Instance profiles through the AWS Query front door: AWS's XML for the profile and the role inside it, the
/// always-present `<Roles/>`, list forms, and the modelled statuses of the errors Terraform meets.
@Suite("Query front door: instance profiles")
struct InstanceProfileQueryTests {
    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    @Test("XML of CreateInstanceProfile, GetInstanceProfile and the listings; errors with AWS's statuses")
    func instanceProfiles() async throws {
        let harness = try await FrontDoorHarness()
        let created = try await harness.call(
            "Action=CreateInstanceProfile&Version=2010-05-08&InstanceProfileName=web&Path=%2Ffleet%2F"
                + "&Tags.member.1.Key=team&Tags.member.1.Value=api")
        #expect(created.status == 200, "\(created.xml)")
        #expect(
            created.xml.hasPrefix(
                "<CreateInstanceProfileResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                    + "<CreateInstanceProfileResult><InstanceProfile><Path>/fleet/</Path>"
                    + "<InstanceProfileName>web</InstanceProfileName><InstanceProfileId>AIPA"))
        #expect(created.value("Arn") == "arn:aws:iam::123456789012:instance-profile/fleet/web")
        #expect(created.value("CreateDate")?.hasSuffix("Z") == true)
        // Roles is required in AWS's shape: written even when empty.
        #expect(created.xml.contains("<Roles></Roles>") || created.xml.contains("<Roles/>"))
        #expect(created.xml.contains("<Tags><member><Key>team</Key><Value>api</Value></member></Tags>"))

        let duplicate = try await harness.call(
            "Action=CreateInstanceProfile&Version=2010-05-08&InstanceProfileName=WEB")
        #expect(duplicate.status == 409)
        #expect(duplicate.value("Code") == "EntityAlreadyExists")
        #expect(duplicate.value("Message") == "Instance Profile WEB already exists.")

        let trust = Self.trust.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let role = try await harness.call(
            "Action=CreateRole&Version=2010-05-08&RoleName=app&AssumeRolePolicyDocument=\(trust)")
        #expect(role.status == 200, "\(role.xml)")
        let added = try await harness.call(
            "Action=AddRoleToInstanceProfile&Version=2010-05-08&InstanceProfileName=web&RoleName=app")
        #expect(added.status == 200, "\(added.xml)")
        #expect(added.xml.contains("<AddRoleToInstanceProfileResponse"))
        let again = try await harness.call(
            "Action=AddRoleToInstanceProfile&Version=2010-05-08&InstanceProfileName=web&RoleName=app")
        #expect(again.status == 409)
        #expect(again.value("Code") == "LimitExceeded")
        #expect(again.value("Type") == "Sender")

        let got = try await harness.call("Action=GetInstanceProfile&Version=2010-05-08&InstanceProfileName=web")
        #expect(got.status == 200, "\(got.xml)")
        #expect(got.xml.contains("<Roles><member><Path>/</Path><RoleName>app</RoleName><RoleId>AROA"))
        #expect(got.value("AssumeRolePolicyDocument") == SigV4Verifier.uriEncode(Self.trust))

        let listed = try await harness.call("Action=ListInstanceProfiles&Version=2010-05-08&PathPrefix=%2Ffleet%2F")
        #expect(listed.xml.contains("<InstanceProfiles><member><Path>/fleet/</Path>"))
        #expect(!listed.xml.contains("<Tags>"))
        #expect(listed.value("IsTruncated") == "false")
        let forRole = try await harness.call("Action=ListInstanceProfilesForRole&Version=2010-05-08&RoleName=app")
        #expect(forRole.xml.contains("<InstanceProfileName>web</InstanceProfileName>"))

        let conflict = try await harness.call("Action=DeleteRole&Version=2010-05-08&RoleName=app")
        #expect(conflict.status == 409)
        #expect(conflict.value("Code") == "DeleteConflict")
        #expect(conflict.value("Message") == "Cannot delete entity, must remove roles from instance profile first.")

        let removed = try await harness.call(
            "Action=RemoveRoleFromInstanceProfile&Version=2010-05-08&InstanceProfileName=web&RoleName=app")
        #expect(removed.status == 200, "\(removed.xml)")
        let empty = try await harness.call("Action=ListInstanceProfilesForRole&Version=2010-05-08&RoleName=app")
        #expect(
            empty.xml.contains("<InstanceProfiles></InstanceProfiles>") || empty.xml.contains("<InstanceProfiles/>"))
        #expect(try await harness.call("Action=DeleteRole&Version=2010-05-08&RoleName=app").status == 200)
        #expect(
            try await harness.call("Action=DeleteInstanceProfile&Version=2010-05-08&InstanceProfileName=web").status
                == 200)
        let missing = try await harness.call("Action=GetInstanceProfile&Version=2010-05-08&InstanceProfileName=web")
        #expect(missing.status == 404)
        #expect(missing.value("Code") == "NoSuchEntity")
        #expect(missing.value("Message") == "Instance Profile web cannot be found.")
    }
}

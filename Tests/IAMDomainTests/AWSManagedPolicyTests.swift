import Foundation
import IAMPolicy
import Testing

@testable import IAMDomain

@Suite("AWS managed policies shipped with the server")
struct AWSManagedPolicyTests {
    @Test("every definition loads, under arn:aws:iam::aws:policy/<path><name>, with a stable ANPA id")
    func catalog() throws {
        #expect(AWSManagedPolicies.all.count == AWSManagedPolicyDefinition.all.count)
        #expect(AWSManagedPolicies.all.count == 7)
        for policy in AWSManagedPolicies.all {
            #expect(policy.isAWSManaged)
            #expect(policy.arn.description == "arn:aws:iam::aws:policy\(policy.path)\(policy.name)")
            #expect(policy.id.prefix == .managedPolicy && policy.id.rawValue.count == 21)
            #expect(policy.id == AWSManagedPolicyDefinition.stableID(for: policy.name.rawValue))
            #expect(policy.versions.count == 1 && policy.defaultVersion.isDefault)
            #expect(AWSManagedPolicies.policy(arn: policy.arn) == policy)
            #expect(policy.updateDate >= policy.createDate)
        }
        #expect(Set(AWSManagedPolicies.all.map(\.id)).count == 7)
        let push = try #require(
            AWSManagedPolicies.policy(
                arn: ARN(parsing: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")))
        #expect(push.defaultVersionID == "v1")
        #expect(AWSManagedPolicies.policy(arn: try ARN(parsing: "arn:aws:iam::aws:policy/Nope")) == nil)
    }

    @Test("the small documents are valid identity policies")
    func documentsParse() throws {
        for policy in AWSManagedPolicies.all where policy.name.rawValue != "ReadOnlyAccess" {
            _ = try PolicyDocument.parse(policy.defaultVersion.document, kind: .identity)
        }
    }
}

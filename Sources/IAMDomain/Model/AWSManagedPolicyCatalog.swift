import Foundation

/// The AWS managed policies this server ships (``AWSManagedPolicyDefinition/all``) as read-only
/// ``ManagedPolicy`` records under `arn:aws:iam::aws:policy/<path><name>`.
///
/// They live in code, not in a store: every account sees the same ones, nobody may change them, and they can be
/// attached (the store keeps attachments by ARN). Only the default version is shipped, under AWS's version id.
public enum AWSManagedPolicies {
    /// Every shipped policy, in case-folded name order (ListPolicies' order).
    public static let all: [ManagedPolicy] = AWSManagedPolicyDefinition.all.compactMap(\.managedPolicy)
        .sorted { $0.name < $1.name }

    private static let byARN: [ARN: ManagedPolicy] = Dictionary(
        all.map { ($0.arn, $0) }, uniquingKeysWith: { first, _ in first })

    /// The shipped policy with `arn`, if there is one.
    public static func policy(arn: ARN) -> ManagedPolicy? { byARN[arn] }
}

extension AWSManagedPolicyDefinition {
    /// The record; nil only if a definition were malformed (a test pins that all of them load).
    var managedPolicy: ManagedPolicy? {
        guard let name = try? EntityName(self.name, kind: .policy),
            let path = try? IAMPath(self.path, forPolicy: true),
            let created = Self.date(self.createDate), let updated = Self.date(self.updateDate)
        else { return nil }
        var policy = ManagedPolicy(
            id: Self.stableID(for: self.name), name: name, path: path, arn: .awsManagedPolicy(path: path, name: name),
            createDate: created, document: self.document, description: self.description)
        policy.updateDate = updated
        policy.versions = [
            PolicyVersion(
                versionID: self.defaultVersionID, document: self.document, isDefault: true, createDate: updated)
        ]
        return policy
    }

    private static func date(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }

    /// `ANPA` + 17 base32 characters derived from the name, so the id is the same on every server and restart
    /// (AWS's ids for these policies are fixed too).
    static func stableID(for name: String) -> UniqueID {
        // FNV-1a seeds SplitMix64: deterministic and well spread; not a security property.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        var generator = SplitMix64(state: hash)
        return UniqueID.generate(.managedPolicy, using: &generator)
    }
}

/// A tiny seeded generator for ``AWSManagedPolicyDefinition/stableID(for:)``.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        self.state &+= 0x9e37_79b9_7f4a_7c15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

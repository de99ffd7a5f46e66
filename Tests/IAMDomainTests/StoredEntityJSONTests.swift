import Foundation
import Testing

@testable import IAMDomain

/// Start-up reads stored user and group rows with the engine's JSON parser instead of `JSONDecoder`. It must
/// give exactly what `JSONDecoder` gives for every row a store writes, and hand back (nil) any row it does not
/// take on, so the caller decodes that one the slow way.
@Suite struct StoredEntityJSONTests {
    static let account = "123456789012"

    static func user(_ name: String, path: String = "/", boundary: String? = nil, tags: [IAMDomain.Tag] = []) throws
        -> User
    {
        let entityName = try EntityName(name, kind: .user)
        let iamPath = try IAMPath(path)
        return User(
            id: try UniqueID("AIDA" + String(repeating: "Q", count: 17)), name: entityName, path: iamPath,
            arn: try ARN(parsing: "arn:aws:iam::\(account):user\(path)\(name)"),
            createDate: Date(timeIntervalSinceReferenceDate: 817_998_404.498_966_7),
            permissionsBoundary: try boundary.map { try ARN(parsing: $0) }, tags: tags)
    }

    static func encoded<E: Encodable>(_ value: E, sorted: Bool = true) throws -> [UInt8] {
        let encoder = JSONEncoder()
        if sorted { encoder.outputFormatting = .sortedKeys }
        return Array(try encoder.encode(value))
    }

    @Test func usersReadAsJSONDecoderReadsThem() throws {
        let users = [
            try Self.user("alice"),
            try Self.user("bob.smith+ops@example", path: "/division/team-1/"),
            try Self.user(
                "carol", boundary: "arn:aws:iam::\(Self.account):policy/boundaries/Boundary",
                tags: [
                    try IAMDomain.Tag(key: "team", value: "payments/core"),
                    try IAMDomain.Tag(key: "Città", value: "Zürich: 東京"),
                    try IAMDomain.Tag(key: "empty", value: ""),
                ]),
        ]
        for user in users {
            for sorted in [true, false] {
                let json = try Self.encoded(user, sorted: sorted)
                let slow = try JSONDecoder().decode(User.self, from: Data(json))
                let fast = try #require(StoredEntityJSON.user(json))
                #expect(fast == slow)
                #expect(fast == user)
                #expect(StoredEntityJSON.decode(User.self, json) == user)
            }
        }
    }

    @Test func groupsReadAsJSONDecoderReadsThem() throws {
        let group = Group(
            id: try UniqueID("AGPA" + String(repeating: "Z", count: 17)), name: try EntityName("Admins", kind: .group),
            path: try IAMPath("/ops/"), arn: try ARN(parsing: "arn:aws:iam::\(Self.account):group/ops/Admins"),
            createDate: Date(timeIntervalSinceReferenceDate: 1.5))
        let json = try Self.encoded(group)
        #expect(StoredEntityJSON.group(json) == group)
        #expect(StoredEntityJSON.group(json) == (try JSONDecoder().decode(Group.self, from: Data(json))))
        #expect(StoredEntityJSON.decode(Group.self, json) == group)
        #expect(!StoredEntityJSON.knows(Role.self))
    }

    @Test func rowsOfAnotherShapeAreLeftToJSONDecoder() throws {
        let good = String(decoding: try Self.encoded(try Self.user("dave")), as: UTF8.self)
        let variants = [
            // A member this reader does not know (a field added later) must not be dropped silently.
            good.replacingOccurrences(of: #""id":"#, with: #""passwordLastUsed":1,"id":"#),
            good.replacingOccurrences(of: #","tags":[]"#, with: ""),
            good.replacingOccurrences(of: #""path":"\/""#, with: #""path":"no-slashes""#),
            good.replacingOccurrences(of: #""createDate":"#, with: #""createDate":"yesterday","x":"#),
            good.replacingOccurrences(of: #""name":"dave""#, with: #""name":"has space""#),
            good.replacingOccurrences(of: #""tags":[]"#, with: #""tags":[{"key":"k"}]"#),
            good.replacingOccurrences(of: #""tags":[]"#, with: #""tags":[],"permissionsBoundary":"not-an-arn""#),
            String(good.dropLast()),
            "[]",
        ]
        for variant in variants {
            #expect(variant != good)
            #expect(StoredEntityJSON.user(Array(variant.utf8)) == nil, "\(variant)")
        }
        #expect(StoredEntityJSON.group(Array(good.utf8)) == nil, "a user row is not a group")
    }
}

import IAMDomain
import Testing

@Suite("Tag merging (Tag* operations)")
struct TagMergeTests {
    func tags(_ pairs: [(String, String)]) throws -> [IAMDomain.Tag] {
        try pairs.map { try IAMDomain.Tag(key: $0.0, value: $0.1) }
    }

    @Test("an updated tag keeps its place; new keys go last")
    func updateInPlace() throws {
        let existing = try tags([("somekey", "a"), ("someotherkey", "b")])
        let merged = try Tags.merge(
            try tags([("somekey", "new"), ("third", "c")]), into: existing, caseInsensitiveKeys: false, limit: 50)
        #expect(merged == (try tags([("somekey", "new"), ("someotherkey", "b"), ("third", "c")])))
    }

    @Test("users and roles: keys compare case-insensitively and the new spelling wins, in place")
    func caseInsensitive() throws {
        let existing = try tags([("Team", "a"), ("x", "b")])
        let merged = try Tags.merge(try tags([("team", "z")]), into: existing, caseInsensitiveKeys: true, limit: 50)
        #expect(merged == (try tags([("team", "z"), ("x", "b")])))
        let exact = try Tags.merge(try tags([("team", "z")]), into: existing, caseInsensitiveKeys: false, limit: 50)
        #expect(exact == (try tags([("Team", "a"), ("x", "b"), ("team", "z")])))
    }

    @Test("duplicate keys in one request and the limit are refused")
    func refusals() throws {
        #expect(throws: IAMError.self) {
            _ = try Tags.merge(try tags([("k", "1"), ("K", "2")]), into: [], caseInsensitiveKeys: true, limit: 50)
        }
        #expect(throws: IAMError.self) {
            _ = try Tags.merge(
                try tags([("c", "3")]), into: try tags([("a", "1"), ("b", "2")]), caseInsensitiveKeys: false, limit: 2)
        }
    }
}

import Foundation
import IAMDomain
import Testing

/// Start-up decodes large row sets on all cores: the rows must come back in order, and one corrupt row must
/// fail the whole read as it does when decoded one by one.
@Suite struct ParallelDecodeTests {
    struct Body: Codable, Sendable, Equatable {
        let index: Int
        let name: String
    }

    static func bodies(_ count: Int) throws -> [Data] {
        let encoder = JSONEncoder()
        return try (0..<count).map { try encoder.encode(Body(index: $0, name: "user-\($0)")) }
    }

    @Test func rowsComeBackInOrder() throws {
        for count in [1, 4_095, 4_096, 10_001] {
            let decoded = try StoredEntityJSON.decodeRows(Body.self, Self.bodies(count))
            #expect(decoded == (0..<count).map { Body(index: $0, name: "user-\($0)") }, "count \(count)")
        }
    }

    @Test func oneCorruptRowFailsTheRead() throws {
        var bodies = try Self.bodies(9_000)
        bodies[7_777] = Data(#"{"index": "seven"}"#.utf8)
        do {
            _ = try StoredEntityJSON.decodeRows(Body.self, bodies)
            Issue.record("a corrupt row was accepted")
        } catch {
            #expect(error.code == .serviceFailure)
            #expect(error.message.contains("corrupt"))
        }
    }
}

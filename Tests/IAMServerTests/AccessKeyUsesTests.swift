import Foundation
import IAMDomain
import IAMWire
import Testing

@testable import IAMServer

/// GetAccessKeyLastUsed's notes: a key's first use in each minute is written, with its call's service, outside
/// the store's revisions.
@Suite struct AccessKeyUsesTests {
    static let account = try! AccountID("123456789012")

    /// Creates user `name` with one access key in `directory`; returns the key's id.
    static func userWithKey(_ name: String, in directory: IAMDirectory) async throws -> AccessKeyID {
        let user = try EntityName(name, kind: .user)
        _ = try await directory.createUser(name: user)
        let id = AccessKeyID.generate()
        _ = try await directory.createAccessKey(
            userName: user, id: id, verifier: SCRAMVerifier(salt: [1], iterations: 4096, storedKey: [2], serverKey: [3])
        )
        return id
    }

    @Test func aKeysFirstUseEachMinuteIsWritten() async throws {
        let store = InMemoryStore()
        let directory = IAMDirectory(store: store, account: Self.account)
        let id = try await Self.userWithKey("alice", in: directory)
        let revision = try await store.revision()
        let uses = AccessKeyUses(store: store)
        func lastUse() async throws -> (date: Date?, service: String?) {
            let key = try await directory.accessKeyLastUsed(id).key
            return (key.lastUsedDate, key.lastUsedService)
        }

        // 1_800_000_000 is the start of a minute.
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        uses.note(id.rawValue, action: "iam:ListUsers", at: start)
        uses.note(id.rawValue, action: "sts:GetCallerIdentity", at: start.addingTimeInterval(30))
        await uses.flush()
        #expect(try await lastUse() == (start, "iam"))

        // The next minute's first use replaces it.
        uses.note(id.rawValue, action: "execute-api:Invoke", at: start.addingTimeInterval(61))
        await uses.flush()
        #expect(try await lastUse() == (start.addingTimeInterval(61), "execute-api"))

        // A call that needs authentication only is noted under the service it names.
        uses.note(id.rawValue, method: IAMMethods.Health.ping, at: start.addingTimeInterval(125))
        // A key that is not (or no longer) in the store is noted without harm.
        uses.note("AKIAAAAAAAAAAAAAAAAA", action: "iam:GetUser", at: start.addingTimeInterval(125))
        uses.note("not a key", action: "iam:GetUser", at: start.addingTimeInterval(125))
        await uses.flush()
        #expect(try await lastUse() == (start.addingTimeInterval(125), "health"))

        // None of it is a change a snapshot follows.
        #expect(try await store.revision() == revision)
    }

    @Test func manyKeysAtOnceAreAllWritten() async throws {
        let store = InMemoryStore()
        let directory = IAMDirectory(store: store, account: Self.account)
        var ids: [AccessKeyID] = []
        for index in 0..<40 { ids.append(try await Self.userWithKey("user\(index)", in: directory)) }
        let uses = AccessKeyUses(store: store)
        let now = Date()
        // From several threads at once, as event loops note them.
        await withTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask { uses.note(id.rawValue, action: "s3:GetObject", at: now) }
            }
        }
        await uses.flush()
        for id in ids {
            let key = try await directory.accessKeyLastUsed(id).key
            #expect(key.lastUsedDate == now)
            #expect(key.lastUsedService == "s3")
        }
    }
}

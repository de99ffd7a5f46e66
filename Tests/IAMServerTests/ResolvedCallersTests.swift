import Foundation
import IAMDomain
import IAMRPC
import IAMTestSupport
import Testing

@testable import IAMServer

/// The Authorizer's per-thread table of resolved access keys: reused only against the snapshot it was resolved
/// against, and never past an expiring credential's end.
@Suite struct ResolvedCallersTests {
    static let account = InProcessAuthorizationTests.account

    @Test func entriesBelongToTheirSnapshotAndExpireWithTheirSession() async throws {
        let store = InMemoryStore()
        let expiration = Date().addingTimeInterval(3600)
        let id = try await InProcessAuthorizationTests.session("s", expiring: expiration, in: store)
        let (_, assembly) = try await InProcessAuthorizationTests.server(store)
        let published = assembly.publisher.published
        let caller = try Caller.resolve(
            id.rawValue, snapshot: published.snapshot, rootKeys: RootKeys(ids: []), account: Self.account
        ).get()

        // Nothing is known before the thread resolved the key once.
        #expect(ResolvedCallers.lookup(id.rawValue, in: published, at: Date()) == nil)
        let entry = ResolvedCallers.remember(caller, in: published)
        #expect(entry.arn == "arn:aws:sts::123456789012:assumed-role/r/s")
        #expect(entry.caller.expiration == expiration)
        #expect(ResolvedCallers.lookup(id.rawValue, in: published, at: Date())?.arn == entry.arn)
        // The session's end is the entry's end: from then on the key is resolved again (and refused).
        #expect(ResolvedCallers.lookup(id.rawValue, in: published, at: expiration.addingTimeInterval(-0.001)) != nil)
        #expect(ResolvedCallers.lookup(id.rawValue, in: published, at: expiration) == nil)

        // A new snapshot starts afresh, whatever the old one held.
        let committed = try await IAMDirectory(store: store, account: Self.account).createUser(
            name: EntityName("newcomer", kind: .user))
        try await assembly.publisher.catchUp(atLeast: committed.revision)
        let next = assembly.publisher.published
        #expect(next !== published)
        // (No suspension point from here on: the table is this thread's.)
        ResolvedCallers.remember(caller, in: published)
        #expect(ResolvedCallers.lookup(id.rawValue, in: published, at: Date()) != nil)
        #expect(ResolvedCallers.lookup(id.rawValue, in: next, at: Date()) == nil)
        // A long-term or root key has no end of its own.
        let root = Caller(kind: .root, account: Self.account, accessKeyID: "AKIAROOTROOTROOTROOT")
        #expect(ResolvedCallers.remember(root, in: next).caller.expiration == nil)
        #expect(ResolvedCallers.lookup("AKIAROOTROOTROOTROOT", in: next, at: .distantFuture)?.arn == root.arn)
        #expect(ResolvedCallers.lookup(id.rawValue, in: next, at: Date()) == nil)
    }

    @Test func aThreadKeepsAtMostCapacityKeys() async throws {
        let (_, assembly) = try await InProcessAuthorizationTests.server(InMemoryStore())
        let published = assembly.publisher.published
        let keys = (0...ResolvedCallers.capacity).map { String(format: "AKIAROOT%012d", $0) }
        for key in keys {
            ResolvedCallers.remember(Caller(kind: .root, account: Self.account, accessKeyID: key), in: published)
        }
        // The table was full when the last key came, so it started again with that key alone.
        #expect(ResolvedCallers.lookup(keys.last!, in: published, at: Date()) != nil)
        #expect(ResolvedCallers.lookup(keys.first!, in: published, at: Date()) == nil)
        #expect(ResolvedCallers.lookup(keys[keys.count - 2], in: published, at: Date()) == nil)
    }
}

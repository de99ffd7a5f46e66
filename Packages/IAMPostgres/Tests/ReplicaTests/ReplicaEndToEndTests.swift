import Foundation
import IAMClient
import IAMDomain
import IAMPostgresTestSupport
import IAMStorePostgres
import IAMTestSupport
import IAMWire
import Logging
import Testing

/// Two or three real `iamd` processes over one real PostgreSQL database: what one replica is told, the
/// others know.
@Suite("iamd replicas over PostgreSQL", .serialized)
struct ReplicaEndToEndTests {
    static let readPhotos =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}"#

    func createUser(_ client: IAMClient, _ name: String) async throws -> CreateUserResponse {
        var request = CreateUserRequest()
        request.userName = name
        return try await client.createUser(request)
    }

    func authorize(
        _ client: IAMClient, principal: String = "", key: String = "", action: String = "s3:GetObject",
        minRevision: UInt64? = nil
    ) async throws -> AuthorizeResponse {
        var request = AuthorizeRequest()
        request.principalARN = principal
        request.accessKeyID = key
        request.action = action
        request.resource = "arn:aws:s3:::photos/cat.jpg"
        request.minRevision = minRevision
        return try await client.authorize(request)
    }

    /// The origin scenario written on replica A and checked on replica B: the user, its policy and its key
    /// reach B; the key authenticates on B; deactivated on A, it stops working on B at its next call.
    @Test func originScenarioWrittenOnOneCheckedOnAnother() async throws {
        let harness = try await ReplicaHarness(database: try await TestPostgres.makeDatabase("origin"))
        defer {
            harness.kill()
            Task { await harness.remove() }
        }
        try await harness.startReplica()
        try await harness.startReplica(passwordThroughFile: true)
        let a = try harness.client(0)
        let b = try harness.client(1)

        let user = try await createUser(a, "alice").user
        var put = PutUserPolicyRequest()
        put.userName = "alice"
        put.policyName = "read-photos"
        put.policyDocument = Self.readPhotos
        _ = try await a.putUserPolicy(put)
        var create = CreateAccessKeyRequest()
        create.userName = "alice"
        let created = try await a.createAccessKey(create)
        let key = try #require(created.accessKey)

        // Read-your-writes on the other replica: B waits (bounded) until its snapshot has A's last write.
        let byARN = try await authorize(b, principal: try #require(user).arn, minRevision: created.revision)
        #expect(byARN.decision == .allowed)
        #expect(byARN.revision >= created.revision)
        let byKey = try await authorize(b, key: key.accessKeyID, minRevision: created.revision)
        #expect(byKey.decision == .allowed)
        #expect(try await authorize(b, key: key.accessKeyID, action: "s3:PutObject").decision == .implicitDeny)

        // The key made on A authenticates on B.
        let alice = IAMCredentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secretAccessKey)
        let aliceOnB = try harness.client(1, as: alice)
        _ = try await aliceOnB.ping(PingRequest())
        var getUser = GetUserRequest()
        getUser.userName = "alice"
        // Authenticated, but alice may not read IAM: AccessDenied, not Unauthenticated.
        await #expect {
            _ = try await aliceOnB.getUser(getUser)
        } throws: { error in
            (error as? IAMClientError)?.code == "AccessDenied"
        }

        // Deactivated on A: at B's next call after its snapshot has the change, the key is refused, on the
        // connection that already authenticated too.
        var deactivate = UpdateAccessKeyRequest()
        deactivate.userName = "alice"
        deactivate.accessKeyID = key.accessKeyID
        deactivate.status = .inactive
        let deactivated = try await a.updateAccessKey(deactivate)
        try await harness.waitForRevision(1, deactivated.revision)
        await #expect {
            _ = try await aliceOnB.getUser(getUser)
        } throws: { error in
            (error as? IAMClientError)?.status == .unauthenticated
        }
        let fresh = try harness.client(1, as: alice)
        await #expect(throws: IAMClientError.self) { _ = try await fresh.ping(PingRequest()) }

        // Health: B's revision, and no lag once it has caught up.
        let health = try await harness.health(1)
        #expect(health.revision >= deactivated.revision)
        #expect(health.lag == 0)
        for client in [a, b, aliceOnB, fresh] { await client.close() }
    }

    /// Creators racing on different replicas: the database leaves exactly one winner per name, whatever the
    /// case of the name.
    @Test func racingCreatorsOnTwoReplicasLeaveOneWinner() async throws {
        let harness = try await ReplicaHarness(database: try await TestPostgres.makeDatabase("race"))
        defer {
            harness.kill()
            Task { await harness.remove() }
        }
        try await harness.startReplica()
        try await harness.startReplica()
        let clients = [try harness.client(0), try harness.client(1)]
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<40 {
                group.addTask {
                    let name = index % 2 == 0 ? "racer\(index / 2)" : "RACER\(index / 2)"
                    do {
                        _ = try await self.createUser(clients[index % 2], name)
                        return (index / 2, true)
                    } catch let error as IAMClientError where error.code == "EntityAlreadyExists" {
                        return (index / 2, false)
                    }
                }
            }
            var all: [(Int, Bool)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        for name in 0..<20 {
            #expect(outcomes.filter { $0.0 == name && $0.1 }.count == 1, "racer\(name)")
        }
        var list = ListUsersRequest()
        list.maxItems = 1000
        #expect(try await clients[1].listUsers(list).users.count == 20)
        for client in clients { await client.close() }
    }

    /// `min_revision` across replicas: a check on B demanding A's write sees it; one demanding a revision
    /// nobody wrote gives up, bounded, with UNAVAILABLE.
    @Test func minRevisionReadsYourWritesAcrossReplicas() async throws {
        let harness = try await ReplicaHarness(database: try await TestPostgres.makeDatabase("minrev"))
        defer {
            harness.kill()
            Task { await harness.remove() }
        }
        try await harness.startReplica()
        try await harness.startReplica()
        let a = try harness.client(0)
        let b = try harness.client(1)
        for index in 0..<10 {
            let created = try await createUser(a, "reader\(index)")
            // Straight after A acknowledged: B must not answer from an older snapshot.
            let answer = try await authorize(
                b, principal: try #require(created.user).arn, minRevision: created.revision)
            #expect(answer.revision >= created.revision)
            #expect(answer.decision == .implicitDeny)
        }
        let started = ContinuousClock.now
        await #expect {
            _ = try await authorize(b, principal: "arn:aws:iam::123456789012:user/reader0", minRevision: 1_000_000)
        } throws: { error in
            (error as? IAMClientError)?.status == .unavailable
        }
        #expect(ContinuousClock.now - started < .seconds(30))
        for client in [a, b] { await client.close() }
    }

    /// kill -9 of a replica loses nothing it acknowledged; restarted, it starts from the database.
    @Test func replicaKilledAndRestartedCatchesUp() async throws {
        let harness = try await ReplicaHarness(database: try await TestPostgres.makeDatabase("kill"))
        defer {
            harness.kill()
            Task { await harness.remove() }
        }
        try await harness.startReplica()
        try await harness.startReplica()
        let a = try harness.client(0)
        var last: UInt64 = 0
        for index in 0..<20 { last = try await createUser(a, "before\(index)").revision }
        await a.close()
        _ = try await harness.stop(0, signal: SIGKILL)
        let b = try harness.client(1)
        for index in 0..<20 { last = try await createUser(b, "during\(index)").revision }
        try await harness.restart(0)
        try await harness.waitForRevision(0, last)
        let again = try harness.client(0)
        var list = ListUsersRequest()
        list.maxItems = 1000
        #expect(try await again.listUsers(list).users.count == 40)
        for client in [b, again] { await client.close() }
    }

    /// PostgreSQL restarted (immediate, like a crash) under a stream of writes: the replicas reconnect, the
    /// follower catches up by itself, and every acknowledged write is there on both.
    @Test
    func postgresRestartedUnderLoadLosesNothingAcknowledged() async throws {
        let server = try await TestPostgres.startCluster()
        let database = try await TestPostgres.makeDatabase("pgrestart", on: server)
        let harness = try await ReplicaHarness(database: database)
        defer {
            harness.kill()
            Task { await harness.remove() }
        }
        try await harness.startReplica()
        try await harness.startReplica()
        let a = try harness.client(0)
        let acknowledged = Acknowledged()
        let writer = Task {
            var index = 0
            while !Task.isCancelled {
                if let created = try? await self.createUser(a, "load\(index)") {
                    acknowledged.add("load\(index)", created.revision)
                }
                index += 1
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        try await TestPostgres.restartCluster(server, mode: "immediate")
        // Writes resume on new connections.
        let resumed = acknowledged.count
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while acknowledged.count < resumed + 20, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        writer.cancel()
        _ = await writer.value
        #expect(acknowledged.count >= resumed + 20, "writes did not resume after the restart")
        let newest = acknowledged.maxRevision
        try await harness.waitForRevision(1, newest)
        let b = try harness.client(1)
        var list = ListUsersRequest()
        list.maxItems = 1000
        var names = Set<String>()
        while true {
            let page = try await b.listUsers(list)
            names.formUnion(page.users.map(\.userName))
            guard page.isTruncated, !page.marker.isEmpty else { break }
            list.marker = page.marker
        }
        let missing = acknowledged.names.subtracting(names)
        #expect(missing.isEmpty, "acknowledged but gone: \(missing.sorted().prefix(10))")
        for client in [a, b] { await client.close() }
    }

    /// A replica that is up follows 10,000 writes made elsewhere through the change log; one started after
    /// them loads them from the tables.
    @Test func replicasCatchUpAfterTenThousandWrites() async throws {
        let database = try await TestPostgres.makeDatabase("tenk")
        let harness = try await ReplicaHarness(database: database)
        defer {
            harness.kill()
            Task { await harness.remove() }
        }
        try await harness.startReplica()
        var logger = Logger(label: "seed")
        logger.logLevel = .warning
        let store = try await PostgresStore.connect(
            try PostgresStoreConfiguration(url: database.url, password: database.password), logger: logger)
        // IAM allows 5,000 users per account: the 5,001st CreateUser is LimitExceeded (what made this test fail
        // at first), so the seeder, a store client like any replica, raises the quota as an operator would.
        var quotas = Quotas()
        quotas.usersPerAccount = 20_000
        let directory = IAMDirectory(store: store, account: try AccountID("123456789012"), quotas: quotas)
        let seeded: Result<UInt64, any Error>
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 10_000, by: 8) {
                            _ = try await directory.createUser(name: try EntityName("bulk\(index)", kind: .user))
                        }
                    }
                }
                try await group.waitForAll()
            }
            seeded = .success(try await store.revision().rawValue)
        } catch {
            seeded = .failure(error)
        }
        // Closed on every path: a failing seeder must fail this test, not leave open connections behind.
        try await store.close()
        let newest = try seeded.get()
        #expect(newest == 10_000)
        try await harness.waitForRevision(0, newest)
        try await harness.startReplica()
        try await harness.waitForRevision(1, newest, timeout: .seconds(30))
        let b = try harness.client(1)
        let answer = try await authorize(b, principal: "arn:aws:iam::123456789012:user/bulk9999")
        #expect(answer.decision == .implicitDeny)
        #expect(answer.revision == newest)
        await b.close()
    }
}

/// The writes a writer saw acknowledged, shared with the test body.
final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private var revisions: [String: UInt64] = [:]

    func add(_ name: String, _ revision: UInt64) { self.lock.withLock { self.revisions[name] = revision } }
    var count: Int { self.lock.withLock { self.revisions.count } }
    var names: Set<String> { self.lock.withLock { Set(self.revisions.keys) } }
    var maxRevision: UInt64 { self.lock.withLock { self.revisions.values.max() ?? 0 } }
}

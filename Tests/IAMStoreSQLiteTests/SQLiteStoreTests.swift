import Foundation
import GRDB
import IAMDomain
import IAMPolicy
import IAMStoreConformance
import IAMStoreSQLite
import Testing

/// A fresh folder under the system's temp directory, removed when the test ends.
struct TemporaryFolder: ~Copyable {
    let url: URL

    init() throws {
        self.url = FileManager.default.temporaryDirectory.appendingPathComponent("iam-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.url, withIntermediateDirectories: true)
    }

    var databasePath: String { self.url.appendingPathComponent("iam.sqlite").path }

    deinit {
        try? FileManager.default.removeItem(at: self.url)
    }
}

@Suite struct SQLiteStoreConformanceTests {
    @Test(arguments: StoreConformance.caseNames)
    func conformance(_ name: String) async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteStore(path: folder.databasePath)
        try await StoreConformance.run(name, on: store)
        try await store.close()
    }
}

@Suite struct SQLiteStoreTests {
    let account = try! AccountID("123456789012")

    func name(_ text: String, _ kind: EntityKind = .user) -> EntityName { try! EntityName(text, kind: kind) }

    @Test func reopenKeepsEverything() async throws {
        let folder = try TemporaryFolder()
        let before: StoreContents
        do {
            let store = try SQLiteStore(path: folder.databasePath)
            let dir = IAMDirectory(store: store, account: account)
            _ = try await dir.createUser(name: name("alice"), path: try IAMPath("/eng/"))
            _ = try await dir.createGroup(name: name("devs", .group))
            _ = try await dir.addUser(name("alice"), toGroup: name("devs", .group))
            let policy = try await dir.createPolicy(
                name: name("p", .policy),
                document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            _ = try await dir.attachPolicy(policy.value.arn, to: .group, named: name("devs", .group))
            let key = AccessKeyID.generate()
            _ = try await dir.createAccessKey(
                userName: name("alice"), id: key,
                verifier: SCRAMVerifier(salt: [1, 2, 3], iterations: 4096, storedKey: [4], serverKey: [5]))
            // A key's use moves no revision but is as durable as any write.
            #expect(try await dir.recordAccessKeyUse(key, service: "iam", now: Date(timeIntervalSince1970: 1e9)))
            before = try await store.loadAll()
            #expect(before.accessKeys.first?.lastUsedDate == Date(timeIntervalSince1970: 1e9))
            try await store.close()
        }
        let reopened = try SQLiteStore(path: folder.databasePath)
        let after = try await reopened.loadAll()
        #expect(after.revision == before.revision)
        #expect(after.revision == Revision(6))
        #expect(after.users == before.users)
        #expect(after.users.map(\.path.rawValue) == ["/eng/"])
        #expect(after.groups == before.groups)
        #expect(after.policies == before.policies)
        #expect(after.attachments == before.attachments)
        #expect(after.memberships == before.memberships)
        #expect(after.accessKeys == before.accessKeys)
        let changeCount = try await reopened.changes(after: .zero).count
        let expectedChanges: Int = 1 + 1 + 2 + 1 + 2 + 1
        #expect(changeCount == expectedChanges)
        // Writing continues from the stored revision.
        let next = try await IAMDirectory(store: reopened, account: account).createUser(name: name("bob"))
        #expect(next.revision == Revision(7))
        try await reopened.close()
    }

    /// After a clean close the database file alone holds every write: the WAL is checkpointed into it and
    /// truncated, so a cold copy of `iam.sqlite` (the file an operator backs up) is the whole store.
    @Test func closeLeavesEverythingInTheDatabaseFile() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteStore(path: folder.databasePath)
        let dir = IAMDirectory(store: store, account: account)
        for index in 0..<20 { _ = try await dir.createUser(name: name("user\(index)")) }
        // A read opens one of the pool's read-only connections, which closes after the writer.
        #expect(try await store.loadAll().users.count == 20)
        try await store.close()
        let wal = (try? FileManager.default.attributesOfItem(atPath: folder.databasePath + "-wal"))?[.size] as? Int
        #expect((wal ?? 0) == 0)
        let copy = folder.url.appendingPathComponent("copy.sqlite").path
        try FileManager.default.copyItem(atPath: folder.databasePath, toPath: copy)
        let reopened = try SQLiteStore(path: copy)
        #expect(try await reopened.loadAll().users.count == 20)
        try await reopened.close()
    }

    /// Start-up decodes the entity rows on other threads while it reads the relation tables: a corrupt row in
    /// either must still fail the load with the row named, never crash or load a partial store.
    @Test func aCorruptRowFailsTheLoad() async throws {
        for corruption in [
            "UPDATE entity SET body = '{\"id\":1}' WHERE kind = 'user'",
            "UPDATE entity SET body = 'not json' WHERE kind = 'group'",
            "UPDATE membership SET group_id = 'not an id'",
        ] {
            let folder = try TemporaryFolder()
            do {
                let store = try SQLiteStore(path: folder.databasePath)
                let dir = IAMDirectory(store: store, account: account)
                _ = try await dir.createUser(name: name("alice"))
                _ = try await dir.createGroup(name: name("devs", .group))
                _ = try await dir.addUser(name("alice"), toGroup: name("devs", .group))
                try await store.close()
            }
            let database = try DatabaseQueue(path: folder.databasePath)
            try await database.write { try $0.execute(sql: corruption) }
            try database.close()
            let reopened = try SQLiteStore(path: folder.databasePath)
            do {
                _ = try await reopened.loadAll()
                Issue.record("loaded after: \(corruption)")
            } catch {
                #expect(error.code == .serviceFailure, "\(corruption)")
                #expect(error.message.contains("corrupt"), "\(corruption): \(error.message)")
            }
            try await reopened.close()
        }
    }

    @Test func reopenKeepsInstanceProfilesAndTheirRoles() async throws {
        let folder = try TemporaryFolder()
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        let profile: InstanceProfile
        let role: Role
        do {
            let store = try SQLiteStore(path: folder.databasePath)
            let dir = IAMDirectory(store: store, account: account)
            profile = try await dir.createInstanceProfile(
                name: name("web", .instanceProfile), path: try IAMPath("/fleet/"), tags: [try Tag(key: "k", value: "v")]
            ).value
            role = try await dir.createRole(name: name("app", .role), assumeRolePolicyDocument: trust).value
            _ = try await dir.addRole(name("app", .role), toInstanceProfile: name("web", .instanceProfile))
            try await store.close()
        }
        let reopened = try SQLiteStore(path: folder.databasePath)
        let dir = IAMDirectory(store: reopened, account: account)
        let detail = try await dir.instanceProfile(named: name("WEB", .instanceProfile))
        #expect(detail.profile == profile)
        #expect(detail.roles == [role])
        #expect(try await dir.instanceProfiles(forRole: name("app", .role)).items.map(\.profile) == [profile])
        // The change log reads back the new entity kind.
        let log = try await reopened.changes(after: .zero)
        #expect(log.contains { $0.entity == .instanceProfile(profile.id) && $0.kind == .created })
        #expect(log.contains { $0.entity == .instanceProfile(profile.id) && $0.kind == .updated })
        // The count kept for the quota check survived too.
        var one = Quotas()
        one.instanceProfilesPerAccount = 1
        do {
            _ = try await IAMDirectory(store: reopened, account: account, quotas: one).createInstanceProfile(
                name: name("db", .instanceProfile))
            Issue.record("the quota of 1 is taken")
        } catch {
            #expect(error.code == .limitExceeded)
        }
        try await reopened.close()
    }

    @Test func closedStoreRefusesCalls() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteStore(path: folder.databasePath)
        try await store.close()
        await #expect(throws: IAMError.self) { _ = try await store.revision() }
    }

    @Test func concurrentWritersGetDistinctMonotonicRevisions() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteStore(path: folder.databasePath)
        let dir = IAMDirectory(store: store, account: account)
        let revisions = try await withThrowingTaskGroup(of: Revision.self) { group in
            for index in 0..<64 {
                group.addTask { try await dir.createUser(name: self.name("user\(index)")).revision }
            }
            var all: [Revision] = []
            for try await revision in group { all.append(revision) }
            return all
        }
        #expect(Set(revisions).count == 64)
        #expect(revisions.max() == Revision(64))
        #expect(try await store.revision() == Revision(64))
        let log = try await store.changes(after: .zero)
        #expect(log.map(\.revision) == (1...64).map { Revision(UInt64($0)) })
        #expect(try await store.read { tx throws(IAMError) in try tx.count(User.self) } == 64)
        try await store.close()
    }

    @Test func failingWriteInABatchLeavesTheOthers() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteStore(path: folder.databasePath)
        let dir = IAMDirectory(store: store, account: account)
        // Many writers at once land in shared batches; the duplicates fail alone.
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<40 {
                group.addTask {
                    (try? await dir.createUser(name: self.name("u\(index % 20)"))) != nil
                }
            }
            var all: [Bool] = []
            for await ok in group { all.append(ok) }
            return all
        }
        #expect(results.filter { $0 }.count == 20)
        #expect(try await store.revision() == Revision(20))
        #expect(try await store.read { tx throws(IAMError) in try tx.count(User.self) } == 20)
        try await store.close()
    }

    @Test func databaseIsInWALModeWithFullSync() async throws {
        let folder = try TemporaryFolder()
        let store = try SQLiteStore(path: folder.databasePath)
        _ = try await IAMDirectory(store: store, account: account).createUser(name: name("alice"))
        #expect(FileManager.default.fileExists(atPath: folder.databasePath + "-wal"))
        try await store.close()
    }
}

@Suite struct SQLiteSnapshotTests {
    let account = try! AccountID("123456789012")

    @Test func snapshotFollowsWritesAndIsRebuiltAfterReopen() async throws {
        let folder = try TemporaryFolder()
        let request = IAMPolicy.AuthorizationRequest(
            action: "s3:GetObject", resource: "arn:aws:s3:::bucket/key", context: IAMPolicy.RequestContext())
        let userARN: String
        do {
            let store = try SQLiteStore(path: folder.databasePath)
            let dir = IAMDirectory(store: store, account: account)
            let publisher = try await SnapshotPublisher(store: store, account: account)
            let user = try await dir.createUser(name: try EntityName("alice", kind: .user)).value
            userARN = user.arn.description
            let policy = try await dir.createPolicy(
                name: try EntityName("s3-read", kind: .policy),
                document:
                    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#
            ).value
            let attached = try await dir.attachPolicy(policy.arn, to: .user, named: user.name)
            try await publisher.catchUp(atLeast: attached.revision)
            #expect(publisher.snapshot.principal(arn: userARN)?.compiled.decide(request) == .allowed)
            try await store.close()
        }
        let reopened = try SQLiteStore(path: folder.databasePath)
        let publisher = try await SnapshotPublisher(store: reopened, account: account)
        #expect(publisher.revision == Revision(3))
        #expect(publisher.snapshot.principal(arn: userARN)?.compiled.decide(request) == .allowed)
        try await reopened.close()
    }
}

import Foundation
import IAMDomain
import IAMPolicy
import IAMStoreConformance
import IAMPostgresTestSupport
import IAMStorePostgres
import Logging
import Testing

/// A store on a new database of the test server.
func makeStore(_ label: String, on server: TestPostgres.Server? = nil) async throws -> (
    PostgresStore, TestPostgres.Database
) {
    let database = try await TestPostgres.makeDatabase(label, on: server)
    return (try await openStore(database), database)
}

/// Another store (another replica's) on `database`.
func openStore(_ database: TestPostgres.Database) async throws -> PostgresStore {
    var logger = Logger(label: "iam-store-postgres-test")
    logger.logLevel = .warning
    let configuration = try PostgresStoreConfiguration(url: database.url, password: database.password)
    return try await PostgresStore.connect(configuration, logger: logger)
}

/// The same suite the SQLite and in-memory stores pass: one suite, every store.
@Suite struct PostgresStoreConformanceTests {
    @Test(arguments: StoreConformance.caseNames)
    func conformance(_ name: String) async throws {
        let (store, _) = try await makeStore(name)
        try await StoreConformance.run(name, on: store)
        try await store.close()
    }
}

@Suite struct PostgresStoreTests {
    let account = try! AccountID("123456789012")

    func name(_ text: String, _ kind: EntityKind = .user) -> EntityName { try! EntityName(text, kind: kind) }

    @Test func configurationParsesTheURLAndRefusesPasswordsInIt() throws {
        let configuration = try PostgresStoreConfiguration(url: "postgres://iam@db.example:6543/iam", password: "pw")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "iam")
        #expect(configuration.database == "iam")
        #expect(configuration.password == "pw")
        #expect(configuration.redactedURL == "postgres://iam@db.example:6543/iam")
        #expect(try PostgresStoreConfiguration(url: "postgresql://u@h/d", password: nil).port == 5432)
        #expect(
            try PostgresStoreConfiguration(url: "postgres://u@h/d", password: nil).followSpacing == .milliseconds(10))
        #expect(
            try PostgresStoreConfiguration(url: "postgres://u@h/d?follow_spacing_ms=25", password: nil).followSpacing
                == .milliseconds(25))
        for bad in [
            "postgres://iam:secret@h:5432/d", "mysql://u@h/d", "postgres://h:5432/d", "postgres://u@h:5432/",
            "not a url", "postgres://u@h/d?follow_spacing_ms=0", "postgres://u@h/d?follow_spacing_ms=soon",
        ] {
            #expect(throws: IAMError.self, "\(bad)") { _ = try PostgresStoreConfiguration(url: bad, password: nil) }
        }
    }

    @Test func reopenKeepsEverythingAndRevisionContinues() async throws {
        let (store, database) = try await makeStore("reopen")
        let dir = IAMDirectory(store: store, account: account)
        _ = try await dir.createUser(name: name("alice"), path: try IAMPath("/eng/"))
        _ = try await dir.createGroup(name: name("devs", .group))
        _ = try await dir.addUser(name("alice"), toGroup: name("devs", .group))
        let policy = try await dir.createPolicy(
            name: name("p", .policy),
            document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        _ = try await dir.attachPolicy(policy.value.arn, to: .group, named: name("devs", .group))
        _ = try await dir.createAccessKey(
            userName: name("alice"), id: .generate(),
            verifier: SCRAMVerifier(salt: [1, 2, 3], iterations: 4096, storedKey: [4], serverKey: [5]))
        let before = try await store.loadAll()
        try await store.close()

        let reopened = try await openStore(database)
        let after = try await reopened.loadAll()
        #expect(after.revision == Revision(6))
        #expect(after.users == before.users)
        #expect(after.groups == before.groups)
        #expect(after.policies == before.policies)
        #expect(after.attachments == before.attachments)
        #expect(after.memberships == before.memberships)
        #expect(after.accessKeys == before.accessKeys)
        #expect(try await reopened.changes(after: .zero).count == 1 + 1 + 2 + 1 + 2 + 1)
        let next = try await IAMDirectory(store: reopened, account: account).createUser(name: name("bob"))
        #expect(next.revision == Revision(7))
        try await reopened.close()
    }

    @Test func closedStoreRefusesCalls() async throws {
        let (store, _) = try await makeStore("closed")
        try await store.close()
        await #expect(throws: IAMError.self) { _ = try await store.revision() }
    }

    /// Two stores on one database are two replicas: the database hands out revisions once and in order,
    /// and its unique index leaves one winner of every race.
    @Test func twoReplicasShareRevisionsAndOneWinnerPerName() async throws {
        let (first, database) = try await makeStore("replicas")
        let second = try await openStore(database)
        let dirs = [IAMDirectory(store: first, account: account), IAMDirectory(store: second, account: account)]
        let outcomes = try await withThrowingTaskGroup(of: (Int, Revision?).self) { group in
            for index in 0..<64 {
                group.addTask {
                    // Each name is created twice, once through each replica, with different cases.
                    let text = index % 2 == 0 ? "user\(index / 2)" : "USER\(index / 2)"
                    do {
                        return (index, try await dirs[index % 2].createUser(name: self.name(text)).revision)
                    } catch let error as IAMError where error.code == .entityAlreadyExists {
                        return (index, nil)
                    }
                }
            }
            var all: [(Int, Revision?)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let revisions = outcomes.compactMap(\.1)
        #expect(revisions.count == 32)
        #expect(Set(revisions).count == 32)
        #expect(revisions.max() == Revision(32))
        for pair in 0..<32 {
            let wins = outcomes.filter { $0.0 / 2 == pair && $0.1 != nil }
            #expect(wins.count == 1, "name \(pair) had \(wins.count) winners")
        }
        #expect(try await second.revision() == Revision(32))
        let log = try await first.changes(after: .zero)
        #expect(log.map(\.revision) == (1...32).map { Revision(UInt64($0)) })
        #expect(try await first.read { tx throws(IAMError) in try tx.count(User.self) } == 32)
        try await first.close()
        try await second.close()
    }

    /// A catch-up's read (`readChanges`) fetches the page of changes and the states of the users it names with
    /// its first statements; what the body reads must be what a plain read gives, for the page it prefetched,
    /// for another page size (not prefetched) and for users the page does not name.
    @Test func readChangesAnswersAsAPlainReadDoes() async throws {
        let (store, _) = try await makeStore("prefetch")
        let dir = IAMDirectory(store: store, account: account)
        let outsider = try await dir.createUser(name: name("outsider"))
        let base = outsider.revision
        let policy = try await dir.createPolicy(
            name: name("Reader", .policy),
            document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#)
        _ = try await dir.createGroup(name: name("team", .group))
        for index in 0..<3 {
            let user = name("user\(index)")
            _ = try await dir.createUser(name: user, tags: [Tag(key: "n", value: "\(index)")])
            _ = try await dir.putInlinePolicy(
                name("inline\(index)", .inlinePolicy),
                document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
                on: .user, named: user)
            _ = try await dir.attachPolicy(policy.value.arn, to: .user, named: user)
            _ = try await dir.addUser(user, toGroup: name("team", .group))
        }
        _ = try await dir.deleteInlinePolicy(name("inline2", .inlinePolicy), on: .user, named: name("user2"))
        _ = try await dir.detachPolicy(policy.value.arn, from: .user, named: name("user2"))
        _ = try await dir.removeUser(name("user2"), fromGroup: name("team", .group))
        _ = try await dir.deleteUser(named: name("user2"))

        /// What a catch-up reads: a page of changes, then its users' states, and one user it does not name.
        @Sendable func catchUpView(_ reader: any StoreReader, limit: Int, outsider asksOutsider: Bool = true)
            throws(IAMError) -> String
        {
            let changes = try reader.changes(after: base, limit: limit)
            let ids = Array(Set(changes.compactMap { if case .user(let id) = $0.entity { id } else { nil } }))
            let states = try reader.userStates(ids)
            let other = asksOutsider ? try reader.userStates([outsider.value.id]) : [:]
            func line(_ id: UniqueID, _ state: UserState?) -> String {
                guard let state else { return "\(id): missing" }
                return "\(id): \(state.user.map { "\($0.name) \($0.tags)" } ?? "deleted") "
                    + "inline \(state.inlinePolicies.map { "\($0.name)=\($0.document)" }) "
                    + "attached \(state.attachedPolicies) groups \(state.groups)"
            }
            return "revision \(reader.revision)\n"
                + changes.map { "\($0.revision) \($0.kind) \($0.entity)" }.joined(separator: "\n")
                + "\n" + ids.sorted { $0.rawValue < $1.rawValue }.map { line($0, states[$0]) }.joined(separator: "\n")
                + "\n" + line(outsider.value.id, other[outsider.value.id])
        }
        let page = PostgresStore.changePage
        let plain = try await store.read { reader throws(IAMError) in try catchUpView(reader, limit: page) }
        let oneStatement = store.oneStatementReads
        let prefetched = try await store.readChanges(after: base) { reader throws(IAMError) in
            try catchUpView(reader, limit: page)
        }
        #expect(prefetched == plain)
        #expect(store.oneStatementReads == oneStatement, "a user outside the page was read in a transaction")
        let pageOnly = try await store.readChanges(after: base) { reader throws(IAMError) in
            try catchUpView(reader, limit: page, outsider: false)
        }
        #expect(store.oneStatementReads == oneStatement + 1, "the page and its users come from one statement")
        #expect(
            pageOnly
                == (try await store.read { reader throws(IAMError) in
                    try catchUpView(reader, limit: page, outsider: false)
                }))
        #expect(plain.contains("deleted"), "user2's deletion is part of the page")
        #expect(plain.contains("inline0="), "user0's inline policy is part of its state")
        #expect(plain.contains("\(outsider.value.id): outsider"))
        // Another page size than the prefetched one is read by itself, and pages on as a catch-up would.
        let small = try await store.readChanges(after: base) { reader throws(IAMError) in
            try catchUpView(reader, limit: 5)
        }
        #expect(small == (try await store.read { reader throws(IAMError) in try catchUpView(reader, limit: 5) }))
        #expect(store.oneStatementReads == oneStatement + 1, "another page size was read in a transaction")
        // A snapshot moved forward through readChanges matches one built from everything.
        let old = AuthorizationSnapshot(
            contents: StoreContents(revision: .zero), account: account)
        let caughtUp = try await store.readChanges(after: .zero) { reader throws(IAMError) in
            try old.applying(changesFrom: reader, page: PostgresStore.changePage)
        }
        let loaded = AuthorizationSnapshot(contents: try await store.loadAll(), account: account)
        #expect(caughtUp.revision == loaded.revision)
        func summary(_ principal: SnapshotPrincipal?) -> String? {
            principal.map { "\($0.arn) \($0.userID) \($0.tags) policies \($0.compiled.policies.count)" }
        }
        for user in ["outsider", "user0", "user1"] {
            let arn = "arn:aws:iam::123456789012:user/\(user)"
            #expect(caughtUp.principal(arn: arn) != nil)
            #expect(summary(caughtUp.principal(arn: arn)) == summary(loaded.principal(arn: arn)))
        }
        #expect(
            summary(caughtUp.principal(arn: "arn:aws:iam::123456789012:user/user0"))?.hasSuffix("policies 2") == true)
        #expect(caughtUp.principal(arn: "arn:aws:iam::123456789012:user/user2") == nil)
        #expect(store.oneStatementReads == oneStatement + 1, "a group's and a policy's changes need a transaction")
        try await store.close()
    }

    /// A follower's catch-up over users' changes only (tags, inline policies, users made and deleted) is one
    /// statement without a transaction; a change to anything else makes the catch-up read again in a transaction. Either way the snapshot it moves forward
    /// matches one loaded from the tables.
    @Test func aCatchUpOverUsersChangesIsOneStatementAndMatchesALoad() async throws {
        let (store, _) = try await makeStore("one-statement")
        let dir = IAMDirectory(store: store, account: account)
        let policy = try await dir.createPolicy(
            name: name("Reader", .policy),
            document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#)
        _ = try await dir.createGroup(name: name("team", .group))
        for index in 0..<3 {
            _ = try await dir.createUser(name: name("user\(index)"), tags: [Tag(key: "n", value: "\(index)")])
        }
        for index in 0..<2 {
            _ = try await dir.attachPolicy(policy.value.arn, to: .user, named: name("user\(index)"))
            _ = try await dir.addUser(name("user\(index)"), toGroup: name("team", .group))
        }
        let start = AuthorizationSnapshot(contents: try await store.loadAll(), account: account)
        _ = try await dir.tag(User.self, named: name("user0"), tags: [Tag(key: "team", value: "blue")])
        _ = try await dir.putInlinePolicy(
            name("deny", .inlinePolicy),
            document: #"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            on: .user, named: name("user1"))
        _ = try await dir.createUser(name: name("user3"), tags: [Tag(key: "n", value: "3")])
        _ = try await dir.deleteUser(named: name("user2"))

        func summary(_ snapshot: AuthorizationSnapshot, _ user: String) -> String {
            guard let principal = snapshot.principal(arn: "arn:aws:iam::123456789012:user/\(user)") else {
                return "\(user): none"
            }
            return "\(user): \(principal.tags) policies \(principal.compiled.policies.count)"
        }
        let users = ["user0", "user1", "user2", "user3"]
        /// `snapshot` caught up through readChanges, checked against one loaded from the tables.
        func moved(from snapshot: AuthorizationSnapshot) async throws -> AuthorizationSnapshot {
            let next = try await store.readChanges(after: snapshot.revision) { reader throws(IAMError) in
                try snapshot.applying(changesFrom: reader, page: PostgresStore.changePage)
            }
            let loaded = AuthorizationSnapshot(contents: try await store.loadAll(), account: account)
            #expect(next.revision == loaded.revision)
            #expect(users.map { summary(next, $0) } == users.map { summary(loaded, $0) })
            return next
        }
        let before = store.oneStatementReads
        let next = try await moved(from: start)
        #expect(store.oneStatementReads == before + 1)
        #expect(summary(next, "user0").contains("blue"))
        #expect(summary(next, "user2") == "user2: none")
        #expect(summary(next, "user3") != "user3: none")

        // A group's and a policy's changes (a membership is recorded on both ends, an attachment on the owner and
        // the policy): the one statement is not enough, and the transaction gives the same outcome.
        _ = try await dir.removeUser(name("user0"), fromGroup: name("team", .group))
        _ = try await dir.detachPolicy(policy.value.arn, from: .user, named: name("user1"))
        _ = try await dir.tag(User.self, named: name("user1"), tags: [Tag(key: "team", value: "red")])
        let last = try await moved(from: next)
        #expect(store.oneStatementReads == before + 1)
        #expect(summary(last, "user1").contains("red"))
        try await store.close()
    }

    @Test func concurrentWritersGetDistinctMonotonicRevisions() async throws {
        let (store, _) = try await makeStore("concurrent")
        let dir = IAMDirectory(store: store, account: account)
        let revisions = try await withThrowingTaskGroup(of: Revision.self) { group in
            for index in 0..<48 {
                group.addTask { try await dir.createUser(name: self.name("user\(index)")).revision }
            }
            var all: [Revision] = []
            for try await revision in group { all.append(revision) }
            return all
        }
        #expect(Set(revisions).count == 48)
        #expect(try await store.revision() == Revision(48))
        try await store.close()
    }

    /// Compacted entries are never skipped silently: a reader asking for them hears so and rebuilds.
    @Test func compactionDropsOldEntriesAndSaysSo() async throws {
        let (store, _) = try await makeStore("compact")
        let dir = IAMDirectory(store: store, account: account)
        for index in 0..<10 { _ = try await dir.createUser(name: name("u\(index)")) }
        #expect(try await store.compactChangeLog(keeping: 4) == Revision(6))
        #expect(try await store.changes(after: Revision(6)).map(\.revision.rawValue) == [7, 8, 9, 10])
        do {
            _ = try await store.changes(after: Revision(2))
            Issue.record("changes after a compacted revision were handed out")
        } catch {
            #expect(PostgresStore.isCompacted(error))
        }
        // Keeping more than there is compacts nothing more.
        #expect(try await store.compactChangeLog(keeping: 100) == Revision(6))
        try await store.close()
    }

    /// PostgreSQL restarted (as after a crash): the store's broken connections are replaced, nothing
    /// acknowledged is lost, and writing goes on from the stored revision.
    // A private cluster (TestPostgres.startCluster): restarting the shared one would pull the server from under
    // the tests running beside this one.
    @Test
    func survivesAPostgresRestart() async throws {
        let server = try await TestPostgres.startCluster()
        let (store, _) = try await makeStore("restart", on: server)
        let dir = IAMDirectory(store: store, account: account)
        for index in 0..<5 { _ = try await dir.createUser(name: name("before\(index)")) }
        try await TestPostgres.restartCluster(server, mode: "immediate")
        // A read retries once on a new connection; a write may fail once per broken pooled connection.
        #expect(try await store.revision() == Revision(5))
        var created: Revision?
        for _ in 0..<20 where created == nil {
            created = try? await dir.createUser(name: name("after")).revision
        }
        #expect(created == Revision(6))
        #expect(try await store.read { tx throws(IAMError) in try tx.count(User.self) } == 6)
        try await store.close()
    }
}

@Suite struct PostgresChangeFollowerTests {
    let account = try! AccountID("123456789012")

    func name(_ text: String) -> EntityName { try! EntityName(text, kind: .user) }

    /// A write's change-log row, revision bump and notification are sent without waiting for their answers; if
    /// one fails, PostgreSQL ends the transaction with a rollback and answers COMMIT without an error. The write
    /// must still fail, and leave nothing behind.
    @Test func aWriteWhoseChangeLogRowFailsIsRefusedAndLeavesNothing() async throws {
        let (store, database) = try await makeStore("sendfails")
        let dir = IAMDirectory(store: store, account: account)
        _ = try await dir.createUser(name: name("first"))
        _ = try await TestPostgres.psql(database, "ALTER TABLE change_log ADD CONSTRAINT stop CHECK (revision < 2)")
        await #expect(throws: IAMError.self) { _ = try await dir.createUser(name: name("second")) }
        #expect(
            try await store.read { reader throws(IAMError) in try reader.entity(User.self, named: name("second")) }
                == nil)
        #expect(try await store.read { reader throws(IAMError) in reader.revision } == Revision(1))
        // The connection is still usable, and a later write goes through once the constraint is gone.
        _ = try await TestPostgres.psql(database, "ALTER TABLE change_log DROP CONSTRAINT stop")
        #expect(try await dir.createUser(name: name("second")).revision == Revision(2))
        try await store.close()
    }

    /// Catch-ups are spaced by at least the minimum, by three times the last one's duration when it was long
    /// (a busy replica), and by at most the maximum.
    @Test func catchUpSpacingGrowsWithTheirDurationWithinBounds() {
        let start = ContinuousClock.now
        func next(_ took: Duration) -> Duration {
            PostgresChangeFollower.nextStart(
                after: start, end: start + took, spacing: .milliseconds(10), maxSpacing: .milliseconds(40)) - start
        }
        #expect(next(.milliseconds(1)) == .milliseconds(10))
        #expect(next(.milliseconds(5)) == .milliseconds(20))
        #expect(next(.milliseconds(8)) == .milliseconds(32))
        #expect(next(.milliseconds(30)) == .milliseconds(40))
        // The largest spacing by default: 40 ms, or 4 times a spacing above 10 ms.
        #expect(PostgresChangeFollower.defaultMaxCatchUpSpacing(for: .milliseconds(1)) == .milliseconds(40))
        #expect(PostgresChangeFollower.defaultMaxCatchUpSpacing(for: .milliseconds(10)) == .milliseconds(40))
        #expect(PostgresChangeFollower.defaultMaxCatchUpSpacing(for: .milliseconds(25)) == .milliseconds(100))
        #expect(PostgresChangeFollower.defaultMaxCatchUpSpacing(for: .seconds(1)) == .seconds(4))
    }

    /// Waits (event-driven enough: 20 ms polls, a generous bound) until `publisher` reaches `revision`.
    func wait(_ publisher: SnapshotPublisher, reaches revision: Revision) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while publisher.revision < revision, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(publisher.revision >= revision)
    }

    /// Another replica's writes reach this replica's snapshot with nobody asking: the notification wakes it,
    /// and the lag it reports goes back to 0.
    /// A writer store and a reader store on one new database, the reader's snapshot followed by a listening
    /// follower whose poll is far slower than any test's bound: LISTEN/NOTIFY wake-ups have to do the work.
    func listeningFollower(_ label: String, catchUpSpacing: Duration = .milliseconds(10)) async throws -> (
        writer: PostgresStore, reader: PostgresStore, publisher: SnapshotPublisher, follower: PostgresChangeFollower,
        task: Task<Void, Never>
    ) {
        let (writer, database) = try await makeStore(label)
        let reader = try await openStore(database)
        let publisher = try await SnapshotPublisher(store: reader, account: account)
        let follower = PostgresChangeFollower(
            store: reader, publisher: publisher, logger: Logger(label: "follower"), pollInterval: .seconds(3600),
            compactionInterval: nil, catchUpSpacing: catchUpSpacing)
        let task = Task { await follower.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while !follower.isListening, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return (writer, reader, publisher, follower, task)
    }

    @Test func followsWritesOfAnotherReplica() async throws {
        let (writer, reader, publisher, follower, task) = try await listeningFollower("follow")
        let dir = IAMDirectory(store: writer, account: account)
        let alice = try await dir.createUser(name: name("alice"))
        try await wait(publisher, reaches: alice.revision)
        #expect(publisher.snapshot.principal(arn: alice.value.arn.description) != nil)
        let deleted = try await dir.deleteUser(named: name("alice"))
        try await wait(publisher, reaches: deleted.revision)
        #expect(publisher.snapshot.principal(arn: alice.value.arn.description) == nil)
        #expect(follower.lag == 0)
        task.cancel()
        await task.value
        try await writer.close()
        try await reader.close()
    }

    /// A burst of writes from many writers sends one notification each; the follower wakes its catch-up only
    /// when none is pending, and must still end at the last revision with no poll to rescue a lost wake-up.
    @Test func aBurstOfWritesReachesTheFollowerWithoutAPoll() async throws {
        let (writer, reader, publisher, follower, task) = try await listeningFollower(
            "burst", catchUpSpacing: .milliseconds(5))
        let dir = IAMDirectory(store: writer, account: account)
        for round in 0..<4 {
            let last = try await withThrowingTaskGroup(of: Revision.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        try await dir.createUser(name: self.name("burst\(round)-\(index)")).revision
                    }
                }
                var last = Revision.zero
                for try await revision in group { last = max(last, revision) }
                return last
            }
            try await wait(publisher, reaches: last)
            #expect(publisher.snapshot.principal(arn: "arn:aws:iam::123456789012:user/burst\(round)-15") != nil)
        }
        #expect(follower.lag == 0)
        task.cancel()
        await task.value
        try await writer.close()
        try await reader.close()
    }

    /// A replica behind the compacted part of the change log rebuilds from the tables instead of skipping.
    @Test func rebuildsWhenTheChangesItNeedsWereCompacted() async throws {
        let (writer, database) = try await makeStore("rebuild")
        let reader = try await openStore(database)
        let publisher = try await SnapshotPublisher(store: reader, account: account)
        let dir = IAMDirectory(store: writer, account: account)
        var arns: [String] = []
        for index in 0..<10 { arns.append(try await dir.createUser(name: name("u\(index)")).value.arn.description) }
        try await writer.compactChangeLog(keeping: 2)
        await #expect(throws: IAMError.self) { try await publisher.catchUp() }
        let follower = PostgresChangeFollower(
            store: reader, publisher: publisher, logger: Logger(label: "follower"), compactionInterval: nil)
        await follower.catchUp()
        #expect(publisher.revision == Revision(10))
        for arn in arns { #expect(publisher.snapshot.principal(arn: arn) != nil) }
        try await writer.close()
        try await reader.close()
    }

    /// PostgreSQL restarted: the follower's LISTEN connection breaks, it reconnects, and writes made after
    /// the restart reach the snapshot.
    // A private cluster (TestPostgres.startCluster): restarting the shared one would pull the server from under
    // the tests running beside this one.
    @Test
    func reconnectsAfterPostgresRestarts() async throws {
        let server = try await TestPostgres.startCluster()
        let (writer, database) = try await makeStore("relisten", on: server)
        let reader = try await openStore(database)
        let publisher = try await SnapshotPublisher(store: reader, account: account)
        let follower = PostgresChangeFollower(
            store: reader, publisher: publisher, logger: Logger(label: "follower"), pollInterval: .milliseconds(200),
            compactionInterval: nil)
        let task = Task { await follower.run() }
        let dir = IAMDirectory(store: writer, account: account)
        let first = try await dir.createUser(name: name("first"))
        try await wait(publisher, reaches: first.revision)
        try await TestPostgres.restartCluster(server, mode: "immediate")
        var second: Revision?
        for _ in 0..<20 where second == nil { second = try? await dir.createUser(name: name("second")).revision }
        try await wait(publisher, reaches: try #require(second))
        task.cancel()
        await task.value
        try await writer.close()
        try await reader.close()
    }
}

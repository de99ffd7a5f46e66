import Foundation
import IAMPolicy
import Testing

@testable import IAMDomain

/// Start-up builds the snapshot on all cores (every user's policies gathered in parallel chunks, every managed
/// policy parsed in parallel) and keeps each principal's policies as shared lists until a check needs them. It
/// must give every principal exactly what following the writes one by one gives it.
@Suite struct StartupSnapshotTests {
    let account = try! AccountID("123456789012")

    func name(_ text: String, _ kind: EntityKind) -> EntityName { try! EntityName(text, kind: kind) }

    static func document(_ index: Int) -> String {
        #"{"Version":"2012-10-17","Statement":[{"Sid":"P\#(index)","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-\#(index % 97)/*"}]}"#
    }

    @Test func aStartupSnapshotGivesEveryPrincipalWhatFollowingTheWritesGives() async throws {
        let store = InMemoryStore()
        let directory = IAMDirectory(store: store, account: account)
        let following = try await SnapshotPublisher(store: store, account: account)
        // More users (2,048) and policies (512) than the parallel thresholds, in groups that share policies.
        let policyCount = 1_400
        var policies: [ARN] = []
        for index in 0..<policyCount {
            let created = try await directory.createPolicy(
                name: name("p-\(index)", .policy), document: Self.document(index))
            policies.append(created.value.arn)
        }
        for group in 0..<8 {
            _ = try await directory.createGroup(name: name("g-\(group)", .group))
            _ = try await directory.attachPolicy(policies[group], to: .group, named: name("g-\(group)", .group))
            _ = try await directory.attachPolicy(policies[group + 8], to: .group, named: name("g-\(group)", .group))
        }
        let userCount = 2_100
        for index in 0..<userCount {
            let user = name("u-\(index)", .user)
            _ = try await directory.createUser(name: user)
            _ = try await directory.addUser(user, toGroup: name("g-\(index % 8)", .group))
            _ = try await directory.addUser(user, toGroup: name("g-\((index + 3) % 8)", .group))
            // Its first group's first policy again, attached to the user: it must count once.
            _ = try await directory.attachPolicy(policies[index % 8], to: .user, named: user)
            _ = try await directory.attachPolicy(policies[16 + index % (policyCount - 16)], to: .user, named: user)
        }
        let latest = try await store.revision()
        try await following.catchUp(atLeast: latest)
        let started = try await SnapshotPublisher(store: store, account: account)

        let probe = AuthorizationRequest(
            action: "s3:GetObject", resource: "arn:aws:s3:::bucket-5/key", context: RequestContext())
        var allowed = 0
        for index in 0..<userCount {
            let arn = "arn:aws:iam::123456789012:user/u-\(index)"
            let a = try #require(following.snapshot.principal(arn: arn))
            let b = try #require(started.snapshot.principal(arn: arn))
            #expect(a.policies.map(\.id) == b.policies.map(\.id), "\(arn)")
            #expect(a.sources == b.sources, "\(arn)")
            #expect(Set(b.policies.map(\.id)).count == b.policies.count, "\(arn) has a policy twice")
            #expect(b.policies.count == 5, "\(arn): 2 own + 2 x 2 from groups, one of them the same as an own")
            let decision = b.compiled.evaluate(probe)
            #expect(a.compiled.evaluate(probe) == decision, "\(arn)")
            if decision.decision == .allowed { allowed += 1 }
        }
        #expect(allowed > 0 && allowed < userCount)
        // The indexes a later write consults, filled in bulk at start-up, hold what the writes recorded.
        let (f, b) = (following.snapshot.model, started.snapshot.model)
        for arn in policies.prefix(40) {
            #expect(f.dependents(ofPolicy: arn) == b.dependents(ofPolicy: arn), "\(arn)")
            #expect(f.attachedOwners[arn] == b.attachedOwners[arn], "\(arn)")
        }
        for user in f.users.values {
            #expect(f.groupsOfUser[user.id] == b.groupsOfUser[user.id], "\(user.name)")
            #expect(f.attached[user.id] == b.attached[user.id], "\(user.name)")
            #expect(b.userNames[user.name.folded] == user.id)
        }
        for group in f.groups.values {
            #expect(f.membersOfGroup[group.id] == b.membersOfGroup[group.id], "\(group.name)")
            #expect(f.attached[group.id] == b.attached[group.id], "\(group.name)")
            #expect(b.groupNames[group.name.folded] == group.id)
        }
    }

    @Test func aBulkMergeFillsEachKeyInEntryOrderAsOneInsertAtATimeDoes() {
        // Above and below the parallel threshold, into an empty map and into one that holds some keys already.
        for count in [10, 4_095, 4_096, 50_000] {
            for prefilled in [false, true] {
                var bulk = ShardedMap<String, [Int]>()
                var single = ShardedMap<String, [Int]>()
                if prefilled {
                    for key in 0..<300 {
                        bulk["k\(key)"] = [-key]
                        single["k\(key)"] = [-key]
                    }
                }
                let key = { (index: Int) in "k\((index &* 7919) % 1_009)" }
                bulk.merge(count, entry: { (key($0), $0) }, merge: MapMerge.append)
                for index in 0..<count { single[key(index), default: []].append(index) }
                #expect(bulk.count == single.count, "count \(count)")
                for key in single.keys { #expect(bulk[key] == single[key], "\(key) of \(count)") }
            }
        }
    }

    @Test func parallelMapKeepsOrderAndCoversEveryIndex() {
        for count in [0, 1, 2047, 2048, 10_001] {
            let mapped = Parallel.map(count) { range in range.map { $0 * 3 } }
            #expect(mapped == (0..<count).map { $0 * 3 }, "count \(count)")
        }
    }
}

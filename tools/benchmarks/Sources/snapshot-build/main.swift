// Start-up cost of the authorization snapshot at the issue's scale, and the cost of one write's catch-up.
//
//     swift build -c release --product snapshot-build
//     .build/release/snapshot-build 100000 20000 10000 [sqlite]   # users groups policies [store]
//
// Each user joins one group and has one attached policy; each group has one attached policy. The store is
// filled with a few large write transactions (not IAMDirectory calls) so filling is not what is measured.
import Foundation
import IAMDomain
import IAMPolicy
import IAMStoreSQLite

let arguments = CommandLine.arguments
let userCount = arguments.count > 1 ? Int(arguments[1]) ?? 100_000 : 100_000
let groupCount = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000
let policyCount = arguments.count > 3 ? Int(arguments[3]) ?? 10_000 : 10_000
let useSQLite = arguments.count > 4 && arguments[4] == "sqlite"

let account = try AccountID("123456789012")
let clock = ContinuousClock()
func seconds(_ duration: Duration) -> String {
    String(format: "%.3f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
}

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-build-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }
let store: any Store =
    useSQLite ? try SQLiteStore(path: folder.appendingPathComponent("iam.sqlite").path) : InMemoryStore()

func document(_ index: Int) -> String {
    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s\#(index % 40):Get*","s\#(index % 40):List*"],"Resource":"arn:aws:s\#(index % 40):::bucket-\#(index)/*"},{"Effect":"Deny","Action":"s\#(index % 40):Delete*","Resource":"*"}]}"#
}

let fillStart = clock.now
let now = Date()
var policyARNs: [ARN] = []
var groupIDs: [UniqueID] = []
for chunk in stride(from: 0, to: policyCount, by: 5_000) {
    let range = chunk..<min(policyCount, chunk + 5_000)
    let arns = try await store.write { tx throws(IAMError) -> [ARN] in
        var arns: [ARN] = []
        for index in range {
            let name = try EntityName("policy-\(index)", kind: .policy)
            let policy = ManagedPolicy(
                id: .generate(.managedPolicy), name: name, path: .root, arn: .policy(account: account, name: name),
                createDate: now, document: document(index))
            try tx.insert(policy)
            arns.append(policy.arn)
        }
        return arns
    }.value
    policyARNs += arns
}
let frozenPolicies = policyARNs
for chunk in stride(from: 0, to: groupCount, by: 5_000) {
    let range = chunk..<min(groupCount, chunk + 5_000)
    groupIDs += try await store.write { tx throws(IAMError) -> [UniqueID] in
        var ids: [UniqueID] = []
        for index in range {
            let name = try EntityName("group-\(index)", kind: .group)
            let group = Group(
                id: .generate(.group), name: name, path: .root, arn: .group(account: account, name: name),
                createDate: now)
            try tx.insert(group)
            try tx.attach(
                Attachment(owner: OwnerRef(.group, group.id), policyARN: frozenPolicies[index % frozenPolicies.count]))
            ids.append(group.id)
        }
        return ids
    }.value
}
let frozenGroups = groupIDs
var firstUser: User?
for chunk in stride(from: 0, to: userCount, by: 5_000) {
    let range = chunk..<min(userCount, chunk + 5_000)
    let first = try await store.write { tx throws(IAMError) -> User? in
        var first: User?
        for index in range {
            let name = try EntityName("user-\(index)", kind: .user)
            let user = User(
                id: .generate(.user), name: name, path: .root, arn: .user(account: account, name: name), createDate: now
            )
            try tx.insert(user)
            try tx.attach(
                Attachment(
                    owner: OwnerRef(.user, user.id), policyARN: frozenPolicies[(index * 7) % frozenPolicies.count]))
            try tx.addMembership(Membership(userID: user.id, groupID: frozenGroups[index % frozenGroups.count]))
            if first == nil { first = user }
        }
        return first
    }.value
    if firstUser == nil { firstUser = first }
}
print(
    "filled \(useSQLite ? "sqlite" : "memory") store: users=\(userCount) groups=\(groupCount) policies=\(policyCount) in \(seconds(clock.now - fillStart)) s"
)

let loadStart = clock.now
let contents = try await store.loadAll()
let loaded = clock.now
let snapshot = AuthorizationSnapshot(contents: contents, account: account)
let built = clock.now
print(
    "loadAll \(seconds(loaded - loadStart)) s, compile snapshot \(seconds(built - loaded)) s, total \(seconds(built - loadStart)) s, principals=\(snapshot.principalCount)"
)

// One write (attach a policy to a group of ~5 users) and its catch-up.
let publisher = try await SnapshotPublisher(store: store, account: account)
let directory = IAMDirectory(store: store, account: account)
let writeStart = clock.now
let committed = try await directory.attachPolicy(
    frozenPolicies[1], to: .group, named: try EntityName("group-0", kind: .group))
let written = clock.now
try await publisher.catchUp(atLeast: committed.revision)
let caught = clock.now
print("attach to a group: write \(seconds(written - writeStart)) s, catch-up \(seconds(caught - written)) s")

if let user = firstUser {
    let principal = publisher.snapshot.principal(arn: user.arn.description)!
    let request = AuthorizationRequest(
        action: "s0:GetObject", resource: "arn:aws:s0:::bucket-0/key", context: RequestContext())
    let checks = 1_000_000
    let checkStart = clock.now
    var allowed = 0
    for _ in 0..<checks where principal.compiled.decide(request) == .allowed { allowed += 1 }
    let perCheck =
        Double((clock.now - checkStart).components.attoseconds) / 1e9 / Double(checks)
        + Double((clock.now - checkStart).components.seconds) * 1e9 / Double(checks)
    print("decide() on a snapshot principal: \(String(format: "%.0f", perCheck)) ns/check (allowed \(allowed))")
}
let rss =
    (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
    .split(separator: "\n").first { $0.hasPrefix("VmHWM") } ?? "VmHWM unknown"
print(rss)

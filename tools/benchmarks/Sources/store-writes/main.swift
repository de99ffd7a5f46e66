// Durable CreateUser throughput on the SQLite store: N concurrent writers, each creating users through
// IAMDirectory until the total is reached. Prints writes/s and the number of fsync-bearing commits saved
// by group commit is visible as the ratio to a single writer's rate.
//
//     swift build -c release --product store-writes
//     .build/release/store-writes 16 4000     # writers, total writes
import Foundation
import IAMDomain
import IAMStoreSQLite

let arguments = CommandLine.arguments
let writers = arguments.count > 1 ? Int(arguments[1]) ?? 16 : 16
let total = arguments.count > 2 ? Int(arguments[2]) ?? 4000 : 4000

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-writes-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: folder) }

let store = try SQLiteStore(path: folder.appendingPathComponent("iam.sqlite").path)
var quotas = Quotas()
quotas.usersPerAccount = Int.max
let directory = IAMDirectory(store: store, account: try AccountID("123456789012"), quotas: quotas)

let perWriter = total / writers
let clock = ContinuousClock()
let start = clock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for writer in 0..<writers {
        group.addTask {
            for index in 0..<perWriter {
                _ = try await directory.createUser(name: try EntityName("user-\(writer)-\(index)", kind: .user))
            }
        }
    }
    try await group.waitForAll()
}
let elapsed = clock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let done = perWriter * writers
print(
    "writers=\(writers) writes=\(done) seconds=\(String(format: "%.3f", seconds)) writes/s=\(Int(Double(done) / seconds))"
)
try await store.close()

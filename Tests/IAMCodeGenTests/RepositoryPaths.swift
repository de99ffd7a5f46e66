import Foundation
import IAMTestSupport

/// Locates the repository from this file's path (symlinks resolved, so private dev packages that
/// link the test folder still find the real tree).
enum RepositoryPaths {
    static let root: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // IAMCodeGenTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// Runs `executable` (looked up on PATH) with `arguments`, returning status and combined output.
    /// The wait happens on a thread of its own: `swift format` on the generated code takes seconds, and
    /// blocking a cooperative thread that long stalls every async test in the process (issue 6).
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) async throws -> (
        status: Int32, output: String
    ) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.runBlocking(executable, arguments, in: directory) })
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], in directory: URL?) throws -> (
        status: Int32, output: String
    ) {
        // Bounded: swift format and protoc finish in seconds.
        let run = try SpawnedProcess.run("/usr/bin/env", [executable] + arguments, workingDirectory: directory?.path)
        return (run.status, String(decoding: run.stdout + run.stderr, as: UTF8.self))
    }
}

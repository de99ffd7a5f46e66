import Foundation

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        // Poll instead of waitUntilExit(): concurrent waitUntilExit() calls can spin forever in
        // Foundation's run loop on Linux. Bounded: swift format and protoc finish in seconds.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning {
            guard Date() < deadline else {
                process.terminate()
                return (-1, "\(executable) did not finish in 120 s")
            }
            usleep(2000)
        }
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

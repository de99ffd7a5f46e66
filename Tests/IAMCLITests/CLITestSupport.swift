import Foundation
import IAMCLI
import Testing

/// What a command printed and how it exited.
struct CommandResult: Sendable {
    var status: Int32
    var output: String
    var errorOutput: String

    /// Standard output split into lines (no trailing empty line).
    var lines: [String] {
        output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
    }
}

enum CLI {
    /// Runs `iam <arguments>` in-process.
    static func inProcess(_ arguments: [String], stdin: [UInt8] = []) async -> CommandResult {
        let io = CommandIO.capturing(stdin: stdin)
        let status = await IAMCommand.run(arguments: arguments, io: io)
        return CommandResult(status: status, output: io.output, errorOutput: io.errorOutput)
    }

    /// The `iam` executable built next to this test bundle (`.build/<config>/iam`).
    static let binary: URL? = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        // Linux: .build/debug/<pkg>PackageTests.xctest; macOS: .../<pkg>PackageTests.xctest/Contents/MacOS/<name>.
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("iam")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
                !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    /// Runs the real `iam` binary as a child process, with a time bound; output goes through temporary files so a
    /// large output can never block the child on a full pipe.
    static func process(_ arguments: [String], stdin: [UInt8] = [], timeout: Duration = .seconds(60)) async throws
        -> CommandResult
    {
        let binary = try #require(binary, "the iam executable must be built next to the test bundle")
        let dir = try TemporaryDirectory()
        let inURL = dir.url.appendingPathComponent("stdin")
        let outURL = dir.url.appendingPathComponent("stdout")
        let errURL = dir.url.appendingPathComponent("stderr")
        try Data(stdin).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let input = try FileHandle(forReadingFrom: inURL)
        let output = try FileHandle(forWritingTo: outURL)
        let error = try FileHandle(forWritingTo: errURL)
        defer {
            try? input.close()
            try? output.close()
            try? error.close()
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        // Poll instead of waitUntilExit(): concurrent waitUntilExit() calls can spin forever in Foundation's run
        // loop on Linux. Every wait here is bounded.
        var killed = false
        while process.isRunning {
            if !killed, clock.now > deadline {
                Issue.record("iam \(arguments.joined(separator: " ")) did not finish within \(timeout)")
                kill(process.processIdentifier, SIGKILL)
                killed = true
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        return CommandResult(
            status: process.terminationStatus,
            output: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            errorOutput: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("iam-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `contents` to a file in the directory and returns its path.
    func file(_ name: String, _ contents: [UInt8]) throws -> String {
        let fileURL = url.appendingPathComponent(name)
        try Data(contents).write(to: fileURL)
        return fileURL.path
    }

    /// Writes `text` to a file in the directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The conformance vector files (Tests/IAMPolicyTests/Vectors).
enum VectorFiles {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("IAMPolicyTests/Vectors")

    static let all: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func isValidation(_ name: String) -> Bool { name.hasPrefix("validation") }
}

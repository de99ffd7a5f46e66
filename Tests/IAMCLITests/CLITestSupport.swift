import Foundation
import IAMCLI
import IAMTestSupport
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

    /// Runs the real `iam` binary (built next to this test bundle) as a child process, with a time bound.
    static func process(_ arguments: [String], stdin: [UInt8] = [], timeout: Duration = .seconds(60)) async throws
        -> CommandResult
    {
        let binary = try #require(
            ChildProcess.builtExecutable(named: "iam"), "the iam executable must be built next to the test bundle")
        let result = try await ChildProcess.run(binary, arguments, stdin: stdin, timeout: timeout)
        return CommandResult(status: result.status, output: result.output, errorOutput: result.errorOutput)
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

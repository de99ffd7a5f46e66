import Foundation
import IAMSync

/// Where a command writes its output and reads its input.
///
/// The real `iam` binary uses the process's standard streams; tests use a capturing instance to run the very same
/// command code in-process and read what it printed.
public final class CommandIO: Sendable {
    private let isCapturing: Bool
    private let captured = Locked((out: "", err: ""))
    private let input: [UInt8]?

    private init(capturing: Bool, input: [UInt8]?) {
        self.isCapturing = capturing
        self.input = input
    }

    /// The process's standard input, output and error.
    public static var standard: CommandIO { CommandIO(capturing: false, input: nil) }

    /// Captures output and error in memory; `stdin` is what `-` reads.
    public static func capturing(stdin: [UInt8] = []) -> CommandIO {
        CommandIO(capturing: true, input: stdin)
    }

    /// Everything written to standard output so far (capturing instances only).
    public var output: String { captured.withLock { $0.out } }

    /// Everything written to standard error so far (capturing instances only).
    public var errorOutput: String { captured.withLock { $0.err } }

    /// Writes `line` and a newline to standard output.
    public func printLine(_ line: String) {
        if isCapturing {
            captured.withLock { $0.out += line + "\n" }
        } else {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }

    /// Writes `line` and a newline to standard error.
    public func printError(_ line: String) {
        if isCapturing {
            captured.withLock { $0.err += line + "\n" }
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Reads a whole file (`-` is standard input), at most `limit` bytes plus one, so that a caller can tell
    /// "exactly at the limit" from "too large" without ever holding an unbounded input in memory.
    package func read(_ path: String, limit: Int) throws -> [UInt8] {
        if path == "-" {
            if let input { return Array(input.prefix(limit + 1)) }
            return try Self.readBounded(FileHandle.standardInput, limit: limit)
        }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return try Self.readBounded(handle, limit: limit)
    }

    private static func readBounded(_ handle: FileHandle, limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count <= limit {
            guard let chunk = try handle.read(upToCount: min(1 << 16, limit + 1 - bytes.count)), !chunk.isEmpty else {
                break
            }
            bytes.append(contentsOf: chunk)
        }
        return bytes
    }
}

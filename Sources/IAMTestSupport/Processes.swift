public import Foundation

/// What a finished child process printed and how it exited.
public struct ProcessOutput: Sendable {
    /// The exit status (or the terminating signal's number).
    public var status: Int32
    /// Everything written to standard output.
    public var output: String
    /// Everything written to standard error.
    public var errorOutput: String
}

/// A real child process whose output goes to temporary files (so a chatty child can never block on a full
/// pipe), with every wait bounded in time. Used by end-to-end tests to run `iamd` and `iam`. Started with
/// `posix_spawn` (``SpawnedProcess``), not Foundation's `Process`, whose `run()` crashed test runs.
public final class ChildProcess: @unchecked Sendable {
    // Mutable state is only the spawned process's status, which it guards itself.
    private let process: SpawnedProcess
    private let directory: URL
    private let outURL: URL
    private let errURL: URL

    /// The executable built next to the running test bundle (`.build/<config>/<name>`), if any.
    public static func builtExecutable(named name: String) -> URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(name)
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
    }

    /// Starts `executable` with `arguments` in `workingDirectory`, adding `environment` to ours; `stdin` is
    /// what it reads on standard input (then end of file).
    public init(
        _ executable: URL,
        _ arguments: [String],
        stdin: [UInt8] = [],
        environment: [String: String] = [:],
        workingDirectory: URL? = nil
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("iam-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        outURL = directory.appendingPathComponent("stdout")
        errURL = directory.appendingPathComponent("stderr")
        let inURL = directory.appendingPathComponent("stdin")
        try Data(stdin).write(to: inURL)
        process = try SpawnedProcess(
            executable: executable.path, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            workingDirectory: workingDirectory?.path, stdin: .file(inURL.path), stdout: outURL.path,
            stderr: errURL.path)
    }

    /// Runs a command to completion (bounded by `timeout`; killed if it overruns) and returns its output.
    public static func run(
        _ executable: URL,
        _ arguments: [String],
        stdin: [UInt8] = [],
        environment: [String: String] = [:],
        workingDirectory: URL? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ProcessOutput {
        let child = try ChildProcess(
            executable, arguments, stdin: stdin, environment: environment, workingDirectory: workingDirectory)
        return try await child.waitForExit(timeout: timeout)
    }

    /// Whether the child is still running.
    public var isRunning: Bool { process.isRunning }

    /// Standard output so far.
    public var output: String { String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self) }

    /// Standard error so far.
    public var errorOutput: String { String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self) }

    /// Waits until standard output has a line starting with `prefix` and returns it; fails if the child exits or
    /// `timeout` passes first. The default is generous: under AddressSanitizer on a shared 2-core machine at load
    /// 16, a debug iamd printed its "listening" line just after 60 s, and two CLI suites failed on a bound alone.
    public func waitForLine(startingWith prefix: String, timeout: Duration = .seconds(300)) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line)
            }
            guard self.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChildProcessError(
            "no line starting with \"\(prefix)\" (running: \(isRunning)); stdout: \(output); stderr: \(errorOutput)"
        )
    }

    /// Sends `signal` (SIGTERM by default).
    public func signal(_ number: Int32 = SIGTERM) {
        process.signal(number)
    }

    /// Waits for the child to exit, killing it (and failing) if `timeout` passes first.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> ProcessOutput {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        // Polls: the child is reaped by waitpid, so its exit is seen even when a process it started (a daemon)
        // still holds its standard files.
        while true {
            if let status = process.exitStatus {
                return ProcessOutput(status: status, output: output, errorOutput: errorOutput)
            }
            if ContinuousClock.now > deadline { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.signal(SIGKILL)
        let killed = ContinuousClock.now
        while process.isRunning, ContinuousClock.now - killed < .seconds(10) {
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ChildProcessError(
            "did not exit within \(timeout)\(process.isRunning ? " (nor 10 s after SIGKILL)" : ""); stderr: \(errorOutput)"
        )
    }

    deinit {
        // The spawned process kills and reaps a child still running when it goes away.
        try? FileManager.default.removeItem(at: directory)
    }
}

/// A child process did not do what the test waited for.
public struct ChildProcessError: Error, CustomStringConvertible {
    /// What happened, with the child's output.
    public var description: String
    /// Creates the error (public for test support in other packages, such as Packages/IAMPostgres's).
    public init(_ description: String) { self.description = description }
}

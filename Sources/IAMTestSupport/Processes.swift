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
/// pipe), with every wait bounded in time. Used by end-to-end tests to run `iamd` and `iam`.
public final class ChildProcess: @unchecked Sendable {
    // Mutable state is only the Process object, which Foundation makes safe to query from any thread.
    private let process = Process()
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
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        let inURL = directory.appendingPathComponent("stdin")
        try Data(stdin).write(to: inURL)
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
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
    public var isRunning: Bool { process.isRunning && Self.exitStatus(of: process.processIdentifier) == nil }

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
            "no line starting with \"\(prefix)\" (running: \(process.isRunning)); stdout: \(output); stderr: \(errorOutput)"
        )
    }

    /// Sends `signal` (SIGTERM by default).
    public func signal(_ number: Int32 = SIGTERM) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Waits for the child to exit, killing it (and failing) if `timeout` passes first.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> ProcessOutput {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        // Polls instead of waitUntilExit, which spins a run loop on a cooperative thread (and hung test runs
        // when two ran at once on a 2-core machine).
        while process.isRunning {
            // Foundation sees the exit only when every copy of the socket it gave the child is closed: a process
            // the child left running (a daemon it started), or one that another test spawned at the same moment
            // and that inherited the socket, keeps `isRunning` true long after the child is gone. The kernel
            // knows better: ask it, without reaping (Foundation still does that).
            if let status = Self.exitStatus(of: process.processIdentifier) {
                return ProcessOutput(status: status, output: output, errorOutput: errorOutput)
            }
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                // Bounded too: Foundation sees the exit only when every copy of the socket it gave the child is
                // closed, so a daemon the child started and that kept it (tools/scripts/pg-cluster closes them
                // for that reason) would make an unbounded wait here hang for as long as the daemon runs.
                let killed = ContinuousClock.now
                while process.isRunning, ContinuousClock.now - killed < .seconds(10) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                throw ChildProcessError(
                    "did not exit within \(timeout)\(process.isRunning ? " (nor 10 s after SIGKILL: a process it started may hold its descriptors)" : ""); stderr: \(errorOutput)"
                )
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return ProcessOutput(status: process.terminationStatus, output: output, errorOutput: errorOutput)
    }

    /// The exit status (or the signal that ended it) of child `pid` if it has exited, leaving it unreaped.
    private static func exitStatus(of pid: pid_t) -> Int32? {
        var info = siginfo_t()
        // `si_pid` stays 0 when the child has not changed state (WNOHANG).
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
            info._sifields._sigchld.si_pid == pid
        else { return nil }
        return info._sifields._sigchld.si_status
    }

    deinit {
        // Foundation reaps the killed child by itself; blocking here could starve the cooperative pool.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
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

import Foundation
import IAMTestSupport

/// The `openssl` CLI as a child process with stdin from a file and stdout/stderr to files (no pipes
/// that could fill up or raise SIGPIPE). Every wait is bounded; deinit kills a process still running.
final class OpenSSLProcess {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private let process: SpawnedProcess
    private let directory: URL
    private var heldInput: FileHandle?

    /// With `holdInputOpen`, stdin is a pipe that stays open (no EOF) until the process exits, for
    /// tools that act on EOF (s_client without -ign_eof quits at once; with it, it ignores commands).
    init(_ arguments: [String], input text: String = "", holdInputOpen: Bool = false) throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "iam-openssl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let stdinURL = self.directory.appendingPathComponent("stdin")
        try Data(text.utf8).write(to: stdinURL)
        let stdoutPath = self.directory.appendingPathComponent("stdout").path
        let stderrPath = self.directory.appendingPathComponent("stderr").path
        if holdInputOpen {
            // A write to a pipe whose reader died must fail with EPIPE, not kill the test process.
            signal(SIGPIPE, SIG_IGN)
        }
        self.process = try SpawnedProcess(
            executable: "/usr/bin/env", arguments: ["openssl"] + arguments,
            stdin: holdInputOpen ? .pipe : .file(stdinURL.path), stdout: stdoutPath, stderr: stderrPath)
        if holdInputOpen, let input = self.process.input {
            self.heldInput = input
            try input.write(contentsOf: Data(text.utf8))  // small: fits the pipe buffer
        }
    }

    deinit {
        try? self.heldInput?.close()
        // The spawned process kills and reaps a child still running when it goes away.
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Writes more input (only with `holdInputOpen`). Tools such as s_client look for commands only
    /// at the start of each read, so a command must arrive in its own write.
    func send(_ text: String) throws {
        try self.heldInput?.write(contentsOf: Data(text.utf8))
    }

    private var stdoutURL: URL { self.directory.appendingPathComponent("stdout") }
    private var stderrURL: URL { self.directory.appendingPathComponent("stderr") }
    var stdout: String { (try? String(contentsOf: self.stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: self.stderrURL, encoding: .utf8)) ?? "" }

    /// Polls stdout until it contains `text`; nil after `timeout` or if the process exited first.
    func waitForStdout(matching text: String, timeout: Duration = .seconds(60)) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let output = self.stdout
            if output.contains(text) { return output }
            if !self.process.isRunning { return self.stdout.contains(text) ? self.stdout : nil }
            try await Task.sleep(for: .milliseconds(5))
        }
        // A last look: on a loaded machine this Task can wake up after the deadline with the text there.
        return self.stdout.contains(text) ? self.stdout : nil
    }

    /// Waits for the process to exit; terminates it after `timeout` (status then reflects SIGTERM).
    func waitForExit(timeout: Duration = .seconds(15)) async throws -> Output {
        let deadline = ContinuousClock.now + timeout
        while self.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        if self.process.isRunning {
            self.process.signal(SIGTERM)
            // Bounded: SIGTERM, then SIGKILL, polling instead of blocking a cooperative thread.
            let killDeadline = ContinuousClock.now + .seconds(5)
            while self.process.isRunning, ContinuousClock.now < killDeadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            self.process.signal(SIGKILL)
            while self.process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        }
        try? self.heldInput?.close()
        return Output(status: self.process.exitStatus ?? -1, stdout: self.stdout, stderr: self.stderr)
    }

    /// Starts `openssl s_server` on 127.0.0.1 port 0 and returns it with the port it printed.
    static func startServer(_ arguments: [String]) async throws -> (OpenSSLProcess, Int) {
        let server = try OpenSSLProcess(["s_server", "-accept", "127.0.0.1:0"] + arguments)
        guard let output = try await server.waitForStdout(matching: "ACCEPT"),
            let line = output.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT") }),
            let port = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
        else {
            throw OpenSSLProcessError(message: "s_server did not start: \(server.stderr)")
        }
        return (server, port)
    }
}

struct OpenSSLProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { self.message }
}

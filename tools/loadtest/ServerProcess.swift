import ArgumentParser
import Foundation

/// An `iamd` the load tester started as a child process, on a temporary data folder and a free port.
///
/// Spawned in its own process group: Ctrl-C at the terminal ends the load tester's measurement early (it
/// still reports and cleans up), and must not also stop the server under it.
final class SpawnedServer: Sendable {
    let pid: pid_t
    let directory: URL
    let port: Int
    var caFile: String { self.directory.appendingPathComponent("data/tls/ca.pem").path }
    var credentialsFile: String { self.directory.appendingPathComponent("data/root-credentials.json").path }

    /// The iamd next to this executable (`swift build` puts every product in one folder).
    static func defaultBinary() -> String? {
        let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidate = own.deletingLastPathComponent().appendingPathComponent("iamd").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    /// Starts `binary` and waits (at most `timeout`) for its `listening HOST:PORT` line.
    init(binary: String, timeout: Duration = .seconds(120)) throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "iam-loadtest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let data = self.directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let out = self.directory.appendingPathComponent("iamd.out").path
        let err = self.directory.appendingPathComponent("iamd.err").path
        let arguments = [
            binary, "--data-dir", data.path, "--port", "0", "--query-port", "off", "--log-level", "warning",
        ]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Files, not pipes: a chatty server can never block on a pipe nobody reads.
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, binary, &actions, &attributes, &argv, environ)
        guard spawned == 0 else {
            try? FileManager.default.removeItem(at: self.directory)
            throw ValidationError("cannot start \(binary): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var port: Int?
        while port == nil, ContinuousClock.now < deadline, Self.isRunning(pid) {
            let text = String(decoding: FileManager.default.contents(atPath: out) ?? Data(), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let colon = line.lastIndex(of: ":")
            {
                port = Int(line[line.index(after: colon)...])
            } else {
                usleep(20_000)
            }
        }
        guard let port else {
            let errors = String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self)
            Self.terminate(pid)
            try? FileManager.default.removeItem(at: self.directory)
            throw ValidationError("\(binary) did not start listening: \(errors)")
        }
        self.port = port
    }

    private static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// SIGTERM (iamd drains and exits), then SIGKILL after 10 s; reaps the child.
    private static func terminate(_ pid: pid_t) {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == 0 else { return }
        kill(pid, SIGTERM)
        for _ in 0..<1000 {
            if waitpid(pid, &status, WNOHANG) != 0 { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    /// Stops the server and removes its data folder.
    func stop() {
        Self.terminate(self.pid)
        try? FileManager.default.removeItem(at: self.directory)
    }
}

/// CPU time (user + system) of this process, in microseconds.
func ownCPUMicroseconds() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_utime.tv_sec * 1_000_000 + Int(usage.ru_utime.tv_usec) + usage.ru_stime.tv_sec * 1_000_000
        + Int(usage.ru_stime.tv_usec)
}

/// CPU time (user + system) of another process, in microseconds, from /proc/PID/stat.
func processCPUMicroseconds(pid: Int32) -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
    let ticks = sysconf(Int32(_SC_CLK_TCK))
    return (user + system) * 1_000_000 / max(ticks, 1)
}

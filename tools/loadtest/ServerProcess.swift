import ArgumentParser
import Foundation

/// An `iamd` the load tester started as a child process, on a temporary data folder and a free port.
final class SpawnedServer: @unchecked Sendable {
    // Only the Process object is mutable, and Foundation makes it safe to query from any thread.
    let process: Process
    let directory: URL
    let port: Int
    var pid: Int32 { self.process.processIdentifier }
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
        let out = self.directory.appendingPathComponent("iamd.out")
        let err = self.directory.appendingPathComponent("iamd.err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--data-dir", data.path, "--port", "0", "--log-level", "warning"]
        // Files, not pipes: a chatty server can never block on a pipe nobody reads.
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var port: Int?
        while port == nil, ContinuousClock.now < deadline, process.isRunning {
            let text = String(decoding: FileManager.default.contents(atPath: out.path) ?? Data(), as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }),
                let colon = line.lastIndex(of: ":")
            {
                port = Int(line[line.index(after: colon)...])
            } else {
                usleep(20_000)
            }
        }
        guard let port else {
            let errors = String(decoding: FileManager.default.contents(atPath: err.path) ?? Data(), as: UTF8.self)
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(at: self.directory)
            throw ValidationError("\(binary) did not start listening: \(errors)")
        }
        self.port = port
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and removes its data folder.
    func stop() {
        if self.process.isRunning {
            self.process.terminate()
            for _ in 0..<1000 where self.process.isRunning { usleep(10_000) }
            if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        }
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

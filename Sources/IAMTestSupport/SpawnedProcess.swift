public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, for every process a test starts: Foundation's `Process` is not
/// used. On Linux (Swift 6.3.1), `Process.run()` copies the whole 256-byte `d_name` of each `/proc/self/fd`
/// entry, reading past the end of glibc's directory buffer. When the test process holds many descriptors (the
/// connection-limit tests open about 1,400), that killed the whole test run with SIGSEGV about once in ten full
/// runs here, under load (swift-corelibs-foundation PR #5472 fixes it upstream).
///
/// `posix_spawn` opens the child's standard files itself (from paths: no descriptor of ours is involved), closes
/// every other descriptor in the child (`closefrom`), so no socket of the test process leaks into a child, and
/// resets signal dispositions and the mask to defaults, as `Process` did. The child is reaped here: ``exitStatus``
/// polls it, and one still running when this object goes away is killed and reaped on a thread of its own.
public final class SpawnedProcess: @unchecked Sendable {
    /// Where standard input comes from.
    public enum Input: Sendable {
        /// `/dev/null`: end of file at once.
        case nullDevice
        /// A file, read from its start.
        case file(String)
        /// A pipe whose write end is ``input``; the child sees end of file when it is closed.
        case pipe
    }

    /// The child's process id.
    public let pid: pid_t
    /// The write end of standard input with ``Input/pipe`` (closed when this object goes away).
    public let input: FileHandle?
    // `status` is the only mutable state; the lock makes polling from several tasks safe.
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` (a path; `/usr/bin/env` finds a program on PATH) with `arguments`, in
    /// `workingDirectory` if given, with `environment` (nil: this process's). Standard output and error go to the
    /// files at `stdout` and `stderr` (created or truncated; nil: `/dev/null`).
    public init(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        stdin: Input = .nullDevice,
        stdout: String? = nil,
        stderr: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        switch stdin {
        case .nullDevice:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        case .pipe:
            // Close-on-exec in this process (children spawned here close every descriptor above 2 anyway).
            guard pipe(&pipeEnds) == 0 else {
                throw ChildProcessError("pipe: \(String(cString: strerror(errno)))")
            }
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
        }
        let create = O_WRONLY | O_CREAT | O_TRUNC
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", create, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", create, 0o600)
        Self.gnu.closeFrom(&actions, 3)
        if let workingDirectory { Self.gnu.changeDirectory(&actions, workingDirectory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map {
            $0.map { strdup("\($0.key)=\($0.value)") } + [nil]
        }
        defer { for entry in envp ?? [] { free(entry) } }
        var pid: pid_t = 0
        let spawned = argv.withUnsafeBufferPointer { argvBuffer in
            if let envp {
                return envp.withUnsafeBufferPointer { envpBuffer in
                    posix_spawn(
                        &pid, executable, &actions, &attributes, argvBuffer.baseAddress!, envpBuffer.baseAddress!)
                }
            }
            return posix_spawn(&pid, executable, &actions, &attributes, argvBuffer.baseAddress!, environ)
        }
        if pipeEnds[0] >= 0 { close(pipeEnds[0]) }
        guard spawned == 0 else {
            if pipeEnds[1] >= 0 { close(pipeEnds[1]) }
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        self.input = pipeEnds[1] >= 0 ? FileHandle(fileDescriptor: pipeEnds[1], closeOnDealloc: true) : nil
    }

    /// The exit status, or the number of the signal that ended it; nil while the child runs.
    public var exitStatus: Int32? {
        self.lock.lock()
        defer { self.lock.unlock() }
        if let status = self.status { return status }
        var raw: Int32 = 0
        guard waitpid(self.pid, &raw, WNOHANG) == self.pid else { return nil }
        // WIFEXITED: the low seven bits are zero and the status is in the next byte; else they are the signal.
        let status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : raw & 0x7F
        self.status = status
        return status
    }

    /// Whether the child is still running.
    public var isRunning: Bool { self.exitStatus == nil }

    /// Sends `signal` unless the child has already been reaped (its pid could be another process's by then).
    public func signal(_ number: Int32) {
        self.lock.lock()
        defer { self.lock.unlock() }
        if self.status == nil { kill(self.pid, number) }
    }

    /// Waits, polling, until the child exits or `timeout` passes (blocking: for code off the cooperative pool).
    public func waitBlocking(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = self.exitStatus { return status }
            usleep(2000)
        }
        return self.exitStatus
    }

    /// What a program run to completion printed, byte for byte, and its exit status.
    public struct Output: Sendable {
        /// The exit status (or the terminating signal's number).
        public var status: Int32
        /// Standard output.
        public var stdout: [UInt8]
        /// Standard error.
        public var stderr: [UInt8]
        /// Standard error as text.
        public var errorText: String { String(decoding: self.stderr, as: UTF8.self) }
    }

    /// Runs a program to completion, its output to files in a temporary directory, and returns what it printed.
    /// Killed (and a failure) after `timeout` seconds. Blocking: for synchronous callers such as test fixtures.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        stdin: [UInt8] = [],
        workingDirectory: String? = nil,
        environment: [String: String]? = nil,
        timeout: TimeInterval = 120
    ) throws -> Output {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("iam-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["stdin", "stdout", "stderr"].map { directory.appendingPathComponent($0).path }
        try Data(stdin).write(to: URL(fileURLWithPath: paths[0]))
        let child = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment,
            workingDirectory: workingDirectory, stdin: .file(paths[0]), stdout: paths[1], stderr: paths[2])
        guard let status = child.waitBlocking(timeout: timeout) else {
            child.signal(SIGKILL)
            throw ChildProcessError("\(executable) \(arguments.joined(separator: " ")) did not finish in \(timeout) s")
        }
        func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }
        return Output(status: status, stdout: bytes(paths[1]), stderr: bytes(paths[2]))
    }

    deinit {
        try? self.input?.close()
        guard self.exitStatus == nil else { return }
        kill(self.pid, SIGKILL)
        // Reaped off this thread: the kill takes effect at once, but waiting for it here could block a
        // cooperative thread on a loaded machine.
        let pid = self.pid
        Thread.detachNewThread {
            var raw: Int32 = 0
            _ = waitpid(pid, &raw, 0)
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `_addchdir_np` (2.29): Swift's Glibc module
    /// does not declare these GNU extensions, so they are looked up once.
    private struct GNUSpawnActions: Sendable {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias ChangeDirectory =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        let closeFromFunction: CloseFrom
        let changeDirectoryFunction: ChangeDirectory

        init() {
            let handle = dlopen(nil, RTLD_NOW)
            guard let closeFrom = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np"),
                let changeDirectory = dlsym(handle, "posix_spawn_file_actions_addchdir_np")
            else { fatalError("test support needs glibc 2.34 or later (posix_spawn_file_actions_addclosefrom_np)") }
            self.closeFromFunction = unsafeBitCast(closeFrom, to: CloseFrom.self)
            self.changeDirectoryFunction = unsafeBitCast(changeDirectory, to: ChangeDirectory.self)
        }

        func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
            _ = self.closeFromFunction(&actions, lowest)
        }

        func changeDirectory(_ actions: inout posix_spawn_file_actions_t, _ path: String) {
            _ = path.withCString { self.changeDirectoryFunction(&actions, $0) }
        }
    }

    private static let gnu = GNUSpawnActions()
}

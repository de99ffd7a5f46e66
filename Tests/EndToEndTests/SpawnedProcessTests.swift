import Foundation
import IAMTestSupport
import Testing

/// The process starter every test uses (in place of Foundation's `Process`, whose `run()` crashed test runs when
/// the test process held many descriptors).
@Suite("Spawned processes")
struct SpawnedProcessTests {
    @Test("a child starts while hundreds of descriptors are open, and inherits none of them")
    func manyDescriptorsOpen() throws {
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        for _ in 0..<600 {
            let fd = open("/dev/null", O_RDONLY)  // not close-on-exec: only the spawn's closefrom keeps it out
            guard fd >= 0 else { break }
            opened.append(fd)
        }
        #expect(opened.count == 600)
        for _ in 0..<20 {
            let run = try SpawnedProcess.run("/bin/sh", ["-c", "ls /proc/self/fd | wc -l"], timeout: 30)
            #expect(run.status == 0, "\(run.errorText)")
            let count = Int(String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            // ls's standard input, output and error, and the descriptor it reads /proc/self/fd with.
            #expect(count == 4)
        }
    }

    @Test("exit codes and signals, a working directory, an environment, and standard input from a pipe")
    func statusDirectoryEnvironmentAndPipe() throws {
        #expect(try SpawnedProcess.run("/bin/sh", ["-c", "exit 3"]).status == 3)
        #expect(try SpawnedProcess.run("/bin/sh", ["-c", "kill -TERM $$"]).status == SIGTERM)
        let here = try SpawnedProcess.run(
            "/bin/sh", ["-c", "pwd; echo \"$GREETING\"; cat"], stdin: Array("from a file".utf8),
            workingDirectory: "/tmp", environment: ["GREETING": "hello"])
        #expect(String(decoding: here.stdout, as: UTF8.self) == "/tmp\nhello\nfrom a file")

        let child = try SpawnedProcess(executable: "/bin/cat", arguments: [], stdin: .pipe, stdout: nil)
        #expect(child.isRunning)
        try child.input?.write(contentsOf: Data("x".utf8))
        #expect(child.waitBlocking(timeout: 0.2) == nil)  // cat waits for the end of its input
        try child.input?.close()
        #expect(child.waitBlocking(timeout: 30) == 0)
        #expect(!child.isRunning)
    }
}

import Foundation
import IAMTestSupport
import Testing

/// The test harness's child processes: their exit must be seen even when a process they started outlives them.
@Suite struct ChildProcessTests {
    /// Foundation learns that a child exited only when every copy of the socket it gave the child is closed. A
    /// daemon the child leaves running (as `pg-cluster restart` leaves PostgreSQL), or any process spawned at the
    /// same moment that inherited the socket, kept a finished child "running" until the harness's timeout.
    @Test func aChildsExitIsSeenWhileAProcessItLeftRunningHoldsItsDescriptors() async throws {
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", "sleep 60 > /dev/null 2>&1 < /dev/null & echo $!; exit 3"],
            timeout: .seconds(20))
        if let pid = Int32(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGKILL) }
        #expect(result.status == 3)
    }

    @Test func aChildKilledByASignalReportsTheSignal() async throws {
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", "kill -KILL $$"], timeout: .seconds(20))
        #expect(result.status == SIGKILL)
    }
}

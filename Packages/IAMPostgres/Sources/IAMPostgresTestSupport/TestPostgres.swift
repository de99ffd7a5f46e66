public import Foundation
import IAMTestSupport

/// The PostgreSQL server tests run against: the one named by `IAM_TEST_POSTGRES_URL` (password in the file
/// `IAM_TEST_POSTGRES_PASSWORD_FILE`, or `PGPASSWORD`), else a throwaway cluster that
/// `tools/scripts/pg-cluster` starts for this test process (installing Debian's postgresql if missing) and
/// stops when the process exits. No test is skipped for want of a database.
public enum TestPostgres {
    /// A server tests can make databases on.
    public struct Server: Sendable {
        /// `postgres://user@host:port/postgres`.
        public var url: String
        /// The password, if the server wants one.
        public var password: String?
        /// The cluster's folder when this process (or the test script) started it: restarts are possible.
        public var clusterDirectory: String?
    }

    /// One database of its own for a test.
    public struct Database: Sendable {
        /// `postgres://user@host:port/<name>`.
        public var url: String
        /// The password, if any.
        public var password: String?
        /// The database's name.
        public var name: String
        /// The cluster's folder, if tests may restart it.
        public var clusterDirectory: String?

        /// The environment a child `iamd` reads the password from.
        public var environment: [String: String] { self.password.map { ["PGPASSWORD": $0] } ?? [:] }
    }

    /// The repository root, from this file's place in it (Packages/IAMPostgres/Sources/IAMPostgresTestSupport).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private static let started = Task<Server, any Error> {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["IAM_TEST_POSTGRES_URL"], !url.isEmpty {
            var password = environment["PGPASSWORD"]
            if let file = environment["IAM_TEST_POSTGRES_PASSWORD_FILE"], !file.isEmpty {
                password = try String(contentsOfFile: file, encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return Server(url: url, password: password, clusterDirectory: environment["IAM_TEST_POSTGRES_DIR"])
        }
        // tools/scripts/test-pg starts one and names it; a bare `swift test` gets one of its own.
        return try await TestPostgres.startCluster()
    }

    /// Starts a throwaway cluster of its own, stopped when this process exits: for tests that restart or
    /// stop PostgreSQL, which must not pull the server from under other tests running in parallel.
    public static func startCluster() async throws -> Server {
        let script = self.repositoryRoot.appendingPathComponent("tools/scripts/pg-cluster")
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"), [script.path, "start", "--owner-pid", String(getpid())],
            timeout: .seconds(600))
        guard result.status == 0 else {
            throw ChildProcessError("pg-cluster start failed (\(result.status)): \(result.errorOutput)")
        }
        var values: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let url = values["IAM_TEST_POSTGRES_URL"], let file = values["IAM_TEST_POSTGRES_PASSWORD_FILE"] else {
            throw ChildProcessError("pg-cluster printed no URL: \(result.output) \(result.errorOutput)")
        }
        let password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return Server(url: url, password: password, clusterDirectory: values["IAM_TEST_POSTGRES_DIR"])
    }

    /// The server (started on first use).
    public static func server() async throws -> Server { try await self.started.value }

    /// A new, empty database on `server` (the shared one by default), named after `label`.
    public static func makeDatabase(_ label: String = "t", on given: Server? = nil) async throws -> Database {
        let server: Server
        if let given { server = given } else { server = try await self.server() }
        let safe = label.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(20)
        let name = "iam_\(safe)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12))"
        try await self.psql(server, "CREATE DATABASE \(name)")
        guard let range = server.url.range(of: "/", options: .backwards), range.lowerBound > server.url.startIndex
        else { throw ChildProcessError("cannot read the database name off \(server.url)") }
        let url = server.url[..<range.lowerBound] + "/" + name
        return Database(
            url: String(url), password: server.password, name: name, clusterDirectory: server.clusterDirectory)
    }

    /// Runs `sql` on the server's own database through `psql`.
    public static func psql(_ server: Server, _ sql: String) async throws {
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["psql", server.url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            environment: server.password.map { ["PGPASSWORD": $0] } ?? [:])
        guard result.status == 0 else {
            throw ChildProcessError("psql \(sql) failed (\(result.status)): \(result.errorOutput)")
        }
    }

    /// Runs `sql` on `database` through `psql` and returns what it printed (unaligned, tuples only).
    @discardableResult
    public static func psql(_ database: Database, _ sql: String) async throws -> String {
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["psql", database.url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            environment: database.environment)
        guard result.status == 0 else {
            throw ChildProcessError("psql \(sql) failed (\(result.status)): \(result.errorOutput)")
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Restarts a cluster of ``startCluster()`` (`fast`, or `immediate`, which is like a crash) on the same
    /// port.
    public static func restartCluster(_ server: Server, mode: String = "fast") async throws {
        guard let directory = server.clusterDirectory else {
            throw ChildProcessError("the PostgreSQL server was given (IAM_TEST_POSTGRES_URL), not started here")
        }
        let script = self.repositoryRoot.appendingPathComponent("tools/scripts/pg-cluster")
        let result = try await ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"), [script.path, "restart", directory, mode], timeout: .seconds(120))
        guard result.status == 0 else {
            throw ChildProcessError("pg-cluster restart failed (\(result.status)): \(result.errorOutput)")
        }
    }
}

import ArgumentParser
import Foundation
import IAMClient
import IAMRPC
import IAMTLS
import IAMWire
import NIOCore
import NIOPosix

/// Drivers for tools/reliability: a crash trial (writes from many connections, `kill -9` of iamd, restart,
/// check) and connection churn for the soak. Both talk to a real iamd over TLS through IAMClient.
@main
struct Reliability: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-reliability",
        abstract: "Crash trials and connection churn against a real iamd (tools/reliability).",
        subcommands: [CrashTrial.self, Churn.self]
    )
}

/// Where an iamd listens and how to log in to it as its root key.
struct Endpoint {
    var port: Int
    var caFile: String
    var accessKeyID: String
    var secret: String

    /// Reads the root key iamd wrote on first start (`<data>/root-credentials.json`).
    static func credentials(_ path: String) throws -> (String, String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id = object["accessKeyId"] as? String, let secret = object["secretAccessKey"] as? String
        else { throw ValidationError("\(path) has no accessKeyId and secretAccessKey") }
        return (id, secret)
    }

    func client(_ group: any EventLoopGroup) throws -> RPCClient {
        try RPCClient(
            configuration: RPCClientConfiguration(
                host: "127.0.0.1",
                port: self.port,
                tls: TLSConfiguration.client(trustRootsPath: self.caFile, serverName: "127.0.0.1"),
                accessKeyID: self.accessKeyID,
                secretAccessKey: self.secret
            ),
            eventLoopGroup: group
        )
    }
}

/// An iamd child process on a data folder, on a port it picks.
final class Daemon {
    let process = Process()
    let port: Int
    let output: URL

    init(executable: String, dataDir: String, log: String) async throws {
        self.output = URL(fileURLWithPath: log)
        if !FileManager.default.fileExists(atPath: log) {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: self.output)
        handle.seekToEndOfFile()
        self.process.executableURL = URL(fileURLWithPath: executable)
        self.process.arguments = [
            "--data-dir", dataDir, "--port", "0", "--query-port", "off", "--log-level", "warning",
        ]
        self.process.standardOutput = handle
        self.process.standardError = handle
        let start = try String(contentsOf: self.output, encoding: .utf8).utf8.count
        try self.process.run()
        // Bounded wait for the `listening 127.0.0.1:<port>` line (first start makes certificates and keys).
        let deadline = ContinuousClock.now + .seconds(180)
        while true {
            let text = String(decoding: try Data(contentsOf: self.output).dropFirst(start), as: UTF8.self)
            if let range = text.range(of: "listening 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) {
                    self.port = port
                    return
                }
            }
            guard self.process.isRunning else { throw ValidationError("iamd exited before listening:\n\(text)") }
            guard ContinuousClock.now < deadline else {
                self.process.terminate()
                throw ValidationError("iamd did not listen within 180 s:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func kill9() {
        kill(self.process.processIdentifier, SIGKILL)
        self.process.waitUntilExit()
    }

    func stop() {
        guard self.process.isRunning else { return }
        self.process.interrupt()
        self.process.waitUntilExit()
    }
}

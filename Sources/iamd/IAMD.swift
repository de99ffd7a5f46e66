import ArgumentParser
import Dispatch
import Foundation
import IAMServer
import Logging

/// `iamd`: the swift-iam server. Parses its options and hands over to IAMServer.
@main
struct IAMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iamd",
        abstract: "The swift-iam server: AWS IAM's policy language over TLS."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port = 7443
    @Option(help: "Data folder (credential verifiers; root credentials on first start).") var dataDir = "data"
    @Option(help: "Server certificate chain (PEM).") var tlsCert = "data/tls/server.pem"
    @Option(help: "Server private key (PEM).") var tlsKey = "data/tls/server.key"
    @Option(help: "CA file for client certificates; turns on mutual TLS.") var clientCa: String?
    @Option(help: "The 12-digit account id of this server's principals.") var accountId = "123456789012"
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "iamd")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var configuration = DaemonConfiguration(
            dataDirectory: URL(fileURLWithPath: dataDir),
            certificatePath: tlsCert,
            privateKeyPath: tlsKey,
            logger: logger
        )
        configuration.host = host
        configuration.port = port
        configuration.clientCAPath = clientCa
        configuration.accountID = accountId
        let daemon: Daemon
        do {
            daemon = try await Daemon.start(configuration)
        } catch {
            logger.critical("iamd could not start: \(error)")
            throw ExitCode(1)
        }
        // One line on stdout that scripts and tests wait for.
        FileHandle.standardOutput.write(Data("listening \(host):\(daemon.port)\n".utf8))
        await Self.waitForTermination()
        logger.notice("shutting down: draining calls in flight")
        await daemon.shutdown()
    }

    /// Returns on SIGINT or SIGTERM.
    static func waitForTermination() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = Once(continuation)
            for number in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.fire() }
                source.resume()
                Once.keep(source)
            }
        }
    }
}

/// Resumes a continuation once, whichever signal comes first.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func fire() {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        lock.unlock()
        continuation?.resume()
    }

    static func keep(_ source: any DispatchSourceSignal) { sources.append(source) }
}

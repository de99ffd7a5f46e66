import ArgumentParser
import IAMClient
import IAMWire
import NIOCore

/// `iam ping [--payload-size N]`: one authenticated round trip to `iamd`, with its latency.
struct PingCommand: IAMLeafCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Check that iamd answers: TLS, authentication and one Health.Ping call."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Bytes of payload to echo (at most 1 MiB).")
    var payloadSize: Int = 0

    static func microseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)
    }

    func execute(_ io: CommandIO) async throws -> Int32 {
        guard (0...(1 << 20)).contains(payloadSize) else {
            io.printError("\n--payload-size must be 0...1048576")
            return CLIExit.usage
        }
        let size = payloadSize
        let outcome = await IAMClientRun.with(io: io, connection: connection) {
            client, _ throws(CLIFailure) -> String in
            var request = PingRequest()
            request.payload = ByteBuffer(repeating: 0x61, count: size)
            do {
                // Connect first (TLS + SCRAM, which runs PBKDF2 on both sides) so the ping's time is the call's alone.
                let connectStart = ContinuousClock.now
                let rpc = try await client.connection()
                do {
                    try await rpc.connect().get()
                } catch let error as RPCError {
                    throw IAMClientError(error)
                } catch {
                    throw IAMClientError(status: .unavailable, message: "\(error)")
                }
                let connected = ContinuousClock.now - connectStart
                let start = ContinuousClock.now
                let response = try await client.ping(request)
                let elapsed = ContinuousClock.now - start
                guard response.payload == request.payload else {
                    throw CLIFailure.other(
                        "the server echoed \(response.payload.readableBytes) bytes, not the \(size) sent")
                }
                return
                    "pong from \(client.configuration.endpoint) in \(Self.microseconds(elapsed)) µs (\(size) bytes echoed; "
                    + "connected and authenticated in \(Self.microseconds(connected) / 1000) ms; "
                    + "snapshot at revision \(response.revision), \(response.lag) behind the store)"
            } catch let failure as CLIFailure {
                throw failure
            } catch let error as IAMClientError {
                throw .client(error, endpoint: client.configuration.endpoint)
            } catch {
                throw .other("\(error)")
            }
        }
        switch outcome {
        case .success(let line):
            io.printLine(line)
            return CLIExit.ok
        case .failure(let failure):
            return failure.report(io, operation: "Ping")
        }
    }
}

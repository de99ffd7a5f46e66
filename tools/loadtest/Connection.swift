import ArgumentParser
import Foundation
import IAMClient
import IAMRPC
import NIOCore

/// Where the server is and who the load tester is: the same options and environment as the `iam` CLI
/// (resolved by IAMClient: IAM_ENDPOINT, IAM_CA_FILE, IAM_ACCESS_KEY_ID / IAM_SECRET_ACCESS_KEY, then a
/// profile of IAM_CREDENTIALS_FILE or ~/.iam/credentials, then data/root-credentials.json).
struct ServerOptions: ParsableArguments {
    @Option(help: "host:port of a running iamd (env IAM_ENDPOINT). Without it (and --port) a child iamd is started.")
    var endpoint: String?
    @Option(help: .hidden) var port: Int?
    @Option(help: "CA file to verify the server's certificate with (env IAM_CA_FILE).") var caFile: String?
    @Option(help: .hidden) var trust: String?
    @Option(help: "Name the server's certificate must carry (default: the endpoint's host).") var serverName: String?
    @Option(
        help:
            "Credentials file: INI profiles with AWS's key names, or JSON with accessKeyId and secretAccessKey (env IAM_CREDENTIALS_FILE; IAM_ACCESS_KEY_ID and IAM_SECRET_ACCESS_KEY win)."
    )
    var credentialsFile: String?
    @Option(help: "Profile of the credentials file (env IAM_PROFILE; default: default).") var profile: String?
    @Option(help: "Server pid, for its CPU time per call when it runs on this machine.") var serverPID: Int32?
    @Option(help: "The iamd binary to start as a child (temporary data folder) when no --endpoint is given.")
    var spawnServer: String?

    /// Whether the options name a running server (else the load tester starts one).
    var namesServer: Bool {
        self.endpoint != nil || self.port != nil || ProcessInfo.processInfo.environment["IAM_ENDPOINT"] != nil
    }
}

/// A resolved target: the client configuration every connection of the run is made from.
struct Target: Sendable {
    var configuration: IAMClientConfiguration

    var endpoint: String { self.configuration.endpoint }

    /// Resolves `options` through IAMClient's configuration, as `iam` does; a spawned server brings its own
    /// address, CA and root key.
    static func resolve(_ options: ServerOptions, spawned: SpawnedServer?, compression: Bool, timeout: Int) throws
        -> Target
    {
        var configuration: IAMClientConfiguration
        do {
            if let spawned {
                let (id, secret) = try readJSONCredentials(spawned.credentialsFile)
                configuration = try IAMClientConfiguration(
                    endpoint: "127.0.0.1:\(spawned.port)", caFile: spawned.caFile,
                    credentials: .fixed(IAMCredentials(accessKeyID: id, secretAccessKey: secret)))
            } else {
                // Today's --port means a server on this machine.
                let endpoint = options.endpoint ?? options.port.map { "127.0.0.1:\($0)" }
                let credentials: IAMCredentialProvider =
                    options.credentialsFile != nil || options.profile != nil
                    ? .profile(options.profile, file: options.credentialsFile) : .default
                configuration = try IAMClientConfiguration(
                    endpoint: endpoint, caFile: options.caFile ?? options.trust, credentials: credentials)
            }
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.serverName = options.serverName
        configuration.connection = ConnectionOptions(compression: compression)
        configuration.defaultTimeout = .seconds(timeout)
        return Target(configuration: configuration)
    }

    static func readJSONCredentials(_ path: String) throws -> (String, String) {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id = object["accessKeyId"] as? String, let key = object["secretAccessKey"] as? String
        else { throw LoadTestError("\(path) has no accessKeyId and secretAccessKey") }
        return (id, key)
    }

    /// A client (one connection) on `group`.
    func makeClient(group: any EventLoopGroup) -> IAMClient {
        IAMClient(configuration: self.configuration, eventLoopGroup: group)
    }

    /// A connection for the load itself: the client's `RPCClient`, driven from its event loop with
    /// `unaryFuture` (no Task per call, no retries: a failed call is a measured failure), connected now so
    /// the handshake is not measured.
    func connect(_ client: IAMClient) async throws -> RPCClient {
        let rpc = try await client.connection()
        do {
            try await rpc.connect().get()
        } catch {
            throw LoadTestError(
                "cannot connect to \(self.endpoint) (credentials \(self.configuration.credentials)): \(error)")
        }
        return rpc
    }
}

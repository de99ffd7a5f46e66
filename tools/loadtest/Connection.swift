import ArgumentParser
import Foundation
import IAMRPC
import IAMTLS
import NIOCore

/// Where the server is and who the load tester is: the same options and environment as the `iam` CLI.
struct ServerOptions: ParsableArguments {
    @Option(help: "host:port of a running iamd (env IAM_ENDPOINT). Without it (and --port) a child iamd is started.")
    var endpoint: String?
    @Option(help: .hidden) var port: Int?
    @Option(help: "CA file to verify the server's certificate with (env IAM_CA_FILE).") var caFile: String?
    @Option(help: .hidden) var trust: String?
    @Option(help: "Name the server's certificate must carry (default: the endpoint's host).") var serverName: String?
    @Option(
        help:
            "Credentials file: JSON with accessKeyId and secretAccessKey (env IAM_CREDENTIALS_FILE; IAM_ACCESS_KEY_ID and IAM_SECRET_ACCESS_KEY win)."
    )
    var credentialsFile: String?
    @Option(help: "Server pid, for its CPU time per call when it runs on this machine.") var serverPID: Int32?
    @Option(help: "The iamd binary to start as a child (temporary data folder) when no --endpoint is given.")
    var spawnServer: String?

    /// Whether the options name a running server (else the load tester starts one).
    var namesServer: Bool {
        self.endpoint != nil || self.port != nil || ProcessInfo.processInfo.environment["IAM_ENDPOINT"] != nil
    }
}

/// A resolved target: address, trust and access key.
struct Target: Sendable {
    var host: String
    var port: Int
    var caFile: String
    var serverName: String
    var accessKeyID: String
    var secretAccessKey: String

    var endpoint: String { "\(self.host):\(self.port)" }

    /// Resolves `options` (flags first, then IAM_* environment), the way `iam` does.
    static func resolve(_ options: ServerOptions, defaults: SpawnedServer? = nil) throws -> Target {
        let environment = ProcessInfo.processInfo.environment
        let host: String
        let port: Int
        if let spawned = defaults {
            (host, port) = ("127.0.0.1", spawned.port)
        } else if let given = options.port, options.endpoint == nil {
            (host, port) = ("127.0.0.1", given)
        } else {
            let endpoint = options.endpoint ?? environment["IAM_ENDPOINT"] ?? "127.0.0.1:7443"
            guard let colon = endpoint.lastIndex(of: ":"), let parsed = Int(endpoint[endpoint.index(after: colon)...]),
                (1...65535).contains(parsed)
            else { throw ValidationError("--endpoint must be HOST:PORT, got \"\(endpoint)\"") }
            host = String(endpoint[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            port = parsed
        }
        let caFile =
            defaults?.caFile ?? options.caFile ?? options.trust ?? environment["IAM_CA_FILE"] ?? "data/tls/ca.pem"
        guard FileManager.default.isReadableFile(atPath: caFile) else {
            throw ValidationError("cannot read the CA file \(caFile) (--ca-file or IAM_CA_FILE)")
        }
        let accessKeyID: String
        let secret: String
        if let spawned = defaults {
            (accessKeyID, secret) = try Self.readCredentials(spawned.credentialsFile)
        } else if let id = environment["IAM_ACCESS_KEY_ID"],
            let key = environment["IAM_SECRET_ACCESS_KEY"]
        {
            (accessKeyID, secret) = (id, key)
        } else {
            let path = options.credentialsFile ?? environment["IAM_CREDENTIALS_FILE"] ?? "data/root-credentials.json"
            (accessKeyID, secret) = try Self.readCredentials(path)
        }
        return Target(
            host: host, port: port, caFile: caFile, serverName: options.serverName ?? host, accessKeyID: accessKeyID,
            secretAccessKey: secret)
    }

    static func readCredentials(_ path: String) throws -> (String, String) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError(
                "no credentials: set IAM_ACCESS_KEY_ID and IAM_SECRET_ACCESS_KEY, or --credentials-file (cannot read \(path))"
            )
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let id = object["accessKeyId"] as? String, let key = object["secretAccessKey"] as? String
        else { throw ValidationError("\(path) has no accessKeyId and secretAccessKey") }
        return (id, key)
    }

    /// One connection to the target, on its own event loop of `group`.
    func makeClient(group: any EventLoopGroup, compression: Bool) throws -> RPCClient {
        var tls = TLSConfiguration.client(trustRootsPath: self.caFile, serverName: self.serverName)
        tls.minimumVersion = .tls12
        return try RPCClient(
            configuration: RPCClientConfiguration(
                host: self.host, port: self.port, tls: tls, accessKeyID: self.accessKeyID,
                secretAccessKey: self.secretAccessKey, connection: ConnectionOptions(compression: compression)),
            eventLoopGroup: group)
    }
}

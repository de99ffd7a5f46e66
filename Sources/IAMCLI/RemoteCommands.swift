public import ArgumentParser
import Foundation
import IAMClient
import IAMRPC
import IAMTLS
import IAMWire
import NIOCore
import NIOPosix

/// How the commands that talk to `iamd` reach it: endpoint, trust, and the caller's access key.
///
/// Each option also reads an environment variable, so a shell session sets them once.
struct ServerOptions: ParsableArguments {
    @Option(help: "host:port of iamd (env IAM_ENDPOINT).")
    var endpoint: String?

    @Option(help: "CA file to verify the server's certificate with (env IAM_CA_FILE).")
    var caFile: String?

    @Option(help: "Name the server's certificate must carry (default: the endpoint's host).")
    var serverName: String?

    @Option(
        help:
            "JSON file with accessKeyId and secretAccessKey (env IAM_CREDENTIALS_FILE; IAM_ACCESS_KEY_ID and IAM_SECRET_ACCESS_KEY win)."
    )
    var credentialsFile: String?

    @Option(help: "Seconds a call may take.")
    var timeout: Double = 10

    static let defaultEndpoint = "127.0.0.1:7443"

    /// The endpoint from the option, the environment or the default, in that order.
    var resolvedEndpoint: String {
        endpoint ?? ProcessInfo.processInfo.environment["IAM_ENDPOINT"] ?? Self.defaultEndpoint
    }

    /// The client configuration the options and environment describe, or a message saying what is missing.
    func clientConfiguration() throws(RemoteFailure) -> RPCClientConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let endpoint = resolvedEndpoint
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw RemoteFailure("--endpoint must be host:port, got \"\(endpoint)\"") }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }

        let accessKeyID: String
        let secret: String
        if let id = environment["IAM_ACCESS_KEY_ID"], let key = environment["IAM_SECRET_ACCESS_KEY"] {
            (accessKeyID, secret) = (id, key)
        } else {
            let path = credentialsFile ?? environment["IAM_CREDENTIALS_FILE"] ?? "data/root-credentials.json"
            struct File: Decodable {
                var accessKeyId: String
                var secretAccessKey: String
            }
            guard let data = FileManager.default.contents(atPath: path),
                let file = try? JSONDecoder().decode(File.self, from: data)
            else {
                throw RemoteFailure(
                    "no credentials: set IAM_ACCESS_KEY_ID and IAM_SECRET_ACCESS_KEY, or --credentials-file (cannot read \(path))"
                )
            }
            (accessKeyID, secret) = (file.accessKeyId, file.secretAccessKey)
        }

        var tls = TLSConfiguration(role: .client)
        tls.trustRootsPath = caFile ?? environment["IAM_CA_FILE"] ?? "data/tls/ca.pem"
        tls.serverName = serverName ?? host
        if let roots = tls.trustRootsPath, !FileManager.default.isReadableFile(atPath: roots) {
            throw RemoteFailure("cannot read the CA file \(roots) (--ca-file or IAM_CA_FILE)")
        }
        return RPCClientConfiguration(
            host: host,
            port: port,
            tls: tls,
            accessKeyID: accessKeyID,
            secretAccessKey: secret,
            connectTimeout: .milliseconds(Int64(timeout * 1000))
        )
    }

    var callOptions: CallOptions {
        var options = CallOptions()
        options.timeout = .milliseconds(Int64(timeout * 1000))
        return options
    }

    /// Runs `body` with a connected client and turns every failure into a message and exit status:
    /// 0 success, 1 the server answered with an error, 2 bad local input, 3 the server could not be reached.
    func withClient(_ io: CommandIO, _ body: (RPCClient) async throws -> Int32) async -> Int32 {
        do {
            let client = try RPCClient(
                configuration: try clientConfiguration(),
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton
            )
            defer { Task { await client.close() } }
            return try await body(client)
        } catch let failure as RemoteFailure {
            io.printError("error: \(failure.message)")
            return PolicyExit.badInput
        } catch let error as RPCError {
            let code = error.iamErrorCode.map { "\($0) " } ?? ""
            io.printError("error: \(code)(\(error.code)): \(error.message)")
            return error.code == .unavailable || error.code == .unauthenticated ? 3 : PolicyExit.failed
        } catch {
            io.printError("error: \(error)")
            return 3
        }
    }
}

/// A local problem with a remote command's input, reported before anything is sent.
struct RemoteFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// `iam ping [--payload-size N]`: one authenticated round trip to `iamd`, with its latency.
public struct PingCommand: IAMLeafCommand {
    /// Help text.
    public static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Check that iamd answers: TLS, authentication and one Health.Ping call."
    )

    @OptionGroup var server: ServerOptions

    @Option(help: "Bytes of payload to echo (at most 1 MiB).")
    var payloadSize: Int = 0

    /// Creates the command (ArgumentParser requirement).
    public init() {}

    static func microseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)
    }

    func execute(_ io: CommandIO) async throws -> Int32 {
        guard (0...(1 << 20)).contains(payloadSize) else {
            io.printError("error: --payload-size must be 0...1048576")
            return PolicyExit.badInput
        }
        return await server.withClient(io) { client in
            let health = HealthServiceClient(client: client)
            var request = PingRequest()
            request.payload = ByteBuffer(repeating: 0x61, count: payloadSize)
            // Connect first (TLS + SCRAM, which runs PBKDF2 on both sides) so the ping's time is the call's alone.
            let connectStart = ContinuousClock.now
            try await client.connect().get()
            let connected = ContinuousClock.now - connectStart
            let start = ContinuousClock.now
            let response = try await health.ping(request, options: server.callOptions)
            let elapsed = ContinuousClock.now - start
            guard response.payload == request.payload else {
                io.printError(
                    "error: the server echoed \(response.payload.readableBytes) bytes, not the \(payloadSize) sent")
                return PolicyExit.failed
            }
            io.printLine(
                "pong from \(server.resolvedEndpoint) in \(Self.microseconds(elapsed)) µs (\(payloadSize) bytes echoed; "
                    + "connected and authenticated in \(Self.microseconds(connected) / 1000) ms)"
            )
            return PolicyExit.ok
        }
    }
}

/// `iam simulate-custom-policy`: AWS's SimulateCustomPolicy, evaluated by the server.
public struct SimulateCustomPolicyCommand: IAMLeafCommand {
    /// Help text.
    public static let configuration = CommandConfiguration(
        commandName: "simulate-custom-policy",
        abstract:
            "Evaluate actions on resources against the given policies on the server (AWS's SimulateCustomPolicy).",
        discussion: """
            Policies are JSON text or file://PATH, as with the AWS CLI. Context entries use the AWS CLI's shorthand: \
            ContextKeyName=aws:SourceIp,ContextKeyValues=203.0.113.7,ContextKeyType=ip. Prints the result as JSON \
            in AWS's shape; exits 0 when every pair is allowed, 1 otherwise.
            """
    )

    @OptionGroup var server: ServerOptions

    @Option(parsing: .upToNextOption, help: "Identity policies (JSON or file://PATH).")
    var policyInputList: [String]

    @Option(parsing: .upToNextOption, help: "A permissions boundary (JSON or file://PATH).")
    var permissionsBoundaryPolicyInputList: [String] = []

    @Option(parsing: .upToNextOption, help: "Actions, e.g. s3:GetObject.")
    var actionNames: [String]

    @Option(parsing: .upToNextOption, help: "Resource ARNs (default *).")
    var resourceArns: [String] = []

    @Option(help: "A resource-based policy (JSON or file://PATH).")
    var resourcePolicy: String?

    @Option(help: "The ARN of the simulated caller.")
    var callerArn: String?

    @Option(parsing: .upToNextOption, help: "Context entries in the AWS CLI's shorthand.")
    var contextEntries: [String] = []

    /// Creates the command (ArgumentParser requirement).
    public init() {}

    func execute(_ io: CommandIO) async throws -> Int32 {
        var request = SimulateCustomPolicyRequest()
        do {
            request.policyInputList = try policyInputList.map { try Self.text($0, io) }
            request.permissionsBoundaryPolicyInputList = try permissionsBoundaryPolicyInputList.map {
                try Self.text($0, io)
            }
            request.resourcePolicy = try resourcePolicy.map { try Self.text($0, io) } ?? ""
            request.contextEntries = try contextEntries.map(Self.contextEntry)
        } catch let failure as RemoteFailure {
            io.printError("error: \(failure.message)")
            return PolicyExit.badInput
        }
        request.actionNames = actionNames
        request.resourceARNs = resourceArns
        request.callerARN = callerArn ?? ""
        request.maxItems = 1000
        return await server.withClient(io) { client in
            let response = try await AuthorizationServiceClient(client: client)
                .simulateCustomPolicy(request, options: server.callOptions)
            io.printLine(Self.render(response))
            return response.evaluationResults.allSatisfy { $0.evalDecision == .allowed }
                ? PolicyExit.ok : PolicyExit.failed
        }
    }

    static func text(_ argument: String, _ io: CommandIO) throws -> String {
        guard argument.hasPrefix("file://") else { return argument }
        let path = String(argument.dropFirst("file://".count))
        guard let bytes = try? io.read(path, limit: 1 << 20), let text = String(validating: bytes, as: UTF8.self) else {
            throw RemoteFailure("cannot read \(path) as UTF-8 text")
        }
        return text
    }

    /// Parses `ContextKeyName=k,ContextKeyValues=v1,v2,ContextKeyType=stringList`.
    static func contextEntry(_ text: String) throws -> ContextEntry {
        var fields: [String: [String]] = [:]
        var current: String?
        for token in text.split(separator: ",", omittingEmptySubsequences: false) {
            if let equals = token.firstIndex(of: "="),
                ["ContextKeyName", "ContextKeyValues", "ContextKeyType"].contains(String(token[..<equals]))
            {
                current = String(token[..<equals])
                fields[current!, default: []].append(String(token[token.index(after: equals)...]))
            } else if let key = current {
                fields[key, default: []].append(String(token))
            } else {
                throw RemoteFailure("context entry \"\(text)\": expected ContextKeyName=...,ContextKeyValues=...")
            }
        }
        guard let name = fields["ContextKeyName"]?.joined(separator: ","), !name.isEmpty,
            let values = fields["ContextKeyValues"]
        else { throw RemoteFailure("context entry \"\(text)\" needs ContextKeyName and ContextKeyValues") }
        var entry = ContextEntry()
        entry.contextKeyName = name
        entry.contextKeyValues = values
        let types: [String: ContextKeyType] = [
            "string": .string, "stringlist": .stringList, "numeric": .numeric, "numericlist": .numericList,
            "boolean": .boolean, "booleanlist": .booleanList, "ip": .ip, "iplist": .ipList, "binary": .binary,
            "binarylist": .binaryList, "date": .date, "datelist": .dateList,
        ]
        let typeName =
            fields["ContextKeyType"]?.joined(separator: ",").lowercased()
            ?? (values.count > 1 ? "stringlist" : "string")
        guard let type = types[typeName] else { throw RemoteFailure("unknown ContextKeyType \"\(typeName)\"") }
        entry.contextKeyType = type
        return entry
    }

    /// AWS's output shape, so scripts written for `aws iam simulate-custom-policy` read it unchanged.
    static func render(_ response: SimulatePolicyResponse) -> String {
        let output = Output(
            EvaluationResults: response.evaluationResults.map { result in
                Output.Result(
                    EvalActionName: result.evalActionName,
                    EvalResourceName: result.evalResourceName,
                    EvalDecision: decisionName(result.evalDecision),
                    MatchedStatements: result.matchedStatements.map {
                        Output.Statement(
                            SourcePolicyId: $0.sourcePolicyID,
                            StatementIndex: Int($0.statementIndex),
                            Sid: $0.sid.isEmpty ? nil : $0.sid
                        )
                    },
                    MissingContextValues: result.missingContextValues
                )
            },
            IsTruncated: response.isTruncated,
            Marker: response.isTruncated ? response.marker : nil
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(output) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decisionName(_ value: PolicyEvaluationDecisionType) -> String {
        switch value {
        case .allowed: "allowed"
        case .explicitDeny: "explicitDeny"
        default: "implicitDeny"
        }
    }

    // Field names are AWS's, hence the capitals.
    struct Output: Encodable {
        struct Statement: Encodable {
            var SourcePolicyId: String
            var StatementIndex: Int
            var Sid: String?
        }
        struct Result: Encodable {
            var EvalActionName: String
            var EvalResourceName: String
            var EvalDecision: String
            var MatchedStatements: [Statement]
            var MissingContextValues: [String]
        }
        var EvaluationResults: [Result]
        var IsTruncated: Bool
        var Marker: String?
    }
}

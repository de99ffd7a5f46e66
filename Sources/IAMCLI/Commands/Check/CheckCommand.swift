import ArgumentParser
import IAMClient
import IAMWire

/// `iam check`: may this principal do this action on this resource? One Authorize call, answered from the
/// server's current authorization snapshot.
struct CheckCommand: IAMLeafCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Ask the server whether a principal may do an action on a resource (exit 0 allowed, 1 denied).",
        discussion: """
            Prints the decision (allowed, explicitDeny or implicitDeny), then the statements that decided it and \
            the context keys the policies wanted but the request did not give. With --output json it prints the \
            Authorize response in AWS's member names instead. Context: --context aws:SourceIp=203.0.113.9; give a \
            key more than once for a list.
            """
    )

    @Option(help: "The principal: a user or role ARN, an assumed-role session ARN, or a service principal.")
    var principal: String?

    @Option(help: "The principal by access key id instead of ARN.")
    var accessKeyId: String?

    @Option(help: "The action, e.g. execute-api:Invoke.")
    var action: String

    @Option(help: "The resource ARN (default *).")
    var resource: String = "*"

    @Option(name: .customLong("context"), help: "Condition context as key=value (repeatable).")
    var context: [String] = []

    @Option(help: "A resource-based policy to evaluate with the principal's (JSON or file://PATH).")
    var resourcePolicy: String?

    @Option(help: "Demand a snapshot at least this fresh (the revision an earlier write returned).")
    var minRevision: UInt64?

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "text (default: the decision and its statements) or json.")
    var output: OutputFormat = .text

    func execute(_ io: CommandIO) async throws -> Int32 {
        var request = AuthorizeRequest()
        guard (principal == nil) != (accessKeyId == nil) else {
            io.printError("\nexactly one of --principal and --access-key-id is needed")
            return CLIExit.usage
        }
        request.principalARN = principal ?? ""
        request.accessKeyID = accessKeyId ?? ""
        request.action = action
        request.resource = resource
        request.minRevision = minRevision
        do {
            request.contextEntries = try Self.contextEntries(context)
            if let resourcePolicy {
                request.resourcePolicy = try ParameterReader(io: io).text(resourcePolicy, flag: "resource-policy")
            }
        } catch {
            io.printError("\n" + error.message)
            return CLIExit.usage
        }
        let outcome = await IAMClientRun.with(io: io, connection: connection) {
            client, _ throws(CLIFailure) -> AuthorizeResponse in
            do throws(IAMClientError) {
                return try await client.authorize(request)
            } catch {
                throw .client(error, endpoint: client.configuration.endpoint)
            }
        }
        switch outcome {
        case .failure(let failure):
            return failure.report(io, operation: "Authorize")
        case .success(let response):
            if output == .json {
                let json =
                    (try? Transcoder.decode(Array(response.encodedBuffer.readableBytesView), as: "AuthorizeResponse"))
                    ?? .null
                io.printLine(json.rendered())
            } else {
                io.printLine(Self.describe(response))
            }
            return response.decision == .allowed ? CLIExit.ok : CLIExit.denied
        }
    }

    /// `aws:SourceIp=203.0.113.9` entries; a key given twice becomes a list.
    static func contextEntries(_ arguments: [String]) throws(InputError) -> [ContextEntry] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
                throw InputError("Error parsing parameter '--context': expected key=value, got \"\(argument)\"")
            }
            let key = String(argument[..<equals])
            if values[key] == nil { order.append(key) }
            values[key, default: []].append(String(argument[argument.index(after: equals)...]))
        }
        return order.map { key in
            var entry = ContextEntry()
            entry.contextKeyName = key
            entry.contextKeyValues = values[key] ?? []
            entry.contextKeyType = entry.contextKeyValues.count > 1 ? .stringList : .string
            return entry
        }
    }

    static func describe(_ response: AuthorizeResponse) -> String {
        let decision =
            switch response.decision {
            case .allowed: "allowed"
            case .explicitDeny: "explicitDeny"
            default: "implicitDeny"
            }
        var lines = [decision]
        for statement in response.matchedStatements {
            let sid = statement.sid.isEmpty ? "" : " (Sid \(statement.sid))"
            // An implicit deny's matched statements are allows that did not suffice (a boundary's or a session
            // policy's allow was missing), not denials.
            let verb =
                switch response.decision {
                case .allowed: "allowed by"
                case .explicitDeny: "denied by"
                default: "allows, not enough alone:"
                }
            lines.append("  \(verb) \(statement.sourcePolicyID) statement \(statement.statementIndex)\(sid)")
        }
        if response.matchedStatements.isEmpty && response.decision != .allowed {
            lines.append("  no statement allows it")
        }
        if !response.missingContextValues.isEmpty {
            lines.append("  missing context: " + response.missingContextValues.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

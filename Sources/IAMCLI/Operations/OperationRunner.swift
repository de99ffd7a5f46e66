import Foundation
import IAMClient
import IAMRPC
import IAMWire

/// The one run path of every operation command: read the input (flags over `--cli-input-json`), encode it with
/// the IDL's shapes, call through ``IAMClient`` (following pagination), decode AWS's JSON, apply `--query`,
/// print in the chosen format, and turn failures into the AWS CLI's messages and exit statuses.
struct OperationRunner {
    let io: CommandIO
    let global: GlobalOptions

    func run(
        _ operation: OperationShape, parameters: [(field: String, input: ParameterInput?)],
        pagination: PaginationOptions?
    )
        async -> Int32
    {
        let input: AWSJSON
        do {
            if global.generateCliSkeleton {
                io.printLine(
                    Skeleton.make(Shapes.message(operation.input), hidingPagination: operation.paginated).rendered())
                return CLIExit.ok
            }
            input = try self.input(operation, parameters)
        } catch {
            return usageError(error.message)
        }
        let outcome = await IAMClientRun(io: io, global: global).call { client, debug throws(CLIFailure) in
            try await self.call(operation, input: input, pagination: pagination, client: client, debug: debug)
        }
        switch outcome {
        case .success(let output): return render(output, title: operation.name)
        case .failure(let failure): return failure.report(io, operation: operation.name)
        }
    }

    /// The request as AWS JSON: `--cli-input-json` first, then each flag given replaces its member.
    func input(_ operation: OperationShape, _ parameters: [(field: String, input: ParameterInput?)]) throws(InputError)
        -> AWSJSON
    {
        let shape = Shapes.message(operation.input)
        let reader = ParameterReader(io: io)
        var members: [AWSJSON.Member] = []
        if let cliInputJSON = global.cliInputJson {
            let text = try reader.text(cliInputJSON, flag: "cli-input-json")
            let parsed: AWSJSON
            do throws(InputError) {
                parsed = try AWSJSON.parse(text)
            } catch {
                throw InputError("Error parsing parameter '--cli-input-json': \(error.message)")
            }
            guard case .object(let given) = parsed else {
                throw InputError("Error parsing parameter '--cli-input-json': expected a JSON object")
            }
            members = given
        }
        for (name, value) in parameters {
            guard let value, let field = shape.field(named: name) else { continue }
            let json = try reader.value(value, for: field)
            members.removeAll { $0.key == field.awsName }
            members.append(.init(key: field.awsName, value: json))
        }
        // As the AWS CLI does, after flags and --cli-input-json are merged: a required member given neither way
        // is a usage error (252) before anything is sent, not a ValidationError from the service (254).
        let missing = (requiredMembers[operation.name] ?? []).filter { required in
            !members.contains { $0.key == required }
        }
        if !missing.isEmpty {
            let flags = missing.map { member in
                "--" + (shape.field(awsName: member)?.name ?? member).replacingOccurrences(of: "_", with: "-")
            }
            throw InputError(
                """
                usage: iam [options] <command> [parameters]
                To see help text, you can run:

                  iam --help
                  iam <command> --help

                iam: error: the following arguments are required: \(flags.joined(separator: ", "))
                """
            )
        }
        try Self.checkTags(members)
        return .object(members)
    }

    /// AWS's model requires both members of every Tag (a `Value` may be empty, but given): the AWS CLI refuses
    /// `--tags Key=team` before sending, with botocore's message, rather than tagging with an empty value.
    static func checkTags(_ members: [AWSJSON.Member]) throws(InputError) {
        guard case .array(let tags)? = members.first(where: { $0.key == "Tags" })?.value else { return }
        for (index, tag) in tags.enumerated() {
            guard case .object = tag else { continue }
            for member in ["Key", "Value"] where tag[member] == nil {
                throw InputError(
                    "Parameter validation failed:\nMissing required parameter in Tags[\(index)]: \"\(member)\"")
            }
        }
    }

    private func call(
        _ operation: OperationShape, input: AWSJSON, pagination: PaginationOptions?, client: IAMClient,
        debug: DebugTrace?
    ) async throws(CLIFailure) -> AWSJSON {
        func once(_ request: AWSJSON) async throws(CLIFailure) -> AWSJSON {
            let bytes: [UInt8]
            do {
                bytes = try Transcoder.encode(request, as: operation.input)
            } catch {
                throw .usage(error.message)
            }
            debug?.log(
                "calling \(operation.method.fullName) with \(bytes.count) bytes: \(request.rendered(indent: nil))")
            let start = ContinuousClock.now
            let response: RawMessage
            do {
                response = try await client.call(operation.method, RawMessage(bytes: bytes), as: RawMessage.self)
            } catch {
                debug?.log(
                    "failed after \(ContinuousClock.now - start): \(error.status) \(error.code ?? "-") \(error.message)"
                )
                throw .client(error, endpoint: client.configuration.endpoint)
            }
            debug?.log("answered in \(ContinuousClock.now - start) with \(response.bytes.count) bytes")
            do {
                return try Transcoder.decode(response.bytes, as: operation.output)
            } catch {
                throw .other("cannot read the response of \(operation.name): \(error.message)")
            }
        }
        guard operation.paginated, let pagination else { return try await once(input) }
        if pagination.noPaginate {
            // One call, the page as the service returns it: --page-size is its MaxItems, the token its Marker.
            guard case .object(var members) = input else { return try await once(input) }
            if let pageSize = pagination.pageSize {
                members.removeAll { $0.key == "MaxItems" }
                members.append(.init(key: "MaxItems", value: .int(Int64(pageSize))))
            }
            if let marker = try Paginator.decodeToken(pagination.startingToken).marker {
                members.removeAll { $0.key == "Marker" }
                members.append(.init(key: "Marker", value: .string(marker)))
            }
            return try await once(.object(members))
        }
        return try await Paginator(operation: operation, options: pagination).run(input, call: once)
    }

    private func render(_ output: AWSJSON, title: String) -> Int32 {
        var value = output
        if let query = global.query {
            do {
                value = try JMESPath.parse(query).evaluate(output)
            } catch {
                return usageError("Bad value for --query \(query): \(error.message)")
            }
        }
        // Calls that answer nothing print nothing, as the AWS CLI does.
        if global.query == nil, value == .object([]) { return CLIExit.ok }
        io.printLine(OutputFormatter.format(value, as: global.output, title: title))
        return CLIExit.ok
    }

    private func usageError(_ message: String) -> Int32 {
        io.printError("\n" + message)
        return CLIExit.usage
    }
}

/// How a remote command failed, each with the AWS CLI's message and exit status.
enum CLIFailure: Error {
    case usage(String)
    case client(IAMClientError, endpoint: String)
    case other(String)

    func report(_ io: CommandIO, operation: String) -> Int32 {
        switch self {
        case .usage(let message):
            io.printError("\n" + message)
            return CLIExit.usage
        case .other(let message):
            io.printError("\n" + message)
            return CLIExit.other
        case .client(let error, let endpoint):
            return Self.report(error, endpoint: endpoint, operation: operation, io)
        }
    }

    static func report(_ error: IAMClientError, endpoint: String, operation: String, _ io: CommandIO) -> Int32 {
        if error.isLocal {
            io.printError("\n\(error.message)")
            return CLIExit.other
        }
        // The server ended the call: AWS's code when it sent one, else the status in AWS's spelling.
        if error.code != nil || error.requestID != nil || error.status == .unauthenticated
            || error.status == .permissionDenied
        {
            let code = error.code ?? awsStyle(error.status)
            io.printError("\nAn error occurred (\(code)) when calling the \(operation) operation: \(error.message)")
            return CLIExit.serviceError
        }
        switch error.status {
        case .unavailable:
            io.printError(
                "\nCould not connect to the endpoint URL: \"\(endpoint)\" (\(error.message)). "
                    + "Check that iamd listens there (--endpoint or IAM_ENDPOINT) and that --ca-file or IAM_CA_FILE "
                    + "names the CA of its certificate.")
        case .deadlineExceeded:
            io.printError("\nRead timeout on endpoint URL: \"\(endpoint)\" (\(error.message)); see --cli-read-timeout.")
        case .cancelled:
            return CLIExit.interrupted
        default:
            io.printError("\n\(error.message)")
        }
        return CLIExit.other
    }

    /// `PERMISSION_DENIED` -> `PermissionDenied`.
    static func awsStyle(_ status: StatusCode) -> String {
        status.description.split(separator: "_").map { $0.prefix(1) + $0.dropFirst().lowercased() }.joined()
    }
}

/// `--debug`: timestamps and what crosses the wire, on standard error.
struct DebugTrace: Sendable {
    let io: CommandIO
    let start = ContinuousClock.now

    func log(_ message: String) {
        io.printError("[debug +\(ContinuousClock.now - start)] \(message)")
    }
}

/// Makes the client the options describe, runs a body with it, and closes it.
struct IAMClientRun {
    let io: CommandIO
    let global: GlobalOptions

    func call<Output: Sendable>(
        _ body: (IAMClient, DebugTrace?) async throws(CLIFailure) -> Output
    ) async -> Result<Output, CLIFailure> {
        await Self.with(io: io, connection: global.connection, body)
    }

    static func with<Output: Sendable>(
        io: CommandIO, connection: ConnectionOptions,
        _ body: (IAMClient, DebugTrace?) async throws(CLIFailure) -> Output
    ) async -> Result<Output, CLIFailure> {
        let debug = connection.debug ? DebugTrace(io: io) : nil
        let configuration: IAMClientConfiguration
        do {
            configuration = try connection.clientConfiguration()
        } catch {
            return .failure(.other(error.message))
        }
        debug?.log(
            "endpoint \(configuration.endpoint), CA \(configuration.caFile ?? "system trust store"), credentials \(configuration.credentialsSource), timeout \(configuration.defaultTimeout)"
        )
        let client = IAMClient(configuration: configuration)
        let result: Result<Output, CLIFailure>
        do {
            result = .success(try await body(client, debug))
        } catch {
            result = .failure(error)
        }
        await client.close()
        return result
    }
}

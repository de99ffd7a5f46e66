public import ArgumentParser
import Foundation
import IAMPolicy
import IAMPolicyVectors

/// A command of the `iam` tree that does work (as opposed to a group that only holds subcommands).
///
/// Leaves implement ``execute(_:)`` against a ``CommandIO``, so the binary and in-process tests run the same code.
protocol IAMLeafCommand: AsyncParsableCommand {
    /// Runs the command and returns the process exit status.
    func execute(_ io: CommandIO) async throws -> Int32
}

extension IAMLeafCommand {
    /// ArgumentParser's entry point: standard streams, and a non-zero status becomes the process's exit code.
    public mutating func run() async throws {
        let status = try await execute(.standard)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `iam`: the swift-iam command-line tool, shaped like `aws iam`.
///
/// Every rpc of the IDL's IAM, STS and Authorization services is a command named and flagged as the AWS CLI
/// names it (`iam create-user --user-name alice`), generated from the IDL into `Generated/` and run by one
/// shared path (``OperationRunner``). `iam check` asks for one authorization decision, `iam ping` checks the
/// connection, and `iam policy ...` works offline on policy documents.
public struct IAMCommand: AsyncParsableCommand {
    /// The command tree.
    public static let configuration = CommandConfiguration(
        commandName: "iam",
        abstract: "swift-iam command-line tool: AWS IAM-compatible identities, policies and checks.",
        discussion: """
            Output is AWS's response JSON (--output text|table for the AWS CLI's other formats, --query for a \
            JMESPath subset). Exit status: 0 success, 252 usage error, 254 the service refused the call, 255 \
            any other failure (no connection, no credentials), 130 interrupted; `iam check` exits 1 when denied.
            """,
        subcommands: [PolicyCommand.self, PingCommand.self, CheckCommand.self] + iamCommands + stsCommands
            + authorizationCommands
    )

    /// Creates the root command (ArgumentParser requirement).
    public init() {}

    /// Global options that take a value, which the AWS CLI accepts before the command as well as after it.
    static let globalOptionsWithValue: Set<String> = [
        "--endpoint", "--ca-file", "--server-name", "--profile", "--credentials-file", "--cli-read-timeout",
        "--cli-connect-timeout", "--output", "--query", "--endpoint-url", "--ca-bundle", "--region", "--color",
    ]
    /// Global flags, which may come before the command as well.
    static let globalFlags: Set<String> = ["--debug", "--no-cli-pager"]

    /// Moves global options written before the command (`iam --output text list-users`) after it, where the
    /// commands declare them.
    static func normalized(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if globalOptionsWithValue.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if globalFlags.contains(argument) {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        // `iam sts assume-role`, as `aws sts assume-role` is written: the STS commands are iam's own.
        var command = Array(arguments[index...])
        if command.count >= 2, command[0] == "sts", stsCommandNames.contains(command[1]) {
            command.removeFirst()
        } else if leading.isEmpty || command.isEmpty {
            return arguments
        }
        return command + leading
    }

    /// The names of the STS service's commands (`assume-role`, `get-caller-identity`).
    static let stsCommandNames = Set(stsCommands.compactMap { $0.configuration.commandName })

    /// Parses `arguments` (without the program name) and runs the chosen command against `io`.
    ///
    /// Returns the exit status: 0 on success, 1 when a validation, evaluation or check said no, 252 on a usage
    /// error (help and usage text go to `io` like the binary prints them), 254 when the service refused a call,
    /// 255 on any other failure.
    public static func run(arguments: [String], io: CommandIO) async -> Int32 {
        let arguments = normalized(arguments)
        do {
            if let operation = parsedOperation(arguments) {
                return try await operation.execute(io)
            }
            var command = try await asyncParseAsRoot(arguments)
            if let leaf = command as? any IAMLeafCommand {
                return try await leaf.execute(io)
            }
            // A group without a subcommand, or ArgumentParser's own `help`: their run() throws a help request,
            // which the catch below renders exactly as ArgumentParser's main() would.
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            var status = exitCode(for: error).rawValue
            // ArgumentParser's usage errors (EX_USAGE) are the AWS CLI's 252.
            if status == ExitCode.validationFailure.rawValue { status = CLIExit.usage }
            let message = fullMessage(for: error)
            if !message.isEmpty {
                if status == 0 { io.printLine(message) } else { io.printError(message) }
            }
            return status
        }
    }

    /// The operation commands by their names (`get-user`).
    static let operations: [String: any OperationCommand.Type] = Dictionary(
        (iamCommands + stsCommands + authorizationCommands).map { ($0.configuration.commandName ?? "", $0) },
        uniquingKeysWith: { first, _ in first }
    )

    /// A command line naming one operation, parsed by that operation's command alone.
    ///
    /// Parsing from the root makes ArgumentParser visit every one of the ~90 subcommands, and its dynamic casts
    /// over a binary with thousands of protocol conformances took about a sixth of a `get-user`'s CPU time. Anything
    /// but a clean parse (help, a usage error) returns nil, and the caller parses from the root, so help and error
    /// text stay exactly ArgumentParser's.
    static func parsedOperation(_ arguments: [String]) -> (any OperationCommand)? {
        guard let name = arguments.first, let type = operations[name] else { return nil }
        let rest = Array(arguments.dropFirst())
        guard !rest.contains(where: { $0 == "--help" || $0 == "-h" || $0 == "help" }) else { return nil }
        func parse<Command: OperationCommand>(_ type: Command.Type) -> (any OperationCommand)? {
            try? Command.parse(rest)
        }
        return parse(type)
    }

    /// The `iam` binary's entry point: runs ``run(arguments:io:)`` on the process's arguments and streams, then
    /// exits with its status (the same code path as in-process tests, unlike ArgumentParser's `main()`).
    public static func runAsProcess() async -> Never {
        // Ctrl-C ends the process with the AWS CLI's status; nothing a command does needs undoing.
        signal(SIGINT) { _ in _exit(130) }
        let status = await run(arguments: Array(CommandLine.arguments.dropFirst()), io: .standard)
        Foundation.exit(status)
    }
}

/// `iam policy`: offline work on policy documents.
public struct PolicyCommand: AsyncParsableCommand {
    /// The group's subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate policy documents and evaluate requests against them, offline.",
        subcommands: [ValidateCommand.self, EvaluateCommand.self]
    )

    /// Creates the group (ArgumentParser requirement).
    public init() {}
}

/// Exit statuses shared by the policy commands.
enum PolicyExit {
    /// Everything valid / every case as expected.
    static let ok: Int32 = 0
    /// A document is invalid, or a case's result differs from its expectation.
    static let failed: Int32 = 1
    /// An input could not be read or is not in the expected format.
    static let badInput: Int32 = 2
}

/// `iam policy validate [--kind KIND] FILE|-`.
public struct ValidateCommand: IAMLeafCommand {
    /// Help text.
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a policy document as AWS would.",
        discussion: """
            Prints `valid` (exit 0) or the AWS error, e.g. `MalformedPolicyDocument: Statement[0].Effect: ...` \
            (exit 1). A valid document may also get `warning: ...` lines, as IAM Access Analyzer's policy \
            validation gives them, for parts AWS accepts but that can never match (a date that does not parse); \
            with --strict a warning makes the exit status 1. \
            Kinds: \(PolicyDocumentKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """
    )

    /// The kind of document (decides which elements are allowed and the size quota).
    @Option(help: "identity (managed), inline-user, inline-group, inline-role, trust, resource or boundary.")
    var kind: String = PolicyDocumentKind.identity.rawValue

    /// The document file, or `-` for standard input.
    @Argument(help: "The policy document file, or - for standard input.")
    var file: String

    /// Treat warnings as failures.
    @Flag(help: "Exit with status 1 when the document is valid but has warnings.")
    var strict = false

    /// The most bytes read from the document file (plus one, to tell "too large" apart).
    static let maxReadBytes = 1 << 20

    /// Creates the command (ArgumentParser requirement).
    public init() {}

    func execute(_ io: CommandIO) async throws -> Int32 {
        guard let kind = PolicyDocumentKind(rawValue: kind) else {
            io.printError(
                "error: unknown kind \"\(self.kind)\"; use one of "
                    + PolicyDocumentKind.allCases.map(\.rawValue).joined(separator: ", "))
            return PolicyExit.badInput
        }
        let bytes: [UInt8]
        do {
            // The engine refuses oversized input itself (its bound is far below this one); reading at most this
            // much keeps a huge or endless input from filling memory.
            bytes = try io.read(file, limit: Self.maxReadBytes)
        } catch {
            io.printError("error: cannot read \(file): \(error.localizedDescription)")
            return PolicyExit.badInput
        }
        do throws(PolicyError) {
            let document = try PolicyDocument.parse(bytes: bytes, kind: kind)
            io.printLine("valid")
            for warning in document.warnings { io.printLine("warning: \(warning)") }
            return strict && !document.warnings.isEmpty ? PolicyExit.failed : PolicyExit.ok
        } catch {
            io.printLine(error.description)
            return PolicyExit.failed
        }
    }
}

/// `iam policy evaluate --cases FILE [--validation] [--bench SECONDS]`.
public struct EvaluateCommand: IAMLeafCommand {
    /// Help text.
    public static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Run policy test vectors, or benchmark the engine on them.",
        discussion: """
            Prints one JSON line per case: {"id","decision","matched":[{"policy","type","index","sid"}],\
            "missingContextKeys"} (with --validation: {"id","decision":"valid"|"invalid","error_code","message"}). \
            A case whose result differs from what it expects also gets a "mismatch" field, and the exit status is 1. \
            With --bench, each case's policies are compiled once and the cases' requests are evaluated round-robin \
            for that many seconds; one line {"checks","seconds","checksPerSecond","nsPerCheck"} is printed.
            """
    )

    /// The case file, or `-` for standard input.
    @Option(help: "The JSON case file (an array of cases), or - for standard input.")
    var cases: String

    /// Validation cases instead of evaluation cases.
    @Flag(help: "The file holds validation cases ({id, kind, document, expect: valid|invalid, error_code}).")
    var validation = false

    /// Benchmark duration.
    @Option(help: "Benchmark for this many seconds (0 < SECONDS <= 3600) instead of checking expectations.")
    var bench: Double?

    /// A fixed number of benchmark checks instead of a duration.
    @Option(
        help: ArgumentHelp(
            "Benchmark exactly this many checks (1...1e9) instead of for a time: a fixed amount of work, for counting "
                + "instructions with valgrind --tool=callgrind (run N and 2N; the difference over N is per check)."))
    var benchChecks: Int?

    /// Creates the command (ArgumentParser requirement).
    public init() {}

    /// Rejects option combinations that make no sense before any work is done.
    public func validate() throws {
        if let benchChecks {
            guard (1...1_000_000_000).contains(benchChecks) else {
                throw ValidationError("--bench-checks takes 1...1000000000")
            }
            guard bench == nil else { throw ValidationError("give --bench or --bench-checks, not both") }
            guard !validation else { throw ValidationError("--bench-checks measures evaluation; drop --validation") }
        }
        if let bench {
            guard bench > 0, bench <= 3600 else { throw ValidationError("--bench takes 0 < SECONDS <= 3600") }
            guard !validation else { throw ValidationError("--bench measures evaluation; drop --validation") }
        }
    }

    func execute(_ io: CommandIO) async throws -> Int32 {
        let bytes: [UInt8]
        do {
            bytes = try io.read(cases, limit: VectorFile.maxFileBytes)
        } catch {
            io.printError("error: cannot read \(cases): \(error.localizedDescription)")
            return PolicyExit.badInput
        }
        guard bytes.count <= VectorFile.maxFileBytes else {
            io.printError("error: \(cases) is larger than \(VectorFile.maxFileBytes) bytes")
            return PolicyExit.badInput
        }
        do throws(VectorFileError) {
            if validation {
                return report(try VectorFile.validationCases(bytes).map(VectorRunner.run), io: io)
            }
            let list = try VectorFile.evaluationCases(bytes)
            if bench != nil || benchChecks != nil {
                return runBench(list, io: io)
            }
            return report(list.map(VectorRunner.run), io: io)
        } catch {
            io.printError("error: \(cases): \(error)")
            return PolicyExit.badInput
        }
    }

    private func report(_ outcomes: [EvaluationOutcome], io: CommandIO) -> Int32 {
        for outcome in outcomes { io.printLine(outcome.jsonLine) }
        return summarize(total: outcomes.count, failed: outcomes.filter { !$0.passed }.map(\.id), io: io)
    }

    private func report(_ outcomes: [ValidationOutcome], io: CommandIO) -> Int32 {
        for outcome in outcomes { io.printLine(outcome.jsonLine) }
        return summarize(total: outcomes.count, failed: outcomes.filter { !$0.passed }.map(\.id), io: io)
    }

    private func summarize(total: Int, failed: [String], io: CommandIO) -> Int32 {
        // The summary goes to standard error so that standard output stays one JSON line per case.
        io.printError("\(total) cases: \(total - failed.count) as expected, \(failed.count) not")
        if !failed.isEmpty { io.printError("not as expected: " + failed.joined(separator: ", ")) }
        return failed.isEmpty ? PolicyExit.ok : PolicyExit.failed
    }

    private func runBench(_ list: [EvaluationCase], io: CommandIO) -> Int32 {
        guard !list.isEmpty else {
            io.printError("error: --bench needs at least one case")
            return PolicyExit.badInput
        }
        var workload: [(CompiledPrincipal, AuthorizationRequest)] = []
        workload.reserveCapacity(list.count)
        // Cases that share a principal and policies (a workload of many requests for one user) share one compiled
        // principal, as a server's snapshot would; otherwise each copy would be measured cold in its own memory.
        var compiledBySetup: [CaseSetup: CompiledPrincipal] = [:]
        for c in list {
            let setup = CaseSetup(c)
            if let compiled = compiledBySetup[setup] {
                workload.append((compiled, c.request))
                continue
            }
            do throws(PolicyError) {
                let compiled = try c.compile()
                compiledBySetup[setup] = compiled
                workload.append((compiled, c.request))
            } catch {
                io.printError("error: case \(c.id): \(error)")
                return PolicyExit.failed
            }
        }
        let result =
            if let benchChecks { PolicyBench.run(workload, checks: benchChecks) } else {
                PolicyBench.run(workload, seconds: bench ?? 1)
            }
        io.printLine(result.jsonLine)
        return PolicyExit.ok
    }
}

/// What a case compiles: its principal and its policies, byte for byte.
private struct CaseSetup: Hashable {
    var principal: Principal
    var policies: [[String]]
    var documents: [[UInt8]]

    init(_ c: EvaluationCase) {
        principal = c.principal
        policies = c.policies.map { [$0.id, $0.role.rawValue] + $0.parseKinds.map(\.rawValue) }
        documents = c.policies.map(\.document)
    }
}

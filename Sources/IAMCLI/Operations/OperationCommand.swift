import ArgumentParser

/// A command that is one rpc: generated per rpc of the IDL (`Generated/<Service>+Commands.swift`), run by
/// ``OperationRunner``, the one path every remote command takes (resolve the client, call, render, map errors).
protocol OperationCommand: IAMLeafCommand {
    /// The rpc and its message names.
    static var operation: OperationShape { get }
    /// Output, query, input and connection options.
    var global: GlobalOptions { get }
    /// Each request field's flag value, in field order (nil when the flag was not given).
    var parameters: [(field: String, input: ParameterInput?)] { get }
    /// The pagination options, on paginated commands.
    var paginationOptions: PaginationOptions? { get }
}

extension OperationCommand {
    var paginationOptions: PaginationOptions? { nil }

    func execute(_ io: CommandIO) async throws -> Int32 {
        await OperationRunner(io: io, global: global).run(
            Self.operation, parameters: parameters, pagination: paginationOptions)
    }
}

/// The AWS CLI's exit statuses.
enum CLIExit {
    static let ok: Int32 = 0
    /// `iam check`: the request is denied.
    static let denied: Int32 = 1
    /// The command line or a parameter could not be parsed.
    static let usage: Int32 = 252
    /// The service answered with an error.
    static let serviceError: Int32 = 254
    /// Anything else: no connection, no credentials, a timeout.
    static let other: Int32 = 255
    /// SIGINT.
    static let interrupted: Int32 = 130
}

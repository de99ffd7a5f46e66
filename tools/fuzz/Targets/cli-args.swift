// Fuzz target: whole `iam` command lines through ArgumentParser (IAMCLI's generated operation commands, with
// `cli.dict`), then the run path's input step. The `cli` target fuzzes the same input step, and everything after
// it, from parameters it builds itself: ArgumentParser's own parsing (reflection over each command's properties,
// rebuilt on every parse) is most of this target's time, so it runs an order of magnitude slower.
//
// Input: [command selector] [rest]. The selector picks one of the generated operation commands. Rest is
// NUL-separated: the first part is the content `-` (standard input) and every `file://`/`fileb://` argument read
// (the harness points each such argument at a temporary file holding it, so no other file is ever read), the
// others are the arguments after the command's name.
// Invariants: those of `checkInput` (Support/CLI): deterministic, bounded, the transcoder's fixed point.
import Foundation

@testable import IAMCLI

private func parse<Command: OperationCommand>(_ type: Command.Type, _ arguments: [String]) -> (any OperationCommand)? {
    try? Command.parse(arguments)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let type = cliCommands[Int(input.byte()) % cliCommands.count]
    let pieces = input.rest().split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    let content = Array(pieces.first ?? [])
    var arguments = pieces.count > 1 ? parts(pieces[1], limit: 24) : []
    let reads = redirectingFiles(&arguments)
    if reads > 0 {
        // The harness's own file: without it, every input would test a missing file instead.
        let written = FileManager.default.createFile(atPath: contentFile, contents: Data(content))
        precondition(written, "cannot write \(contentFile)")
    }
    guard let command = parse(type, arguments) else { return 0 }
    parseGlobals(query: command.global.query, startingToken: command.paginationOptions?.startingToken)
    // Bounded: every argument, and every read of the content (base64 makes 4 of 3 bytes), at most ~8 times over.
    let given = arguments.reduce(0) { $0 + $1.utf8.count + 8 } + reads * (content.count * 2 + 8)
    checkInput(type.operation, command.parameters, global: command.global, stdin: content, given: given)
    return 0
}

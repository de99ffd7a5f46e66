// Fuzz target: the `iam` CLI's own parsers (IAMCLI), the text a user types or a file holds, and the bytes a
// server answers. Whole command lines through ArgumentParser are the `cli-args` target's: here the parameters
// are built directly, so the executions go to our code rather than to ArgumentParser's.
//
// Input: [mode] [command selector] [rest]. The command selector picks one of the generated operation commands.
//   mode 0, the run path's input step: rest is NUL-separated: the content (standard input, and the file every
//     `file://`/`fileb://` value names: the harness points each at a temporary file holding it, so no other file
//     is ever read), `--cli-input-json`, `--query`, `--starting-token` (each absent when empty), then one part
//     per parameter: a byte choosing the field of the operation's input, then its values separated by 0x1F
//     (`--tags a b`), or, with the byte's high bit set, `--flag`/`--no-flag`. The input step merges
//     `--cli-input-json` with the flags and reads AWS shorthand, JSON for structures and the files; then the JSON
//     -> protobuf transcoder; `--query` and `--starting-token` are parsed as the run path parses them.
//   mode 1, a server's answer: rest is the protobuf bytes of the operation's response, decoded to AWS's JSON shape
//     and printed in the json, text and table formats.
//   mode 2, shorthand round trip: rest is NUL-separated keys and values; the harness writes them as shorthand
//     (`Key="value",List=[a,'b']`) and parses it back.
//   mode 3, JSON: rest is JSON text read as `--cli-input-json` reads it, then printed and read back.
// Invariants: no crash and no hang; what comes out is bounded by what went in; a request that encodes decodes
// and re-encodes to the same bytes (the transcoder's fixed point); shorthand parses back to the keys and values it
// was written from; printed JSON reads back to the same value.
import Foundation

@testable import IAMCLI

/// The global options of a command line that gives none, parsed once; each input sets its own on a copy.
private let defaultGlobals = try! GlobalOptions.parse([])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 4
    let type = cliCommands[Int(input.byte()) % cliCommands.count]
    let rest = input.rest()
    switch mode {
    case 0: inputStep(type.operation, rest)
    case 1: response(type.operation, rest)
    case 2: shorthandRoundTrip(rest)
    default: jsonRoundTrip(rest)
    }
    return 0
}

// MARK: Mode 0: the input step

private func inputStep(_ operation: OperationShape, _ bytes: [UInt8]) {
    let pieces = bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(28)
    guard let contentPiece = pieces.first else { return }
    let content = Array(contentPiece)
    let texts = pieces.dropFirst().prefix(3).map { String(decoding: $0, as: UTF8.self) }
    func text(_ index: Int) -> String? { index < texts.count && !texts[index].isEmpty ? texts[index] : nil }

    let fields = Shapes.message(operation.input).fields
    var parameters: [(field: String, input: ParameterInput?)] = []
    var arguments: [String] = []
    var reads = 0
    for piece in pieces.dropFirst(4) where !fields.isEmpty {
        guard let selector = piece.first else { continue }
        let field = fields[Int(selector & 0x7F) % fields.count].name
        if selector & 0x80 != 0 {
            parameters.append((field, .flag(piece.count % 2 == 0)))
            continue
        }
        var values = piece.dropFirst().split(separator: 0x1F, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        reads += redirectingFiles(&values)
        arguments += values
        parameters.append((field, ParameterInput(values)))
    }
    var cliInputJSON = text(0).map { [$0] } ?? []
    reads += redirectingFiles(&cliInputJSON)
    if reads > 0 {
        // The harness's own file: without it, every input would test a missing file instead.
        let written = FileManager.default.createFile(atPath: contentFile, contents: Data(content))
        precondition(written, "cannot write \(contentFile)")
    }

    var global = defaultGlobals
    global.cliInputJson = cliInputJSON.first
    parseGlobals(query: text(1), startingToken: text(2))
    // Bounded: every value and option, and every read of the content (base64 makes 4 of 3 bytes), ~8 times over.
    let given =
        (arguments + texts).reduce(0) { $0 + $1.utf8.count + 8 } + parameters.count * 8
        + reads * (content.count * 2 + 8)
    checkInput(operation, parameters, global: global, stdin: content, given: given)
}

// MARK: Mode 1: a server's answer

private func response(_ operation: OperationShape, _ bytes: [UInt8]) {
    let decoded: AWSJSON
    do { decoded = try Transcoder.decode(bytes, as: operation.output) } catch { return }
    let json = decoded.rendered()
    invariant(
        (try? AWSJSON.parse(json)) == decoded, "the printed response does not read back as itself: \(json.prefix(400))")
    _ = TextFormat.render(decoded)
    let width = 20 + bytes.count % 140
    _ = TableFormat.render(decoded, title: operation.name, terminalWidth: width)
}

// MARK: Mode 2: shorthand written and read back

private func shorthandRoundTrip(_ bytes: [UInt8]) {
    let items = parts(bytes, limit: 32)
    var text: [String] = []
    var expected: [(key: String, values: [String])] = []
    var index = 0
    while index + 1 < items.count {
        // A key is a name (AWS's member names are); a value list is `[...]` when the value holds 0x1F separators.
        let key = String(items[index].unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) })
        let values = items[index + 1].unicodeScalars.split(separator: "\u{1F}", omittingEmptySubsequences: false).map {
            String(String.UnicodeScalarView($0))
        }
        index += 2
        let written = values.compactMap(quoted)
        guard !key.isEmpty, written.count == values.count else { continue }
        text.append(values.count == 1 ? "\(key)=\(written[0])" : "\(key)=[\(written.joined(separator: ","))]")
        expected.append((key, values))
    }
    guard !text.isEmpty else { return }
    let shorthand = text.joined(separator: ",")
    let parsed: [Shorthand.Pair]
    do { parsed = try Shorthand.pairs(shorthand) } catch {
        invariant(false, "written shorthand does not parse: \(error) in \(shorthand)")
        return
    }
    invariant(
        parsed.map(\.key) == expected.map(\.key) && parsed.map(\.values) == expected.map(\.values),
        "shorthand \(shorthand) read back as \(parsed.map { "\($0.key)=\($0.values)" }), expected \(expected)")
}

/// `value` in double quotes, or single ones when it holds a double quote; nil when it holds both (the CLI's
/// shorthand has no escapes).
private func quoted(_ value: String) -> String? {
    if !value.unicodeScalars.contains("\"") { return "\"\(value)\"" }
    if !value.unicodeScalars.contains("'") { return "'\(value)'" }
    return nil
}

// MARK: Mode 3: JSON read and printed

private func jsonRoundTrip(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let value = try? AWSJSON.parse(text) else { return }
    for indent in [4, nil] as [Int?] {
        let printed = value.rendered(indent: indent)
        invariant(
            (try? AWSJSON.parse(printed)) == value, "printed JSON does not read back as itself: \(printed.prefix(400))")
    }
    invariant(
        value.rendered(indent: nil).utf8.count <= 8 * bytes.count + 16,
        "\(bytes.count) bytes of JSON printed as \(value.rendered(indent: nil).utf8.count)")
}

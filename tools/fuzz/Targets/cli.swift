// Fuzz target: the `iam` CLI's input parsing and response rendering (IAMCLI), the text a user types or a file
// holds, and the bytes a server answers.
//
// Input: [mode] [command selector] [rest]. The command selector picks one of the generated operation commands.
//   mode 0, a command line: rest is NUL-separated; the first part is the content `-` (standard input) and every
//     `file://`/`fileb://` argument read (the harness points each such argument at a temporary file holding
//     it, so no other file is ever read), the others are the arguments after the command's name. They go through
//     ArgumentParser, then the run path's input step (`--cli-input-json` merged with the flags, AWS shorthand,
//     JSON for structures, file loading), then the JSON -> protobuf transcoder; `--query` and
//     `--starting-token` are parsed as the run path parses them.
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

private let commands: [any OperationCommand.Type] = iamCommands + stsCommands + authorizationCommands
private let folder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("iam-fuzz-cli-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()
private let contentFile = folder.appendingPathComponent("content").path
/// A small response to evaluate `--query` over: evaluation can grow exponentially with the expression (as
/// JMESPath's does: `[@,@].[@,@]...`), so only short expressions are evaluated.
private let sampleResponse = try! AWSJSON.parse(
    #"{"Users":[{"UserName":"a","Tags":[{"Key":"k","Value":"v"}],"N":1},{"UserName":"b","N":2.5}],"IsTruncated":false}"#
)

private func parts(_ bytes: [UInt8], limit: Int) -> [String] {
    bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(limit).map {
        String(decoding: $0, as: UTF8.self)
    }
}

private func parse<Command: OperationCommand>(_ type: Command.Type, _ arguments: [String]) -> (any OperationCommand)? {
    try? Command.parse(arguments)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte() % 4
    let type = commands[Int(input.byte()) % commands.count]
    let rest = input.rest()
    switch mode {
    case 0: commandLine(type, rest)
    case 1: response(type.operation, rest)
    case 2: shorthandRoundTrip(rest)
    default: jsonRoundTrip(rest)
    }
    return 0
}

// MARK: Mode 0: a command line

private func commandLine(_ type: any OperationCommand.Type, _ bytes: [UInt8]) {
    let pieces = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    let content = Array(pieces.first ?? [])
    var arguments = pieces.count > 1 ? parts(Array(pieces[1]), limit: 24) : []
    var reads = 0
    for (index, argument) in arguments.enumerated() {
        // A value is the argument, or what follows `=` in `--flag=value` (which ArgumentParser accepts).
        var option = ""
        var value = Substring(argument)
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            option = String(argument[...equals])
            value = argument[argument.index(after: equals)...]
        }
        if value == "-" { reads += 1 }
        for prefix in ["file://", "fileb://"] where value.hasPrefix(prefix) {
            // An empty path stays empty (a load error); any other names the harness's file.
            arguments[index] = option + (value == prefix ? prefix : prefix + contentFile)
            reads += 1
        }
    }
    if reads > 0 {
        FileManager.default.createFile(atPath: contentFile, contents: Data(content))
    }
    guard let command = parse(type, arguments) else { return }
    let operation = type.operation
    let io = CommandIO.capturing(stdin: content)
    let runner = OperationRunner(io: io, global: command.global)

    if let query = command.global.query, let expression = try? JMESPath.parse(query), query.utf8.count <= 40 {
        _ = try? expression.evaluate(sampleResponse)
    }
    if let pagination = command.paginationOptions {
        _ = try? Paginator.decodeToken(pagination.startingToken)
    }

    let request: AWSJSON
    do { request = try runner.input(operation, command.parameters) } catch { return }
    let again = try? runner.input(operation, command.parameters)
    invariant(again == request, "reading the same command line twice gives different input")

    // Bounded: every argument, and every read of the content (base64 makes 4 of 3 bytes), at most ~8 times over.
    let given = arguments.reduce(0) { $0 + $1.utf8.count + 8 } + reads * (content.count * 2 + 8)
    let json = request.rendered(indent: nil)
    invariant(json.utf8.count <= 8 * given + 1024, "\(given) bytes of input became \(json.utf8.count) of JSON")

    let encoded: [UInt8]
    do { encoded = try Transcoder.encode(request, as: operation.input) } catch { return }
    invariant(encoded.count <= 4 * json.utf8.count + 64, "\(json.utf8.count) of JSON encoded to \(encoded.count) bytes")
    transcoderFixedPoint(encoded, as: operation.input)
}

/// Decoding what was encoded and encoding it again is a fixed point after one round (the first may normalise:
/// timestamps to seconds, policy documents to compact JSON, defaults made explicit).
private func transcoderFixedPoint(_ bytes: [UInt8], as message: String) {
    let decoded: AWSJSON
    do { decoded = try Transcoder.decode(bytes, as: message, topLevel: false) } catch {
        invariant(false, "the transcoder cannot decode what it encoded as \(message): \(error)")
        return
    }
    let reencoded: [UInt8]
    do { reencoded = try Transcoder.encode(decoded, as: message) } catch {
        invariant(false, "the decoded \(message) does not encode: \(error) \(decoded.rendered(indent: nil))")
        return
    }
    let decodedAgain = try? Transcoder.decode(reencoded, as: message, topLevel: false)
    invariant(
        decodedAgain == decoded,
        "\(message) changed on a second round: \(decoded.rendered(indent: nil)) -> \(decodedAgain?.rendered(indent: nil) ?? "error")"
    )
    invariant((try? Transcoder.encode(decoded, as: message)) == reencoded, "encoding \(message) is not deterministic")
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

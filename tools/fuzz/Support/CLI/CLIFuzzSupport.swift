// Shared by the `cli` and `cli-args` fuzz targets (tools/fuzz/build compiles it into the targets named cli*):
// the harness's file that stands for every path, and the checks made once a command's input has been read.
import Foundation

@testable import IAMCLI

let cliCommands: [any OperationCommand.Type] = iamCommands + stsCommands + authorizationCommands

private let folder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("iam-fuzz-cli-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()
/// The one file a fuzzed `file://`/`fileb://` argument may name: the harness writes the input's content there.
let contentFile = folder.appendingPathComponent("content").path

/// A small response to evaluate `--query` over: evaluation can grow exponentially with the expression (as
/// JMESPath's does: `[@,@].[@,@]...`), so only short expressions are evaluated.
private let sampleResponse = try! AWSJSON.parse(
    #"{"Users":[{"UserName":"a","Tags":[{"Key":"k","Value":"v"}],"N":1},{"UserName":"b","N":2.5}],"IsTruncated":false}"#
)

/// NUL-separated parts of `bytes`, at most `limit`, as text.
func parts(_ bytes: some Collection<UInt8>, limit: Int) -> [String] {
    bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(limit).map {
        String(decoding: $0, as: UTF8.self)
    }
}

/// Points a value naming a file (`file://…`, `fileb://…`, also after `--flag=`) at the harness's file, and
/// counts the reads of the content it stands for (`-` too). An empty path stays empty (a load error).
func redirectingFiles(_ arguments: inout [String]) -> Int {
    var reads = 0
    for (index, argument) in arguments.enumerated() {
        var option = ""
        var value = Substring(argument)
        if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
            option = String(argument[...equals])
            value = argument[argument.index(after: equals)...]
        }
        if value == "-" { reads += 1 }
        for prefix in ["file://", "fileb://"] where value.hasPrefix(prefix) {
            arguments[index] = option + (value == prefix ? prefix : prefix + contentFile)
            reads += 1
        }
    }
    return reads
}

/// `--query` and `--starting-token` parsed as the run path parses them.
func parseGlobals(query: String?, startingToken: String?) {
    if let query, let expression = try? JMESPath.parse(query), query.utf8.count <= 40 {
        _ = try? expression.evaluate(sampleResponse)
    }
    if let startingToken {
        _ = try? Paginator.decodeToken(startingToken)
    }
}

/// The run path's input step for `parameters`, then its invariants: reading is deterministic, the JSON is bounded
/// by what went in (`given` bytes), and a request that encodes is a fixed point of the transcoder.
func checkInput(
    _ operation: OperationShape, _ parameters: [(field: String, input: ParameterInput?)], global: GlobalOptions,
    stdin: [UInt8], given: Int
) {
    let runner = OperationRunner(io: CommandIO.capturing(stdin: stdin), global: global)
    let request: AWSJSON
    do { request = try runner.input(operation, parameters) } catch { return }
    let again = try? runner.input(operation, parameters)
    invariant(again == request, "reading the same input twice gives different JSON")

    let json = request.rendered(indent: nil)
    invariant(json.utf8.count <= 8 * given + 1024, "\(given) bytes of input became \(json.utf8.count) of JSON")

    let encoded: [UInt8]
    do { encoded = try Transcoder.encode(request, as: operation.input) } catch { return }
    invariant(encoded.count <= 4 * json.utf8.count + 64, "\(json.utf8.count) of JSON encoded to \(encoded.count) bytes")
    transcoderFixedPoint(encoded, as: operation.input)
}

/// Decoding what was encoded and encoding it again is a fixed point after one round (the first may normalise:
/// timestamps to seconds, policy documents to compact JSON, defaults made explicit).
func transcoderFixedPoint(_ bytes: [UInt8], as message: String) {
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

// iam-query-codegen: botocore's IAM and STS models joined to Protocol/iam.proto -> the AWS Query
// protocol codec of the front door (Sources/IAMQueryAPI/Generated/QueryOperations.swift).
//
//   iam-query-codegen --models <dir with iam/ and sts/service-2.json> [--proto Protocol/iam.proto]
//                     --output <path/QueryOperations.swift> [--cli-required-output <path/RequiredMembers.swift>]
//
// The second output is the CLI's table of required input members (Sources/IAMCLI/Generated).
//
// The models are read at generation time only (tools/scripts/aws-models fetches them); only the Swift
// output is committed.
import Foundation
import IAMCodeGen

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

var protoPath = "Protocol/iam.proto"
var modelsPath: String?
var output: String?
var cliRequiredOutput: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--proto":
        guard let value = arguments.popFirst() else { fail("--proto needs a path") }
        protoPath = value
    case "--models":
        guard let value = arguments.popFirst() else { fail("--models needs a directory") }
        modelsPath = value
    case "--output":
        guard let value = arguments.popFirst() else { fail("--output needs a file path") }
        output = value
    case "--cli-required-output":
        guard let value = arguments.popFirst() else { fail("--cli-required-output needs a file path") }
        cliRequiredOutput = value
    default: fail("iam-query-codegen: unknown argument '\(argument)'")
    }
}
guard let modelsPath, let output else { fail("usage: iam-query-codegen --models DIR --output FILE [--proto FILE]") }
do {
    let source = try String(contentsOfFile: protoPath, encoding: .utf8)
    var models: [AWSServiceModel] = []
    for service in ["iam", "sts"] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(modelsPath)/\(service)/service-2.json"))
        models.append(try AWSServiceModel(json: data))
    }
    var generator = try QueryProtocolGenerator(protoSource: source, protoFileName: protoPath, models: models)
    let text = generator.render(protoFileName: protoPath)
    let url = URL(fileURLWithPath: output)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
    print("iam-query-codegen: wrote \(output)")
    if let cliRequiredOutput {
        let required = generator.renderCLIRequiredMembers(protoFileName: protoPath)
        try Data(required.utf8).write(to: URL(fileURLWithPath: cliRequiredOutput))
        print("iam-query-codegen: wrote \(cliRequiredOutput)")
    }
} catch {
    fail("iam-query-codegen: \(error)")
}

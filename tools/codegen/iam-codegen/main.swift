// iam-codegen: Protocol/iam.proto -> the Generated/ folders. A thin wrapper around IAMCodeGen.
//
//   iam-codegen [--proto Protocol/iam.proto] [--output <repository root>]
//   iam-codegen --proto <file.proto> --messages-only <path/File.swift> [--import <Module>]...
//
// The first form writes every generated file (creating folders) and removes stale *.swift files
// from the Generated/ folders it owns, so a deleted service does not leave code behind. The second
// writes only the message types of a service-less IDL (the test-only probe) to one file.
import Foundation
import IAMCodeGen

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

var protoPath = "Protocol/iam.proto"
var outputRoot = "."
var messagesOnly: String?
var imports: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--proto":
        guard let value = arguments.popFirst() else { fail("--proto needs a path") }
        protoPath = value
    case "--output":
        guard let value = arguments.popFirst() else { fail("--output needs a directory") }
        outputRoot = value
    case "--messages-only":
        guard let value = arguments.popFirst() else { fail("--messages-only needs a file path") }
        messagesOnly = value
    case "--import":
        guard let value = arguments.popFirst() else { fail("--import needs a module name") }
        imports.append(value)
    case "-h", "--help":
        print("usage: iam-codegen [--proto Protocol/iam.proto] [--output <repository root>]")
        print("       iam-codegen --proto <file.proto> --messages-only <File.swift> [--import <Module>]...")
        exit(0)
    default:
        fail("iam-codegen: unknown argument '\(argument)' (see --help)")
    }
}

let source: String
do {
    source = try String(contentsOfFile: protoPath, encoding: .utf8)
} catch {
    fail("iam-codegen: cannot read \(protoPath): \(error)")
}

var options = CodeGenOptions()
options.messageImports = imports
let files: [GeneratedFile]
do {
    files = try CodeGenerator.generate(source: source, fileName: protoPath, options: options)
} catch {
    fail(error.description)
}

let fileManager = FileManager.default
if let messagesOnly {
    guard let messages = files.first(where: { $0.path.hasSuffix("/" + options.messagesFileName) }) else {
        fail("iam-codegen: no messages rendered")
    }
    guard files.count == 1 else { fail("iam-codegen: --messages-only is for IDL files without services") }
    do {
        let url = URL(fileURLWithPath: messagesOnly)
        try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(messages.contents.utf8).write(to: url)
    } catch {
        fail("iam-codegen: cannot write \(messagesOnly): \(error)")
    }
    print("iam-codegen: wrote \(messagesOnly) from \(protoPath)")
    exit(0)
}

let root = URL(fileURLWithPath: outputRoot)
let written = Set(files.map(\.path))
for directory in [options.messagesDirectory, options.serverDirectory, options.clientDirectory, options.cliDirectory] {
    let url = root.appendingPathComponent(directory)
    let existing = (try? fileManager.contentsOfDirectory(atPath: url.path)) ?? []
    for name in existing where name.hasSuffix(".swift") && !written.contains("\(directory)/\(name)") {
        do {
            try fileManager.removeItem(at: url.appendingPathComponent(name))
        } catch {
            fail("iam-codegen: cannot remove stale \(directory)/\(name): \(error)")
        }
    }
}
for file in files {
    let url = root.appendingPathComponent(file.path)
    do {
        try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(file.contents.utf8).write(to: url)
    } catch {
        fail("iam-codegen: cannot write \(file.path): \(error)")
    }
}
print("iam-codegen: wrote \(files.count) files from \(protoPath)")

import Foundation
import Testing

@testable import IAMCodeGen

/// Renders the repository's IDL files and compares with the committed Generated/ folders, after the
/// same `swift format` pass tools/scripts/generate applies. A failure means someone edited generated
/// code by hand or changed the generator/IDL without running tools/scripts/generate.
@Suite("Golden: committed generated code", .tags(.repository))
struct GoldenTests {
    static let root = RepositoryPaths.root

    static func formatted(_ files: [GeneratedFile]) async throws -> [String: String] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("iam-codegen-golden-\(UUID())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for file in files {
            let url = scratch.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.contents.write(to: url, atomically: true, encoding: .utf8)
        }
        let result = try await RepositoryPaths.run(
            "swift",
            [
                "format", "format", "-i", "--recursive", "--configuration",
                Self.root.appendingPathComponent(".swift-format").path, scratch.path,
            ]
        )
        #expect(result.status == 0, "swift format failed: \(result.output)")
        var contents: [String: String] = [:]
        for file in files {
            contents[file.path] = try String(contentsOf: scratch.appendingPathComponent(file.path), encoding: .utf8)
        }
        return contents
    }

    static func compare(_ expected: [String: String]) throws {
        for (path, text) in expected.sorted(by: { $0.key < $1.key }) {
            let url = Self.root.appendingPathComponent(path)
            let committed = try? String(contentsOf: url, encoding: .utf8)
            guard let committed else {
                Issue.record("\(path) is not committed; run tools/scripts/generate")
                continue
            }
            if committed != text {
                let committedLines = committed.split(separator: "\n", omittingEmptySubsequences: false)
                let renderedLines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let firstDifference =
                    zip(committedLines, renderedLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                    ?? min(committedLines.count, renderedLines.count)
                Issue.record(
                    """
                    \(path) differs from the generator's output at line \(firstDifference + 1); run tools/scripts/generate
                      committed: \(firstDifference < committedLines.count ? String(committedLines[firstDifference]) : "<end>")
                      rendered:  \(firstDifference < renderedLines.count ? String(renderedLines[firstDifference]) : "<end>")
                    """
                )
            }
        }
    }

    @Test("Protocol/iam.proto renders to exactly the committed Generated/ files")
    func iamProto() async throws {
        let source = try String(contentsOf: Self.root.appendingPathComponent("Protocol/iam.proto"), encoding: .utf8)
        let files = try CodeGenerator.generate(source: source, fileName: "Protocol/iam.proto")
        #expect(
            Set(files.map(\.path)) == [
                "Sources/IAMWire/Generated/SharedMessages.swift",
                "Sources/IAMWire/Generated/IAMService+Messages.swift",
                "Sources/IAMWire/Generated/AuthorizationService+Messages.swift",
                "Sources/IAMWire/Generated/STSService+Messages.swift",
                "Sources/IAMWire/Generated/HealthService+Messages.swift",
                "Sources/IAMWire/Generated/IAMMethods.swift",
                "Sources/IAMServer/Generated/IAMService+Server.swift",
                "Sources/IAMServer/Generated/AuthorizationService+Server.swift",
                "Sources/IAMServer/Generated/STSService+Server.swift",
                "Sources/IAMServer/Generated/HealthService+Server.swift",
                "Sources/IAMClient/Generated/IAMService+Client.swift",
                "Sources/IAMClient/Generated/AuthorizationService+Client.swift",
                "Sources/IAMClient/Generated/STSService+Client.swift",
                "Sources/IAMClient/Generated/HealthService+Client.swift",
                "Sources/IAMClient/Generated/IAMClient+Operations.swift",
                "Sources/IAMCLI/Generated/OperationShapes.swift",
                "Sources/IAMCLI/Generated/IAM+Commands.swift",
                "Sources/IAMCLI/Generated/STS+Commands.swift",
                "Sources/IAMCLI/Generated/Authorization+Commands.swift",
            ]
        )
        try Self.compare(try await Self.formatted(files))

        // No stale generated files left behind in the folders the generator owns.
        let options = CodeGenOptions()
        for directory in [
            options.messagesDirectory, options.serverDirectory, options.clientDirectory, options.cliDirectory,
        ] {
            let names = try FileManager.default.contentsOfDirectory(
                atPath: Self.root.appendingPathComponent(directory).path
            )
            // iam-query-codegen writes this one from botocore's model (check-generated keeps it fresh).
            let fromAWSModel: Set<String> = ["\(options.cliDirectory)/RequiredMembers.swift"]
            for name in names where name.hasSuffix(".swift") && !fromAWSModel.contains("\(directory)/\(name)") {
                #expect(
                    files.contains { $0.path == "\(directory)/\(name)" }, "stale generated file \(directory)/\(name)")
            }
        }
    }

    @Test("tools/codegen/Fixtures/probe.proto renders to the committed test messages")
    func probeProto() async throws {
        let source = try String(
            contentsOf: Self.root.appendingPathComponent("tools/codegen/Fixtures/probe.proto"),
            encoding: .utf8
        )
        var options = CodeGenOptions()
        options.messageImports = ["IAMWire"]
        options.messagesDirectory = "Tests/IAMWireTests/Generated"
        options.messagesFileName = "ProbeMessages.swift"
        let files = try CodeGenerator.generate(
            source: source,
            fileName: "tools/codegen/Fixtures/probe.proto",
            options: options
        )
        #expect(files.map(\.path) == ["Tests/IAMWireTests/Generated/ProbeMessages.swift"])
        try Self.compare(try await Self.formatted(files))
    }

    @Test("protoc accepts Protocol/iam.proto and the probe IDL")
    func protocAcceptsIDL() async throws {
        for path in ["Protocol/iam.proto", "tools/codegen/Fixtures/probe.proto"] {
            let result = try await RepositoryPaths.run(
                "protoc",
                ["--proto_path=.", "--descriptor_set_out=/dev/null", path],
                in: Self.root
            )
            #expect(
                result.status != 127,
                "protoc is not installed (Debian package protobuf-compiler); this test needs the real protoc"
            )
            #expect(result.status == 0, "protoc rejected \(path): \(result.output)")
        }
    }
}

import ArgumentParser
import Foundation
import IAMTestSupport
import Testing

@testable import IAMCLI

/// Every operation command checked against botocore's model of AWS's API (what the AWS CLI is generated
/// from): its name, every flag, pagination, and the shape of what it prints: a response with every member
/// set is decoded by the CLI's transcoder and each member's name, nesting and JSON type compared with the
/// model's output shape.
///
/// The models come from `tools/scripts/aws-models` (the folder in IAM_AWS_MODELS, as tools/scripts/test
/// exports it); without the variable the test runs the script itself and fails, never skips, when that fails.
@Suite("iam CLI against botocore's IAM and STS models")
struct AWSModelConformanceTests {
    /// Our calls AWS has no operation for.
    static let ownOperations: Set<String> = ["Authorize", "AuthorizeBatch"]
    /// Output members this service adds to AWS's shapes (documented in the README): the statement's index and
    /// Sid in a simulation's MatchedStatements.
    static let extensionMembers: Set<String> = ["Statement.StatementIndex", "Statement.Sid"]
    /// Input members of AWS's model the IDL does not carry (newer or Organizations features).
    static let unsupportedInputs: Set<String> = [
        "CreateRole.MaxSigninSessionDuration", "UpdateRole.MaxSigninSessionDuration",
        "UpdateRole.ResetMaxSigninSessionDuration", "SimulatePrincipalPolicy.PolicyExclusionList",
        "SimulateCustomPolicy.OrderedOrganizationPolicyInputList", "AssumeRole.ProvidedContexts",
        "AssumeRole.MinimumSessionTokenSize",
    ]

    struct Model {
        let operations: [String: [String: Any]]
        let shapes: [String: [String: Any]]
        let paginated: Set<String>
    }

    static func modelsFolder() throws -> URL {
        if let folder = ProcessInfo.processInfo.environment["IAM_AWS_MODELS"], !folder.isEmpty {
            return URL(fileURLWithPath: folder)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let script = root.appendingPathComponent("tools/scripts/aws-models")
        // Bounded: the script fetches botocore from PyPI the first time.
        let run = try SpawnedProcess.run(script.path, [], timeout: 600)
        let output = String(decoding: run.stdout, as: UTF8.self)
        guard run.status == 0, let line = output.split(separator: "\n").last else {
            throw ModelError(
                "IAM_AWS_MODELS is not set and tools/scripts/aws-models failed (status \(run.status)); "
                    + "run it where PyPI is reachable, or set IAM_AWS_MODELS to its folder")
        }
        return URL(fileURLWithPath: String(line))
    }

    struct ModelError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func load(_ service: String) throws -> Model {
        let folder = try modelsFolder().appendingPathComponent(service)
        let model = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("service-2.json")))
        let paginators = try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("paginators-1.json")))
        let root = try #require(model as? [String: Any])
        return Model(
            operations: try #require(root["operations"] as? [String: [String: Any]]),
            shapes: try #require(root["shapes"] as? [String: [String: Any]]),
            paginated: Set(((paginators as? [String: Any])?["pagination"] as? [String: Any])?.keys.map { $0 } ?? [])
        )
    }

    /// botocore's `xform_name(name, '-')`: how the AWS CLI names commands and flags.
    static func xform(_ name: String) -> String {
        var result = ""
        let characters = Array(name)
        for (index, character) in characters.enumerated() {
            if character.isUppercase && index > 0 {
                let previous = characters[index - 1]
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { result += "-" }
            }
            result += character.lowercased()
        }
        return result
    }

    static let commands: [any OperationCommand.Type] = iamCommands + stsCommands + authorizationCommands

    @Test("every IAM, STS and Authorization rpc has a command; each AWS operation named like AWS's")
    func names() throws {
        #expect(Self.commands.count >= 60)
        for (command, model) in try Self.awsCommands() {
            let operation = command.operation
            #expect(model.operations[operation.name] != nil, "AWS has no operation \(operation.name)")
            #expect(command.configuration.commandName == Self.xform(operation.name))
            #expect(operation.paginated == model.paginated.contains(operation.name), "\(operation.name) pagination")
        }
    }

    /// Each command AWS has an operation for, with the model of its service.
    static func awsCommands() throws -> [(command: any OperationCommand.Type, model: Model)] {
        let iam = try load("iam")
        let sts = try load("sts")
        return commands.filter { !ownOperations.contains($0.operation.name) }.map {
            ($0, $0.operation.service == "STS" ? sts : iam)
        }
    }

    @Test("every flag is an input member of AWS's operation, spelled as the AWS CLI spells it, and parses")
    func flags() throws {
        for (command, model) in try Self.awsCommands() {
            let operation = command.operation
            let inputName = (model.operations[operation.name]?["input"] as? [String: Any])?["shape"] as? String
            let members =
                inputName.flatMap { (model.shapes[$0]?["members"] as? [String: Any]).map { Set($0.keys) } } ?? []
            let ours = Shapes.message(operation.input).fields
            let pagination: Set<String> = operation.paginated ? ["Marker", "MaxItems"] : []
            for field in ours {
                #expect(members.contains(field.awsName), "\(operation.name): AWS has no input member \(field.awsName)")
                if pagination.contains(field.awsName) { continue }
                // The flag parses under the AWS CLI's name.
                let flag = "--" + Self.xform(field.awsName)
                let arguments: [String] = if case .scalar(.bool) = field.kind { [flag] } else { [flag, "x"] }
                #expect(throws: Never.self, "\(operation.name) \(flag)") { _ = try command.parse(arguments) }
            }
            for member in members.subtracting(ours.map(\.awsName)) {
                #expect(
                    Self.unsupportedInputs.contains("\(operation.name).\(member)"),
                    "\(operation.name): AWS's input member \(member) has no flag")
            }
        }
    }

    @Test("every command's output has AWS's member names, nesting and types")
    func outputShapes() throws {
        for (command, model) in try Self.awsCommands() {
            let operation = command.operation
            let output = try Transcoder.decode(Sample.message(operation.output), as: operation.output)
            guard let shapeName = (model.operations[operation.name]?["output"] as? [String: Any])?["shape"] as? String
            else {
                #expect(output == .object([]), "\(operation.name) returns nothing in AWS's model")
                continue
            }
            Self.compare(output, shapeName, model, path: operation.name)
        }
    }

    static func compare(_ value: AWSJSON, _ shapeName: String, _ model: Model, path: String) {
        guard let shape = model.shapes[shapeName], let type = shape["type"] as? String else {
            Issue.record("\(path): no shape \(shapeName)")
            return
        }
        switch (type, value) {
        case ("structure", .object(let members)):
            let modelMembers = shape["members"] as? [String: [String: Any]] ?? [:]
            for member in members {
                // Pagination adds these, as the AWS CLI's paginator does.
                if member.key == "NextToken" { continue }
                guard let memberShape = modelMembers[member.key]?["shape"] as? String else {
                    #expect(
                        extensionMembers.contains("\(shapeName).\(member.key)"),
                        "\(path).\(member.key) is not a member of AWS's \(shapeName)")
                    continue
                }
                compare(member.value, memberShape, model, path: "\(path).\(member.key)")
            }
        case ("list", .array(let items)):
            let memberShape = (shape["member"] as? [String: Any])?["shape"] as? String ?? ""
            #expect(!items.isEmpty, "\(path): the sample list is empty")
            for item in items { compare(item, memberShape, model, path: "\(path)[]") }
        case ("map", .object(let entries)):
            let valueShape = (shape["value"] as? [String: Any])?["shape"] as? String ?? ""
            for entry in entries { compare(entry.value, valueShape, model, path: "\(path).\(entry.key)") }
        case ("string", .string(let text)):
            if let allowed = shape["enum"] as? [String] {
                #expect(allowed.contains(text), "\(path): \(text) is not one of AWS's \(allowed)")
            }
        case ("string", .object) where shapeName == "policyDocumentType":
            break  // The AWS CLI prints policy documents as JSON, as we do.
        case ("timestamp", .string(let text)):
            #expect(text.hasSuffix("+00:00"), "\(path): timestamp \(text)")
        case ("boolean", .bool), ("integer", .int), ("long", .int):
            break
        default:
            Issue.record("\(path): \(value.typeName) where AWS's \(shapeName) is a \(type)")
        }
    }
}

/// A protobuf message of the IDL with every field set (lists and maps with one entry, enums at a named value,
/// strings that parse where AWS expects JSON documents), so the transcoder prints every member.
enum Sample {
    static func message(_ name: String, depth: Int = 0) -> [UInt8] {
        var writer = ByteWriter()
        for field in Shapes.message(name).fields {
            if case .map(let key, let value) = field.kind {
                var entry = ByteWriter()
                encode(.scalar(key), number: 1, field: field, depth: depth, into: &entry)
                encode(value, number: 2, field: field, depth: depth, into: &entry)
                writer.tag(field.number, 2)
                writer.delimited(entry.bytes[...])
                continue
            }
            encode(field.kind, number: field.number, field: field, depth: depth, into: &writer)
        }
        return writer.bytes
    }

    static func encode(_ kind: FieldKind, number: Int, field: FieldShape, depth: Int, into writer: inout ByteWriter) {
        switch kind {
        case .scalar(.string), .scalar(.bytes):
            let text =
                field.isPolicyDocument || field.name.hasSuffix("policy_list") ? #"{"Version":"2012-10-17"}"# : "x"
            writer.tag(number, 2)
            writer.delimited(Array(text.utf8)[...])
        case .scalar(.bool):
            writer.tag(number, 0)
            writer.varint(1)
        case .scalar:
            writer.tag(number, 0)
            writer.varint(field.isTimestamp ? 1_700_000_000_000 : 1)
        case .enumeration(let name):
            let value = Shapes.enums[name]?.values.first { AWSNames.enumValue($0.name, of: name) != nil }
            writer.tag(number, 0)
            writer.varint(UInt64(bitPattern: Int64(value?.number ?? 0)))
        case .message(let name):
            guard depth < 6 else { return }
            writer.tag(number, 2)
            writer.delimited(message(name, depth: depth + 1)[...])
        case .map:
            break
        }
    }
}

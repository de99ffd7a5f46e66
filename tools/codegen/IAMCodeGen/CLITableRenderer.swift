/// Renders the `iam` CLI's operation commands from the IDL: the shapes of every message and enum (what the
/// CLI's one transcoder turns from and into AWS's JSON) and, per service, one ArgumentParser command per rpc
/// with AWS CLI names (`create-user --user-name`). The run path itself is hand-written in IAMCLI; these files
/// only declare what each command is made of.
struct CLITableRenderer {
    let file: ProtoFile
    let swiftTypeNames: [String: String]
    let methodTableName: String

    /// Services that become `iam` commands (Health's `Ping` has its own hand-written `iam ping`).
    static let commandServices: Set<String> = ["IAM", "STS", "Authorization"]
    /// Request fields that the CLI's pagination options stand for on paginated commands.
    static let paginationFields: Set<String> = ["marker", "max_items"]

    /// `user_name` -> `user-name`; `CreateUser` -> `create-user`.
    static func kebab(_ name: String) -> String {
        if name.contains("_") || !name.contains(where: \.isUppercase) {
            return String(name.lowercased().map { $0 == "_" ? "-" : $0 })
        }
        var result = ""
        let characters = Array(name)
        for (index, character) in characters.enumerated() {
            if character.isUppercase && index > 0 {
                let previousLower = characters[index - 1].isLowercase
                let nextLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previousLower || (nextLower && characters[index - 1].isUppercase) { result += "-" }
            }
            result += character.lowercased()
        }
        return result
    }

    /// A Swift string literal of `text`.
    static func literal(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += " "
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\"\(escaped)\""
    }

    private func shortName(_ fullName: String) -> String {
        file.package.isEmpty ? fullName : String(fullName.dropFirst(file.package.count + 1))
    }

    private func kind(_ type: FieldType) -> String {
        switch type {
        case .scalar(let scalar): ".scalar(.\(scalar.rawValue))"
        case .message(let name): ".message(\(Self.literal(shortName(name))))"
        case .enumeration(let name): ".enumeration(\(Self.literal(shortName(name))))"
        case .map(let key, let value): ".map(key: .\(key.rawValue), value: \(kind(value)))"
        case .unresolved(let name): ".message(\(Self.literal(name)))"
        }
    }

    private func label(_ label: FieldLabel) -> String {
        switch label {
        case .singular: ".singular"
        case .optional: ".optional"
        case .repeated: ".repeated"
        }
    }

    /// `Sources/IAMCLI/Generated/OperationShapes.swift`: every message, enum and operation.
    func renderShapes(header: String, into writer: inout CodeWriter) {
        writer.lines(header)
        writer.line("import IAMWire")
        writer.line()
        writer.block("extension Shapes {") { writer in
            writer.line("/// Every message of the IDL by name (nested messages as `Outer.Inner`).")
            writer.block("static let messages: [String: MessageShape] = [", closer: "]") { writer in
                for message in file.allMessages {
                    writer.block("\(Self.literal(shortName(message.fullName))): MessageShape(fields: [", closer: "]),")
                    { writer in
                        for field in message.fields {
                            let help = Self.literal(field.comments.joined(separator: " "))
                            writer.line(
                                "FieldShape(\(field.number), \(Self.literal(field.name)), \(kind(field.type)), \(label(field.label)), help: \(help)),"
                            )
                        }
                    }
                }
            }
            writer.line()
            writer.line("/// Every enum of the IDL by name: value names as written, with their numbers.")
            writer.block("static let enums: [String: EnumShape] = [", closer: "]") { writer in
                for decl in file.allEnums {
                    let values = decl.values.map { "(\(Self.literal($0.name)), \($0.number))" }.joined(separator: ", ")
                    writer.line("\(Self.literal(shortName(decl.fullName))): EnumShape(values: [\(values)]),")
                }
            }
        }
    }

    /// `Sources/IAMCLI/Generated/<Service>+Commands.swift`: one command per rpc, and the service's list.
    func renderCommands(_ service: ServiceDecl, header: String, into writer: inout CodeWriter) {
        let messages = Dictionary(file.allMessages.map { ($0.fullName, $0) }, uniquingKeysWith: { first, _ in first })
        writer.lines(header)
        writer.line("import ArgumentParser")
        writer.line("import IAMWire")
        writer.line()
        writer.line("/// The `\(service.name)` service's commands, in IDL order.")
        writer.block("let \(Naming.methodName(service.name))Commands: [any OperationCommand.Type] = [", closer: "]") {
            writer in
            for method in service.methods { writer.line("\(method.name)Command.self,") }
        }
        for method in service.methods {
            let paginated = PaginatorRenderer.isPaginated(method, in: file)
            let input = messages[method.inputType]!
            let fields = input.fields.filter { !paginated || !Self.paginationFields.contains($0.name) }
            writer.line()
            writer.line("/// `iam \(Self.kebab(method.name))`: \(service.name).\(method.name).")
            writer.block("struct \(method.name)Command: OperationCommand {") { writer in
                writer.line("static let configuration = CommandConfiguration(")
                writer.line("    commandName: \(Self.literal(Self.kebab(method.name))),")
                writer.line("    abstract: \(Self.literal(method.comments.joined(separator: " ")))")
                writer.line(")")
                writer.line("static let operation = OperationShape(")
                writer.line(
                    "    service: \(Self.literal(service.name)), name: \(Self.literal(method.name)), method: \(methodTableName).\(service.name).\(Naming.escaped(Naming.methodName(method.name))),"
                )
                writer.line(
                    "    input: \(Self.literal(shortName(method.inputType))), output: \(Self.literal(shortName(method.outputType))), paginated: \(paginated)"
                )
                writer.line(")")
                writer.line()
                writer.line("@OptionGroup var global: GlobalOptions")
                if paginated { writer.line("@OptionGroup var pagination: PaginationOptions") }
                for field in fields {
                    let flag = Self.literal(Self.kebab(field.name))
                    let help = Self.literal(field.comments.joined(separator: " "))
                    let property = Naming.escaped(Naming.lowerCamel(field.name))
                    if field.label == .repeated {
                        writer.line("@Option(name: .customLong(\(flag)), parsing: .upToNextOption, help: \(help))")
                        writer.line("var \(property): [String] = []")
                    } else if field.type == .scalar(.bool) {
                        writer.line("@Flag(name: .customLong(\(flag)), inversion: .prefixedNo, help: \(help))")
                        writer.line("var \(property): Bool?")
                    } else {
                        writer.line("@Option(name: .customLong(\(flag)), help: \(help))")
                        writer.line("var \(property): String?")
                    }
                }
                writer.line()
                writer.line("init() {}")
                writer.line()
                writer.block("var parameters: [(field: String, input: ParameterInput?)] {") { writer in
                    if fields.isEmpty {
                        writer.line("[]")
                        return
                    }
                    writer.block("[", closer: "]") { writer in
                        for field in fields {
                            let property = Naming.escaped(Naming.lowerCamel(field.name))
                            writer.line("(\(Self.literal(field.name)), ParameterInput(\(property))),")
                        }
                    }
                }
                if paginated {
                    writer.line()
                    writer.line("var paginationOptions: PaginationOptions? { pagination }")
                }
            }
        }
    }
}

extension CodeGenOptions {
    /// Folder of the `iam` CLI's generated operation commands and shapes.
    public var cliDirectory: String { "Sources/IAMCLI/Generated" }
}

extension CodeGenerator {
    /// The `iam` CLI's shapes and one commands file per service that becomes commands.
    static func renderCLI(_ file: ProtoFile, swiftTypeNames: [String: String], options: CodeGenOptions)
        -> [GeneratedFile]
    {
        let renderer = CLITableRenderer(
            file: file, swiftTypeNames: swiftTypeNames, methodTableName: options.methodTableName)
        var writer = CodeWriter()
        renderer.renderShapes(header: self.header(for: file.fileName), into: &writer)
        var files = [GeneratedFile(path: "\(options.cliDirectory)/OperationShapes.swift", contents: writer.text)]
        for service in file.services where CLITableRenderer.commandServices.contains(service.name) {
            writer = CodeWriter()
            renderer.renderCommands(service, header: self.header(for: file.fileName), into: &writer)
            files.append(
                GeneratedFile(path: "\(options.cliDirectory)/\(service.name)+Commands.swift", contents: writer.text))
        }
        return files
    }
}

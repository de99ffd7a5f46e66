public import Foundation

/// One AWS service model (botocore's `service-2.json`) as the Query generator needs it.
public struct AWSServiceModel: Sendable {
    /// A shape: its type and, per type, members / member / key and value, enum values, error details.
    public struct Shape: Sendable {
        var type: String
        var members: [(name: String, shape: String, locationName: String?)] = []
        var required: Set<String> = []
        var listMember: String?
        var mapKey: String?
        var mapValue: String?
        var enumValues: [String] = []
        var errorCode: String?
        var errorStatus: Int?
        var senderFault = true
    }

    /// An operation: its name and input / output shapes.
    public struct Operation: Sendable {
        var name: String
        var input: String?
        var output: String?
        var resultWrapper: String?
    }

    /// `iam`, `sts`.
    public var endpointPrefix: String
    /// `2010-05-08`.
    public var apiVersion: String
    /// `https://iam.amazonaws.com/doc/2010-05-08/`.
    public var xmlNamespace: String
    var operations: [String: Operation]
    var shapes: [String: Shape]

    /// Reads a botocore `service-2.json`.
    public init(json data: Data) throws(CodeGenError) {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let metadata = root["metadata"] as? [String: Any], let operations = root["operations"] as? [String: Any],
            let shapes = root["shapes"] as? [String: Any]
        else { throw CodeGenError("not a botocore service model", at: nil) }
        self.endpointPrefix = metadata["endpointPrefix"] as? String ?? ""
        self.apiVersion = metadata["apiVersion"] as? String ?? ""
        self.xmlNamespace = metadata["xmlNamespace"] as? String ?? ""
        var parsedOperations: [String: Operation] = [:]
        for (name, value) in operations {
            let operation = value as? [String: Any] ?? [:]
            let input = operation["input"] as? [String: Any]
            let output = operation["output"] as? [String: Any]
            parsedOperations[name] = Operation(
                name: name, input: input?["shape"] as? String, output: output?["shape"] as? String,
                resultWrapper: output?["resultWrapper"] as? String)
        }
        var parsedShapes: [String: Shape] = [:]
        for (name, value) in shapes {
            let shape = value as? [String: Any] ?? [:]
            var parsed = Shape(type: shape["type"] as? String ?? "string")
            // JSONSerialization keeps no key order; botocore's member order is the documented order, which
            // AWS's XML follows, so the raw text is consulted for it.
            if let members = shape["members"] as? [String: Any] {
                parsed.members = members.map { key, value in
                    let member = value as? [String: Any] ?? [:]
                    return (key, member["shape"] as? String ?? "", member["locationName"] as? String)
                }
            }
            parsed.required = Set(shape["required"] as? [String] ?? [])
            parsed.listMember = (shape["member"] as? [String: Any])?["shape"] as? String
            parsed.mapKey = (shape["key"] as? [String: Any])?["shape"] as? String
            parsed.mapValue = (shape["value"] as? [String: Any])?["shape"] as? String
            parsed.enumValues = shape["enum"] as? [String] ?? []
            if let error = shape["error"] as? [String: Any] {
                parsed.errorCode = error["code"] as? String
                parsed.errorStatus = error["httpStatusCode"] as? Int
                parsed.senderFault = error["senderFault"] as? Bool ?? true
            }
            if shape["exception"] as? Bool == true, parsed.errorCode == nil { parsed.errorCode = name }
            parsedShapes[name] = parsed
        }
        self.operations = parsedOperations
        self.shapes = parsedShapes
        try self.orderMembers(from: data)
    }

    /// Puts every structure's members in the order the model file writes them (botocore's files are indented:
    /// shapes at four spaces, a structure's members at eight).
    private mutating func orderMembers(from data: Data) throws(CodeGenError) {
        func find(_ key: String, indent: Int, in text: Substring) -> Range<String.Index>? {
            let prefix = "\n" + String(repeating: " ", count: indent) + "\"\(key)\":"
            return text.range(of: prefix + " {") ?? text.range(of: prefix + "{")
        }
        guard let text = String(data: data, encoding: .utf8), let shapesStart = find("shapes", indent: 2, in: text[...])
        else { throw CodeGenError("model has no shapes section in the expected layout", at: nil) }
        let shapesText = text[shapesStart.upperBound...]
        for (name, shape) in self.shapes where shape.members.count > 1 {
            guard let start = find(name, indent: 4, in: shapesText) else {
                throw CodeGenError("shape \(name) not found in the model text", at: nil)
            }
            let rest = shapesText[start.upperBound...]
            let end = rest.range(of: "\n    \"")?.lowerBound ?? rest.endIndex
            let body = rest[..<end]
            var order: [String: String.Index] = [:]
            for member in shape.members {
                guard let found = find(member.name, indent: 8, in: body) else {
                    throw CodeGenError("member \(name).\(member.name) not found in the model text", at: nil)
                }
                order[member.name] = found.lowerBound
            }
            self.shapes[name]!.members.sort { order[$0.name]! < order[$1.name]! }
        }
    }
}

/// Generates the AWS Query protocol codec of the front door (IAMQueryAPI): per operation the IDL has, a
/// form decoder into the request message and an XML writer from the response message, by joining
/// botocore's model (member names, shapes, result wrappers, error statuses) to `Protocol/iam.proto`
/// (field names in proto style: `UserName` -> `user_name`).
public struct QueryProtocolGenerator {
    let proto: ProtoFile
    let models: [AWSServiceModel]
    let swiftTypeNames: [String: String]
    /// Helper functions rendered once per (AWS shape, proto message) pair.
    private var readers: [String: String] = [:]
    private var writers: [String: String] = [:]
    private var pendingReaders: [(awsShape: String, model: Int, message: String)] = []
    private var pendingWriters: [(awsShape: String, model: Int, message: String)] = []
    /// AWS members with no field in the IDL, per operation (written into the file as a comment).
    private(set) var unmapped: [String] = []
    /// IDL message name -> its list fields written even when empty inside an entity (model-required, or in
    /// ``listsAlwaysWritten``), collected while ``render(protoFileName:)`` writes them, for the CLI to print alike.
    private var nestedListsAlwaysWritten: [String: Set<String>] = [:]

    /// Creates a generator over the proto text and the botocore models.
    public init(protoSource: String, protoFileName: String, models: [AWSServiceModel]) throws(CodeGenError) {
        self.proto = try Resolver.resolve(try Parser.parse(source: protoSource, fileName: protoFileName))
        self.models = models
        self.swiftTypeNames = MessageRenderer(file: self.proto).swiftTypeNames
    }

    /// Renders `QueryOperations.swift`.
    public mutating func render(protoFileName: String) -> String {
        var writer = CodeWriter()
        writer.line(
            "// DO NOT EDIT. Generated by iam-query-codegen (tools/codegen) from \(protoFileName) and botocore's")
        writer.line(
            "// IAM/STS models (tools/scripts/aws-models). Run tools/scripts/generate; CI runs check-generated.")
        writer.line()
        writer.line("import IAMRPC")
        writer.line("import IAMWire")
        writer.line("import NIOCore")
        writer.line()
        var operations: [(model: Int, operation: AWSServiceModel.Operation, method: MethodDecl, service: ServiceDecl)] =
            []
        for (index, model) in self.models.enumerated() {
            for name in model.operations.keys.sorted() {
                guard let (service, method) = self.rpc(named: name) else { continue }
                operations.append((index, model.operations[name]!, method, service))
            }
        }
        var body = CodeWriter()
        body.block("extension QueryOperations {") { writer in
            writer.line("/// Every operation of AWS's IAM and STS models that the IDL serves, by action name.")
            writer.block("static let generated: [String: QueryOperation] = [", closer: "]") { writer in
                for entry in operations {
                    self.renderOperation(entry.model, entry.operation, entry.method, entry.service, &writer)
                }
            }
            writer.line()
            writer.line("/// AWS's HTTP status and fault side (true: Sender) of each modelled error code.")
            writer.block("static let errorStatus: [String: (status: Int, sender: Bool)] = [", closer: "]") { writer in
                var codes: [String: (Int, Bool)] = [:]
                for model in self.models {
                    for shape in model.shapes.values {
                        guard let code = shape.errorCode, let status = shape.errorStatus else { continue }
                        codes[code] = (status, shape.senderFault)
                    }
                }
                for code in codes.keys.sorted() {
                    writer.line("\"\(code)\": (\(codes[code]!.0), \(codes[code]!.1)),")
                }
            }
        }
        // Helpers, rendered until no new pair appears.
        var helpers = CodeWriter()
        helpers.block("enum QueryShapes {") { writer in
            var done: Set<String> = []
            while !self.pendingReaders.isEmpty || !self.pendingWriters.isEmpty {
                if let next = self.pendingReaders.popLast() {
                    let name = Self.helperName("read", next.awsShape, next.message)
                    guard done.insert(name).inserted else { continue }
                    self.renderReader(next.model, next.awsShape, next.message, name, &writer)
                } else if let next = self.pendingWriters.popLast() {
                    let name = Self.helperName("write", next.awsShape, next.message)
                    guard done.insert(name).inserted else { continue }
                    self.renderWriter(next.model, next.awsShape, next.message, name, &writer)
                }
            }
        }
        writer.lines(body.text)
        writer.line()
        writer.lines(helpers.text)
        if !self.unmapped.isEmpty {
            writer.line()
            writer.line("// AWS members the IDL has no field for (absent from requests' effect and from responses):")
            for line in self.unmapped.sorted() { writer.line("// - \(line)") }
        }
        return writer.text
    }

    /// Renders the CLI's `RequiredMembers.swift`: per operation the IDL serves, the input members botocore's model
    /// marks required and the IDL has a field for, in the model's order, so `iam` reports a missing one as a usage
    /// error before calling, as the AWS CLI does.
    public func renderCLIRequiredMembers(protoFileName: String) -> String {
        var writer = CodeWriter()
        writer.line(
            "// DO NOT EDIT. Generated by iam-query-codegen (tools/codegen) from \(protoFileName) and botocore's")
        writer.line(
            "// IAM/STS models (tools/scripts/aws-models). Run tools/scripts/generate; CI runs check-generated.")
        writer.line()
        writer.line("/// The input members AWS's model marks required, per operation (AWS names, model order).")
        writer.block("let requiredMembers: [String: [String]] = [", closer: "]") { writer in
            for model in self.models {
                for name in model.operations.keys.sorted() {
                    guard let (_, method) = self.rpc(named: name), let input = model.operations[name]!.input,
                        let shape = model.shapes[input], let message = self.message(method.inputType)
                    else { continue }
                    let required = shape.members.map(\.name).filter {
                        shape.required.contains($0) && self.field(message, for: $0) != nil
                    }
                    guard !required.isEmpty else { continue }
                    writer.line("\"\(name)\": [\(required.map { "\"\($0)\"" }.joined(separator: ", "))],")
                }
            }
        }
        writer.line()
        writer.line(
            "/// Per IDL message, the list fields inside an entity the front door writes even when empty (AWS sends them:"
        )
        writer.line(
            "/// model-required, or GetAccountAuthorizationDetails' detail lists), so `iam` prints them alike.")
        writer.block("let listsPrintedWhenEmpty: [String: Set<String>] = [", closer: "]") { writer in
            for message in self.nestedListsAlwaysWritten.keys.sorted() {
                let fields = self.nestedListsAlwaysWritten[message]!.sorted().map { "\"\($0)\"" }
                writer.line("\"\(message)\": [\(fields.joined(separator: ", "))],")
            }
        }
        return writer.text
    }

    // MARK: Joining names

    private func rpc(named name: String) -> (ServiceDecl, MethodDecl)? {
        for service in self.proto.services where service.name != "Health" {
            if let method = service.methods.first(where: { $0.name == name }) { return (service, method) }
        }
        return nil
    }

    private func message(_ fullName: String) -> MessageDecl? {
        self.proto.allMessages.first { $0.fullName == fullName }
    }

    /// `UserName` -> `user_name`, `PolicyArn` -> `policy_arn`, `SAMLProviderArn` -> `saml_provider_arn`.
    static func protoName(_ awsName: String) -> String {
        Naming.upperSnake(awsName).lowercased()
    }

    private func field(_ message: MessageDecl, for awsMember: String) -> FieldDecl? {
        let wanted = Self.protoName(awsMember)
        return message.fields.first { $0.name == wanted }
            ?? message.fields.first {
                $0.name.replacingOccurrences(of: "_", with: "") == wanted.replacingOccurrences(of: "_", with: "")
            }
    }

    private func swiftType(_ fullName: String) -> String {
        "IAMWire." + (self.swiftTypeNames[fullName] ?? fullName)
    }

    static func helperName(_ kind: String, _ awsShape: String, _ message: String) -> String {
        let simple = message.split(separator: ".").last.map(String.init) ?? message
        let shape = awsShape.prefix(1).uppercased() + awsShape.dropFirst()
        return "\(kind)\(shape)As\(simple)"
    }

    // MARK: Operations

    private mutating func renderOperation(
        _ modelIndex: Int, _ operation: AWSServiceModel.Operation, _ method: MethodDecl, _ service: ServiceDecl,
        _ writer: inout CodeWriter
    ) {
        let model = self.models[modelIndex]
        let methodRef = "IAMMethods.\(service.name).\(Naming.methodName(method.name))"
        let requestType = self.swiftType(method.inputType)
        let responseType = self.swiftType(method.outputType)
        writer.block("\"\(operation.name)\": QueryOperation(", closer: "),") { writer in
            writer.line(
                "action: \"\(operation.name)\", version: \"\(model.apiVersion)\", service: \"\(model.endpointPrefix)\","
            )
            writer.line("xmlNamespace: \"\(model.xmlNamespace)\", method: \(methodRef),")
            writer.block("decode: { form throws(QueryInputError) -> ByteBuffer in", closer: "},") { writer in
                var reads = CodeWriter()
                if let input = operation.input, let message = self.message(method.inputType) {
                    self.renderReads(
                        modelIndex, input, message, target: "request", form: "form", context: operation.name, &reads)
                }
                if reads.text.isEmpty {
                    writer.line("_ = form")
                    writer.line("let request = \(requestType)()")
                } else {
                    writer.line("var request = \(requestType)()")
                    writer.lines(String(reads.text.dropLast()))
                }
                writer.line("var buffer = ByteBuffer()")
                writer.line("request.encode(into: &buffer)")
                writer.line("return buffer")
            }
            writer.block("render: { buffer, xml throws(WireError) in") { writer in
                if let output = operation.output, let message = self.message(method.outputType) {
                    writer.line("let response = try \(responseType)(decoding: &buffer)")
                    writer.line("xml.open(\"\(operation.resultWrapper ?? operation.name + "Result")\")")
                    self.renderWrites(
                        modelIndex, output, message, source: "response", context: operation.name, topLevel: true,
                        &writer)
                    writer.line("xml.close(\"\(operation.resultWrapper ?? operation.name + "Result")\")")
                } else {
                    writer.line("_ = try \(responseType)(decoding: &buffer)")
                    writer.line("_ = xml")
                }
            }
        }
    }

    // MARK: Reading forms

    private mutating func renderReads(
        _ modelIndex: Int, _ awsShape: String, _ message: MessageDecl, target: String, form: String, context: String,
        _ writer: inout CodeWriter
    ) {
        let model = self.models[modelIndex]
        guard let shape = model.shapes[awsShape] else { return }
        for member in shape.members {
            guard let field = self.field(message, for: member.name) else {
                self.unmapped.append("\(context): input \(member.name)")
                continue
            }
            let key = "\"\(member.locationName ?? member.name)\""
            let property = "\(target).\(Naming.escaped(Naming.lowerCamel(field.name)))"
            guard let read = self.readExpression(modelIndex, member.shape, field, form: form, key: key) else {
                self.unmapped.append("\(context): input \(member.name) (type mismatch)")
                continue
            }
            if field.label == .optional || self.isMessageField(field) {
                writer.line("\(property) = \(read)")
            } else {
                writer.line("if let read = \(read) { \(property) = read }")
            }
        }
    }

    private func isMessageField(_ field: FieldDecl) -> Bool {
        if case .message = field.type, field.label != .repeated { return true }
        return false
    }

    /// An expression of type `T?` reading `key` of `form` into the field's Swift type.
    private mutating func readExpression(
        _ modelIndex: Int, _ awsShape: String, _ field: FieldDecl, form: String, key: String
    ) -> String? {
        let model = self.models[modelIndex]
        guard let shape = model.shapes[awsShape] else { return nil }
        switch (shape.type, field.type, field.label) {
        case ("list", _, .repeated):
            guard let element = shape.listMember, let elementShape = model.shapes[element] else { return nil }
            switch (elementShape.type, field.type) {
            case ("string", .scalar(.string)):
                return "try \(form).stringList(\(key))"
            case ("string", .enumeration(let name)):
                guard let decl = self.proto.allEnums.first(where: { $0.fullName == name }) else { return nil }
                let type = self.swiftType(name)
                let table = self.enumPairs(elementShape.enumValues, decl).map { "\"\($0.aws)\": \(type).\($0.swift)" }
                return "try \(form).enumerationList(\(key), [\(table.joined(separator: ", "))])"
            case ("structure", .message(let name)):
                let helper = Self.helperName("read", element, name)
                self.pendingReaders.append((element, modelIndex, name))
                return
                    "try \(form).structureList(\(key), QueryShapes.\(helper))"
            default:
                return nil
            }
        case (_, _, .repeated):
            return nil
        case ("string", .scalar(.string), _):
            return "\(form).string(\(key))"
        case ("string", .enumeration(let name), _):
            guard let decl = self.proto.allEnums.first(where: { $0.fullName == name }) else { return nil }
            let cases = self.enumPairs(shape.enumValues, decl)
            let type = self.swiftType(name)
            let table = cases.map { "\"\($0.aws)\": \(type).\($0.swift)" }.joined(separator: ", ")
            return "try \(form).enumeration(\(key), [\(table)])"
        case ("integer", .scalar(.int32), _), ("integer", .scalar(.int64), _), ("long", .scalar(.int64), _),
            ("long", .scalar(.int32), _), ("integer", .scalar(.uint32), _):
            guard case .scalar(let scalar) = field.type else { return nil }
            let swift = ["int32": "Int32", "int64": "Int64", "uint32": "UInt32"][scalar.rawValue] ?? "Int32"
            return "try \(form).integer(\(key), as: \(swift).self)"
        case ("boolean", .scalar(.bool), _):
            return "try \(form).boolean(\(key))"
        case ("timestamp", .scalar(.int64), _):
            return "try \(form).timestamp(\(key))"
        case ("structure", .message(let name), _):
            let helper = Self.helperName("read", awsShape, name)
            self.pendingReaders.append((awsShape, modelIndex, name))
            return "try \(form).structure(\(key), QueryShapes.\(helper))"
        default:
            return nil
        }
    }

    private mutating func renderReader(
        _ modelIndex: Int, _ awsShape: String, _ messageName: String, _ name: String, _ writer: inout CodeWriter
    ) {
        guard let message = self.message(messageName) else { return }
        let type = self.swiftType(messageName)
        writer.block("static func \(name)(_ form: QueryForm) throws(QueryInputError) -> \(type) {") { writer in
            writer.line("var result = \(type)()")
            self.renderReads(modelIndex, awsShape, message, target: "result", form: "form", context: awsShape, &writer)
            writer.line("return result")
        }
        writer.line()
    }

    // MARK: Writing XML

    /// Lists inside an entity that AWS writes even when empty: the details of GetAccountAuthorizationDetails carry
    /// their policy, membership and profile lists as `[]` (the AWS CLI's example of the call), so a client may index
    /// them; an entity's Tags are left out when empty, as GetUser leaves them out.
    static let listsAlwaysWritten: [String: Set<String>] = [
        "UserDetail": ["UserPolicyList", "GroupList", "AttachedManagedPolicies"],
        "GroupDetail": ["GroupPolicyList", "AttachedManagedPolicies"],
        "RoleDetail": ["InstanceProfileList", "RolePolicyList", "AttachedManagedPolicies"],
        "ManagedPolicyDetail": ["PolicyVersionList"],
    ]

    private mutating func renderWrites(
        _ modelIndex: Int, _ awsShape: String, _ message: MessageDecl, source: String, context: String,
        topLevel: Bool = false, _ writer: inout CodeWriter
    ) {
        let model = self.models[modelIndex]
        guard let shape = model.shapes[awsShape] else { return }
        for member in shape.members {
            var owner = source
            var ownerMessage = message.name
            var embedding: String?
            var found = self.field(message, for: member.name)
            if found == nil {
                // The IDL nests the entity (UserDetail.user) where AWS flattens its members into the detail.
                for candidate in message.fields where candidate.label != .repeated {
                    guard case .message(let name) = candidate.type, let inner = self.message(name),
                        let innerField = self.field(inner, for: member.name)
                    else { continue }
                    embedding = "\(source).\(Naming.escaped(Naming.lowerCamel(candidate.name)))"
                    owner = "embedded"
                    ownerMessage = name
                    found = innerField
                    break
                }
            }
            guard let field = found else {
                self.unmapped.append("\(context): output \(member.name)")
                continue
            }
            let tag = member.locationName ?? member.name
            let value = "\(owner).\(Naming.escaped(Naming.lowerCamel(field.name)))"
            let required =
                shape.required.contains(member.name)
                || Self.listsAlwaysWritten[awsShape]?.contains(member.name) == true
            if required, !topLevel, model.shapes[member.shape]?.type == "list" {
                self.nestedListsAlwaysWritten[ownerMessage, default: []].insert(field.name)
            }
            if let embedding {
                var inner = CodeWriter()
                if !self.renderWrite(
                    modelIndex, member.shape, field, value: value, tag: tag,
                    required: required, topLevel: topLevel, &inner)
                {
                    self.unmapped.append("\(context): output \(member.name) (type mismatch)")
                    continue
                }
                writer.block("if let embedded = \(embedding) {") { writer in writer.lines(String(inner.text.dropLast()))
                }
                continue
            }
            if !self.renderWrite(
                modelIndex, member.shape, field, value: value, tag: tag, required: required,
                topLevel: topLevel,
                &writer)
            {
                self.unmapped.append("\(context): output \(member.name) (type mismatch)")
            }
        }
    }

    /// Writes one member; false when the AWS and proto types do not fit together.
    private mutating func renderWrite(
        _ modelIndex: Int, _ awsShape: String, _ field: FieldDecl, value: String, tag: String, required: Bool,
        topLevel: Bool = false, _ writer: inout CodeWriter
    ) -> Bool {
        // A result's own lists are written even when empty (`<GroupDetailList/>`), as AWS does; lists inside
        // entities (a user's Tags) only when they have members.
        let alwaysList = required || topLevel
        let model = self.models[modelIndex]
        guard let shape = model.shapes[awsShape] else { return false }
        let optional = field.label == .optional
        func scalar(_ write: (String) -> String, isDefault: (String) -> String) {
            if optional {
                writer.line("if let value = \(value) { \(write("value")) }")
            } else if required {
                writer.line(write(value))
            } else {
                writer.line("if !(\(isDefault(value))) { \(write(value)) }")
            }
        }
        switch (shape.type, field.type, field.label) {
        case ("list", .map(key: .string, value: let valueType), _):
            // A list of two-member structures kept as a map in the IDL (UserPolicyList: name -> document).
            guard let element = shape.listMember, let elementShape = model.shapes[element],
                elementShape.members.count >= 2
            else { return false }
            let keyMember = elementShape.members[0]
            let valueMember = elementShape.members[1]
            let valueWrite: String
            switch valueType {
            case .scalar(.string):
                valueWrite = self.stringWrite(
                    model, valueMember.shape, tag: valueMember.locationName ?? valueMember.name, value: "entry.value")
            case .enumeration(let name):
                guard let decl = self.proto.allEnums.first(where: { $0.fullName == name }),
                    let valueShape = model.shapes[valueMember.shape]
                else { return false }
                valueWrite = self.enumWrite(
                    valueShape, decl, tag: valueMember.locationName ?? valueMember.name, value: "entry.value")
            default:
                return false
            }
            let open = alwaysList ? "" : "if !\(value).isEmpty { "
            writer.line("\(open)xml.open(\"\(tag)\")")
            writer.block("for entry in \(value).sorted(by: { $0.key < $1.key }) {") { writer in
                writer.line("xml.open(\"member\")")
                writer.line("xml.element(\"\(keyMember.locationName ?? keyMember.name)\", entry.key)")
                writer.line(valueWrite)
                writer.line("xml.close(\"member\")")
            }
            writer.line("xml.close(\"\(tag)\")\(alwaysList ? "" : " }")")
            return true
        case ("map", .map(key: .string, value: let valueType), _):
            guard let valueShapeName = shape.mapValue, let valueShape = model.shapes[valueShapeName] else {
                return false
            }
            let valueWrite: String
            switch (valueShape.type, valueType) {
            case ("integer", .scalar), ("long", .scalar):
                valueWrite = "xml.element(\"value\", String(entry.value))"
            case ("string", .scalar(.string)):
                valueWrite = self.stringWrite(model, valueShapeName, tag: "value", value: "entry.value")
            case ("string", .enumeration(let name)):
                guard let decl = self.proto.allEnums.first(where: { $0.fullName == name }) else { return false }
                valueWrite = self.enumWrite(valueShape, decl, tag: "value", value: "entry.value")
            default:
                return false
            }
            writer.line("xml.open(\"\(tag)\")")
            writer.block("for entry in \(value).sorted(by: { $0.key < $1.key }) {") { writer in
                writer.line("xml.open(\"entry\")")
                writer.line("xml.element(\"key\", entry.key)")
                writer.line(valueWrite)
                writer.line("xml.close(\"entry\")")
            }
            writer.line("xml.close(\"\(tag)\")")
            return true
        case ("list", _, .repeated):
            guard let element = shape.listMember, let elementShape = model.shapes[element] else { return false }
            var elementWrite: String
            switch (elementShape.type, field.type) {
            case ("string", .scalar(.string)):
                elementWrite = self.stringWrite(model, element, tag: "member", value: "element")
            case ("string", .enumeration(let name)):
                guard let decl = self.proto.allEnums.first(where: { $0.fullName == name }) else { return false }
                elementWrite = self.enumWrite(elementShape, decl, tag: "member", value: "element")
            case ("structure", .message(let name)):
                let helper = Self.helperName("write", element, name)
                self.pendingWriters.append((element, modelIndex, name))
                elementWrite = "xml.open(\"member\"); QueryShapes.\(helper)(element, &xml); xml.close(\"member\")"
            default:
                return false
            }
            elementWrite = elementWrite.replacingOccurrences(of: "; ", with: "\n")
            let open = alwaysList ? "" : "if !\(value).isEmpty { "
            writer.line("\(open)xml.open(\"\(tag)\")")
            writer.block("for element in \(value) {") { writer in writer.lines(elementWrite) }
            writer.line("xml.close(\"\(tag)\")\(alwaysList ? "" : " }")")
            return true
        case (_, _, .repeated):
            return false
        case ("string", .scalar(.string), _):
            let isPolicy = awsShape == "policyDocumentType"
            scalar({ Self.stringWrite(isPolicy: isPolicy, tag: tag, value: $0) }) { "\($0).isEmpty" }
            return true
        case ("string", .enumeration(let name), _):
            guard let decl = self.proto.allEnums.first(where: { $0.fullName == name }) else { return false }
            if optional {
                writer.line("if let value = \(value) { \(self.enumWrite(shape, decl, tag: tag, value: "value")) }")
            } else {
                writer.line(self.enumWrite(shape, decl, tag: tag, value: value))
            }
            return true
        case ("integer", .scalar, _), ("long", .scalar, _):
            // AWS writes counts even when zero (AttachmentCount, PermissionsBoundaryUsageCount).
            if optional {
                writer.line("if let value = \(value) { xml.element(\"\(tag)\", String(value)) }")
            } else {
                writer.line("xml.element(\"\(tag)\", String(\(value)))")
            }
            return true
        case ("boolean", .scalar(.bool), _):
            if optional {
                writer.line("if let value = \(value) { xml.element(\"\(tag)\", value ? \"true\" : \"false\") }")
            } else {
                writer.line("xml.element(\"\(tag)\", \(value) ? \"true\" : \"false\")")
            }
            return true
        case ("timestamp", .scalar(.int64), _):
            if optional {
                writer.line("if let value = \(value) { xml.timestamp(\"\(tag)\", value) }")
            } else {
                writer.line("if \(value) != 0 { xml.timestamp(\"\(tag)\", \(value)) }")
            }
            return true
        case ("structure", .message(let name), _):
            let helper = Self.helperName("write", awsShape, name)
            self.pendingWriters.append((awsShape, modelIndex, name))
            writer.block("if let value = \(value) {") { writer in
                writer.line("xml.open(\"\(tag)\")")
                writer.line("QueryShapes.\(helper)(value, &xml)")
                writer.line("xml.close(\"\(tag)\")")
            }
            return true
        default:
            return false
        }
    }

    /// Policy documents go out URL-encoded, as AWS's Query API writes them; other strings as they are.
    private func stringWrite(_ model: AWSServiceModel, _ shape: String, tag: String, value: String) -> String {
        Self.stringWrite(isPolicy: shape == "policyDocumentType", tag: tag, value: value)
    }

    private static func stringWrite(isPolicy: Bool, tag: String, value: String) -> String {
        "xml.element(\"\(tag)\", \(isPolicy ? "QueryXML.urlEncodedPolicy(\(value))" : value))"
    }

    private func enumWrite(_ shape: AWSServiceModel.Shape, _ decl: EnumDecl, tag: String, value: String) -> String {
        let pairs = self.enumPairs(shape.enumValues, decl)
        let table = pairs.map { ".\($0.swift): \"\($0.aws)\"" }.joined(separator: ", ")
        return "if let text = QueryXML.enumText(\(value), [\(table)]) { xml.element(\"\(tag)\", text) }"
    }

    /// Pairs AWS's enum strings with the IDL's cases by their letters (`LocalManagedPolicy` and
    /// `ENTITY_TYPE_LOCAL_MANAGED_POLICY`, `aws-managed` and `POLICY_SOURCE_TYPE_AWS_MANAGED`), falling back
    /// to a suffix match (`PermissionsBoundaryPolicy` and `PERMISSIONS_BOUNDARY_TYPE_POLICY`).
    func enumPairs(_ awsValues: [String], _ decl: EnumDecl) -> [(aws: String, swift: String)] {
        func letters(_ text: String) -> String { text.lowercased().filter { $0.isLetter || $0.isNumber } }
        let prefix = Naming.upperSnake(decl.name) + "_"
        var result: [(String, String)] = []
        for value in decl.values {
            let stripped = value.name.hasPrefix(prefix) ? String(value.name.dropFirst(prefix.count)) : value.name
            let key = letters(stripped)
            guard key != "unspecified" else { continue }
            let match = awsValues.first { letters($0) == key } ?? awsValues.first { letters($0).hasSuffix(key) }
            if let match {
                result.append((match, Naming.escaped(Naming.enumCaseName(value.name, enumName: decl.name))))
            }
        }
        return result
    }

    private mutating func renderWriter(
        _ modelIndex: Int, _ awsShape: String, _ messageName: String, _ name: String, _ writer: inout CodeWriter
    ) {
        guard let message = self.message(messageName) else { return }
        let type = self.swiftType(messageName)
        writer.block("static func \(name)(_ value: \(type), _ xml: inout QueryXMLWriter) {") { writer in
            var body = CodeWriter()
            self.renderWrites(modelIndex, awsShape, message, source: "value", context: awsShape, &body)
            if body.text.isEmpty { writer.line("_ = (value, xml)") } else { writer.lines(String(body.text.dropLast())) }
        }
        writer.line()
    }
}

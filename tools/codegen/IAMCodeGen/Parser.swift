/// Parses the proto3 subset iam-codegen understands into a `ProtoFile` whose type references are
/// still unresolved (see `Resolver`).
///
/// Accepted: `syntax = "proto3";`, `package`, `option` (ignored, except `allow_alias`), `message`
/// (nested messages and enums, `repeated`, `optional`, `map<,>`, `reserved`, field options `packed`
/// and `deprecated`), `enum`, `service` with `rpc` (with or without `stream`). Rejected with a
/// located error: `import`, `oneof`, `extend`, groups, proto2 syntax.
public struct Parser {
    private var tokens: [Token]
    private var position = 0
    private let fileName: String
    private var package = ""

    /// Tokenizes `source`; errors name `fileName`.
    public init(source: String, fileName: String) throws(CodeGenError) {
        var lexer = Lexer(source: source, file: fileName)
        self.tokens = try lexer.tokenize()
        self.fileName = fileName
    }

    /// Parses a whole file.
    public static func parse(source: String, fileName: String) throws(CodeGenError) -> ProtoFile {
        var parser = try Parser(source: source, fileName: fileName)
        return try parser.parseFile()
    }

    // MARK: Token helpers

    private var current: Token { self.tokens[self.position] }

    private mutating func next() -> Token {
        let token = self.tokens[self.position]
        if self.position < self.tokens.count - 1 { self.position += 1 }
        return token
    }

    private func isSymbol(_ symbol: Character) -> Bool {
        if case .symbol(symbol) = self.current.kind { return true }
        return false
    }

    private func isKeyword(_ keyword: String) -> Bool {
        if case .identifier(keyword) = self.current.kind { return true }
        return false
    }

    private func error(_ message: String, at token: Token? = nil) -> CodeGenError {
        CodeGenError(message, at: (token ?? self.current).location)
    }

    @discardableResult
    private mutating func expect(_ symbol: Character, _ context: String) throws(CodeGenError) -> Token {
        guard self.isSymbol(symbol) else {
            throw self.error("expected '\(symbol)' \(context), found \(self.current.spelling)")
        }
        return self.next()
    }

    private mutating func expectKeyword(_ keyword: String) throws(CodeGenError) {
        guard self.isKeyword(keyword) else {
            throw self.error("expected '\(keyword)', found \(self.current.spelling)")
        }
        _ = self.next()
    }

    private mutating func identifier(_ what: String) throws(CodeGenError) -> String {
        guard case .identifier(let name) = self.current.kind else {
            throw self.error("expected \(what), found \(self.current.spelling)")
        }
        _ = self.next()
        return name
    }

    /// A possibly dotted name: `a.b.C` or `.a.b.C` (fully qualified).
    private mutating func typeName(_ what: String) throws(CodeGenError) -> String {
        var name = ""
        if self.isSymbol(".") {
            _ = self.next()
            name = "."
        }
        name += try self.identifier(what)
        while self.isSymbol(".") {
            _ = self.next()
            name += "." + (try self.identifier(what))
        }
        return name
    }

    private mutating func integer(_ what: String) throws(CodeGenError) -> (value: Int64, token: Token) {
        let token = self.current
        var negative = false
        if self.isSymbol("-") {
            negative = true
            _ = self.next()
        }
        guard case .integer(let magnitude) = self.current.kind else {
            throw self.error("expected \(what), found \(self.current.spelling)")
        }
        _ = self.next()
        guard magnitude <= UInt64(Int64.max) else {
            throw self.error("\(what) \(magnitude) is out of range", at: token)
        }
        return (negative ? -Int64(magnitude) : Int64(magnitude), token)
    }

    private func comments(of first: Token, last: Token?) -> [String] {
        if !first.leadingComments.isEmpty { return first.leadingComments }
        if let trailing = last?.trailingComment ?? first.trailingComment { return [trailing] }
        return []
    }

    private func qualify(_ name: String, in scope: String) -> String {
        scope.isEmpty ? name : "\(scope).\(name)"
    }

    // MARK: Grammar

    /// Parses the token stream into a file.
    public mutating func parseFile() throws(CodeGenError) -> ProtoFile {
        var file = ProtoFile(fileName: self.fileName, package: "", messages: [], enums: [], services: [])
        var sawSyntax = false
        var sawPackage = false
        var sawDeclaration = false
        while true {
            let token = self.current
            switch token.kind {
            case .end:
                guard sawSyntax else {
                    throw self.error("missing 'syntax = \"proto3\";' (proto2 is not supported)", at: token)
                }
                return file
            case .symbol(";"):
                _ = self.next()
            case .identifier("syntax"):
                guard !sawSyntax && !sawPackage && !sawDeclaration else {
                    throw self.error("'syntax' must be the first statement of the file")
                }
                _ = self.next()
                try self.expect("=", "after 'syntax'")
                guard case .string(let syntax) = self.current.kind else {
                    throw self.error("expected a string after 'syntax =', found \(self.current.spelling)")
                }
                guard syntax == "proto3" else {
                    throw self.error("syntax \"\(syntax)\" is not supported; use \"proto3\"")
                }
                _ = self.next()
                try self.expect(";", "after the syntax statement")
                sawSyntax = true
            case .identifier("package"):
                guard sawSyntax else { throw self.error("missing 'syntax = \"proto3\";' before 'package'") }
                guard !sawPackage else { throw self.error("a file may declare only one package") }
                _ = self.next()
                let name = try self.typeName("a package name")
                guard !name.hasPrefix(".") else { throw self.error("a package name cannot start with '.'", at: token) }
                try self.expect(";", "after the package name")
                file.package = name
                self.package = name
                sawPackage = true
            case .identifier("import"):
                throw self.error("'import' is not supported: iam-codegen reads a single self-contained file")
            case .identifier("option"):
                try self.skipOption()
            case .identifier("message"):
                guard sawSyntax else { throw self.error("missing 'syntax = \"proto3\";' before the first message") }
                sawDeclaration = true
                file.messages.append(try self.parseMessage(scope: file.package))
            case .identifier("enum"):
                guard sawSyntax else { throw self.error("missing 'syntax = \"proto3\";' before the first enum") }
                sawDeclaration = true
                file.enums.append(try self.parseEnum(scope: file.package))
            case .identifier("service"):
                guard sawSyntax else { throw self.error("missing 'syntax = \"proto3\";' before the first service") }
                sawDeclaration = true
                file.services.append(try self.parseService())
            case .identifier("extend"):
                throw self.error("'extend' is not supported (proto3 subset)")
            default:
                throw self.error(
                    "expected 'message', 'enum', 'service', 'package' or 'option', found \(token.spelling)")
            }
        }
    }

    /// `option name = constant;` — the value is checked for form only.
    private mutating func skipOption() throws(CodeGenError) {
        _ = try self.parseOption()
    }

    private mutating func parseOption() throws(CodeGenError) -> (name: String, value: Token) {
        try self.expectKeyword("option")
        let name = try self.optionName()
        try self.expect("=", "after the option name")
        let value = try self.constant()
        try self.expect(";", "after the option")
        return (name, value)
    }

    private mutating func optionName() throws(CodeGenError) -> String {
        if self.isSymbol("(") {
            _ = self.next()
            let inner = try self.typeName("an option name")
            try self.expect(")", "after the custom option name")
            var name = "(\(inner))"
            while self.isSymbol(".") {
                _ = self.next()
                name += "." + (try self.identifier("an option name"))
            }
            return name
        }
        return try self.typeName("an option name")
    }

    private mutating func constant() throws(CodeGenError) -> Token {
        let token = self.current
        switch token.kind {
        case .identifier, .integer, .float, .string:
            _ = self.next()
            return token
        case .symbol("-"), .symbol("+"):
            _ = self.next()
            switch self.current.kind {
            case .integer, .float, .identifier("inf"), .identifier("nan"):
                _ = self.next()
                return token
            default:
                throw self.error("expected a number after '\(token.spelling)', found \(self.current.spelling)")
            }
        case .symbol("{"):
            throw self.error("aggregate option values are not supported")
        default:
            throw self.error("expected an option value, found \(token.spelling)")
        }
    }

    private mutating func parseMessage(scope: String) throws(CodeGenError) -> MessageDecl {
        let keyword = self.next()
        let nameToken = self.current
        let name = try self.identifier("a message name")
        let open = try self.expect("{", "after the message name")
        let fullName = self.qualify(name, in: scope)
        var message = MessageDecl(
            name: name,
            fullName: fullName,
            fields: [],
            messages: [],
            enums: [],
            reservedNumbers: [],
            reservedNames: [],
            comments: self.comments(of: keyword, last: open),
            location: nameToken.location
        )
        while true {
            let token = self.current
            switch token.kind {
            case .symbol("}"):
                _ = self.next()
                return message
            case .symbol(";"):
                _ = self.next()
            case .end:
                throw self.error("message '\(name)' is not closed: expected '}'", at: token)
            case .identifier("message"):
                message.messages.append(try self.parseMessage(scope: fullName))
            case .identifier("enum"):
                message.enums.append(try self.parseEnum(scope: fullName))
            case .identifier("option"):
                try self.skipOption()
            case .identifier("reserved"):
                try self.parseReserved(into: &message)
            case .identifier("oneof"):
                throw self.error("'oneof' is not supported by iam-codegen; use optional fields instead")
            case .identifier("extensions"), .identifier("extend"):
                throw self.error("extensions are not supported (proto3 subset)")
            case .identifier("required"):
                throw self.error("'required' is not allowed in proto3")
            case .identifier("group"):
                throw self.error("groups are not supported (proto3 subset)")
            case .identifier, .symbol("."):
                message.fields.append(try self.parseField())
            default:
                throw self.error("expected a field, message, enum or '}' in message '\(name)', found \(token.spelling)")
            }
        }
    }

    private mutating func parseReserved(into message: inout MessageDecl) throws(CodeGenError) {
        _ = self.next()
        if case .string = self.current.kind {
            while true {
                guard case .string(let name) = self.current.kind else {
                    throw self.error("expected a reserved field name (string), found \(self.current.spelling)")
                }
                _ = self.next()
                message.reservedNames.append(name)
                if self.isSymbol(",") {
                    _ = self.next()
                    continue
                }
                break
            }
        } else {
            while true {
                let (low, lowToken) = try self.integer("a reserved field number")
                var high = low
                if self.isKeyword("to") {
                    _ = self.next()
                    if self.isKeyword("max") {
                        _ = self.next()
                        high = Int64(Self.maxFieldNumber)
                    } else {
                        high = try self.integer("the end of a reserved range").value
                    }
                }
                guard low >= 1, high >= low, high <= Int64(Self.maxFieldNumber) else {
                    throw self.error("invalid reserved range \(low) to \(high)", at: lowToken)
                }
                message.reservedNumbers.append(Int(low)...Int(high))
                if self.isSymbol(",") {
                    _ = self.next()
                    continue
                }
                break
            }
        }
        try self.expect(";", "after the reserved list")
    }

    static let maxFieldNumber = (1 << 29) - 1

    private mutating func parseField() throws(CodeGenError) -> FieldDecl {
        let first = self.current
        var label = FieldLabel.singular
        if self.isKeyword("repeated") {
            _ = self.next()
            label = .repeated
        } else if self.isKeyword("optional") {
            _ = self.next()
            label = .optional
        }
        let typeToken = self.current
        let type: FieldType
        if self.isKeyword("map") && self.tokens[self.position + 1].kind == .symbol("<") {
            let mapToken = self.next()
            guard label == .singular else {
                throw self.error("a map field cannot be 'repeated' or 'optional'", at: first)
            }
            _ = self.next()
            let keyToken = self.current
            let keyName = try self.identifier("a map key type")
            guard let key = ScalarType(rawValue: keyName), key.isValidMapKey else {
                throw self.error("invalid map key type '\(keyName)': use an integer type, bool or string", at: keyToken)
            }
            try self.expect(",", "after the map key type")
            let valueToken = self.current
            if self.isKeyword("map") {
                throw self.error("a map value cannot itself be a map", at: valueToken)
            }
            let valueName = try self.typeName("a map value type")
            try self.expect(">", "after the map value type")
            let value: FieldType = ScalarType(rawValue: valueName).map { .scalar($0) } ?? .unresolved(valueName)
            type = .map(key: key, value: value)
            _ = mapToken
        } else {
            let typeName = try self.typeName("a field type")
            type = ScalarType(rawValue: typeName).map { .scalar($0) } ?? .unresolved(typeName)
        }
        let nameToken = self.current
        let name = try self.identifier("a field name")
        try self.expect("=", "after the field name '\(name)'")
        let (number, numberToken) = try self.integer("a field number")
        guard number >= 1 && number <= Int64(Self.maxFieldNumber) else {
            throw self.error("field number \(number) is out of range (1...\(Self.maxFieldNumber))", at: numberToken)
        }
        guard !(19000...19999).contains(number) else {
            throw self.error("field numbers 19000-19999 are reserved for the protobuf implementation", at: numberToken)
        }
        var packed = true
        var deprecated = false
        if self.isSymbol("[") {
            _ = self.next()
            while true {
                let optionToken = self.current
                let optionName = try self.optionName()
                try self.expect("=", "after the field option name")
                let value = try self.constant()
                switch (optionName, value.kind) {
                case ("packed", .identifier(let flag)) where flag == "true" || flag == "false":
                    packed = flag == "true"
                case ("deprecated", .identifier(let flag)) where flag == "true" || flag == "false":
                    deprecated = flag == "true"
                case ("packed", _), ("deprecated", _):
                    throw self.error("option '\(optionName)' takes true or false", at: value)
                case ("default", _):
                    throw self.error("explicit default values are not allowed in proto3", at: optionToken)
                default:
                    break  // Other options (json_name, custom ones) do not affect the Swift we generate.
                }
                if self.isSymbol(",") {
                    _ = self.next()
                    continue
                }
                try self.expect("]", "after the field options")
                break
            }
        }
        let semicolon = try self.expect(";", "after field '\(name)'")
        return FieldDecl(
            name: name,
            number: Int(number),
            label: label,
            type: type,
            packed: packed,
            deprecated: deprecated,
            comments: self.comments(of: first, last: semicolon),
            location: nameToken.location,
            typeLocation: typeToken.location
        )
    }

    private mutating func parseEnum(scope: String) throws(CodeGenError) -> EnumDecl {
        let keyword = self.next()
        let nameToken = self.current
        let name = try self.identifier("an enum name")
        let open = try self.expect("{", "after the enum name")
        var decl = EnumDecl(
            name: name,
            fullName: self.qualify(name, in: scope),
            values: [],
            allowAlias: false,
            comments: self.comments(of: keyword, last: open),
            location: nameToken.location
        )
        while true {
            let token = self.current
            switch token.kind {
            case .symbol("}"):
                _ = self.next()
                guard !decl.values.isEmpty else {
                    throw self.error("enum '\(name)' has no values", at: nameToken)
                }
                return decl
            case .symbol(";"):
                _ = self.next()
            case .end:
                throw self.error("enum '\(name)' is not closed: expected '}'", at: token)
            case .identifier("option"):
                let option = try self.parseOption()
                if option.name == "allow_alias" {
                    decl.allowAlias = option.value.kind == .identifier("true")
                }
            case .identifier("reserved"):
                // Reserved enum numbers/names only constrain future edits; protoc checks them.
                var scratch = MessageDecl(
                    name: "",
                    fullName: "",
                    fields: [],
                    messages: [],
                    enums: [],
                    reservedNumbers: [],
                    reservedNames: [],
                    comments: [],
                    location: token.location
                )
                try self.parseReserved(into: &scratch)
            case .identifier(let valueName):
                _ = self.next()
                try self.expect("=", "after the enum value name '\(valueName)'")
                let (number, numberToken) = try self.integer("an enum value number")
                guard let value = Int32(exactly: number) else {
                    throw self.error("enum value \(number) does not fit in int32", at: numberToken)
                }
                if self.isSymbol("[") {
                    // Enum value options (deprecated, custom) do not change the generated code.
                    _ = self.next()
                    while !self.isSymbol("]") {
                        if case .end = self.current.kind { throw self.error("expected ']' after enum value options") }
                        _ = self.next()
                    }
                    _ = self.next()
                }
                let semicolon = try self.expect(";", "after enum value '\(valueName)'")
                decl.values.append(
                    EnumValueDecl(
                        name: valueName,
                        number: value,
                        comments: self.comments(of: token, last: semicolon),
                        location: token.location
                    )
                )
            default:
                throw self.error("expected an enum value or '}' in enum '\(name)', found \(token.spelling)")
            }
        }
    }

    private mutating func parseService() throws(CodeGenError) -> ServiceDecl {
        let keyword = self.next()
        let nameToken = self.current
        let name = try self.identifier("a service name")
        let open = try self.expect("{", "after the service name")
        var service = ServiceDecl(
            name: name,
            fullName: self.qualify(name, in: self.package),
            methods: [],
            comments: self.comments(of: keyword, last: open),
            location: nameToken.location
        )
        while true {
            let token = self.current
            switch token.kind {
            case .symbol("}"):
                _ = self.next()
                return service
            case .symbol(";"):
                _ = self.next()
            case .end:
                throw self.error("service '\(name)' is not closed: expected '}'", at: token)
            case .identifier("option"):
                try self.skipOption()
            case .identifier("rpc"):
                service.methods.append(try self.parseMethod())
            default:
                throw self.error("expected 'rpc' or '}' in service '\(name)', found \(token.spelling)")
            }
        }
    }

    private mutating func parseMethod() throws(CodeGenError) -> MethodDecl {
        let keyword = self.next()
        let nameToken = self.current
        let name = try self.identifier("an rpc name")
        try self.expect("(", "after the rpc name")
        var clientStreaming = false
        if self.isKeyword("stream") && self.tokens[self.position + 1].kind != .symbol(")") {
            _ = self.next()
            clientStreaming = true
        }
        let input = try self.typeName("a request message type")
        try self.expect(")", "after the request type")
        try self.expectKeyword("returns")
        try self.expect("(", "after 'returns'")
        var serverStreaming = false
        if self.isKeyword("stream") && self.tokens[self.position + 1].kind != .symbol(")") {
            _ = self.next()
            serverStreaming = true
        }
        let output = try self.typeName("a response message type")
        let close = try self.expect(")", "after the response type")
        var last = close
        if self.isSymbol("{") {
            _ = self.next()
            while !self.isSymbol("}") {
                if case .end = self.current.kind {
                    throw self.error("rpc '\(name)' options are not closed: expected '}'")
                }
                if self.isSymbol(";") {
                    _ = self.next()
                    continue
                }
                try self.skipOption()
            }
            last = self.next()
        } else {
            last = try self.expect(";", "after rpc '\(name)'")
        }
        return MethodDecl(
            name: name,
            inputType: input,
            outputType: output,
            clientStreaming: clientStreaming,
            serverStreaming: serverStreaming,
            comments: self.comments(of: keyword, last: last),
            location: nameToken.location
        )
    }
}

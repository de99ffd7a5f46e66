/// Renders messages and enums as Swift value types that encode to and decode from ByteBuffer.
struct MessageRenderer {
    let file: ProtoFile
    /// Full proto name -> Swift type name (nested types as `Outer.Inner`).
    let swiftTypeNames: [String: String]
    /// Full proto name -> the message (nested ones too).
    let messages: [String: MessageDecl]
    init(file: ProtoFile) {
        self.file = file
        var names: [String: String] = [:]
        var messages: [String: MessageDecl] = [:]
        let prefix = file.package.isEmpty ? "" : file.package + "."
        for message in file.allMessages {
            names[message.fullName] = String(message.fullName.dropFirst(prefix.count))
            messages[message.fullName] = message
        }
        self.messages = messages
        for decl in file.allEnums {
            names[decl.fullName] = String(decl.fullName.dropFirst(prefix.count))
        }
        self.swiftTypeNames = names
    }

    /// Whether a decoder may give a value of `message` it made before for the same bytes (`isInternable`): a value
    /// of scalars (but `bytes`, whose values are slices of a received frame that a held value would keep alive),
    /// enums, lists and maps of them, and messages or lists of messages that are themselves such values (a matched
    /// statement's positions, a check's context entries, an answer's matched statements). What a backend's calls and
    /// a batch's checks repeat is then decoded once: a tag, a context entry, a whole Authorize request or answer.
    /// Only values of at most ``Interner/maximumLength`` bytes (runs: ``Interner/maximumRunLength``) are held.
    /// (The resolver refuses recursive messages, so the walk ends.)
    func isInternable(_ message: MessageDecl) -> Bool {
        func internable(_ type: FieldType) -> Bool {
            switch type {
            case .scalar(let scalar): scalar != .bytes
            case .enumeration: true
            case .map(_, let value): internable(value)
            case .message(let name): self.messages[name].map(self.isInternable) ?? false
            case .unresolved: false
            }
        }
        return message.fields.allSatisfy { internable($0.type) }
    }

    // MARK: Value codecs

    /// How one value of a type is written, read and measured (without its tag).
    struct Codec {
        var swiftType: String
        var defaultValue: String
        var wireType: String
        /// Whether the value differs from proto3's default (implicit presence).
        var isNonDefault: (String) -> String
        /// A statement writing `value` to `buffer`.
        var write: (_ buffer: String, _ value: String) -> String
        /// An expression (starting with `try`) reading a value from `buffer`.
        var read: (_ buffer: String) -> String
        /// An expression for the encoded size of `value`, or nil when `fixedSize` applies.
        var size: (String) -> String
        /// Encoded size when it does not depend on the value.
        var fixedSize: Int?
        /// Whether a repeated field of this type is packed.
        var packable: Bool
    }

    func codec(for type: FieldType) -> Codec {
        switch type {
        case .scalar(let scalar):
            return Self.scalarCodec(scalar)
        case .enumeration(let name):
            let swiftName = self.swiftTypeNames[name]!
            return Codec(
                swiftType: swiftName,
                defaultValue: "\(swiftName)()",
                wireType: ".varint",
                isNonDefault: { "\($0).rawValue != 0" },
                write: { "\($0).writeVarint(\($1).rawValue)" },
                read: { "try \(swiftName)(rawValue: Int32(truncatingIfNeeded: \($0).readVarint()))" },
                size: { "Protobuf.varintSize(\($0).rawValue)" },
                fixedSize: nil,
                packable: true
            )
        case .message(let name):
            let swiftName = self.swiftTypeNames[name]!
            return Codec(
                swiftType: swiftName,
                defaultValue: "\(swiftName)()",
                wireType: ".lengthDelimited",
                isNonDefault: { _ in "true" },
                write: { "\($0).writeMessage(\($1))" },
                read: { "try \($0).readMessage(\(swiftName).self)" },
                size: { "Protobuf.lengthDelimitedSize(\($0).encodedSize)" },
                fixedSize: nil,
                packable: false
            )
        case .map, .unresolved:
            preconditionFailure("map and unresolved types have no single-value codec")
        }
    }

    static func scalarCodec(_ scalar: ScalarType) -> Codec {
        func varint(_ type: String, read: @escaping (String) -> String, write: @escaping (String) -> String) -> Codec {
            Codec(
                swiftType: type,
                defaultValue: "0",
                wireType: ".varint",
                isNonDefault: { "\($0) != 0" },
                write: { "\($0).writeVarint(\(write($1)))" },
                read: read,
                size: { "Protobuf.varintSize(\(write($0)))" },
                fixedSize: nil,
                packable: true
            )
        }
        func fixed(_ type: String, bits: Int, read: @escaping (String) -> String, write: @escaping (String) -> String)
            -> Codec
        {
            Codec(
                swiftType: type,
                defaultValue: "0",
                wireType: bits == 32 ? ".fixed32" : ".fixed64",
                isNonDefault: { "\($0) != 0" },
                write: { "\($0).writeFixed\(bits)(\(write($1)))" },
                read: read,
                size: { _ in "\(bits / 8)" },
                fixedSize: bits / 8,
                packable: true
            )
        }
        switch scalar {
        case .int32:
            return varint("Int32", read: { "try Int32(truncatingIfNeeded: \($0).readVarint())" }, write: { $0 })
        case .int64:
            return varint("Int64", read: { "try Int64(bitPattern: \($0).readVarint())" }, write: { $0 })
        case .uint32:
            return varint(
                "UInt32", read: { "try UInt32(truncatingIfNeeded: \($0).readVarint())" }, write: { $0 })
        case .uint64:
            return varint("UInt64", read: { "try \($0).readVarint()" }, write: { $0 })
        case .sint32:
            return varint(
                "Int32",
                read: { "try Protobuf.unZigZag(UInt32(truncatingIfNeeded: \($0).readVarint()))" },
                write: { "Protobuf.zigZag(\($0))" }
            )
        case .sint64:
            return varint(
                "Int64",
                read: { "try Protobuf.unZigZag(\($0).readVarint())" },
                write: { "Protobuf.zigZag(\($0))" }
            )
        case .fixed32:
            return fixed("UInt32", bits: 32, read: { "try \($0).readFixed32()" }, write: { $0 })
        case .fixed64:
            return fixed("UInt64", bits: 64, read: { "try \($0).readFixed64()" }, write: { $0 })
        case .sfixed32:
            return fixed(
                "Int32",
                bits: 32,
                read: { "try Int32(bitPattern: \($0).readFixed32())" },
                write: { "UInt32(bitPattern: \($0))" }
            )
        case .sfixed64:
            return fixed(
                "Int64",
                bits: 64,
                read: { "try Int64(bitPattern: \($0).readFixed64())" },
                write: { "UInt64(bitPattern: \($0))" }
            )
        case .float:
            var codec = fixed("Float", bits: 32, read: { "try \($0).readFloat()" }, write: { $0 })
            // -0.0 is not the default: proto3 compares bit patterns, so it is written.
            codec.isNonDefault = { "\($0).bitPattern != 0" }
            codec.write = { "\($0).writeFloat(\($1))" }
            return codec
        case .double:
            var codec = fixed("Double", bits: 64, read: { "try \($0).readDouble()" }, write: { $0 })
            codec.isNonDefault = { "\($0).bitPattern != 0" }
            codec.write = { "\($0).writeDouble(\($1))" }
            return codec
        case .bool:
            return Codec(
                swiftType: "Bool",
                defaultValue: "false",
                wireType: ".varint",
                isNonDefault: { $0 },
                write: { "\($0).writeBool(\($1))" },
                read: { "try \($0).readBool()" },
                size: { _ in "1" },
                fixedSize: 1,
                packable: true
            )
        case .string:
            return Codec(
                swiftType: "String",
                defaultValue: "\"\"",
                wireType: ".lengthDelimited",
                isNonDefault: { "!\($0).isEmpty" },
                write: { "\($0).writeString(\($1))" },
                read: { "try \($0).readString()" },
                size: { "Protobuf.lengthDelimitedSize(\($0).utf8.count)" },
                fixedSize: nil,
                packable: false
            )
        case .bytes:
            return Codec(
                swiftType: "ByteBuffer",
                defaultValue: "ByteBuffer()",
                wireType: ".lengthDelimited",
                isNonDefault: { "\($0).readableBytes != 0" },
                write: { "\($0).writeBytes(\($1))" },
                read: { "try \($0).readBytes()" },
                size: { "Protobuf.lengthDelimitedSize(\($0).readableBytes)" },
                fixedSize: nil,
                packable: false
            )
        }
    }

    static func tagSize(_ number: Int) -> Int {
        var value = UInt64(number) << 3
        var size = 1
        while value >= 0x80 {
            value >>= 7
            size += 1
        }
        return size
    }

    // MARK: Names

    /// The Swift property names of a message's fields, checked for clashes.
    func propertyNames(of message: MessageDecl) throws(CodeGenError) -> [String] {
        var seen: [String: String] = [:]
        var names: [String] = []
        for field in message.fields {
            let name = Naming.lowerCamel(field.name)
            if let other = seen[name] {
                throw CodeGenError(
                    "fields '\(other)' and '\(field.name)' of '\(message.name)' both become Swift property '\(name)'",
                    at: field.location
                )
            }
            if Naming.reservedMemberNames.contains(name) {
                throw CodeGenError(
                    "field '\(field.name)' of '\(message.name)' would become '\(name)', a member every generated message already has",
                    at: field.location
                )
            }
            seen[name] = field.name
            names.append(name)
        }
        return names
    }

    /// The Swift case names of an enum's values (aliases map to the first name of their number).
    func caseNames(of decl: EnumDecl) throws(CodeGenError) -> [String] {
        var seen: [String: String] = [:]
        var names: [String] = []
        for value in decl.values {
            let name = Naming.enumCaseName(value.name, enumName: decl.name)
            if name == "unrecognized" {
                throw CodeGenError(
                    "enum value '\(value.name)' would become case 'unrecognized', which holds unknown values",
                    at: value.location
                )
            }
            if name == "none" {
                throw CodeGenError(
                    "enum value '\(value.name)' would become case 'none', which reads as Optional.none; rename it",
                    at: value.location
                )
            }
            if let other = seen[name] {
                throw CodeGenError(
                    "enum values '\(other)' and '\(value.name)' of '\(decl.name)' both become Swift case '\(name)'",
                    at: value.location
                )
            }
            seen[name] = value.name
            names.append(name)
        }
        return names
    }

    // MARK: Enums

    func renderEnum(_ decl: EnumDecl, into writer: inout CodeWriter) throws(CodeGenError) {
        let names = try self.caseNames(of: decl)
        let typeName = Naming.escaped(decl.name)
        // Values that are aliases of an earlier number become static lets, not cases.
        var firstForNumber: [Int32: Int] = [:]
        for (index, value) in decl.values.enumerated() where firstForNumber[value.number] == nil {
            firstForNumber[value.number] = index
        }
        let primary = decl.values.indices.filter { firstForNumber[decl.values[$0].number] == $0 }

        writer.doc(decl.comments, fallback: "The `\(decl.name)` enum of the IDL.")
        writer.doc(
            (decl.comments.isEmpty ? [] : [""])
                + ["Values this version does not know decode as `unrecognized` and encode unchanged."]
        )
        writer.block("public enum \(typeName): Hashable, Sendable {") { writer in
            for index in primary {
                writer.doc(
                    decl.values[index].comments,
                    fallback: "`\(decl.values[index].name)` (\(decl.values[index].number)).")
                writer.line("case \(Naming.escaped(names[index]))")
            }
            writer.line("/// A number this version of the IDL does not define; kept so it round-trips.")
            writer.line("case unrecognized(Int32)")
            for index in decl.values.indices where !primary.contains(index) {
                let target = names[firstForNumber[decl.values[index].number]!]
                writer.line()
                writer.doc(decl.values[index].comments, fallback: "Alias of `\(target)`.")
                writer.line("public static let \(Naming.escaped(names[index])) = \(typeName).\(target)")
            }
            writer.line()
            writer.line("/// The default value (number 0).")
            writer.block("public init() {") { writer in
                writer.line("self = .\(names[0])")
            }
            writer.line()
            writer.line("/// The case for a number read off the wire; unknown numbers become `unrecognized`.")
            writer.block("public init(rawValue: Int32) {") { writer in
                writer.switchBlock("switch rawValue {") { writer in
                    for index in primary {
                        writer.line("case \(decl.values[index].number): self = .\(names[index])")
                    }
                    writer.line("default: self = .unrecognized(rawValue)")
                }
            }
            writer.line()
            writer.line("/// The number sent on the wire.")
            writer.block("public var rawValue: Int32 {") { writer in
                writer.switchBlock("switch self {") { writer in
                    for index in primary {
                        writer.line("case .\(names[index]): \(decl.values[index].number)")
                    }
                    writer.line("case .unrecognized(let value): value")
                }
            }
            writer.line()
            writer.line("/// The name in the IDL, e.g. `\(decl.values[0].name)`, or the number when unknown.")
            writer.block("public var protoName: String {") { writer in
                writer.switchBlock("switch self {") { writer in
                    for index in primary {
                        writer.line("case .\(names[index]): \"\(decl.values[index].name)\"")
                    }
                    writer.line("case .unrecognized(let value): String(value)")
                }
            }
            writer.line()
            writer.line("/// Every value the IDL defines, in declaration order (aliases excluded).")
            writer.line(
                "public static let allKnownCases: [\(typeName)] = [\(primary.map { "." + names[$0] }.joined(separator: ", "))]"
            )
            writer.line()
            writer.line("/// Equal when the numbers are equal, so `.unrecognized(n)` equals the known case for `n`.")
            writer.block("public static func == (lhs: \(typeName), rhs: \(typeName)) -> Bool {") { writer in
                writer.line("lhs.rawValue == rhs.rawValue")
            }
            writer.line()
            writer.line("/// Hashes the number, consistently with `==`.")
            writer.block("public func hash(into hasher: inout Hasher) {") { writer in
                writer.line("hasher.combine(self.rawValue)")
            }
        }
    }

    // MARK: Messages

    func renderMessage(_ message: MessageDecl, into writer: inout CodeWriter) throws(CodeGenError) {
        let names = try self.propertyNames(of: message)
        writer.doc(message.comments, fallback: "The `\(message.name)` message of the IDL.")
        var failure: CodeGenError?
        writer.block("public struct \(Naming.escaped(message.name)): WireMessage {") { writer in
            do throws(CodeGenError) {
                for nested in message.enums {
                    try self.renderEnum(nested, into: &writer)
                    writer.line()
                }
                for nested in message.messages {
                    try self.renderMessage(nested, into: &writer)
                    writer.line()
                }
            } catch {
                failure = error
                return
            }
            self.renderProperties(message, names: names, into: &writer)
            self.renderInitializers(message, names: names, into: &writer)
            writer.line()
            if self.isInternable(message) {
                writer.line(
                    "/// A small value without `bytes`: a decoder may give a value it made before for the same bytes.")
                writer.line("public static var isInternable: Bool { true }")
                writer.line()
            }
            self.renderEncode(message, names: names, into: &writer)
            writer.line()
            self.renderSize(message, names: names, into: &writer)
            writer.line()
            self.renderMerge(message, names: names, into: &writer)
        }
        if let failure { throw failure }
    }

    private func propertyType(_ field: FieldDecl) -> (type: String, defaultValue: String) {
        switch field.type {
        case .map(let key, let value):
            let keyType = Self.scalarCodec(key).swiftType
            return ("[\(keyType): \(self.codec(for: value).swiftType)]", "[:]")
        default:
            let codec = self.codec(for: field.type)
            switch field.label {
            case .repeated: return ("[\(codec.swiftType)]", "[]")
            case .optional: return ("\(codec.swiftType)?", "nil")
            case .singular:
                if case .message = field.type { return ("\(codec.swiftType)?", "nil") }
                return (codec.swiftType, codec.defaultValue)
            }
        }
    }

    private func renderProperties(_ message: MessageDecl, names: [String], into writer: inout CodeWriter) {
        for (field, name) in zip(message.fields, names) {
            let (type, defaultValue) = self.propertyType(field)
            var comments = field.comments.isEmpty ? ["Field `\(field.name)` (\(field.number))."] : field.comments
            if field.deprecated { comments += ["", "- Note: deprecated in the IDL."] }
            writer.doc(comments)
            writer.line("public var \(Naming.escaped(name)): \(type) = \(defaultValue)")
        }
        if !message.fields.isEmpty { writer.line() }
    }

    private func renderInitializers(_ message: MessageDecl, names: [String], into writer: inout CodeWriter) {
        writer.line("/// Creates a message with every field at its proto3 default.")
        writer.line("public init() {}")
        guard !message.fields.isEmpty else { return }
        writer.line()
        writer.line("/// Creates a message from its fields; the ones left out keep their proto3 defaults.")
        let parameters = zip(message.fields, names).map { field, name in
            let (type, defaultValue) = self.propertyType(field)
            return "\(name): \(type) = \(defaultValue)"
        }
        let oneLine = "public init(\(parameters.joined(separator: ", "))) {"
        if oneLine.count + 4 <= 120 {
            writer.line(oneLine)
        } else {
            writer.line("public init(")
            for (index, parameter) in parameters.enumerated() {
                writer.line("    \(parameter)\(index == parameters.count - 1 ? "" : ",")")
            }
            writer.line(") {")
        }
        for name in names {
            writer.line("    self.\(name) = \(Naming.escaped(name))")
        }
        writer.line("}")
    }

    private func renderEncode(_ message: MessageDecl, names: [String], into writer: inout CodeWriter) {
        writer.line("/// Appends the protobuf encoding: fields in number order, proto3 defaults omitted.")
        guard !message.fields.isEmpty else {
            writer.line("public func encode(into buffer: inout ByteBuffer) {}")
            writer.line()
            writer.line("/// Writes nothing: the message has no fields.")
            writer.line("public func encode(to writer: inout ProtobufWriter) {}")
            return
        }
        writer.block("public func encode(into buffer: inout ByteBuffer) {") { writer in
            writer.line("buffer.writeProtobufEncoding(of: self)")
        }
        writer.line()
        writer.line("/// Writes the fields into memory reserved for `encodedSize` bytes.")
        writer.block("public func encode(to writer: inout ProtobufWriter) {") { writer in
            for (field, name) in zip(message.fields, names).sorted(by: { $0.0.number < $1.0.number }) {
                self.renderEncodeField(field, property: "self.\(name)", into: &writer)
            }
        }
    }

    private func renderEncodeField(_ field: FieldDecl, property: String, into writer: inout CodeWriter) {
        let number = field.number
        if case .map(let keyType, let valueType) = field.type {
            let key = Self.scalarCodec(keyType)
            let value = self.codec(for: valueType)
            let order = keyType == .bool ? "{ !$0.key && $1.key }" : "{ $0.key < $1.key }"
            // Sorted so the same map always encodes to the same bytes (golden vectors, caching).
            writer.block("for (key, value) in \(property).sorted(by: \(order)) {") { writer in
                var isMessage = false
                if case .message = valueType { isMessage = true }
                // A message value's size is computed once and reused for the entry and the value prefix.
                if isMessage { writer.line("let valueSize = value.encodedSize") }
                let valueSize = isMessage ? "Protobuf.lengthDelimitedSize(valueSize)" : value.size("value")
                writer.line(
                    "let entrySize = \(1 + (key.fixedSize ?? 0)) \(key.fixedSize == nil ? "+ \(key.size("key")) " : "")+ \(1 + (value.fixedSize ?? 0))\(value.fixedSize == nil ? " + \(valueSize)" : "")"
                )
                writer.line("writer.writeTag(\(number), .lengthDelimited)")
                writer.line("writer.writeVarint(UInt64(entrySize))")
                writer.line("writer.writeTag(1, \(key.wireType))")
                writer.line(key.write("writer", "key"))
                writer.line("writer.writeTag(2, \(value.wireType))")
                if isMessage {
                    writer.line("writer.writeVarint(UInt64(valueSize))")
                    writer.line("value.encode(to: &writer)")
                } else {
                    writer.line(value.write("writer", "value"))
                }
            }
            return
        }
        let codec = self.codec(for: field.type)
        switch field.label {
        case .repeated where codec.packable && field.packed:
            writer.block("if !\(property).isEmpty {") { writer in
                writer.line("writer.writeTag(\(number), .lengthDelimited)")
                if let fixed = codec.fixedSize {
                    writer.line("writer.writeVarint(UInt64(\(property).count * \(fixed)))")
                } else {
                    writer.line("var packedSize = 0")
                    writer.line("for element in \(property) { packedSize += \(codec.size("element")) }")
                    writer.line("writer.writeVarint(UInt64(packedSize))")
                }
                writer.line("for element in \(property) { \(codec.write("writer", "element")) }")
            }
        case .repeated:
            writer.block("for element in \(property) {") { writer in
                writer.line("writer.writeTag(\(number), \(codec.wireType))")
                writer.line(codec.write("writer", "element"))
            }
        case .optional:
            writer.block("if let value = \(property) {") { writer in
                writer.line("writer.writeTag(\(number), \(codec.wireType))")
                writer.line(codec.write("writer", "value"))
            }
        case .singular:
            if case .message = field.type {
                writer.block("if let value = \(property) {") { writer in
                    writer.line("writer.writeTag(\(number), \(codec.wireType))")
                    writer.line(codec.write("writer", "value"))
                }
            } else {
                writer.block("if \(codec.isNonDefault(property)) {") { writer in
                    writer.line("writer.writeTag(\(number), \(codec.wireType))")
                    writer.line(codec.write("writer", property))
                }
            }
        }
    }

    private func renderSize(_ message: MessageDecl, names: [String], into writer: inout CodeWriter) {
        writer.line("/// The exact number of bytes `encode(into:)` appends.")
        guard !message.fields.isEmpty else {
            writer.line("public var encodedSize: Int { 0 }")
            return
        }
        writer.block("public var encodedSize: Int {") { writer in
            writer.line("var size = 0")
            for (field, name) in zip(message.fields, names).sorted(by: { $0.0.number < $1.0.number }) {
                self.renderSizeField(field, property: "self.\(name)", into: &writer)
            }
            writer.line("return size")
        }
    }

    private func renderSizeField(_ field: FieldDecl, property: String, into writer: inout CodeWriter) {
        let tag = Self.tagSize(field.number)
        if case .map(let keyType, let valueType) = field.type {
            let key = Self.scalarCodec(keyType)
            let value = self.codec(for: valueType)
            if let keySize = key.fixedSize, let valueSize = value.fixedSize {
                writer.line("size += \(property).count * \(tag + 1 + 2 + keySize + valueSize)")
                return
            }
            // Name only what the size depends on: fixed-size keys or values would be unused bindings.
            let keyName = key.fixedSize == nil ? "key" : "_"
            let valueName = value.fixedSize == nil ? "value" : "_"
            writer.block("for (\(keyName), \(valueName)) in \(property) {") { writer in
                writer.line(
                    "let entrySize = \(1 + (key.fixedSize ?? 0)) \(key.fixedSize == nil ? "+ \(key.size("key")) " : "")+ \(1 + (value.fixedSize ?? 0))\(value.fixedSize == nil ? " + \(value.size("value"))" : "")"
                )
                writer.line("size += \(tag) + Protobuf.lengthDelimitedSize(entrySize)")
            }
            return
        }
        let codec = self.codec(for: field.type)
        let valueSize: (String) -> String = { value in
            codec.fixedSize.map { "\(tag + $0)" } ?? "\(tag) + \(codec.size(value))"
        }
        switch field.label {
        case .repeated where codec.packable && field.packed:
            writer.block("if !\(property).isEmpty {") { writer in
                if let fixed = codec.fixedSize {
                    writer.line("size += \(tag) + Protobuf.lengthDelimitedSize(\(property).count * \(fixed))")
                } else {
                    writer.line("var packedSize = 0")
                    writer.line("for element in \(property) { packedSize += \(codec.size("element")) }")
                    writer.line("size += \(tag) + Protobuf.lengthDelimitedSize(packedSize)")
                }
            }
        case .repeated:
            if let fixed = codec.fixedSize {
                writer.line("size += \(property).count * \(tag + fixed)")
            } else {
                writer.line("for element in \(property) { size += \(valueSize("element")) }")
            }
        case .optional:
            if codec.fixedSize != nil {
                writer.block("if \(property) != nil {") { $0.line("size += \(valueSize("value"))") }
            } else {
                writer.block("if let value = \(property) {") { $0.line("size += \(valueSize("value"))") }
            }
        case .singular:
            if case .message = field.type {
                writer.block("if let value = \(property) {") { $0.line("size += \(valueSize("value"))") }
            } else {
                writer.block("if \(codec.isNonDefault(property)) {") { $0.line("size += \(valueSize(property))") }
            }
        }
    }

    private func renderMerge(_ message: MessageDecl, names: [String], into writer: inout CodeWriter) {
        writer.line("/// Merges fields read from `buffer` until it is empty; unknown fields are skipped.")
        writer.block("public mutating func merge(from buffer: inout ByteBuffer) throws(WireError) {") { writer in
            writer.line("try buffer.mergeProtobufEncoding(into: &self)")
        }
        writer.line()
        writer.line("/// Merges fields from `reader` until its end; unknown fields are skipped.")
        writer.block("public mutating func merge(from reader: inout ProtobufReader) throws(WireError) {") { writer in
            writer.block("while let tag = try reader.readTag() {") { writer in
                guard !message.fields.isEmpty else {
                    writer.line("try reader.skipField(tag)")
                    return
                }
                writer.switchBlock("switch (tag.fieldNumber, tag.wireType) {") { writer in
                    let sorted = zip(message.fields, names).sorted(by: { $0.0.number < $1.0.number })
                    for (field, name) in sorted {
                        self.renderMergeField(field, property: "self.\(name)", into: &writer)
                    }
                    // A known field with a wire type its type never uses does not decode (WIRE.md §7.2).
                    writer.line("case \(sorted.map { "(\($0.0.number), _)" }.joined(separator: ", ")):")
                    writer.line("    throw ProtobufReader.wrongWireType(tag)")
                    writer.line("default:")
                    writer.line("    try reader.skipField(tag)")
                }
            }
        }
    }

    private func renderMergeField(_ field: FieldDecl, property: String, into writer: inout CodeWriter) {
        let number = field.number
        if case .map(let keyType, let valueType) = field.type {
            let key = Self.scalarCodec(keyType)
            let value = self.codec(for: valueType)
            writer.line("case (\(number), .lengthDelimited):")
            writer.line("    var entry = try reader.readDelimited()")
            writer.line("    var key: \(key.swiftType) = \(key.defaultValue)")
            writer.line("    var value: \(value.swiftType) = \(value.defaultValue)")
            writer.line("    while let entryTag = try entry.readTag() {")
            writer.line("        switch (entryTag.fieldNumber, entryTag.wireType) {")
            writer.line("        case (1, \(key.wireType)):")
            writer.line("            key = \(key.read("entry"))")
            writer.line("        case (2, \(value.wireType)):")
            if case .message = valueType {
                writer.line("            try entry.mergeMessage(into: &value)")
            } else {
                writer.line("            value = \(value.read("entry"))")
            }
            writer.line("        case (1, _), (2, _):")
            writer.line("            throw ProtobufReader.wrongWireType(entryTag)")
            writer.line("        default:")
            writer.line("            try entry.skipField(entryTag)")
            writer.line("        }")
            writer.line("    }")
            writer.line("    \(property)[key] = value")
            return
        }
        let codec = self.codec(for: field.type)
        switch field.label {
        case .repeated:
            if codec.packable {
                // Parsers must accept both packed and unpacked encodings of a packable field.
                writer.line("case (\(number), .lengthDelimited):")
                writer.line("    var packed = try reader.readDelimited()")
                if let fixed = codec.fixedSize {
                    writer.line("    \(property).reserveCapacity(\(property).count + packed.remaining / \(fixed))")
                }
                writer.line("    while !packed.isAtEnd { \(property).append(\(codec.read("packed"))) }")
            }
            writer.line("case (\(number), \(codec.wireType)):")
            if case .message = field.type {
                // Messages: sized for all of them at the first (no regrowth and move on the way), or a run decoded
                // before, whole. Not for strings: a repeated string is most often one value, for which the count
                // would be pure cost.
                writer.line("    try reader.readRepeatedMessage(tag, into: &\(property))")
            } else {
                writer.line("    \(property).append(\(codec.read("reader")))")
            }
        case .optional, .singular:
            writer.line("case (\(number), \(codec.wireType)):")
            if case .message(let name) = field.type {
                // A message field seen twice is merged, as protobuf specifies.
                writer.line("    var value = \(property) ?? \(self.swiftTypeNames[name]!)()")
                writer.line("    try reader.mergeMessage(into: &value)")
                writer.line("    \(property) = value")
            } else {
                writer.line("    \(property) = \(codec.read("reader"))")
            }
        }
    }
}

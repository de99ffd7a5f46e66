import IAMPolicy

/// A JSON value that keeps member order: what commands read (`--cli-input-json`, structure parameters) and
/// print (AWS's response shape, in the IDL's member order as AWS's model orders them).
enum AWSJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([AWSJSON])
    case object([Member])

    struct Member: Sendable, Equatable {
        var key: String
        var value: AWSJSON
    }

    /// The member `key` of an object.
    subscript(key: String) -> AWSJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    var isScalar: Bool {
        switch self {
        case .array, .object: false
        default: true
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double: "number"
        case .string: "string"
        case .array: "list"
        case .object: "structure"
        }
    }

    /// Parses JSON text (the policy engine's parser: bounded depth, exact errors).
    static func parse(_ text: String) throws(InputError) -> AWSJSON {
        let node: JSONNode
        do {
            // The policy engine's reader, without the policy's opening on its messages: an input is not a policy.
            node = try JSONParser.parse(Array(text.utf8), rejectDuplicateKeys: false, errorOpening: "")
        } catch {
            throw InputError(error.message.hasPrefix("Invalid JSON") ? error.message : "Invalid JSON: \(error.message)")
        }
        return try AWSJSON(node)
    }

    /// A number beyond a double's range (`1e999`) is refused: it has no JSON form to print or send back.
    private init(_ node: JSONNode) throws(InputError) {
        switch node.value {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .number(let text):
            if let value = Int64(text) {
                self = .int(value)
            } else {
                guard let value = Double(text), value.isFinite else {
                    throw InputError("Invalid JSON: the number \(text.prefix(64)) is out of range")
                }
                self = .double(value)
            }
        case .string(let value): self = .string(value)
        case .array(let nodes): self = .array(try nodes.map { node throws(InputError) in try AWSJSON(node) })
        case .object(let members):
            var converted: [Member] = []
            converted.reserveCapacity(members.count)
            for member in members { converted.append(Member(key: member.key, value: try AWSJSON(member.value))) }
            self = .object(converted)
        }
    }

    /// The value as Python's `str()` shows it, which is what the AWS CLI's text output prints.
    var textValue: String {
        switch self {
        case .null: "None"
        case .bool(let value): value ? "True" : "False"
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): value
        case .array, .object: rendered(indent: nil)
        }
    }

    /// JSON text: with `indent` as the AWS CLI prints (Python's `json.dumps(indent=4, ensure_ascii=False)`),
    /// or compact with nil.
    func rendered(indent: Int? = 4) -> String {
        var output = ""
        write(to: &output, indent: indent, level: 0)
        return output
    }

    private func write(to output: inout String, indent: Int?, level: Int) {
        func newline(_ level: Int) {
            if let indent {
                output += "\n" + String(repeating: " ", count: indent * level)
            }
        }
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value):
            // As Python's json.dumps, which the AWS CLI prints with (a computed --query value can overflow).
            output += value.isFinite ? "\(value)" : value.isNaN ? "NaN" : value < 0 ? "-Infinity" : "Infinity"
        case .string(let value): Self.quote(value, into: &output)
        case .array(let values):
            guard !values.isEmpty else {
                output += "[]"
                return
            }
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += indent == nil ? ", " : "," }
                newline(level + 1)
                value.write(to: &output, indent: indent, level: level + 1)
            }
            newline(level)
            output += "]"
        case .object(let members):
            guard !members.isEmpty else {
                output += "{}"
                return
            }
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += indent == nil ? ", " : "," }
                newline(level + 1)
                Self.quote(member.key, into: &output)
                output += ": "
                member.value.write(to: &output, indent: indent, level: level + 1)
            }
            newline(level)
            output += "}"
        }
    }

    static func quote(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}

/// A problem with a command's input, found before anything is sent (the AWS CLI's exit status 252).
struct InputError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

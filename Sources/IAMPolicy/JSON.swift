/// A parsed JSON value that keeps object member order and number text.
///
/// `package` so the CLI and the test vectors read JSON with the same parser the engine uses.
package enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// The number's text as written (already checked against JSON's grammar).
    case number(String)
    /// A string, unescaped.
    case string(String)
    /// An array.
    case array([JSONNode])
    /// An object, members in source order.
    case object([JSONMember])

    /// A short name of the JSON type, for messages.
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A JSON value with the byte range it was parsed from (so a caller can hand a nested document on verbatim).
package struct JSONNode: Sendable, Hashable {
    /// The value.
    package var value: JSONValue
    /// The value's byte range in the parsed input.
    package var range: Range<Int>

    /// A short name of the JSON type, for messages.
    package var typeName: String { value.typeName }

    /// The first member named `key`, if this is an object.
    package subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, if this is a string.
    package var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }
}

/// One member of a JSON object, in document order.
package struct JSONMember: Sendable, Hashable {
    /// The member name, unescaped.
    package var key: String
    /// The member value.
    package var value: JSONNode
}

/// A small strict JSON parser for policy documents.
///
/// It is bounded before it allocates much: the caller bounds the input size, nesting is limited to
/// ``maxDepth`` (a real policy nests 6 deep), and duplicate object keys are an error naming the element path,
/// because AWS rejects new policies that repeat a key.
package struct JSONParser {
    /// Nesting bound for policy documents (a real policy nests 6 deep).
    package static let maxDepth = 32

    private let bytes: [UInt8]
    private let maxDepth: Int
    private let rejectDuplicateKeys: Bool
    /// What each error message opens with: AWS's `Syntax errors in policy. ` for a policy, nothing for other JSON.
    private let errorOpening: String
    private var index = 0
    private var depth = 0
    /// Element path of the value being parsed, for messages (`Statement[1].Condition`).
    private var path: [PathComponent] = []

    enum PathComponent {
        case key(String)
        case index(Int)
    }

    init(_ bytes: [UInt8], maxDepth: Int, rejectDuplicateKeys: Bool, errorOpening: String) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.rejectDuplicateKeys = rejectDuplicateKeys
        self.errorOpening = errorOpening
    }

    /// A policy document's syntax errors open as AWS's do.
    package static let policyErrorOpening = PolicyParser.syntax + " "

    /// Parses one JSON value that must span the whole input (surrounding whitespace allowed).
    ///
    /// Errors are `MalformedPolicyDocument` with line, column and element path. Policy documents reject
    /// duplicate keys (AWS does); other files (vector and case files) may keep them with
    /// `rejectDuplicateKeys: false`, members then appear in source order, duplicates included.
    package static func parse(
        _ bytes: [UInt8],
        maxDepth: Int = JSONParser.maxDepth,
        rejectDuplicateKeys: Bool = true,
        errorOpening: String = JSONParser.policyErrorOpening
    ) throws(PolicyError) -> JSONNode {
        var parser = JSONParser(
            bytes, maxDepth: maxDepth, rejectDuplicateKeys: rejectDuplicateKeys, errorOpening: errorOpening)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.syntaxError("unexpected text after the end of the document")
        }
        return value
    }

    static func render(_ path: [PathComponent]) -> String {
        var out = ""
        for component in path {
            switch component {
            case .key(let key): out += out.isEmpty ? key : "." + key
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    private func syntaxError(_ what: String) -> PolicyError {
        var locator = TextLocator(bytes)
        let at = locator.position(at: min(index, bytes.count))
        let where_ = JSONParser.render(path)
        let location = where_.isEmpty ? "" : " in \(where_)"
        return .malformed(
            "\(errorOpening)Invalid JSON at line \(at.line), column \(at.column)\(location): \(what)")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(PolicyError) -> JSONNode {
        guard index < bytes.count else { throw syntaxError("unexpected end of input") }
        let start = index
        let value: JSONValue
        switch bytes[index] {
        case UInt8(ascii: "{"): value = try parseObject()
        case UInt8(ascii: "["): value = try parseArray()
        case UInt8(ascii: "\""): value = .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            value = .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            value = .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            value = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            value = .number(try parseNumber())
        default:
            throw syntaxError("unexpected character \(describe(bytes[index]))")
        }
        return JSONNode(value: value, range: start..<index)
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(PolicyError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        guard index + count <= bytes.count else { throw syntaxError("invalid literal") }
        for i in 0..<count where bytes[index + i] != start[i] {
            throw syntaxError("invalid literal")
        }
        index += count
    }

    private mutating func enter() throws(PolicyError) {
        depth += 1
        if depth > maxDepth {
            throw .malformed(
                "\(errorOpening)The document nests deeper than \(maxDepth) levels; "
                    + "no policy needs that"
            )
        }
    }

    private mutating func parseObject() throws(PolicyError) -> JSONValue {
        try enter()
        index += 1
        var members: [JSONMember] = []
        // Linear duplicate search for the usual handful of members; a set once an object grows large.
        var seen: Set<String>?
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw syntaxError("expected a member name in double quotes")
            }
            let key = try parseString()
            let duplicate: Bool
            if !rejectDuplicateKeys {
                duplicate = false
            } else if members.count < 16 {
                duplicate = members.contains { $0.key == key }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                duplicate = !seen!.insert(key).inserted
            }
            if duplicate {
                let element = JSONParser.render(path)
                throw .malformed(
                    element.isEmpty ? "" : element,
                    "\(errorOpening)Duplicate key \"\(key)\"; each element may appear only once"
                )
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw syntaxError("expected ':' after member name")
            }
            index += 1
            skipWhitespace()
            path.append(.key(key))
            let value = try parseValue()
            path.removeLast()
            members.append(JSONMember(key: key, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw syntaxError("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(members)
            }
            throw syntaxError("expected ',' or '}' in object")
        }
    }

    private mutating func parseArray() throws(PolicyError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONNode] = []
        skipWhitespace()
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            path.append(.index(elements.count))
            let value = try parseValue()
            path.removeLast()
            elements.append(value)
            skipWhitespace()
            guard index < bytes.count else { throw syntaxError("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            throw syntaxError("expected ',' or ']' in array")
        }
    }

    private mutating func parseNumber() throws(PolicyError) -> String {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw syntaxError("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw syntaxError("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw syntaxError("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func parseHex4() throws(PolicyError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw syntaxError("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexValue(bytes[index]) else { throw syntaxError("invalid \\u escape") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Parses a string literal; the input was validated as UTF-8 before parsing, so raw bytes are copied as is.
    private mutating func parseString() throws(PolicyError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw syntaxError("control character in string (escape it)") }
            index += 1
        }
        // Escapes: the unescaped UTF-8 is collected as bytes and made a String once (a `JSONEncoder` writes every
        // "/" as "\/", so each stored ARN and path comes this way).
        var out: [UInt8] = []
        out.reserveCapacity(index - start + 32)
        out.append(contentsOf: bytes[start..<index])
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw syntaxError("control character in string (escape it)") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { throw syntaxError("unterminated string") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if code >= 0xD800 && code < 0xDC00 {
                    guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    else { throw syntaxError("unpaired surrogate in \\u escape") }
                    index += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw syntaxError("unpaired surrogate in \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if code >= 0xDC00 && code < 0xE000 {
                    throw syntaxError("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw syntaxError("invalid \\u escape") }
                out.append(contentsOf: UTF8.encode(scalar)!)
            default:
                throw syntaxError("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
        }
        throw syntaxError("unterminated string")
    }
}

/// Lines and columns (from 1; a column is a character, not a byte) of byte offsets in a text, in one forward pass:
/// asked in increasing order (a policy's statements come in document order), it never reads a byte twice. Syntax
/// errors and statements' spans count positions the same way.
struct TextLocator {
    let bytes: [UInt8]
    private var offset = 0
    private var position = TextPosition(line: 1, column: 1)

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The position of the byte at `target` (not before the last one asked).
    mutating func position(at target: Int) -> TextPosition {
        precondition(target >= self.offset && target <= self.bytes.count)
        while self.offset < target {
            let byte = self.bytes[self.offset]
            if byte == 0x0A {
                self.position.line += 1
                self.position.column = 1
            } else if byte & 0xC0 != 0x80 {
                // A UTF-8 continuation byte belongs to the character before it.
                self.position.column += 1
            }
            self.offset += 1
        }
        return self.position
    }

    /// The span of a statement's object, parsed from `range`.
    mutating func span(_ range: Range<Int>) -> SourceSpan {
        SourceSpan(
            start: self.position(at: range.lowerBound),
            end: self.position(at: max(range.lowerBound, range.upperBound - 1)))
    }
}

/// A small JSON reader that keeps the byte range of every value.
///
/// The vector and case files embed policy documents as JSON objects; the engine must see those documents exactly as
/// written (key order, number spelling, escapes, duplicate keys), so the reader hands out each value's raw bytes
/// instead of re-serialising a decoded tree. It is strict RFC 8259 JSON with a nesting bound, and it never crashes on
/// bad input: every problem is a ``RawJSONError`` with a byte offset.
package struct RawJSON: Sendable {
    /// A decoded JSON value.
    package enum Value: Sendable {
        /// `null`.
        case null
        /// `true` / `false`.
        case bool(Bool)
        /// A number, as spelled in the source.
        case number(String)
        /// A string, unescaped.
        case string(String)
        /// An array.
        case array([RawJSON])
        /// An object, members in source order (duplicates kept).
        case object([(key: String, value: RawJSON)])
    }

    /// The value.
    package var value: Value
    /// The value's byte range in the source.
    package var range: Range<Int>

    /// The first member named `key`, if this is an object.
    package subscript(key: String) -> RawJSON? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The string, if this is a string.
    package var string: String? {
        if case .string(let s) = value { return s }
        return nil
    }

    /// A short name of the value's JSON type, for error messages.
    package var typeName: String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Parses `bytes` as one JSON value (surrounding whitespace allowed).
    package static func parse(_ bytes: [UInt8], maxDepth: Int = 128) throws(RawJSONError) -> RawJSON {
        var parser = RawJSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }
}

/// Why a JSON text could not be read.
package struct RawJSONError: Error, Sendable, CustomStringConvertible {
    /// Byte offset of the problem.
    package var offset: Int
    /// What is wrong.
    package var message: String

    /// `"byte <offset>: <message>"`.
    package var description: String { "byte \(offset): \(message)" }
}

private struct RawJSONParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var offset = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func error(_ message: String) -> RawJSONError { RawJSONError(offset: offset, message: message) }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(RawJSONError) -> RawJSON {
        guard depth <= maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
        guard offset < bytes.count else { throw error("unexpected end of input") }
        let start = offset
        let value: RawJSON.Value
        switch bytes[offset] {
        case UInt8(ascii: "{"): value = try parseObject(depth: depth)
        case UInt8(ascii: "["): value = try parseArray(depth: depth)
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
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): value = .number(try parseNumber())
        default: throw error("unexpected character")
        }
        return RawJSON(value: value, range: start..<offset)
    }

    mutating func expectLiteral(_ literal: StaticString) throws(RawJSONError) {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw error("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for i in 0..<count where bytes[offset + i] != expected[i] {
            throw error("invalid literal")
        }
        offset += count
    }

    mutating func parseObject(depth: Int) throws(RawJSONError) -> RawJSON.Value {
        offset += 1
        var members: [(key: String, value: RawJSON)] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                throw error("expected a member name")
            }
            let key = try parseString()
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw error("expected ':'") }
            offset += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard offset < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            guard bytes[offset] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
            offset += 1
            return .object(members)
        }
    }

    mutating func parseArray(depth: Int) throws(RawJSONError) -> RawJSON.Value {
        offset += 1
        var elements: [RawJSON] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard offset < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            guard bytes[offset] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
            offset += 1
            return .array(elements)
        }
    }

    mutating func parseNumber() throws(RawJSONError) -> String {
        let start = offset
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        guard offset < bytes.count, isDigit(bytes[offset]) else { throw error("invalid number") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard offset < bytes.count, isDigit(bytes[offset]) else { throw error("invalid number") }
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                offset += 1
            }
            guard offset < bytes.count, isDigit(bytes[offset]) else { throw error("invalid number") }
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    mutating func parseString() throws(RawJSONError) -> String {
        offset += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard offset < bytes.count else { throw error("unterminated string") }
            let b = bytes[offset]
            switch b {
            case UInt8(ascii: "\""):
                offset += 1
                // Validate UTF-8 rather than silently repairing it: a vector file must say what it means.
                guard let s = String(validating: out, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return s
            case UInt8(ascii: "\\"):
                offset += 1
                guard offset < bytes.count else { throw error("unterminated escape") }
                let e = bytes[offset]
                offset += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
                            bytes[offset + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate") }
                        offset += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("unpaired surrogate")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    out.append(contentsOf: String(Character(u)).utf8)
                default:
                    throw error("invalid escape")
                }
            case 0x00..<0x20:
                throw error("control character in a string")
            default:
                out.append(b)
                offset += 1
            }
        }
    }

    mutating func parseHex4() throws(RawJSONError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw error("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[offset]
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            offset += 1
        }
        return v
    }
}

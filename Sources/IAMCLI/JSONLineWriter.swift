/// Builds one compact JSON object, fields in the order written.
///
/// The CLI's output lines have a fixed field order (Vectors/README.md and `--help` spell them), which `JSONEncoder`
/// does not promise, so lines are written by hand with RFC 8259 string escaping.
package struct JSONLineWriter: Sendable {
    private var text = "{"
    private var first = true

    /// Starts an empty object.
    package init() {}

    /// Writes `"key":` (with a separating comma when needed).
    package mutating func key(_ key: String) {
        if !first { text += "," }
        first = false
        Self.appendString(key, to: &text)
        text += ":"
    }

    /// Appends raw JSON text (a value written by the caller).
    package mutating func raw(_ json: String) { text += json }

    /// A string field, or `null`.
    package mutating func field(_ key: String, string value: String?) {
        self.key(key)
        if let value { Self.appendString(value, to: &text) } else { text += "null" }
    }

    /// An integer field.
    package mutating func field(_ key: String, int value: Int) {
        self.key(key)
        text += String(value)
    }

    /// A number field; non-finite values are written as `null` (JSON has no NaN).
    package mutating func field(_ key: String, double value: Double) {
        self.key(key)
        text += value.isFinite ? String(value) : "null"
    }

    /// An array-of-strings field.
    package mutating func field(_ key: String, strings: [String]) {
        self.key(key)
        text += "["
        for (i, s) in strings.enumerated() {
            if i > 0 { text += "," }
            Self.appendString(s, to: &text)
        }
        text += "]"
    }

    /// The finished object.
    package func finish() -> String { text + "}" }

    /// Appends `value` as a JSON string literal.
    package static func appendString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0}"..."\u{1F}", "\u{7F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

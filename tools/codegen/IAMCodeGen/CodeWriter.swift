/// Builds indented Swift source text line by line.
struct CodeWriter {
    private(set) var text = ""
    private var level = 0

    /// Appends one line at the current indentation (an empty string gives an empty line).
    mutating func line(_ content: String = "") {
        if content.isEmpty {
            self.text += "\n"
        } else {
            self.text += String(repeating: "    ", count: self.level) + content + "\n"
        }
    }

    /// Appends several lines (split on newlines) at the current indentation.
    mutating func lines(_ content: String) {
        for line in content.split(separator: "\n", omittingEmptySubsequences: false) {
            self.line(String(line))
        }
    }

    /// `opener`, the indented body, then `closer`.
    mutating func block(_ opener: String, closer: String = "}", _ body: (inout CodeWriter) -> Void) {
        self.line(opener)
        self.level += 1
        body(&self)
        self.level -= 1
        self.line(closer)
    }

    /// A `switch` whose `case` labels sit at the switch's own indentation (the project's swift-format style).
    mutating func switchBlock(_ opener: String, _ body: (inout CodeWriter) -> Void) {
        self.line(opener)
        body(&self)
        self.line("}")
    }

    /// The IDL comment lines as `///` documentation; `fallback` when the IDL has none.
    mutating func doc(_ comments: [String], fallback: String? = nil) {
        let lines = comments.isEmpty ? (fallback.map { [$0] } ?? []) : comments
        for line in lines {
            self.line(line.isEmpty ? "///" : "/// \(line)")
        }
    }
}

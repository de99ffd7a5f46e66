/// One token of the proto3 subset, with the comments that belong to it.
struct Token: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// A name or keyword; dotted names are split into identifier and "." tokens.
        case identifier(String)
        /// An integer literal (decimal, hex or octal), without sign.
        case integer(UInt64)
        /// A floating-point literal (only accepted as an option value).
        case float(Double)
        /// A string literal, unescaped.
        case string(String)
        /// One of `{ } ( ) [ ] < > ; = , . - +`.
        case symbol(Character)
        /// End of input.
        case end
    }

    var kind: Kind
    var location: SourceLocation
    /// The comment lines directly above the token (no blank line in between), markers stripped.
    var leadingComments: [String]
    /// A `//` comment on the same line after the token, if any (set on the last token of a line).
    var trailingComment: String?

    var spelling: String {
        switch self.kind {
        case .identifier(let name): "'\(name)'"
        case .integer(let value): "'\(value)'"
        case .float(let value): "'\(value)'"
        case .string(let value): "string \"\(value)\""
        case .symbol(let symbol): "'\(symbol)'"
        case .end: "end of file"
        }
    }
}

/// Splits proto source text into tokens, keeping comments so they can be carried into generated code.
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private let file: String
    private var index = 0
    private var line = 1
    private var column = 1

    init(source: String, file: String) {
        self.scalars = Array(source.unicodeScalars)
        self.file = file
    }

    private var location: SourceLocation { SourceLocation(file: self.file, line: self.line, column: self.column) }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let position = self.index + offset
        return position < self.scalars.count ? self.scalars[position] : nil
    }

    private mutating func advance() {
        if self.scalars[self.index] == "\n" {
            self.line += 1
            self.column = 1
        } else {
            self.column += 1
        }
        self.index += 1
    }

    /// Tokenizes the whole input; the last token is `.end`.
    mutating func tokenize() throws(CodeGenError) -> [Token] {
        var tokens: [Token] = []
        var pending: [String] = []
        // Line of the last token emitted, to recognise trailing comments.
        var lastTokenLine = 0
        // Line where the pending comment block ended, to drop blocks separated by a blank line.
        var pendingEndLine = 0

        while let scalar = self.peek() {
            if scalar == " " || scalar == "\t" || scalar == "\r" || scalar == "\n" {
                self.advance()
                continue
            }
            if scalar == "/" && self.peek(1) == "/" {
                let startLine = self.line
                let text = self.lineComment()
                if startLine == lastTokenLine, !tokens.isEmpty, tokens[tokens.count - 1].trailingComment == nil {
                    tokens[tokens.count - 1].trailingComment = text
                } else {
                    if !pending.isEmpty && startLine > pendingEndLine + 1 {
                        pending.removeAll()
                    }
                    pending.append(text)
                    pendingEndLine = startLine
                }
                continue
            }
            if scalar == "/" && self.peek(1) == "*" {
                let startLine = self.line
                let lines = try self.blockComment()
                if !pending.isEmpty && startLine > pendingEndLine + 1 {
                    pending.removeAll()
                }
                pending.append(contentsOf: lines)
                pendingEndLine = self.line
                continue
            }
            let start = self.location
            let kind = try self.token()
            // A comment block separated from the token by a blank line documents nothing.
            let comments = (!pending.isEmpty && start.line <= pendingEndLine + 1) ? pending : []
            pending.removeAll()
            tokens.append(Token(kind: kind, location: start, leadingComments: comments, trailingComment: nil))
            lastTokenLine = self.line
        }
        tokens.append(Token(kind: .end, location: self.location, leadingComments: [], trailingComment: nil))
        return tokens
    }

    private mutating func lineComment() -> String {
        self.advance()
        self.advance()
        var text = ""
        while let scalar = self.peek(), scalar != "\n" {
            text.unicodeScalars.append(scalar)
            self.advance()
        }
        if text.hasPrefix(" ") { text.removeFirst() }
        while text.last == " " || text.last == "\r" || text.last == "\t" { text.removeLast() }
        return text
    }

    private mutating func blockComment() throws(CodeGenError) -> [String] {
        let start = self.location
        self.advance()
        self.advance()
        var text = ""
        while true {
            guard let scalar = self.peek() else {
                throw CodeGenError("unterminated /* comment", at: start)
            }
            if scalar == "*" && self.peek(1) == "/" {
                self.advance()
                self.advance()
                break
            }
            text.unicodeScalars.append(scalar)
            self.advance()
        }
        var lines: [String] = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var trimmed = Substring(line)
            while trimmed.first == " " || trimmed.first == "\t" { trimmed.removeFirst() }
            if trimmed.hasPrefix("* ") {
                trimmed.removeFirst(2)
            } else if trimmed.hasPrefix("*") {
                trimmed.removeFirst()
            }
            while trimmed.last == " " || trimmed.last == "\r" { trimmed.removeLast() }
            return String(trimmed)
        }
        while lines.first?.isEmpty == true { lines.removeFirst() }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    private static func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool {
        (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_"
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar >= "0" && scalar <= "9" }

    private mutating func token() throws(CodeGenError) -> Token.Kind {
        let start = self.location
        let scalar = self.peek()!
        if Self.isIdentifierStart(scalar) {
            var name = ""
            while let next = self.peek(), Self.isIdentifierStart(next) || Self.isDigit(next) {
                name.unicodeScalars.append(next)
                self.advance()
            }
            return .identifier(name)
        }
        if Self.isDigit(scalar) || (scalar == "." && self.peek(1).map(Self.isDigit) == true) {
            return try self.number(start: start)
        }
        if scalar == "\"" || scalar == "'" {
            return try self.string(quote: scalar, start: start)
        }
        if "{}()[]<>;=,.-+".unicodeScalars.contains(scalar) {
            self.advance()
            return .symbol(Character(scalar))
        }
        throw CodeGenError("unexpected character '\(scalar.escaped(asASCII: true))'", at: start)
    }

    private mutating func number(start: SourceLocation) throws(CodeGenError) -> Token.Kind {
        var text = ""
        while let next = self.peek(),
            Self.isDigit(next) || Self.isIdentifierStart(next) || next == "."
                || ((next == "+" || next == "-") && (text.last == "e" || text.last == "E") && !text.hasPrefix("0x"))
        {
            text.unicodeScalars.append(next)
            self.advance()
        }
        let lower = text.lowercased()
        if lower.hasPrefix("0x") {
            guard let value = UInt64(lower.dropFirst(2), radix: 16) else {
                throw CodeGenError("invalid hexadecimal literal '\(text)'", at: start)
            }
            return .integer(value)
        }
        if lower.contains(".") || (lower.contains("e") && !lower.hasPrefix("0x")) || lower == "inf" {
            guard let value = Double(lower) else {
                throw CodeGenError("invalid number '\(text)'", at: start)
            }
            return .float(value)
        }
        if lower.count > 1 && lower.hasPrefix("0") {
            guard let value = UInt64(lower.dropFirst(), radix: 8) else {
                throw CodeGenError("invalid octal literal '\(text)'", at: start)
            }
            return .integer(value)
        }
        guard let value = UInt64(lower) else {
            throw CodeGenError("invalid integer literal '\(text)' (out of range or not a number)", at: start)
        }
        return .integer(value)
    }

    private mutating func string(quote: Unicode.Scalar, start: SourceLocation) throws(CodeGenError) -> Token.Kind {
        self.advance()
        var value = ""
        while true {
            guard let scalar = self.peek(), scalar != "\n" else {
                throw CodeGenError("unterminated string literal", at: start)
            }
            self.advance()
            if scalar == quote { break }
            if scalar == "\\" {
                guard let escaped = self.peek() else {
                    throw CodeGenError("unterminated string literal", at: start)
                }
                self.advance()
                switch escaped {
                case "n": value += "\n"
                case "t": value += "\t"
                case "r": value += "\r"
                case "\\", "\"", "'": value.unicodeScalars.append(escaped)
                default:
                    throw CodeGenError(
                        "unsupported escape '\\\(escaped)' in string literal",
                        at: SourceLocation(file: self.file, line: self.line, column: self.column - 2)
                    )
                }
                continue
            }
            value.unicodeScalars.append(scalar)
        }
        return .string(value)
    }
}

/// A position in an IDL file: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file name as given to the parser (e.g. "Protocol/iam.proto").
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`, the form compilers and editors understand.
    public var description: String { "\(self.file):\(self.line):\(self.column)" }
}

/// Why the IDL could not be read or rendered, and where.
public struct CodeGenError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where the problem is; nil for problems that are not tied to one place.
    public var location: SourceLocation?
    /// What is wrong, for a person.
    public var message: String

    /// Creates an error.
    public init(_ message: String, at location: SourceLocation?) {
        self.message = message
        self.location = location
    }

    /// `file:line:column: error: message`.
    public var description: String {
        if let location = self.location {
            return "\(location): error: \(self.message)"
        }
        return "error: \(self.message)"
    }
}

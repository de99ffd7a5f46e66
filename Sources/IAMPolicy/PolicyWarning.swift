/// Something AWS accepts in a policy but that cannot work as written, reported next to a valid document the way
/// IAM Access Analyzer's policy validation reports findings: the document is saved, the part never matches.
public struct PolicyWarning: Sendable, Hashable, CustomStringConvertible {
    /// The element, in the path form of ``PolicyError`` messages (`Statement[0].Condition.DateGreaterThan...`).
    public var path: String
    /// What is wrong and what the engine does with it.
    public var message: String

    /// Creates a warning.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `"<path>: <message>"`.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

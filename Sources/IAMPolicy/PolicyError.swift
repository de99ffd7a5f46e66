/// Why a policy document was refused, in AWS's terms.
///
/// `code` mirrors the AWS error code (`MalformedPolicyDocument` or `LimitExceeded`); `message` names the offending
/// element first (`Statement[2].Condition: unknown operator "StringEqual"`) and then says what was allowed.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The AWS error code: `MalformedPolicyDocument` or `LimitExceeded`.
    public var code: String
    /// A message for people: the element path, the value and what was allowed.
    public var message: String

    /// Creates an error with an AWS error code and a message.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `MalformedPolicyDocument`: the document is not valid policy JSON.
    public static let malformedCode = "MalformedPolicyDocument"
    /// `LimitExceeded`: the document is larger than the quota for its kind.
    public static let limitExceededCode = "LimitExceeded"

    static func malformed(_ message: String) -> PolicyError {
        PolicyError(code: malformedCode, message: message)
    }

    static func malformed(_ path: String, _ message: String) -> PolicyError {
        PolicyError(code: malformedCode, message: path.isEmpty ? message : "\(path): \(message)")
    }

    static func limit(_ message: String) -> PolicyError {
        PolicyError(code: limitExceededCode, message: message)
    }

    /// `"<code>: <message>"`, the form AWS's CLI prints.
    public var description: String { "\(code): \(message)" }
}

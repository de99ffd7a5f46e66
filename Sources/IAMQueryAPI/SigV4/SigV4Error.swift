/// Why a request's AWS Signature Version 4 was refused, as AWS says it: the error code, the HTTP status
/// and the message, which say what the caller may know and no more (never the expected signature).
public struct SigV4Error: Error, Hashable, Sendable, CustomStringConvertible {
    /// AWS's error code (`SignatureDoesNotMatch`, `IncompleteSignature`, ...).
    public let code: String
    /// The HTTP status AWS answers with.
    public let status: Int
    /// AWS's message.
    public let message: String

    /// `code: message`.
    public var description: String { "\(self.code): \(self.message)" }

    init(code: String, status: Int, message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    /// No `Authorization` header and no presigned query parameters.
    static let missingAuthenticationToken = SigV4Error(
        code: "MissingAuthenticationToken", status: 403, message: "Request is missing Authentication Token")

    /// The access key is not known (or no longer usable), or a session token does not belong to it.
    static let invalidClientTokenID = SigV4Error(
        code: "InvalidClientTokenId", status: 403, message: "The security token included in the request is invalid.")

    /// The session's credentials have expired.
    static let expiredToken = SigV4Error(
        code: "ExpiredToken", status: 403, message: "The security token included in the request is expired")

    /// The signature does not verify.
    static let signatureDoesNotMatch = SigV4Error(
        code: "SignatureDoesNotMatch", status: 403,
        message:
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )

    /// A part of the signature is missing or malformed.
    static func incomplete(_ message: String) -> SigV4Error {
        SigV4Error(code: "IncompleteSignature", status: 400, message: message)
    }

    /// The request is signed for another service, or its scope is malformed.
    static func badScope(_ message: String) -> SigV4Error {
        SigV4Error(code: "SignatureDoesNotMatch", status: 403, message: message)
    }
}

public import Foundation
import IAMTLS

/// Signs requests with SigV4 the way botocore does, for tests, benchmarks and tools that talk to the front door
/// (the server itself only verifies).
public enum SigV4Signer {
    /// `headers` plus `X-Amz-Date`, `X-Amz-Security-Token` (with a token) and `Authorization`, every header
    /// given (and the ones added) signed.
    public static func sign(
        method: String, path: String = "/", query: String = "", headers: [(name: String, value: String)],
        body: [UInt8], accessKeyID: String, secret: String, sessionToken: String? = nil, region: String = "us-east-1",
        service: String, date: Date = Date()
    ) -> [(name: String, value: String)] {
        let amzDate = SigV4Verifier.formatAmzDate(date)
        var headers = headers
        headers.append(("X-Amz-Date", amzDate))
        if let sessionToken { headers.append(("X-Amz-Security-Token", sessionToken)) }
        let names = Array(Set(headers.map { $0.name.lowercased() })).sorted()
        let canonical = SigV4Verifier.canonicalRequest(
            SigV4Request(
                method: method, path: path, query: query, headers: headers,
                payloadHash: SigV4Verifier.hex(Crypto.sha256(body))),
            signedHeaders: names, presigned: false)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign =
            "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SigV4Verifier.hex(Crypto.sha256(Array(canonical.utf8))))"
        let key = SigV4Verifier.deriveSigningKey(
            secret: Array(secret.utf8), date: day, region: region, service: service)
        let signature = SigV4Verifier.hex(Crypto.hmacSHA256(key: key, data: Array(toSign.utf8)))
        headers.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
            ))
        return headers
    }
}

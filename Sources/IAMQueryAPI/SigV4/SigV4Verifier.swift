public import Foundation
import IAMServer
import IAMTLS
import Synchronization

/// What SigV4 verification needs of an HTTP request: the parts the canonical request is built from.
public struct SigV4Request: Sendable {
    /// The method (`POST`, `GET`).
    public var method: String
    /// The path as it arrived (still percent-encoded), without the query.
    public var path: String
    /// The raw query string (after `?`, still percent-encoded); empty when there is none.
    public var query: String
    /// Header names and values as they arrived (names in any case; repeated names allowed).
    public var headers: [(name: String, value: String)]
    /// The lower-case hex SHA-256 of the body.
    public var payloadHash: String

    /// Creates a request view.
    public init(
        method: String, path: String, query: String, headers: [(name: String, value: String)], payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        // `name` is lower-case; ASCII case folding without Foundation (this runs several times per request).
        self.headers.first { Self.equalsLowercased($0.name, name) }?.value
    }

    static func equalsLowercased(_ candidate: String, _ lowercased: String) -> Bool {
        guard candidate.utf8.count == lowercased.utf8.count else { return false }
        return zip(candidate.utf8, lowercased.utf8).allSatisfy { a, b in
            (a >= 0x41 && a <= 0x5A ? a | 0x20 : a) == b
        }
    }
}

/// An access key as SigV4 verification sees it: a way to get the secret (unsealed only when no derived key
/// is cached), and for temporary credentials the token's hash and the expiry.
public struct SigV4Key: Sendable {
    /// The access key id.
    public var accessKeyID: String
    /// Unseals the secret; nil when it cannot be unsealed (the key was created before secrets were sealed,
    /// or under another key-encryption key).
    public var secret: @Sendable () -> [UInt8]?
    /// SHA-256 of the session token, for temporary (`ASIA`) credentials; nil for long-term keys.
    public var sessionTokenHash: [UInt8]?
    /// When temporary credentials expire.
    public var expiration: Date?

    /// Creates a key view.
    public init(
        accessKeyID: String, secret: @escaping @Sendable () -> [UInt8]?, sessionTokenHash: [UInt8]? = nil,
        expiration: Date? = nil
    ) {
        self.accessKeyID = accessKeyID
        self.secret = secret
        self.sessionTokenHash = sessionTokenHash
        self.expiration = expiration
    }
}

/// Who signed a verified request.
public struct SigV4Identity: Sendable, Hashable {
    /// The access key id the request was signed with.
    public var accessKeyID: String
    /// The credential scope's region (any region is accepted, as clients sign with their own).
    public var region: String
    /// The credential scope's service (`iam` or `sts`).
    public var service: String
}

/// Verifies AWS Signature Version 4 (`AWS4-HMAC-SHA256`), signed in the `Authorization` header or presigned
/// in the query string, as AWS's IAM and STS endpoints do.
///
/// Per-day signing keys (`kSigning` of one access key, date, region and service) are derived once and
/// cached, so a request costs two SHA-256 and one HMAC; the secret itself is never cached, only unsealed on
/// a cache miss. Signatures are compared in constant time.
public final class SigV4Verifier: Sendable {
    /// The services whose scope is accepted.
    public let services: Set<String>
    /// The clock skew tolerated either way (AWS: 15 minutes).
    public let allowedSkew: TimeInterval
    private let lookup: @Sendable (String) -> SigV4Key?
    private let cache = Mutex<[CacheKey: [UInt8]]>([:])
    /// Bound on cached signing keys; the cache is emptied when full (keys are cheap to re-derive).
    private let cacheLimit = 16_384

    private struct CacheKey: Hashable {
        var accessKeyID: String
        var scope: String
    }

    /// Creates a verifier that finds keys with `lookup` (nil: unknown or unusable key).
    public init(
        services: Set<String> = ["iam", "sts"], allowedSkew: TimeInterval = 15 * 60,
        lookup: @escaping @Sendable (String) -> SigV4Key?
    ) {
        self.services = services
        self.allowedSkew = allowedSkew
        self.lookup = lookup
    }

    /// How many signing keys are cached (for tests and benchmarks).
    public var cachedKeyCount: Int { self.cache.withLock { $0.count } }

    /// Verifies `request` at `now`; the identity of the signer, or AWS's error.
    public func verify(_ request: SigV4Request, now: Date = Date()) -> Result<SigV4Identity, SigV4Error> {
        let parsed: ParsedSignature
        switch Self.parse(request) {
        case .success(let value): parsed = value
        case .failure(let error): return .failure(error)
        }
        // The scope: <key>/<yyyymmdd>/<region>/<service>/aws4_request.
        let scope = parsed.credential.split(separator: "/", omittingEmptySubsequences: false)
        guard scope.count == 5, !scope[0].isEmpty else {
            return .failure(
                .incomplete(
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '\(parsed.credential)'"
                ))
        }
        let accessKeyID = String(scope[0])
        let scopeDate = String(scope[1])
        let region = String(scope[2])
        let service = String(scope[3])
        guard let requestTime = Self.parseAmzDate(parsed.amzDate) else {
            return .failure(
                .incomplete(
                    "Date must be in ISO-8601 'basic format'. Got '\(parsed.amzDate)'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
        }
        guard scope[4] == "aws4_request" else {
            return .failure(
                .badScope("Credential should be scoped with a valid terminator: 'aws4_request', not '\(scope[4])'."))
        }
        guard scopeDate == parsed.amzDate.prefix(8) else {
            return .failure(
                .badScope(
                    "Credential should be scoped to a valid region, not '\(region)'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scopeDate)' != '\(parsed.amzDate.prefix(8))', from '\(parsed.amzDate)'."
                ))
        }
        guard !region.isEmpty, region.utf8.allSatisfy({ Self.isRegionByte($0) }) else {
            return .failure(.badScope("Credential should be scoped to a valid region, not '\(region)'."))
        }
        guard self.services.contains(service) else {
            let expected = self.services.sorted().first ?? "iam"
            return .failure(.badScope("Credential should be scoped to correct service: '\(expected)'. "))
        }
        let skew = now.timeIntervalSince(requestTime)
        if let expires = parsed.expires {
            // Presigned: valid from (date - skew) until date + X-Amz-Expires.
            if skew > TimeInterval(expires) {
                return .failure(
                    SigV4Error(
                        code: "AccessDenied", status: 403,
                        message: "Request has expired"))
            }
            if -skew > self.allowedSkew {
                return .failure(self.expired(requestTime, now: now))
            }
        } else if abs(skew) > self.allowedSkew {
            return .failure(self.expired(requestTime, now: now))
        }

        guard let key = self.lookup(accessKeyID) else { return .failure(.invalidClientTokenID) }
        if let tokenHash = key.sessionTokenHash {
            guard let token = parsed.securityToken,
                Crypto.constantTimeEquals(Crypto.sha256(Array(token.utf8)), tokenHash)
            else { return .failure(.invalidClientTokenID) }
            if let expiration = key.expiration, expiration <= now { return .failure(.expiredToken) }
        } else if parsed.securityToken != nil {
            // A session token sent with a long-term key belongs to some other credential.
            return .failure(.invalidClientTokenID)
        }

        let credentialScope = "\(scopeDate)/\(region)/\(service)/aws4_request"
        guard let signingKey = self.signingKey(key, scopeDate: scopeDate, region: region, service: service) else {
            return .failure(.invalidClientTokenID)
        }
        let canonical = Self.canonicalRequest(
            request, signedHeaders: parsed.signedHeaders, presigned: parsed.expires != nil)
        let stringToSign =
            "AWS4-HMAC-SHA256\n\(parsed.amzDate)\n\(credentialScope)\n\(Self.hex(Crypto.sha256(Array(canonical.utf8))))"
        let expected = Self.hex(Crypto.hmacSHA256(key: signingKey, data: Array(stringToSign.utf8)))
        guard Crypto.constantTimeEquals(Array(expected.utf8), Array(parsed.signature.utf8)) else {
            return .failure(.signatureDoesNotMatch)
        }
        return .success(SigV4Identity(accessKeyID: accessKeyID, region: region, service: service))
    }

    private func expired(_ requestTime: Date, now: Date) -> SigV4Error {
        let early = now.addingTimeInterval(-self.allowedSkew)
        let late = now.addingTimeInterval(self.allowedSkew)
        let relation =
            requestTime < now
            ? "is now earlier than \(Self.formatAmzDate(early)) (\(Self.formatAmzDate(now)) - 15 min.)"
            : "is now later than \(Self.formatAmzDate(late)) (\(Self.formatAmzDate(now)) + 15 min.)"
        return SigV4Error(
            code: "SignatureDoesNotMatch", status: 403,
            message: "Signature expired: \(Self.formatAmzDate(requestTime)) \(relation)")
    }

    private func signingKey(_ key: SigV4Key, scopeDate: String, region: String, service: String) -> [UInt8]? {
        let cacheKey = CacheKey(accessKeyID: key.accessKeyID, scope: "\(scopeDate)/\(region)/\(service)")
        if let cached = self.cache.withLock({ $0[cacheKey] }) { return cached }
        guard let secret = key.secret() else { return nil }
        let derived = Self.deriveSigningKey(secret: secret, date: scopeDate, region: region, service: service)
        self.cache.withLock { cache in
            if cache.count >= self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[cacheKey] = derived
        }
        return derived
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    public static func deriveSigningKey(secret: [UInt8], date: String, region: String, service: String) -> [UInt8] {
        let kDate = Crypto.hmacSHA256(key: Array("AWS4".utf8) + secret, data: Array(date.utf8))
        let kRegion = Crypto.hmacSHA256(key: kDate, data: Array(region.utf8))
        let kService = Crypto.hmacSHA256(key: kRegion, data: Array(service.utf8))
        return Crypto.hmacSHA256(key: kService, data: Array("aws4_request".utf8))
    }

    // MARK: Parsing

    struct ParsedSignature {
        var credential: String
        var signedHeaders: [String]
        var signature: String
        var amzDate: String
        var securityToken: String?
        /// X-Amz-Expires of a presigned request; nil for header-signed ones.
        var expires: Int?
    }

    static func parse(_ request: SigV4Request) -> Result<ParsedSignature, SigV4Error> {
        if let authorization = request.header("authorization") {
            return Self.parseHeader(authorization, request)
        }
        let query = Self.queryPairs(request.query)
        if query.contains(where: { $0.key == "X-Amz-Algorithm" }) {
            return Self.parsePresigned(query)
        }
        return .failure(.missingAuthenticationToken)
    }

    private static func parseHeader(_ authorization: String, _ request: SigV4Request) -> Result<
        ParsedSignature, SigV4Error
    > {
        let prefix = "AWS4-HMAC-SHA256 "
        guard authorization.hasPrefix(prefix) else {
            return .failure(
                .incomplete(
                    "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=\(authorization.prefix(64))"
                ))
        }
        var credential: String?
        var signedHeaders: String?
        var signature: String?
        for part in authorization.dropFirst(prefix.count).split(separator: ",") {
            let trimmed = part.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let name = trimmed[..<equals]
            let value = String(trimmed[trimmed.index(after: equals)...])
            switch name {
            case "Credential": credential = value
            case "SignedHeaders": signedHeaders = value
            case "Signature": signature = value
            default: break
            }
        }
        var missing: [String] = []
        if credential == nil { missing.append("Authorization header requires 'Credential' parameter.") }
        if signature == nil { missing.append("Authorization header requires 'Signature' parameter.") }
        if signedHeaders == nil { missing.append("Authorization header requires 'SignedHeaders' parameter.") }
        let amzDate = request.header("x-amz-date")
        if amzDate == nil {
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        guard missing.isEmpty, let credential, let signedHeaders, let signature, let amzDate else {
            return .failure(.incomplete(missing.joined(separator: " ") + " Authorization=\(authorization.prefix(64))"))
        }
        let names = signedHeaders.split(separator: ";").map { $0.lowercased() }
        guard names.contains("host") else {
            return .failure(.badScope("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."))
        }
        return .success(
            ParsedSignature(
                credential: credential, signedHeaders: names, signature: signature, amzDate: amzDate,
                securityToken: request.header("x-amz-security-token"), expires: nil))
    }

    private static func parsePresigned(_ query: [(key: String, value: String)]) -> Result<ParsedSignature, SigV4Error> {
        func value(_ name: String) -> String? { query.first { $0.key == name }?.value }
        guard value("X-Amz-Algorithm") == "AWS4-HMAC-SHA256" else {
            return .failure(.incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""))
        }
        var missing: [String] = []
        for name in ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"]
        where value(name) == nil {
            missing.append("AWS query-string parameters must include '\(name)'.")
        }
        guard missing.isEmpty, let credential = value("X-Amz-Credential"), let signature = value("X-Amz-Signature"),
            let signedHeaders = value("X-Amz-SignedHeaders"), let amzDate = value("X-Amz-Date"),
            let expiresText = value("X-Amz-Expires")
        else {
            return .failure(.incomplete(missing.joined(separator: " ") + " Re-examine the query-string parameters."))
        }
        guard let expires = Int(expiresText), (1...604_800).contains(expires) else {
            return .failure(.incomplete("X-Amz-Expires must be between 1 and 604800 seconds, got '\(expiresText)'."))
        }
        let names = signedHeaders.split(separator: ";").map { $0.lowercased() }
        guard names.contains("host") else {
            return .failure(.badScope("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."))
        }
        return .success(
            ParsedSignature(
                credential: credential, signedHeaders: names, signature: signature, amzDate: amzDate,
                securityToken: value("X-Amz-Security-Token"), expires: expires))
    }

    // MARK: Canonical request

    /// The canonical request of AWS's SigV4 specification (non-S3: the path is normalized and encoded again).
    static func canonicalRequest(_ request: SigV4Request, signedHeaders: [String], presigned: Bool) -> String {
        var out = request.method
        out += "\n"
        out += Self.canonicalURI(request.path)
        out += "\n"
        var pairs = Self.queryPairs(request.query)
        if presigned { pairs.removeAll { $0.key == "X-Amz-Signature" } }
        var encoded: [(key: String, value: String)] = []
        encoded.reserveCapacity(pairs.count)
        for pair in pairs {
            encoded.append((Self.uriEncode(pair.key), Self.uriEncode(pair.value)))
        }
        encoded.sort { (a: (key: String, value: String), b: (key: String, value: String)) -> Bool in
            a.key == b.key ? a.value < b.value : a.key < b.key
        }
        out += encoded.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        out += "\n"
        for name in signedHeaders {
            let values = request.headers.filter { SigV4Request.equalsLowercased($0.name, name) }.map {
                Self.trimHeaderValue($0.value)
            }
            out += name
            out += ":"
            out += values.joined(separator: ",")
            out += "\n"
        }
        out += "\n"
        out += signedHeaders.joined(separator: ";")
        out += "\n"
        out += request.payloadHash
        return out
    }

    static func canonicalURI(_ path: String) -> String {
        guard !path.isEmpty, path != "/" else { return "/" }
        // Remove dot segments and empty segments, keeping a trailing slash, as botocore's normalization does.
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var normalized = "/" + segments.joined(separator: "/")
        if path.hasSuffix("/"), normalized != "/" { normalized += "/" }
        return Self.uriEncode(normalized, keepSlash: true)
    }

    /// Splits a raw query into percent-decoded pairs (a key without `=` has an empty value).
    static func queryPairs(_ query: String) -> [(key: String, value: String)] {
        guard !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { part in
            if let equals = part.firstIndex(of: "=") {
                return (
                    Self.percentDecode(part[..<equals]), Self.percentDecode(part[part.index(after: equals)...])
                )
            }
            return (Self.percentDecode(part), "")
        }
    }

    static func percentDecode(_ text: Substring) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2, let high = QueryForm.hexValue(iterator.first!),
                let low = QueryForm.hexValue(iterator.dropFirst().first!)
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 3986 encoding of everything but unreserved characters (and `/` when asked), upper-case hex.
    static func uriEncode(_ text: String, keepSlash: Bool = false) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Trims a header value and collapses runs of spaces to one, as the specification asks.
    static func trimHeaderValue(_ value: String) -> String {
        var out: [UInt8] = []
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isRegionByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-")
    }

    // MARK: Dates and hex

    /// Parses `yyyyMMdd'T'HHmmss'Z'`.
    static func parseAmzDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
            let minute = number(11..<13), let second = number(13..<15), (1...12).contains(month),
            (1...31).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        // Days from civil (Howard Hinnant), proleptic Gregorian.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }

    /// Formats `yyyyMMdd'T'HHmmss'Z'`.
    public static func formatAmzDate(_ date: Date) -> String { UTCTime.compact(date) }

    /// The lower-case hex SHA-256 of a body, as the canonical request needs it.
    public static func payloadHash(_ body: some Collection<UInt8>) -> String {
        Self.hex(Crypto.sha256(body))
    }

    /// Lower-case hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

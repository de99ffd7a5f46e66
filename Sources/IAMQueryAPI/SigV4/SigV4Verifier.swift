public import Foundation
import IAMServer
import IAMTLS
import IAMSync

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
///
/// This runs on every front-door request, so the canonical request and the string to sign are written as
/// bytes into one buffer and hashed from it, digests stay on the stack, and nothing goes through `Character`
/// (grapheme breaking) or Foundation on the header-signed path; the rare shapes (a path other than `/`, a query
/// string) take the plain String code, whose output is the same bytes.
public final class SigV4Verifier: Sendable {
    /// The services whose scope is accepted.
    public let services: Set<String>
    /// The clock skew tolerated either way (AWS: 15 minutes).
    public let allowedSkew: TimeInterval
    private let lookup: @Sendable (String) -> SigV4Key?
    /// Keyed by the whole credential, `<key>/<yyyymmdd>/<region>/<service>/aws4_request`, as the request
    /// spells it: one string to hash, and it names exactly what the key was derived for.
    private let cache = Locked<[String: [UInt8]]>([:])
    /// Bound on cached signing keys; the cache is emptied when full (keys are cheap to re-derive).
    private let cacheLimit = 16_384

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
        let scope = parsed.credential.utf8.split(
            separator: UInt8(ascii: "/"), maxSplits: 5, omittingEmptySubsequences: false
        ).map { Substring($0) }
        guard scope.count == 5, !scope[0].isEmpty else {
            return .failure(
                .incomplete(
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '\(parsed.credential)'"
                ))
        }
        let scopeDate = scope[1]
        let region = scope[2]
        guard let requestTime = Self.parseAmzDate(parsed.amzDate) else {
            return .failure(
                .incomplete(
                    "Date must be in ISO-8601 'basic format'. Got '\(parsed.amzDate)'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
        }
        guard scope[4].utf8.elementsEqual("aws4_request".utf8) else {
            return .failure(
                .badScope("Credential should be scoped with a valid terminator: 'aws4_request', not '\(scope[4])'."))
        }
        guard scopeDate.utf8.elementsEqual(parsed.amzDate.utf8.prefix(8)) else {
            return .failure(
                .badScope(
                    "Credential should be scoped to a valid region, not '\(region)'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scopeDate)' != '\(parsed.amzDate.prefix(8))', from '\(parsed.amzDate)'."
                ))
        }
        guard !region.isEmpty, region.utf8.allSatisfy({ Self.isRegionByte($0) }) else {
            return .failure(.badScope("Credential should be scoped to a valid region, not '\(region)'."))
        }
        let service = String(scope[3])
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

        let accessKeyID = String(scope[0])
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

        guard
            let signingKey = self.signingKey(
                key, credential: parsed.credential, date: scopeDate, region: region, service: service)
        else {
            return .failure(.invalidClientTokenID)
        }
        // `<yyyymmdd>/<region>/<service>/aws4_request`: the credential after the key id.
        let credentialScope = parsed.credential[scopeDate.startIndex...]
        guard Self.signatureMatches(request, parsed, credentialScope: credentialScope, signingKey: signingKey) else {
            return .failure(.signatureDoesNotMatch)
        }
        return .success(SigV4Identity(accessKeyID: accessKeyID, region: String(region), service: service))
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

    private func signingKey(
        _ key: SigV4Key, credential: Substring, date: Substring, region: Substring, service: String
    ) -> [UInt8]? {
        let cacheKey = String(credential)
        if let cached = self.cache.withLock({ $0[cacheKey] }) { return cached }
        guard let secret = key.secret() else { return nil }
        let derived = Self.deriveSigningKey(
            secret: secret, date: String(date), region: String(region), service: service)
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

    /// Hashes the canonical request, signs the string to sign with `signingKey` and compares the result with
    /// the request's signature in constant time: one buffer on the heap, digests and hex on the stack.
    private static func signatureMatches(
        _ request: SigV4Request, _ parsed: ParsedSignature, credentialScope: Substring, signingKey: [UInt8]
    ) -> Bool {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(
            256 + request.path.utf8.count + request.query.utf8.count * 3
                + request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 })
        Self.writeCanonicalRequest(
            request, signedHeaders: parsed.signedHeaders, presigned: parsed.expires != nil, into: &buffer)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96) { scratch in
            let digest = UnsafeMutableBufferPointer(rebasing: scratch[0..<32])
            let hex = UnsafeMutableBufferPointer(rebasing: scratch[32..<96])
            buffer.withUnsafeBytes { Crypto.sha256($0, into: digest) }
            Self.writeHex(UnsafeBufferPointer(digest), into: hex)
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: "AWS4-HMAC-SHA256\n".utf8)
            buffer.append(contentsOf: parsed.amzDate.utf8)
            buffer.append(UInt8(ascii: "\n"))
            buffer.append(contentsOf: credentialScope.utf8)
            buffer.append(UInt8(ascii: "\n"))
            buffer.append(contentsOf: hex)
            signingKey.withUnsafeBytes { key in
                buffer.withUnsafeBytes { Crypto.hmacSHA256(key: key, data: $0, into: digest) }
            }
            Self.writeHex(UnsafeBufferPointer(digest), into: hex)
            var signature = parsed.signature
            return signature.withUTF8 {
                Crypto.constantTimeEquals(UnsafeRawBufferPointer(hex), UnsafeRawBufferPointer($0))
            }
        }
    }

    // MARK: Parsing

    struct ParsedSignature {
        /// `<key>/<yyyymmdd>/<region>/<service>/aws4_request` as given.
        var credential: Substring
        /// The signed header names as given: `;`-separated, empty names skipped, compared in ASCII lower case.
        var signedHeaders: Substring
        var signature: Substring
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
        let prefix = "AWS4-HMAC-SHA256 ".utf8
        guard authorization.utf8.starts(with: prefix) else {
            return .failure(
                .incomplete(
                    "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=\(authorization.prefix(64))"
                ))
        }
        var credential: Substring?
        var signedHeaders: Substring?
        var signature: Substring?
        for part in authorization.utf8.dropFirst(prefix.count).split(separator: UInt8(ascii: ",")) {
            let trimmed = part.drop { $0 == UInt8(ascii: " ") }
            guard let equals = trimmed.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = trimmed[..<equals]
            let value = Substring(trimmed[trimmed.index(after: equals)...])
            if name.elementsEqual("Credential".utf8) {
                credential = value
            } else if name.elementsEqual("SignedHeaders".utf8) {
                signedHeaders = value
            } else if name.elementsEqual("Signature".utf8) {
                signature = value
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
        guard Self.signsHost(signedHeaders) else {
            return .failure(.badScope("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."))
        }
        return .success(
            ParsedSignature(
                credential: credential, signedHeaders: signedHeaders, signature: signature, amzDate: amzDate,
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
        guard Self.signsHost(Substring(signedHeaders)) else {
            return .failure(.badScope("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."))
        }
        return .success(
            ParsedSignature(
                credential: Substring(credential), signedHeaders: Substring(signedHeaders),
                signature: Substring(signature), amzDate: amzDate, securityToken: value("X-Amz-Security-Token"),
                expires: expires))
    }

    /// The signed header names: `;`-separated, empty ones skipped (as botocore joins them, never empty).
    private static func signedHeaderNames(_ signedHeaders: Substring) -> [Substring.UTF8View.SubSequence] {
        signedHeaders.utf8.split(separator: UInt8(ascii: ";"))
    }

    private static func signsHost(_ signedHeaders: Substring) -> Bool {
        Self.signedHeaderNames(signedHeaders).contains { Self.equalsFolded($0, "host".utf8) }
    }

    /// ASCII case-insensitive equality (HTTP field names are ASCII tokens).
    static func equalsFolded(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in Self.lowercased(x) == Self.lowercased(y) }
    }

    @inline(__always)
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    // MARK: Canonical request

    /// The canonical request of AWS's SigV4 specification (non-S3: the path is normalized and encoded again),
    /// signing `signedHeaders` (names in any case) in the order given.
    static func canonicalRequest(_ request: SigV4Request, signedHeaders: [String], presigned: Bool) -> String {
        var out: [UInt8] = []
        Self.writeCanonicalRequest(
            request, signedHeaders: Substring(signedHeaders.joined(separator: ";")), presigned: presigned, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the canonical request's bytes to `out`.
    static func writeCanonicalRequest(
        _ request: SigV4Request, signedHeaders: Substring, presigned: Bool, into out: inout [UInt8]
    ) {
        let newline = UInt8(ascii: "\n")
        out.append(contentsOf: request.method.utf8)
        out.append(newline)
        if request.path.isEmpty || request.path == "/" {
            out.append(UInt8(ascii: "/"))
        } else {
            out.append(contentsOf: Self.canonicalURI(request.path).utf8)
        }
        out.append(newline)
        if !request.query.isEmpty {
            Self.writeCanonicalQuery(request.query, presigned: presigned, into: &out)
        }
        out.append(newline)
        let names = Self.signedHeaderNames(signedHeaders)
        for name in names {
            for byte in name { out.append(Self.lowercased(byte)) }
            out.append(UInt8(ascii: ":"))
            var first = true
            for header in request.headers where Self.equalsFolded(header.name.utf8, name) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                Self.writeTrimmedHeaderValue(header.value, into: &out)
            }
            out.append(newline)
        }
        out.append(newline)
        for (index, name) in names.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ";")) }
            for byte in name { out.append(Self.lowercased(byte)) }
        }
        out.append(newline)
        out.append(contentsOf: request.payloadHash.utf8)
    }

    /// The query's pairs percent-decoded, encoded again the one canonical way, sorted by key then value (the
    /// encoded text is ASCII, so byte order is AWS's code-point order), without the presigned signature.
    private static func writeCanonicalQuery(_ query: String, presigned: Bool, into out: inout [UInt8]) {
        var pairs = Self.queryPairs(query)
        if presigned { pairs.removeAll { $0.key == "X-Amz-Signature" } }
        var encoded: [(key: [UInt8], value: [UInt8])] = []
        encoded.reserveCapacity(pairs.count)
        for pair in pairs {
            var key: [UInt8] = []
            var value: [UInt8] = []
            Self.writeURIEncoded(pair.key.utf8, keepSlash: false, into: &key)
            Self.writeURIEncoded(pair.value.utf8, keepSlash: false, into: &value)
            encoded.append((key, value))
        }
        encoded.sort { a, b in
            a.key == b.key ? a.value.lexicographicallyPrecedes(b.value) : a.key.lexicographicallyPrecedes(b.key)
        }
        for (index, pair) in encoded.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: pair.key)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: pair.value)
        }
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
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        Self.writeURIEncoded(text.utf8, keepSlash: keepSlash, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func writeURIEncoded(_ bytes: some Sequence<UInt8>, keepSlash: Bool, into out: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                let nibbles = (byte >> 4, byte & 15)
                out.append(UInt8(ascii: "%"))
                out.append(nibbles.0 < 10 ? UInt8(ascii: "0") + nibbles.0 : UInt8(ascii: "A") - 10 + nibbles.0)
                out.append(nibbles.1 < 10 ? UInt8(ascii: "0") + nibbles.1 : UInt8(ascii: "A") - 10 + nibbles.1)
            }
        }
    }

    /// Trims a header value and collapses runs of spaces to one, as the specification asks.
    static func trimHeaderValue(_ value: String) -> String {
        var out: [UInt8] = []
        Self.writeTrimmedHeaderValue(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func writeTrimmedHeaderValue(_ value: String, into out: inout [UInt8]) {
        var started = false
        var pendingSpace = false
        for byte in value.utf8 {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                pendingSpace = started
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                started = true
                out.append(byte)
            }
        }
    }

    private static func isRegionByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "-")
    }

    // MARK: Dates and hex

    /// Parses `yyyyMMdd'T'HHmmss'Z'`.
    static func parseAmzDate(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { Self.parseAmzDate(bytes: $0) }
    }

    private static func parseAmzDate(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
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
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            let hashed: Void? = body.withContiguousStorageIfAvailable {
                Crypto.sha256(UnsafeRawBufferPointer($0), into: digest)
            }
            if hashed == nil {
                Array(body).withUnsafeBytes { Crypto.sha256($0, into: digest) }
            }
            return Self.hex(UnsafeBufferPointer(digest))
        }
    }

    /// Lower-case hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { Self.hex($0) }
    }

    private static func hex(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            Self.writeHex(bytes, into: out)
            return bytes.count * 2
        }
    }

    /// Lower-case hex of `bytes` into `out` (twice as long), without branching on the bytes: the expected
    /// signature is hex-encoded before the constant-time comparison, so its encoding must not leak through
    /// timing either.
    private static func writeHex(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) {
        @inline(__always)
        func digit(_ nibble: UInt8) -> UInt8 {
            // 0...9 -> '0'...'9'; 10...15 -> 'a'...'f' ((9 - n) >> 8 is all ones exactly when n > 9).
            let n = Int(nibble)
            return UInt8(truncatingIfNeeded: n + 0x30 + (((9 - n) >> 8) & 0x27))
        }
        for index in bytes.indices {
            out[2 * index] = digit(bytes[index] >> 4)
            out[2 * index + 1] = digit(bytes[index] & 15)
        }
    }
}

import Foundation
import IAMTLS
import Testing

@testable import IAMQueryAPI

/// One request of Fixtures/sigv4-vectors.json (written by make-sigv4-vectors.py with botocore).
struct SigV4Vector: Decodable, CustomTestStringConvertible, Sendable {
    var name: String
    var method: String
    var path: String
    var query: String
    var headers: [[String]]
    var body: String
    var accessKeyID: String
    var secret: String
    var sessionToken: String?
    var now: String
    var service: String
    var expect: String

    var testDescription: String { self.name }

    static let all: [SigV4Vector] = {
        struct File: Decodable { var vectors: [SigV4Vector] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/sigv4-vectors.json")
        // swift-format-ignore: NeverUseForceTry
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors
    }()

    var request: SigV4Request {
        SigV4Request(
            method: self.method, path: self.path, query: self.query,
            headers: self.headers.map { (name: $0[0], value: $0[1]) },
            payloadHash: SigV4Verifier.hex(Crypto.sha256(Array(self.body.utf8))))
    }

    /// A verifier that knows exactly the vector's key (the published suite's own key for its cases).
    func verifier(services: Set<String>) -> SigV4Verifier {
        let known = self.name.hasPrefix("mutation/unknown-key") ? "AKIAIOSFODNN7EXAMPLE" : self.accessKeyID
        let secret = Array(self.secret.utf8)
        let tokenHash = self.sessionToken.map { Crypto.sha256(Array($0.utf8)) }
        return SigV4Verifier(services: services) { id in
            guard id == known else { return nil }
            return SigV4Key(
                accessKeyID: id, secret: { secret }, sessionTokenHash: tokenHash,
                expiration: tokenHash == nil ? nil : Date().addingTimeInterval(3600 * 24 * 365 * 100))
        }
    }
}

@Suite("SigV4 verification")
struct SigV4Tests {
    @Test("botocore's and AWS's suite vectors", arguments: SigV4Vector.all)
    func vector(_ vector: SigV4Vector) throws {
        let services: Set<String> = vector.service == "service" ? ["service"] : ["iam", "sts"]
        let now = try #require(SigV4Verifier.parseAmzDate(vector.now))
        let result = vector.verifier(services: services).verify(vector.request, now: now)
        switch result {
        case .success(let identity):
            #expect(vector.expect == "ok", "verified, but AWS answers \(vector.expect)")
            #expect(identity.accessKeyID == vector.accessKeyID)
        case .failure(let error):
            #expect(error.code == vector.expect, "\(error)")
        }
    }

    @Test("derived signing keys are cached per key and scope, never re-derived")
    func cache() throws {
        let vector = try #require(SigV4Vector.all.first { $0.name == "botocore/iam-post-form" })
        let unsealed = UnsealCounter()
        let secret = Array(vector.secret.utf8)
        let verifier = SigV4Verifier { id in
            SigV4Key(accessKeyID: id) {
                unsealed.increment()
                return secret
            }
        }
        let now = try #require(SigV4Verifier.parseAmzDate(vector.now))
        for _ in 0..<3 {
            #expect((try? verifier.verify(vector.request, now: now).get()) != nil)
        }
        #expect(unsealed.value == 1)
        #expect(verifier.cachedKeyCount == 1)
    }

    @Test("expired temporary credentials are ExpiredToken")
    func expiredSession() throws {
        let vector = try #require(SigV4Vector.all.first { $0.name == "botocore/session-token" })
        let now = try #require(SigV4Verifier.parseAmzDate(vector.now))
        let secret = Array(vector.secret.utf8)
        let token = Crypto.sha256(Array(try #require(vector.sessionToken).utf8))
        let verifier = SigV4Verifier { id in
            SigV4Key(
                accessKeyID: id, secret: { secret }, sessionTokenHash: token, expiration: now.addingTimeInterval(-1))
        }
        guard case .failure(let error) = verifier.verify(vector.request, now: now) else {
            Issue.record("expired credentials verified")
            return
        }
        #expect(error.code == "ExpiredToken")
        #expect(error.message == "The security token included in the request is expired")
    }

    @Test("the published key derivation example (AWS docs: 20120215/us-east-1/iam)")
    func derivation() {
        let key = SigV4Verifier.deriveSigningKey(
            secret: Array("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".utf8), date: "20120215", region: "us-east-1",
            service: "iam")
        #expect(SigV4Verifier.hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test("malformed authorization headers are IncompleteSignature, never a crash")
    func malformed() {
        let verifier = SigV4Verifier { _ in nil }
        for header in [
            "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=",
            "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00",
            "Bearer x", "AWS4-HMAC-SHA256 ,,,,====",
        ] {
            let request = SigV4Request(
                method: "POST", path: "/", query: "",
                headers: [("Authorization", header), ("X-Amz-Date", "20261201T220000Z"), ("Host", "h")],
                payloadHash: "")
            let result = verifier.verify(request, now: SigV4Verifier.parseAmzDate("20261201T220000Z")!)
            guard case .failure(let error) = result else {
                Issue.record("\(header) verified")
                continue
            }
            #expect(["IncompleteSignature", "SignatureDoesNotMatch"].contains(error.code), "\(header): \(error)")
        }
    }

    @Test("canonical headers: names folded to lower case, values trimmed and collapsed, repeats joined in order")
    func canonicalHeaders() {
        let request = SigV4Request(
            method: "GET", path: "/", query: "",
            headers: [
                ("Host", "example.amazonaws.com"), ("My-Header1", "value2"), ("X-Amz-Date", "20150830T123600Z"),
                ("my-header1", " \t value1 "), ("My-Header2", "  \"a   b \t  c\"  "), ("Unsigned", "x"),
                ("MY-HEADER1", ""),
            ], payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let canonical = SigV4Verifier.canonicalRequest(
            request, signedHeaders: ["host", "My-Header1", "", "my-header2", "X-AMZ-DATE"], presigned: false)
        #expect(
            canonical == """
                GET
                /

                host:example.amazonaws.com
                my-header1:value2,value1,
                my-header2:"a b c"
                x-amz-date:20150830T123600Z

                host;my-header1;my-header2;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
    }

    @Test("canonical query: decoded, encoded again, sorted by key then value; a presigned signature left out")
    func canonicalQuery() {
        func canonical(_ query: String, presigned: Bool) -> Substring {
            let request = SigV4Request(
                method: "GET", path: "/", query: query, headers: [("Host", "h")], payloadHash: "UNSIGNED")
            let text = SigV4Verifier.canonicalRequest(request, signedHeaders: ["host"], presigned: presigned)
            return text.split(separator: "\n", omittingEmptySubsequences: false)[2]
        }
        let query = "b=2&a=3&a=1&c%20d=%e2%82%ac~x+y&e&&X-Amz-Signature=ab&%41=%2F"
        #expect(canonical(query, presigned: true) == "A=%2F&a=1&a=3&b=2&c%20d=%E2%82%AC~x%2By&e=")
        #expect(canonical(query, presigned: false) == "A=%2F&X-Amz-Signature=ab&a=1&a=3&b=2&c%20d=%E2%82%AC~x%2By&e=")
        #expect(canonical("", presigned: false) == "")
    }

    @Test("canonical path: dot and empty segments removed, encoded again (non-S3), trailing slash kept")
    func canonicalPath() {
        #expect(SigV4Verifier.canonicalURI("") == "/")
        #expect(SigV4Verifier.canonicalURI("/") == "/")
        #expect(SigV4Verifier.canonicalURI("/a/./b/../c%20d//e/") == "/a/c%2520d/e/")
        #expect(SigV4Verifier.canonicalURI("/../x y") == "/x%20y")
        let request = SigV4Request(
            method: "POST", path: "/a/../b", query: "", headers: [("Host", "h")], payloadHash: "p")
        #expect(
            SigV4Verifier.canonicalRequest(request, signedHeaders: ["host"], presigned: false)
                == "POST\n/b\n\nhost:h\n\nhost\np")
    }

    @Test("hex and the payload hash agree with Foundation's formatting for every byte, contiguous or not")
    func hexAndPayloadHash() {
        let all = (0...255).map { UInt8($0) }
        #expect(SigV4Verifier.hex(all) == all.map { String(format: "%02x", $0) }.joined())
        let body = Array("Action=GetUser&Version=2010-05-08".utf8)
        let expected = SigV4Verifier.hex(Crypto.sha256(body))
        #expect(SigV4Verifier.payloadHash(body) == expected)
        #expect(SigV4Verifier.payloadHash(body.lazy.map { $0 }) == expected)
        #expect(
            SigV4Verifier.payloadHash([UInt8]())
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("a signature that differs in one hex digit, in case or in length does not verify")
    func signatureVariants() throws {
        let vector = try #require(SigV4Vector.all.first { $0.name == "botocore/iam-post-form" })
        let now = try #require(SigV4Verifier.parseAmzDate(vector.now))
        let verifier = vector.verifier(services: ["iam", "sts"])
        #expect((try? verifier.verify(vector.request, now: now).get()) != nil)
        let authorization = try #require(vector.request.headers.first { $0.name.lowercased() == "authorization" })
        let signature = try #require(authorization.value.split(separator: "=").last.map(String.init))
        let flipped = String(signature.dropLast()) + (signature.last == "0" ? "1" : "0")
        for variant in [flipped, signature.uppercased(), String(signature.dropLast()), signature + "0", ""] {
            var request = vector.request
            request.headers = request.headers.map { header in
                header.name.lowercased() == "authorization"
                    ? (header.name, header.value.replacingOccurrences(of: signature, with: variant)) : header
            }
            guard case .failure(let error) = verifier.verify(request, now: now) else {
                Issue.record("signature \(variant) verified")
                continue
            }
            #expect(error.code == "SignatureDoesNotMatch", "\(variant): \(error)")
        }
    }

    @Test("amz dates round-trip")
    func dates() throws {
        let date = try #require(SigV4Verifier.parseAmzDate("20240229T235959Z"))
        #expect(SigV4Verifier.formatAmzDate(date) == "20240229T235959Z")
        #expect(SigV4Verifier.parseAmzDate("20241301T000000Z") == nil)
        #expect(SigV4Verifier.parseAmzDate("2024-01-01T00:00:00Z") == nil)
    }
}

final class UnsealCounter: Sendable {
    private let count = Mutex(0)
    func increment() { self.count.withLock { $0 += 1 } }
    var value: Int { self.count.withLock { $0 } }
}

import Synchronization

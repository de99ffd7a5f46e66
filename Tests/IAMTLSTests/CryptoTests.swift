import Foundation
import IAMTLS
import Testing

@Suite("Crypto known-answer tests")
struct CryptoTests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func sha256(input: String, expected: String) {
        #expect(hex(Crypto.sha256(Array(input.utf8))) == expected)
        // Non-contiguous collections take the copying path and must agree.
        #expect(hex(Crypto.sha256(input.utf8)) == expected)
    }

    /// RFC 4231 section 4 (test case 5, a truncated output, does not apply to full-length HMAC).
    @Test(arguments: [
        (
            "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", bytes("Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (
            hex(Array("Jefe".utf8)), bytes("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        ),
        (
            String(repeating: "aa", count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            "0102030405060708090a0b0c0d0e0f10111213141516171819", [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            String(repeating: "aa", count: 131), bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            String(repeating: "aa", count: 131),
            bytes(
                "This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ])
    func hmacRFC4231(keyHex: String, data: [UInt8], expected: String) {
        #expect(hex(Crypto.hmacSHA256(key: unhex(keyHex), data: data)) == expected)
    }

    @Test func hmacWithEmptyKeyAndData() {
        // Cross-checked with `openssl mac -digest SHA256 -macopt hexkey: HMAC < /dev/null`.
        #expect(
            hex(Crypto.hmacSHA256(key: [UInt8](), data: [UInt8]()))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        )
    }

    /// PBKDF2-HMAC-SHA-256 vectors in the style of RFC 6070 (same inputs, SHA-256 outputs as
    /// published with RFC 7914 section 11 and widely reproduced).
    @Test(arguments: [
        ("password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
        ("password", "salt", 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
        ("password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"),
        (
            "passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
            "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"
        ),
        ("pass\u{0}word", "sa\u{0}lt", 4096, 16, "89b69d0516f829893c696226650a8687"),
        (
            "passwd", "salt", 1, 64,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        ),
    ])
    func pbkdf2(password: String, salt: String, iterations: Int, length: Int, expected: String) {
        let key = Crypto.pbkdf2SHA256(
            password: Array(password.utf8),
            salt: Array(salt.utf8),
            iterations: iterations,
            keyLength: length
        )
        #expect(hex(key) == expected)
    }

    /// RFC 7677 section 3: the whole SCRAM-SHA-256 example (user "user", password "pencil")
    /// recomputed from its inputs, so the client proof and server signature must match byte for byte.
    @Test func scramSHA256RFC7677Example() throws {
        let clientFirstBare = "n=user,r=rOprNGfwEbeRWgbNEkqO"
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let clientFinalWithoutProof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        let salt = try #require(Data(base64Encoded: "W22ZaJ0SNY7soEsUEjb6gQ=="))

        let saltedPassword = Crypto.pbkdf2SHA256(
            password: Array("pencil".utf8),
            salt: [UInt8](salt),
            iterations: 4096,
            keyLength: 32
        )
        let clientKey = Crypto.hmacSHA256(key: saltedPassword, data: Array("Client Key".utf8))
        let storedKey = Crypto.sha256(clientKey)
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(clientFinalWithoutProof)".utf8)
        let clientSignature = Crypto.hmacSHA256(key: storedKey, data: authMessage)
        let clientProof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        #expect(Data(clientProof).base64EncodedString() == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")

        let serverKey = Crypto.hmacSHA256(key: saltedPassword, data: Array("Server Key".utf8))
        let serverSignature = Crypto.hmacSHA256(key: serverKey, data: authMessage)
        #expect(Data(serverSignature).base64EncodedString() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")

        // The server's check: recover ClientKey from the proof and compare its hash in constant time.
        let recovered = zip(clientProof, clientSignature).map { $0 ^ $1 }
        #expect(Crypto.constantTimeEquals(Crypto.sha256(recovered), storedKey))
    }

    @Test func randomBytes() {
        #expect(Crypto.randomBytes(0).isEmpty)
        let a = Crypto.randomBytes(32)
        let b = Crypto.randomBytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)  // 2^-256 chance of a false failure
    }

    @Test func constantTimeEquals() {
        #expect(Crypto.constantTimeEquals([], []))
        #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!Crypto.constantTimeEquals([0], []))
    }
}

func bytes(_ string: String) -> [UInt8] { Array(string.utf8) }

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func unhex(_ string: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = string.startIndex
    while index < string.endIndex {
        let next = string.index(index, offsetBy: 2)
        result.append(UInt8(string[index..<next], radix: 16)!)
        index = next
    }
    return result
}

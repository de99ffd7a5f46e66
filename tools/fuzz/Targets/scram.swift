// Fuzz target: both SCRAM-SHA-256 implementations' parsers — IAMWire's strict grammar (SCRAM.ClientFirst,
// ServerFirst, ClientFinal, ServerFinal) and IAMRPC's server and client machines (SCRAMServer,
// SCRAMClient) — on the same text.
//
// Input: [mode] then up to three texts separated by 0x00 bytes.
// Invariants: no crash; whatever IAMWire's parsers accept re-serializes to text they parse to the same
// value; IAMRPC's server never authenticates an unknown key or a client that did not prove the secret
// (mode bit 1 swaps in the correct proof for the texts given, so the fuzzer also explores the path where
// the proof is right and everything around it is mutated; success then must still name the real key).
@testable import IAMRPC
import IAMTLS
import IAMWire

private let keyID = "AKIAFUZZFUZZFUZZFUZZ"
private let secret = "fuzz-secret-fuzz-secret-fuzz-secret-0000"
private let salt: [UInt8] = Array(0..<16)
private let credential = SCRAMCredential.derive(secret: secret, salt: salt, iterations: 4096)
private let serverNonce = "SERVERNONCESERVERNONCE00"
/// The salted password for the credential above, computed once (PBKDF2 is the expensive step).
private let salted = SCRAMMath.saltedPassword(secret: secret, salt: salt, iterations: 4096)

/// The proof a client knowing `secret` sends for these texts (RFC 5802 §3).
private func proof(clientFirstBare: String, serverFirst: String, withoutProof: String) -> String {
    let clientKey = Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8))
    let storedKey = Crypto.sha256(clientKey)
    let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
    let signature = Crypto.hmacSHA256(key: storedKey, data: authMessage)
    return SCRAM.base64(SCRAMMath.xor(clientKey, signature))
}

private func wireParsers(_ text: String) {
    if let first = try? SCRAM.ClientFirst(parsing: text) {
        invariant(first.message == text, "ClientFirst does not re-serialize to its input")
    }
    if let value = try? SCRAM.ServerFirst(parsing: text) {
        invariant((try? SCRAM.ServerFirst(parsing: value.message)) == value, "ServerFirst round trip")
        invariant(SCRAM.saltSizeRange.contains(value.salt.count), "ServerFirst salt size")
        invariant((SCRAM.minIterations...SCRAM.maxIterations).contains(value.iterations), "ServerFirst iterations")
    }
    if let value = try? SCRAM.ClientFinal(parsing: text) {
        invariant(value.proof.count == 32, "ClientFinal proof size")
        invariant(value.message == text, "ClientFinal does not re-serialize to its input")
    }
    if let value = try? SCRAM.ServerFinal(parsing: text) {
        invariant((try? SCRAM.ServerFinal(parsing: value.message)) == value, "ServerFinal round trip")
    }
    if let decoded = SCRAM.base64Decode(text) {
        invariant(SCRAM.base64(decoded) == text, "base64 is not canonical")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let parts = input.rest().split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    for part in parts { wireParsers(part) }
    let first = parts.count > 0 ? parts[0] : ""
    var final = parts.count > 1 ? parts[1] : ""
    let third = parts.count > 2 ? parts[2] : ""

    // IAMRPC's server: client-first, the store's answer, client-final.
    var server = SCRAMServer(serverNonce: serverNonce, decoySecret: [7, 7, 7])
    guard case .lookUpCredential(let id) = server.receiveClientFirst(first) else { return 0 }
    invariant(isValidAccessKeyID(id), "server looked up an invalid key id \(id)")
    let known = id == keyID
    guard case .send(let serverFirst) = server.credentialLoaded(known ? credential : nil) else {
        fatalError("credentialLoaded did not answer with server-first")
    }
    if mode & 2 != 0, let range = final.range(of: ",p=", options: .backwards) {
        let withoutProof = String(final[..<range.lowerBound])
        final =
            withoutProof + ",p="
            + proof(
                clientFirstBare: String(first.dropFirst(3)), serverFirst: serverFirst, withoutProof: withoutProof)
    }
    let outcome = server.receiveClientFinal(final)
    if case .succeed(_, let authenticated) = outcome {
        invariant(known && authenticated == keyID, "authenticated \(authenticated) without its credential")
        invariant(mode & 2 != 0, "authenticated without the harness computing the proof")
        // What the server accepted must be what the protocol's strict grammar accepts too.
        invariant(
            (try? SCRAM.ClientFinal(parsing: final)) != nil, "server accepted a client-final IAMWire refuses: \(final)")
    }
    invariant(!server.receiveClientFinal(final).isSuccess, "a second client-final succeeded")

    // IAMRPC's client: its first message, then the fuzzed server-first and server-final. Iterations are
    // pinned by the client's bounds; the harness keeps them at the minimum so each run stays cheap.
    var client = SCRAMClient(accessKeyID: keyID, secret: secret)
    let clientNonce = "CLIENTNONCECLIENTNONCE00"
    _ = try? client.firstMessage(nonce: clientNonce)
    let iterationsText = third.split(separator: ",").last(where: { $0.hasPrefix("i=") })
    if iterationsText == nil || iterationsText == "i=4096" {
        if (try? client.finalMessage(serverFirst: third)) != nil {
            invariant(
                (try? client.verify(serverFinal: final)) == nil, "client accepted a server signature it cannot have")
        }
    }
    return 0
}

extension SCRAMServer.Action {
    fileprivate var isSuccess: Bool {
        if case .succeed = self { return true }
        return false
    }
}

/// WIRE.md §6.2's key id rule (16-128 characters of A-Z 0-9), as IAMWire's client-first grammar applies it.
private func isValidAccessKeyID(_ id: String) -> Bool {
    (try? SCRAM.ClientFirst(parsing: "n,,n=\(id),r=" + String(repeating: "a", count: 24))) != nil
}

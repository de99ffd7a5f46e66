import FoundationEssentials
import IAMTLS
import IAMWire

/// What the server keeps for one access key so it can check a SCRAM-SHA-256 proof (RFC 5802, RFC 7677).
///
/// It holds no secret: `storedKey` is `SHA-256(ClientKey)` and `serverKey` only proves the server to the
/// client. Someone who steals it cannot authenticate as the key's owner.
public struct SCRAMCredential: Sendable, Hashable {
    /// The PBKDF2 salt.
    public var salt: [UInt8]
    /// The PBKDF2 iteration count.
    public var iterations: Int
    /// `SHA-256(HMAC(SaltedPassword, "Client Key"))`.
    public var storedKey: [UInt8]
    /// `HMAC(SaltedPassword, "Server Key")`.
    public var serverKey: [UInt8]

    /// The PBKDF2 iteration count new credentials get (RFC 7677's minimum, WIRE.md §6.1).
    public static let defaultIterations = 4096

    /// Creates a credential from its parts (as a store reads them back).
    public init(salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives the credential for `secret`; the secret itself is not kept.
    public static func derive(
        secret: String,
        salt: [UInt8]? = nil,
        iterations: Int = SCRAMCredential.defaultIterations
    ) -> SCRAMCredential {
        let salt = salt ?? Crypto.randomBytes(16)
        let salted = SCRAMMath.saltedPassword(secret: secret, salt: salt, iterations: iterations)
        let clientKey = Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8))
        return SCRAMCredential(
            salt: salt,
            iterations: iterations,
            storedKey: Crypto.sha256(clientKey),
            serverKey: Crypto.hmacSHA256(key: salted, data: Array("Server Key".utf8))
        )
    }
}

/// Where the server looks up the SCRAM credential of an access key id during the authentication exchange.
///
/// Called once per connection (not per call), so an implementation may hit a database.
public protocol CredentialStore: Sendable {
    /// The credential of `accessKeyID`, or `nil` when the key does not exist or is inactive.
    func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential?
}

/// A credential store in memory, for tests and the load tester: it derives each credential from a
/// secret when the key is added and forgets the secret.
public final class InMemoryCredentialStore: CredentialStore {
    private let credentials: [String: SCRAMCredential]

    /// Creates a store holding the given access key ids and secrets.
    public init(secrets: [String: String], iterations: Int = SCRAMCredential.defaultIterations) {
        self.credentials = secrets.mapValues { SCRAMCredential.derive(secret: $0, iterations: iterations) }
    }

    /// Looks up a credential.
    public func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential? {
        credentials[accessKeyID]
    }

    /// Looks up a credential without suspending.
    package func credentialNow(forAccessKeyID accessKeyID: String) -> SCRAMCredential? {
        credentials[accessKeyID]
    }
}

/// SCRAM-SHA-256 arithmetic shared by the client and server machines (IAMWire.SCRAM has the wire constants).
package enum SCRAMMath {
    /// The longest SCRAM message either side accepts; a longer one is malformed.
    package static let maxMessageLength = 1024
    /// The fewest iterations a client accepts from a server (a lower count would make a stolen proof cheap to crack).
    package static let minimumIterations = 4096
    /// The most iterations a client accepts, so a hostile server cannot make it burn CPU.
    package static let maximumIterations = 1_000_000

    package static let gs2Header = "n,,"
    package static let channelBinding = "c=biws"  // base64("n,,")

    package static func saltedPassword(secret: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        Crypto.pbkdf2SHA256(password: Array(secret.utf8), salt: salt, iterations: iterations, keyLength: 32)
    }

    /// A fresh nonce: 24 random bytes, base64 (32 characters, none of them ','), as WIRE.md §6.2 says.
    package static func nonce() -> String {
        Data(Crypto.randomBytes(24)).base64EncodedString()
    }

    /// Parses `a=x,b=y,...` into ordered (attribute, value) pairs; nil when malformed.
    package static func attributes(_ message: String) -> [(Character, Substring)]? {
        var result: [(Character, Substring)] = []
        for part in message.split(separator: ",", omittingEmptySubsequences: false) {
            guard part.count >= 2, part[part.index(after: part.startIndex)] == "=", let key = part.first,
                key.isASCII, key.isLetter
            else { return nil }
            result.append((key, part.dropFirst(2)))
        }
        return result
    }

    /// Access key ids are 16-128 characters of `A-Z 0-9` (WIRE.md §6.2); anything else (including
    /// SCRAM's ',' and '=' which would need escaping) is refused before it is looked up.
    package static func isValidAccessKeyID(_ id: some StringProtocol) -> Bool {
        (16...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) }
    }

    package static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        zip(a, b).map { $0 ^ $1 }
    }

    package static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    package static func unbase64(_ text: some StringProtocol) -> [UInt8]? {
        Data(base64Encoded: String(text)).map { Array($0) }
    }
}

/// Why an authentication exchange failed. The server sends every failure to the client as the same
/// UNAUTHENTICATED status (so nobody can probe which key ids exist); the detail is for the server's log.
public struct AuthenticationFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, for logs.
    public var description: String
}

/// The client half of SCRAM-SHA-256: proves knowledge of the secret without sending it, and checks
/// that the server knows the credential too (mutual authentication).
package struct SCRAMClient: Sendable {
    enum State: Sendable {
        case initial
        case sentFirst(clientFirstBare: String, clientNonce: String)
        case sentFinal(expectedServerSignature: [UInt8])
        case done
        case failed
    }

    private var state: State = .initial
    private let accessKeyID: String
    private let secret: String

    /// Creates the client machine for one exchange.
    package init(accessKeyID: String, secret: String) {
        self.accessKeyID = accessKeyID
        self.secret = secret
    }

    /// The first message (`n,,n=<id>,r=<nonce>`).
    package mutating func firstMessage(nonce: String = SCRAMMath.nonce()) throws(AuthenticationFailure) -> String {
        guard case .initial = state else { throw fail("first message sent twice") }
        guard SCRAMMath.isValidAccessKeyID(accessKeyID) else {
            throw fail("access key id must be 16-128 characters of A-Z and 0-9")
        }
        let bare = "n=\(accessKeyID),r=\(nonce)"
        state = .sentFirst(clientFirstBare: bare, clientNonce: nonce)
        return SCRAMMath.gs2Header + bare
    }

    /// Answers the server's first message with the final message carrying the proof.
    package mutating func finalMessage(serverFirst: String) throws(AuthenticationFailure) -> String {
        guard case .sentFirst(let bare, let clientNonce) = state else { throw fail("unexpected server-first") }
        guard serverFirst.utf8.count <= SCRAMMath.maxMessageLength, let attributes = SCRAMMath.attributes(serverFirst),
            attributes.count >= 3, attributes[0].0 == "r", attributes[1].0 == "s", attributes[2].0 == "i"
        else { throw fail("malformed server-first message") }
        let nonce = attributes[0].1
        guard nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw fail("server nonce does not extend the client nonce")
        }
        guard let salt = SCRAMMath.unbase64(attributes[1].1), (8...64).contains(salt.count) else {
            throw fail("salt must be 8-64 bytes")
        }
        guard let iterations = Int(attributes[2].1), iterations >= SCRAMMath.minimumIterations,
            iterations <= SCRAMMath.maximumIterations
        else { throw fail("iteration count out of range") }

        let salted = SCRAMMath.saltedPassword(secret: secret, salt: salt, iterations: iterations)
        let clientKey = Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8))
        let storedKey = Crypto.sha256(clientKey)
        let withoutProof = "\(SCRAMMath.channelBinding),r=\(nonce)"
        let authMessage = Array("\(bare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = Crypto.hmacSHA256(key: storedKey, data: authMessage)
        let proof = SCRAMMath.xor(clientKey, clientSignature)
        let serverKey = Crypto.hmacSHA256(key: salted, data: Array("Server Key".utf8))
        state = .sentFinal(expectedServerSignature: Crypto.hmacSHA256(key: serverKey, data: authMessage))
        return "\(withoutProof),p=\(SCRAMMath.base64(proof))"
    }

    /// Checks the server's final message; throws unless the server proved it knows the credential.
    package mutating func verify(serverFinal: String) throws(AuthenticationFailure) {
        guard case .sentFinal(let expected) = state else { throw fail("unexpected server-final") }
        guard let attributes = SCRAMMath.attributes(serverFinal), let first = attributes.first else {
            throw fail("malformed server-final message")
        }
        if first.0 == "e" { throw fail("server refused: \(first.1)") }
        guard first.0 == "v", let signature = SCRAMMath.unbase64(first.1),
            Crypto.constantTimeEquals(signature, expected)
        else { throw fail("server signature does not match") }
        state = .done
    }

    private mutating func fail(_ reason: String) -> AuthenticationFailure {
        state = .failed
        return AuthenticationFailure(description: reason)
    }
}

/// The server half of SCRAM-SHA-256, as a state machine with no I/O: feed it the client's messages and
/// the credential the store returned; it says what to send.
package struct SCRAMServer: Sendable {
    enum State: Sendable {
        case awaitingClientFirst
        case awaitingCredential(clientFirstBare: String, clientNonce: String, accessKeyID: String)
        case awaitingClientFinal(authPrefix: String, nonce: String, credential: SCRAMCredential?, accessKeyID: String)
        case authenticated(accessKeyID: String)
        case failed
    }

    /// What the server does next.
    package enum Action: Sendable, Equatable {
        /// Ask the credential store for this key id, then call `credentialLoaded`.
        case lookUpCredential(accessKeyID: String)
        /// Send this SCRAM message to the client and wait for its next message.
        case send(String)
        /// Send this final message; the connection is authenticated as `accessKeyID`.
        case succeed(serverFinal: String, accessKeyID: String)
        /// Refuse: send UNAUTHENTICATED and close. The reason is for logs only.
        case fail(reason: String)
    }

    private var state: State = .awaitingClientFirst
    /// Keys the decoy salt of unknown key ids, so asking twice for one gets the same salt (WIRE.md §6.3).
    private let decoySecret: [UInt8]
    private let serverNonce: String

    /// Creates the server machine for one connection's exchange. `decoySecret` is a per-server random
    /// secret (the server makes one at start-up).
    package init(serverNonce: String = SCRAMMath.nonce(), decoySecret: [UInt8]) {
        self.serverNonce = serverNonce
        self.decoySecret = decoySecret
    }

    /// The key id the client authenticated as, once the exchange succeeded.
    package var authenticatedAccessKeyID: String? {
        if case .authenticated(let id) = state { return id }
        return nil
    }

    /// Input: the client's first message.
    ///
    /// Parsed with IAMWire's grammar (WIRE.md §6.2), the same one the protocol's vectors pin: a nonce of
    /// 24-256 printable characters without ',' — and short enough that the combined nonce (ours appended)
    /// stays within 256 too, or the exchange could never finish.
    package mutating func receiveClientFirst(_ message: String) -> Action {
        guard case .awaitingClientFirst = state else { return fail("unexpected client-first") }
        guard message.utf8.count <= SCRAMMath.maxMessageLength, let first = try? SCRAM.ClientFirst(parsing: message)
        else { return fail("malformed client-first message") }
        guard SCRAM.nonceLengthRange.contains(first.nonce.utf8.count + serverNonce.utf8.count) else {
            return fail("client nonce too long for a combined nonce of at most \(SCRAM.nonceLengthRange.upperBound)")
        }
        state = .awaitingCredential(
            clientFirstBare: first.bare, clientNonce: first.nonce, accessKeyID: first.accessKeyID)
        return .lookUpCredential(accessKeyID: first.accessKeyID)
    }

    /// Input: what the credential store returned (`nil`: no such key).
    ///
    /// An unknown key still gets a well-formed server-first message with a decoy salt, so a client
    /// cannot tell "no such key" from "wrong secret" (both fail at the proof).
    package mutating func credentialLoaded(_ credential: SCRAMCredential?) -> Action {
        guard case .awaitingCredential(let bare, let clientNonce, let id) = state else {
            return fail("credential loaded out of order")
        }
        let nonce = clientNonce + serverNonce
        let salt = credential?.salt ?? Array(Crypto.hmacSHA256(key: decoySecret, data: Array(id.utf8)).prefix(16))
        let iterations = credential?.iterations ?? SCRAMCredential.defaultIterations
        let serverFirst = "r=\(nonce),s=\(SCRAMMath.base64(salt)),i=\(iterations)"
        state = .awaitingClientFinal(
            authPrefix: "\(bare),\(serverFirst)",
            nonce: nonce,
            credential: credential,
            accessKeyID: id
        )
        return .send(serverFirst)
    }

    /// Input: the client's final message with its proof.
    package mutating func receiveClientFinal(_ message: String) -> Action {
        guard case .awaitingClientFinal(let prefix, let nonce, let credential, let id) = state else {
            return fail("unexpected client-final")
        }
        // IAMWire's grammar: `c=biws`, a printable nonce, and a proof in canonical base64 of 32 bytes
        // (Foundation's decoder also takes non-zero padding bits, so one proof had several spellings).
        guard message.utf8.count <= SCRAMMath.maxMessageLength, let final = try? SCRAM.ClientFinal(parsing: message)
        else { return fail("malformed client-final message") }
        guard final.nonce == nonce else { return fail("nonce mismatch") }
        let proof = final.proof
        guard let credential else { return fail("unknown access key id \(id)") }
        let authMessage = Array("\(prefix),\(final.withoutProof)".utf8)
        let clientSignature = Crypto.hmacSHA256(key: credential.storedKey, data: authMessage)
        let clientKey = SCRAMMath.xor(proof, clientSignature)
        guard Crypto.constantTimeEquals(Crypto.sha256(clientKey), credential.storedKey) else {
            return fail("invalid proof for access key id \(id)")
        }
        let serverSignature = Crypto.hmacSHA256(key: credential.serverKey, data: authMessage)
        state = .authenticated(accessKeyID: id)
        return .succeed(serverFinal: "v=\(SCRAMMath.base64(serverSignature))", accessKeyID: id)
    }

    private mutating func fail(_ reason: String) -> Action {
        state = .failed
        return .fail(reason: reason)
    }
}

import IAMTLS
import IAMWire
import IAMSync

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

/// What a credential store can say about a key without suspending.
public enum ImmediateCredentialLookup: Sendable {
    /// The key's credential.
    case found(SCRAMCredential)
    /// No such usable key: authentication fails at the proof, as for a wrong secret.
    case notFound
    /// The store must be asked asynchronously (it reads a database): ``CredentialStore/credential(forAccessKeyID:)``.
    case deferred
}

/// Where the server looks up the SCRAM credential of an access key id during the authentication exchange.
///
/// The server first asks ``immediateCredential(forAccessKeyID:)`` on the connection's event loop; only when
/// that answers `.deferred` does it hop off the loop to the asynchronous lookup. Stores that hold their keys
/// in memory (a file read at start, the authorization snapshot) answer at once, so a handshake costs no
/// thread hop; a store that must read a database keeps the default and is asked asynchronously.
public protocol CredentialStore: Sendable {
    /// The credential of `accessKeyID`, or `nil` when the key does not exist or is inactive.
    func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential?

    /// The credential of `accessKeyID` if the store can tell without suspending; must not block.
    func immediateCredential(forAccessKeyID accessKeyID: String) -> ImmediateCredentialLookup
}

extension CredentialStore {
    /// Asks asynchronously: the right answer for a store that reads a database.
    public func immediateCredential(forAccessKeyID accessKeyID: String) -> ImmediateCredentialLookup { .deferred }
}

/// SCRAM-SHA-256 arithmetic shared by the client and server machines. The messages' grammar (building
/// and strictly parsing them, nonce and key-id rules, base64) is IAMWire's `SCRAM`, the one WIRE.md §6
/// specifies and its conformance tests pin; this is only the cryptography around it.
package enum SCRAMMath {
    package static func saltedPassword(secret: String, salt: [UInt8], iterations: Int) -> [UInt8] {
        Crypto.pbkdf2SHA256(password: Array(secret.utf8), salt: salt, iterations: iterations, keyLength: 32)
    }

    /// A fresh nonce: 24 random bytes, base64 (32 characters, none of them ','), as WIRE.md §6.2 says.
    package static func nonce() -> String {
        SCRAM.base64(Crypto.randomBytes(24))
    }

    package static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        zip(a, b).map { $0 ^ $1 }
    }
}

/// Why an authentication exchange failed. The server sends every failure to the client as the same
/// UNAUTHENTICATED status (so nobody can probe which key ids exist); the detail is for the server's log.
public struct AuthenticationFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, for logs.
    public var description: String
}

/// The keys a client derives from its secret for one salt and iteration count (RFC 5802 §5.1: a client may
/// cache ClientKey and ServerKey). The derivation is PBKDF2 over the server's iteration count (4096 by default),
/// 2-4 ms of CPU on these machines; a client that reconnects with the same credential gets the same salt and
/// count back from the server, so it derives them once. One cache serves one secret: the client's connections
/// share it.
package final class SCRAMClientKeyCache: Sendable {
    package struct Keys: Sendable, Equatable {
        package var salt: [UInt8]
        package var iterations: Int
        package var clientKey: [UInt8]
        package var serverKey: [UInt8]
    }

    private let last = Locked<Keys?>(nil)

    package init() {}

    /// The keys for `salt` and `iterations`: the cached ones when they match, otherwise derived from `secret`
    /// and kept in place of the previous ones.
    func keys(secret: String, salt: [UInt8], iterations: Int) -> Keys {
        if let cached = self.last.withLock({ $0 }), cached.salt == salt, cached.iterations == iterations {
            return cached
        }
        let keys = Self.derive(secret: secret, salt: salt, iterations: iterations)
        self.last.withLock { $0 = keys }
        return keys
    }

    /// What `keys` holds for the last salt it derived, for tests.
    package var cached: Keys? { self.last.withLock { $0 } }

    private static func derive(secret: String, salt: [UInt8], iterations: Int) -> Keys {
        let salted = SCRAMMath.saltedPassword(secret: secret, salt: salt, iterations: iterations)
        return Keys(
            salt: salt, iterations: iterations,
            clientKey: Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8)),
            serverKey: Crypto.hmacSHA256(key: salted, data: Array("Server Key".utf8)))
    }
}

/// The client half of SCRAM-SHA-256: proves knowledge of the secret without sending it, and checks
/// that the server knows the credential too (mutual authentication).
package struct SCRAMClient: Sendable {
    enum State: Sendable {
        case initial
        case sentFirst(SCRAM.ClientFirst)
        case sentFinal(expectedServerSignature: [UInt8])
        case done
        case failed
    }

    private var state: State = .initial
    private let accessKeyID: String
    private let secret: String
    private let keyCache: SCRAMClientKeyCache

    /// Creates the client machine for one exchange; `keyCache`, shared by the exchanges of one secret, saves
    /// deriving its keys again for a salt seen before (by default the exchange has a cache of its own).
    package init(accessKeyID: String, secret: String, keyCache: SCRAMClientKeyCache = SCRAMClientKeyCache()) {
        self.accessKeyID = accessKeyID
        self.secret = secret
        self.keyCache = keyCache
    }

    /// The first message (`n,,n=<id>,r=<nonce>`).
    package mutating func firstMessage(nonce: String = SCRAMMath.nonce()) throws(AuthenticationFailure) -> String {
        guard case .initial = state else { throw fail("first message sent twice") }
        let first = SCRAM.ClientFirst(accessKeyID: accessKeyID, nonce: nonce)
        do {
            // Our own message goes through the grammar the server applies, so a bad key id or nonce is
            // refused here with the reason rather than by the server as a bare UNAUTHENTICATED.
            _ = try SCRAM.ClientFirst(parsing: first.message)
        } catch {
            throw fail(error.message)
        }
        state = .sentFirst(first)
        return first.message
    }

    /// Answers the server's first message with the final message carrying the proof.
    package mutating func finalMessage(serverFirst message: String) throws(AuthenticationFailure) -> String {
        guard case .sentFirst(let first) = state else { throw fail("unexpected server-first") }
        let serverFirst: SCRAM.ServerFirst
        do throws(WireError) {
            guard message.utf8.count <= AuthClientFirst.maxMessageLength else {
                throw WireError.authenticationFailed("server-first is longer than 1024 bytes")
            }
            serverFirst = try SCRAM.ServerFirst(parsing: message, clientNonce: first.nonce)
        } catch {
            throw fail(error.message)
        }
        let keys = keyCache.keys(secret: secret, salt: serverFirst.salt, iterations: serverFirst.iterations)
        let clientKey = keys.clientKey
        let storedKey = Crypto.sha256(clientKey)
        var final = SCRAM.ClientFinal(nonce: serverFirst.nonce, proof: [])
        // The AuthMessage signs the server-first text exactly as received.
        let authMessage = Array("\(first.bare),\(message),\(final.withoutProof)".utf8)
        let clientSignature = Crypto.hmacSHA256(key: storedKey, data: authMessage)
        final.proof = SCRAMMath.xor(clientKey, clientSignature)
        state = .sentFinal(expectedServerSignature: Crypto.hmacSHA256(key: keys.serverKey, data: authMessage))
        return final.message
    }

    /// Checks the server's final message; throws unless the server proved it knows the credential.
    package mutating func verify(serverFinal message: String) throws(AuthenticationFailure) {
        guard case .sentFinal(let expected) = state else { throw fail("unexpected server-final") }
        let serverFinal: SCRAM.ServerFinal
        do {
            serverFinal = try SCRAM.ServerFinal(parsing: message)
        } catch {
            throw fail(error.message)
        }
        switch serverFinal {
        case .error(let value):
            throw fail("server refused: \(value)")
        case .verifier(let signature):
            guard Crypto.constantTimeEquals(signature, expected) else { throw fail("server signature does not match") }
        }
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
        case awaitingCredential(SCRAM.ClientFirst)
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
    package mutating func receiveClientFirst(_ message: String) -> Action {
        guard case .awaitingClientFirst = state else { return fail("unexpected client-first") }
        let first: SCRAM.ClientFirst
        do {
            first = try SCRAM.ClientFirst(parsing: message)
        } catch {
            return fail("malformed client-first message: \(error.message)")
        }
        // The combined nonce must itself be a valid nonce (WIRE.md §6.2: at most 256 characters).
        guard first.nonce.utf8.count + serverNonce.utf8.count <= SCRAM.nonceLengthRange.upperBound else {
            return fail("malformed client-first message: the client nonce leaves no room for the server's")
        }
        state = .awaitingCredential(first)
        return .lookUpCredential(accessKeyID: first.accessKeyID)
    }

    /// Input: what the credential store returned (`nil`: no such key).
    ///
    /// An unknown key still gets a well-formed server-first message with a decoy salt, so a client
    /// cannot tell "no such key" from "wrong secret" (both fail at the proof).
    package mutating func credentialLoaded(_ credential: SCRAMCredential?) -> Action {
        guard case .awaitingCredential(let first) = state else {
            return fail("credential loaded out of order")
        }
        let id = first.accessKeyID
        let salt =
            credential?.salt ?? Array(Crypto.hmacSHA256(key: decoySecret, data: Array(id.utf8)).prefix(16))
        let serverFirst = SCRAM.ServerFirst(
            nonce: first.nonce + serverNonce, salt: salt,
            iterations: credential?.iterations ?? SCRAMCredential.defaultIterations)
        let message = serverFirst.message
        state = .awaitingClientFinal(
            authPrefix: "\(first.bare),\(message)", nonce: serverFirst.nonce, credential: credential, accessKeyID: id)
        return .send(message)
    }

    /// Input: the client's final message with its proof.
    package mutating func receiveClientFinal(_ message: String) -> Action {
        guard case .awaitingClientFinal(let prefix, let nonce, let credential, let id) = state else {
            return fail("unexpected client-final")
        }
        let final: SCRAM.ClientFinal
        do {
            final = try SCRAM.ClientFinal(parsing: message)
        } catch {
            return fail("malformed client-final message: \(error.message)")
        }
        guard final.nonce == nonce else { return fail("nonce mismatch") }
        guard let credential else { return fail("unknown access key id \(id)") }
        let authMessage = Array("\(prefix),\(final.withoutProof)".utf8)
        let clientSignature = Crypto.hmacSHA256(key: credential.storedKey, data: authMessage)
        let clientKey = SCRAMMath.xor(final.proof, clientSignature)
        guard Crypto.constantTimeEquals(Crypto.sha256(clientKey), credential.storedKey) else {
            return fail("invalid proof for access key id \(id)")
        }
        let serverSignature = Crypto.hmacSHA256(key: credential.serverKey, data: authMessage)
        state = .authenticated(accessKeyID: id)
        return .succeed(serverFinal: SCRAM.ServerFinal.verifier(serverSignature).message, accessKeyID: id)
    }

    private mutating func fail(_ reason: String) -> Action {
        state = .failed
        return .fail(reason: reason)
    }
}

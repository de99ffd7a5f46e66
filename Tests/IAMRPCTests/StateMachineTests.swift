import Foundation
import IAMRPC
import IAMTLS
import IAMWire
import NIOCore
import Testing

/// SCRAM-SHA-256 without I/O (RFC 5802 / 7677, WIRE.md §6).
@Suite("SCRAM-SHA-256")
struct SCRAMTests {
    static let keyID = "AKIAEXAMPLEKEY000001"
    static let secret = "s3cret/with+symbols=="

    static func server() -> SCRAMServer { SCRAMServer(decoySecret: Array(repeating: 7, count: 32)) }

    @Test("client and server agree; the server proves itself too")
    func success() throws {
        let credential = SCRAMCredential.derive(secret: Self.secret)
        var client = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
        var server = Self.server()
        #expect(server.receiveClientFirst(try client.firstMessage()) == .lookUpCredential(accessKeyID: Self.keyID))
        guard case .send(let serverFirst) = server.credentialLoaded(credential) else {
            Issue.record("no server-first")
            return
        }
        let clientFinal = try client.finalMessage(serverFirst: serverFirst)
        guard case .succeed(let serverFinal, let id) = server.receiveClientFinal(clientFinal) else {
            Issue.record("proof refused")
            return
        }
        #expect(id == Self.keyID)
        #expect(server.authenticatedAccessKeyID == Self.keyID)
        try client.verify(serverFinal: serverFinal)
    }

    @Test("a key cache shared by exchanges keeps one salt's keys and every exchange still proves the secret")
    func keyCache() throws {
        let cache = SCRAMClientKeyCache()
        let first = SCRAMCredential.derive(secret: Self.secret)
        let second = SCRAMCredential.derive(secret: Self.secret)  // the same secret under another salt
        #expect(first.salt != second.salt)
        for credential in [first, first, second, first] {
            var client = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret, keyCache: cache)
            var server = Self.server()
            _ = server.receiveClientFirst(try client.firstMessage())
            guard case .send(let serverFirst) = server.credentialLoaded(credential) else {
                Issue.record("no server-first")
                return
            }
            guard
                case .succeed(let serverFinal, _) = server.receiveClientFinal(
                    try client.finalMessage(serverFirst: serverFirst))
            else {
                Issue.record("a proof made with cached keys was refused")
                return
            }
            try client.verify(serverFinal: serverFinal)
            let cached = try #require(cache.cached)
            #expect(cached.salt == credential.salt)
            #expect(Crypto.sha256(cached.clientKey) == credential.storedKey)
            #expect(cached.serverKey == credential.serverKey)
        }
        // A cache filled by the right secret does not help a client that has the wrong one: keys are looked up
        // by salt, and a cache belongs to one secret; a wrong secret with its own cache fails at the proof.
        let wrongCache = SCRAMClientKeyCache()
        var wrong = SCRAMClient(accessKeyID: Self.keyID, secret: "wrong", keyCache: wrongCache)
        var server = Self.server()
        _ = server.receiveClientFirst(try wrong.firstMessage())
        guard case .send(let serverFirst) = server.credentialLoaded(first) else {
            Issue.record("no server-first")
            return
        }
        guard case .fail = server.receiveClientFinal(try wrong.finalMessage(serverFirst: serverFirst)) else {
            Issue.record("a wrong secret's proof was accepted")
            return
        }
    }

    @Test("RFC 7677 test vector: the client proof and server signature match the RFC")
    func rfc7677Vector() throws {
        // RFC 7677 §3 uses user "user", which this profile's key-id rule refuses, so reproduce its math on
        // the credential and AuthMessage directly.
        let salt = SCRAM.base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==")!
        let credential = SCRAMCredential.derive(secret: "pencil", salt: salt, iterations: 4096)
        let authMessage = Array(
            ("n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
                + "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0").utf8
        )
        let serverSignature = Crypto.hmacSHA256(key: credential.serverKey, data: authMessage)
        #expect(SCRAM.base64(serverSignature) == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        let clientSignature = Crypto.hmacSHA256(key: credential.storedKey, data: authMessage)
        let salted = Crypto.pbkdf2SHA256(password: Array("pencil".utf8), salt: salt, iterations: 4096, keyLength: 32)
        let clientKey = Crypto.hmacSHA256(key: salted, data: Array("Client Key".utf8))
        #expect(
            SCRAM.base64(SCRAMMath.xor(clientKey, clientSignature))
                == "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        )
    }

    @Test("a wrong secret fails at the proof")
    func wrongSecret() throws {
        var client = SCRAMClient(accessKeyID: Self.keyID, secret: "wrong")
        var server = Self.server()
        _ = server.receiveClientFirst(try client.firstMessage())
        guard case .send(let serverFirst) = server.credentialLoaded(.derive(secret: Self.secret)) else {
            Issue.record("no server-first")
            return
        }
        let action = server.receiveClientFinal(try client.finalMessage(serverFirst: serverFirst))
        guard case .fail = action else {
            Issue.record("wrong secret accepted: \(action)")
            return
        }
        #expect(server.authenticatedAccessKeyID == nil)
    }

    @Test("an unknown key gets a deterministic decoy salt and fails at the proof")
    func unknownKey() throws {
        var first: [String] = []
        for _ in 0..<2 {
            var client = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
            var server = Self.server()
            _ = server.receiveClientFirst(try client.firstMessage())
            guard case .send(let serverFirst) = server.credentialLoaded(nil) else {
                Issue.record("no decoy server-first")
                return
            }
            first.append(String(serverFirst.split(separator: ",")[1]))
            guard case .fail = server.receiveClientFinal(try client.finalMessage(serverFirst: serverFirst)) else {
                Issue.record("unknown key accepted")
                return
            }
        }
        #expect(first[0] == first[1], "same key id, same decoy salt")
    }

    @Test(
        "malformed client messages are refused",
        arguments: [
            "", "n,,", "y,,n=AKIAEXAMPLEKEY000001,r=abcdefghijklmnopqrstuvwx", "n,,r=abc,n=AKIAEXAMPLEKEY000001",
            "n,,n=short,r=abcdefghijklmnopqrstuvwx", "n,,n=akiaexamplekey000001,r=abcdefghijklmnopqrstuvwx",
            "n,,n=AKIAEXAMPLEKEY000001,r=", String(repeating: "n", count: 2000),
            // WIRE.md §6.2: nonces are 24-256 printable characters without ','; the combined nonce too.
            "n,,n=AKIAEXAMPLEKEY000001,r=abcdefghij",
            "n,,n=AKIAEXAMPLEKEY000001,r=" + String(repeating: "x", count: 257),
            "n,,n=AKIAEXAMPLEKEY000001,r=" + String(repeating: "x", count: 240),
            "n,,n=AKIAEXAMPLEKEY000001,r=abcdefghijklmnopqrstuvw\u{7F}",
            "n,,n=AKIAEXAMPLEKEY000001,r=" + String(repeating: "\u{7}", count: 24),
            "n,,n=AKIAEXAMPLEKEY000001,r=" + String(repeating: "é", count: 24),
            "n,,n=AKIAEXAMPLEKEY000001,r=abc def ghi jkl mno pqr stu",
        ]
    )
    func malformedClientFirst(message: String) {
        var server = Self.server()
        guard case .fail = server.receiveClientFirst(message) else {
            Issue.record("accepted \(message)")
            return
        }
    }

    @Test("a client-final with another nonce or channel binding is refused")
    func tamperedClientFinal() throws {
        for tamper in ["nonce", "binding", "proof"] {
            var client = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
            var server = Self.server()
            _ = server.receiveClientFirst(try client.firstMessage())
            guard case .send(let serverFirst) = server.credentialLoaded(.derive(secret: Self.secret)) else { return }
            var final = try client.finalMessage(serverFirst: serverFirst)
            switch tamper {
            case "nonce": final = final.replacingOccurrences(of: ",r=", with: ",r=X")
            case "binding": final = final.replacingOccurrences(of: "c=biws", with: "c=eSws")
            default: final = String(final.dropLast(4)) + "AAA="
            }
            guard case .fail = server.receiveClientFinal(final) else {
                Issue.record("tampered \(tamper) accepted")
                return
            }
        }
    }

    @Test("a client-final whose proof is not canonical base64 is refused, even when it decodes to the right proof")
    func nonCanonicalProof() throws {
        var client = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
        var server = Self.server()
        _ = server.receiveClientFirst(try client.firstMessage())
        guard case .send(let serverFirst) = server.credentialLoaded(.derive(secret: Self.secret)) else {
            Issue.record("no server-first")
            return
        }
        // 32 bytes are 43 base64 characters and one '='; the last character's two low bits are padding, so
        // setting one changes the text but not the bytes (RFC 4648 §3.5: canonical encodings have them 0).
        let final = try client.finalMessage(serverFirst: serverFirst)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var characters = Array(final)
        let last = characters.count - 2
        characters[last] = alphabet[alphabet.firstIndex(of: characters[last])! | 1]
        let tampered = String(characters)
        let proof = { (message: String) in String(message[message.range(of: ",p=")!.upperBound...]) }
        // Foundation's decoder ignores the padding bits (so the proof itself still verifies); the protocol's does not.
        #expect(Data(base64Encoded: proof(tampered)) == Data(base64Encoded: proof(final)))
        #expect(SCRAM.base64Decode(proof(tampered)) == nil)
        guard case .fail = server.receiveClientFinal(tampered) else {
            Issue.record("non-canonical proof accepted: \(tampered)")
            return
        }
    }

    @Test("the client refuses a hostile server-first and a forged server signature")
    func clientChecksServer() throws {
        var client = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
        let first = try client.firstMessage(nonce: "clientnonceclientnonce0123")
        #expect(throws: AuthenticationFailure.self) {
            try client.finalMessage(serverFirst: "r=othernonce0123456789abcdef,s=c2FsdHNhbHQ=,i=4096")
        }
        _ = first
        for serverFirst in [
            "r=clientnonceclientnonce0123XYZ,s=c2FsdHNhbHQ=,i=10",  // too few iterations
            "r=clientnonceclientnonce0123XYZ,s=c2FsdHNhbHQ=,i=99999999",  // too many
            "r=clientnonceclientnonce0123XYZ,s=YQ==,i=4096",  // salt too short
        ] {
            var fresh = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
            _ = try fresh.firstMessage(nonce: "clientnonceclientnonce0123")
            #expect(throws: AuthenticationFailure.self) { try fresh.finalMessage(serverFirst: serverFirst) }
        }
        var honest = SCRAMClient(accessKeyID: Self.keyID, secret: Self.secret)
        _ = try honest.firstMessage(nonce: "clientnonceclientnonce0123")
        _ = try honest.finalMessage(serverFirst: "r=clientnonceclientnonce0123XYZ,s=c2FsdHNhbHQ=,i=4096")
        #expect(throws: AuthenticationFailure.self) {
            try honest.verify(serverFinal: "v=" + SCRAM.base64(Array(repeating: 0, count: 32)))
        }
    }
}

/// The server connection state machine without I/O (WIRE.md §13).
@Suite("Server connection state machine")
struct ServerConnectionStateMachineTests {
    typealias Machine = ServerConnectionStateMachine

    /// A machine that has completed the handshake as `AKIAEXAMPLEKEY000001`.
    static func active(maxConcurrentCalls: Int = 4) throws -> Machine {
        var machine = Machine(maxConcurrentCalls: maxConcurrentCalls, scram: SCRAMServer(decoySecret: [1, 2, 3]))
        #expect(machine.prefaceReceived() == .sendPrefaceAndSettings)
        #expect(machine.settingsReceived() == .acknowledgeSettings)
        var client = SCRAMClient(accessKeyID: SCRAMTests.keyID, secret: SCRAMTests.secret)
        #expect(
            machine.authClientFirstReceived(mechanism: SCRAM.mechanism, message: try client.firstMessage())
                == .lookUpCredential(accessKeyID: SCRAMTests.keyID)
        )
        guard case .sendServerFirst(let first) = machine.credentialLoaded(.derive(secret: SCRAMTests.secret)) else {
            throw RawSessionError(message: "no server-first")
        }
        guard case .sendServerFinal = machine.authClientFinalReceived(try client.finalMessage(serverFirst: first))
        else {
            throw RawSessionError(message: "not authenticated")
        }
        #expect(machine.phase == .active)
        #expect(machine.settingsAckReceived() == .none)
        return machine
    }

    @Test("frames before SETTINGS are protocol errors")
    func settingsFirst() {
        for input in 0..<4 {
            var machine = Machine(maxConcurrentCalls: 4, scram: SCRAMServer(decoySecret: [1]))
            _ = machine.prefaceReceived()
            let action: Machine.Action =
                switch input {
                case 0: machine.pingReceived()
                case 1: machine.callStartReceived(streamID: 1)
                case 2: machine.authClientFirstReceived(mechanism: SCRAM.mechanism, message: "n,,")
                default: machine.settingsAckReceived()
                }
            guard case .failConnection(.protocolError, _) = action else {
                Issue.record("input \(input): \(action)")
                continue
            }
            #expect(machine.phase == .closed)
        }
    }

    @Test("a second SETTINGS and an unexpected SETTINGS ACK are protocol errors")
    func settingsRules() throws {
        var machine = try Self.active()
        guard case .failConnection(.protocolError, _) = machine.settingsReceived() else {
            Issue.record("second SETTINGS accepted")
            return
        }
        var other = try Self.active()
        guard case .failConnection(.protocolError, _) = other.settingsAckReceived() else {
            Issue.record("second ACK accepted")
            return
        }
    }

    @Test("calls before authentication close the connection UNAUTHENTICATED")
    func callsBeforeAuthentication() {
        var machine = Machine(maxConcurrentCalls: 4, scram: SCRAMServer(decoySecret: [1]))
        _ = machine.prefaceReceived()
        _ = machine.settingsReceived()
        guard case .failConnection(.unauthenticated, _) = machine.callStartReceived(streamID: 1) else {
            Issue.record("call before auth accepted")
            return
        }
        #expect(machine.phase == .closed)
    }

    @Test("a wrong mechanism fails authentication")
    func wrongMechanism() {
        var machine = Machine(maxConcurrentCalls: 4, scram: SCRAMServer(decoySecret: [1]))
        _ = machine.prefaceReceived()
        _ = machine.settingsReceived()
        guard case .failAuthentication = machine.authClientFirstReceived(mechanism: "PLAIN", message: "x") else {
            Issue.record("PLAIN accepted")
            return
        }
    }

    @Test("a unary call: open, ready, finished")
    func unaryLifecycle() throws {
        var machine = try Self.active()
        #expect(machine.callStartReceived(streamID: 1) == .openCall(streamID: 1))
        #expect(machine.calls[1] == .open)
        #expect(machine.messageReceived(streamID: 1, endStream: true) == .serveCall(streamID: 1))
        #expect(machine.calls[1] == .ready)
        #expect(machine.callFinished(streamID: 1) == .none)
        #expect(machine.calls.isEmpty)
        // A late MESSAGE for the finished call is ignored.
        #expect(machine.messageReceived(streamID: 1, endStream: true) == .none)
    }

    @Test("stream ids must be odd and increasing; frames on never-opened streams are protocol errors")
    func streamIDs() throws {
        for (first, second) in [(UInt32(1), UInt32(2)), (3, 3), (5, 1)] {
            var machine = try Self.active()
            _ = machine.callStartReceived(streamID: first)
            guard case .failConnection(.protocolError, _) = machine.callStartReceived(streamID: second) else {
                Issue.record("\(second) after \(first) accepted")
                continue
            }
        }
        var machine = try Self.active()
        guard case .failConnection(.protocolError, _) = machine.messageReceived(streamID: 9, endStream: true) else {
            Issue.record("MESSAGE on unopened stream accepted")
            return
        }
        var other = try Self.active()
        guard case .failConnection(.protocolError, _) = other.cancelReceived(streamID: 7) else {
            Issue.record("CANCEL on unopened stream accepted")
            return
        }
    }

    @Test("a unary MESSAGE without END_STREAM, or a second MESSAGE, ends the call INVALID_ARGUMENT")
    func unaryMessageRules() throws {
        var machine = try Self.active()
        _ = machine.callStartReceived(streamID: 1)
        guard case .refuseCall(1, let error) = machine.messageReceived(streamID: 1, endStream: false) else {
            Issue.record("MESSAGE without END_STREAM served")
            return
        }
        #expect(error.code == .invalidArgument)
        _ = machine.callStartReceived(streamID: 3)
        _ = machine.messageReceived(streamID: 3, endStream: true)
        guard case .refuseCall(3, let second) = machine.messageReceived(streamID: 3, endStream: true) else {
            Issue.record("second MESSAGE accepted")
            return
        }
        #expect(second.code == .invalidArgument)
    }

    @Test("MAX_CONCURRENT_CALLS: the next call is refused RESOURCE_EXHAUSTED; reading pauses while full")
    func concurrencyLimit() throws {
        var machine = try Self.active(maxConcurrentCalls: 2)
        _ = machine.callStartReceived(streamID: 1)
        _ = machine.callStartReceived(streamID: 3)
        guard case .refuseCall(5, let error) = machine.callStartReceived(streamID: 5) else {
            Issue.record("third call accepted")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(!machine.shouldPauseReading)
        _ = machine.messageReceived(streamID: 1, endStream: true)
        _ = machine.messageReceived(streamID: 3, endStream: true)
        #expect(machine.shouldPauseReading)
        _ = machine.callFinished(streamID: 1)
        #expect(!machine.shouldPauseReading)
    }

    @Test("a limit of 0 calls refuses every call but never stops reading (found by the server-connection fuzzer)")
    func zeroCallLimit() throws {
        var machine = try Self.active(maxConcurrentCalls: 0)
        #expect(!machine.shouldPauseReading, "the opening and GOAWAY must still be read")
        guard case .refuseCall(1, let error) = machine.callStartReceived(streamID: 1) else {
            Issue.record("a call opened past a limit of 0")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect(!machine.shouldPauseReading)
        machine.channelClosed()
        #expect(!machine.shouldPauseReading)
    }

    @Test("cancel and deadline: the call is forgotten; a deadline on a live call ends it DEADLINE_EXCEEDED")
    func cancelAndDeadline() throws {
        var machine = try Self.active()
        _ = machine.callStartReceived(streamID: 1)
        _ = machine.messageReceived(streamID: 1, endStream: true)
        #expect(machine.cancelReceived(streamID: 1) == .none)
        #expect(machine.calls[1] == nil)
        #expect(machine.deadlineExceeded(streamID: 1) == .none)
        _ = machine.callStartReceived(streamID: 3)
        guard case .refuseCall(3, let error) = machine.deadlineExceeded(streamID: 3) else {
            Issue.record("deadline ignored")
            return
        }
        #expect(error.code == .deadlineExceeded)
    }

    @Test("drain: calls up to the last id finish, later CALL_STARTs are ignored, close when empty")
    func drain() throws {
        var machine = try Self.active()
        _ = machine.callStartReceived(streamID: 1)
        _ = machine.messageReceived(streamID: 1, endStream: true)
        let (last, sendGoAway, closeNow) = machine.beginDrain()
        #expect(last == 1 && sendGoAway && !closeNow)
        #expect(machine.callStartReceived(streamID: 3) == .none)
        #expect(machine.calls[3] == nil)
        #expect(machine.callFinished(streamID: 1) == .close)
        #expect(machine.phase == .closed)
    }

    @Test("drain with no calls closes at once; before the preface nothing is sent")
    func drainIdle() throws {
        var machine = try Self.active()
        let result = machine.beginDrain()
        #expect(result.sendGoAway && result.closeNow)
        var fresh = Machine(maxConcurrentCalls: 1, scram: SCRAMServer(decoySecret: [1]))
        let early = fresh.beginDrain()
        #expect(!early.sendGoAway && early.closeNow)
    }

    @Test("handshake timeout: silent close before the preface, GOAWAY TIMEOUT after, nothing once active")
    func handshakeTimeout() throws {
        var fresh = Machine(maxConcurrentCalls: 1, scram: SCRAMServer(decoySecret: [1]))
        #expect(fresh.handshakeTimedOut() == .close)
        var started = Machine(maxConcurrentCalls: 1, scram: SCRAMServer(decoySecret: [1]))
        _ = started.prefaceReceived()
        guard case .failConnection(.timeout, _) = started.handshakeTimedOut() else {
            Issue.record("no timeout")
            return
        }
        var active = try Self.active()
        #expect(active.handshakeTimedOut() == .none)
    }

    @Test("a preface arriving after the handshake timer closed the connection sends nothing (found by fuzzing)")
    func prefaceAfterTimeout() {
        var machine = Machine(maxConcurrentCalls: 1, scram: SCRAMServer(decoySecret: [1]))
        #expect(machine.handshakeTimedOut() == .close)
        #expect(machine.prefaceReceived() == .none)
        #expect(machine.phase == .closed)
    }

    @Test("more than 100 PINGs in 10 s is a flood: GOAWAY RESOURCE_EXHAUSTED; a slower rate is fine")
    func pingFlood() throws {
        var machine = try Self.active()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for index in 0..<100 {
            #expect(machine.pingReceived(now: start + .milliseconds(Int64(index))) == .sendPingAck)
        }
        guard case .failConnection(.resourceExhausted, _) = machine.pingReceived(now: start + .seconds(1)) else {
            Issue.record("flood not detected")
            return
        }
        var steady = try Self.active()
        for index in 0..<300 {
            #expect(steady.pingReceived(now: start + .milliseconds(Int64(index) * 150)) == .sendPingAck)
        }
    }

    @Test("wire errors map to GOAWAY codes; a bad preface closes silently")
    func wireErrors() throws {
        var machine = try Self.active()
        guard
            case .failConnection(.resourceExhausted, _) = machine.wireErrorReceived(.frameTooLarge(length: 9, limit: 1))
        else {
            Issue.record("frame too large")
            return
        }
        var early = Machine(maxConcurrentCalls: 1, scram: SCRAMServer(decoySecret: [1]))
        #expect(early.wireErrorReceived(.badPreface("x")) == .close)
    }
}

/// The client connection state machine without I/O.
@Suite("Client connection state machine")
struct ClientConnectionStateMachineTests {
    typealias Machine = ClientConnectionStateMachine<Int>

    /// Drives a machine through the handshake against a real SCRAMServer.
    static func ready(maxConcurrentCalls: Int = 100, queued: [Int] = []) throws -> (Machine, [(UInt32, Int)]) {
        var machine = Machine(scram: SCRAMClient(accessKeyID: SCRAMTests.keyID, secret: SCRAMTests.secret))
        var server = SCRAMServer(decoySecret: [1])
        let first = try machine.start()
        for call in queued { _ = machine.startCall(call) }
        #expect(machine.queuedCount == queued.count)
        _ = machine.prefaceReceived(Preface(minVersion: 1, maxVersion: 1, selectedVersion: 1))
        _ = machine.settingsReceived(ConnectionSettings(maxConcurrentCalls: maxConcurrentCalls))
        _ = server.receiveClientFirst(first)
        guard case .send(let serverFirst) = server.credentialLoaded(.derive(secret: SCRAMTests.secret)),
            case .sendClientFinal(let final) = machine.authServerFirstReceived(serverFirst),
            case .succeed(let serverFinal, _) = server.receiveClientFinal(final),
            case .startCalls(let started) = machine.authServerFinalReceived(serverFinal)
        else { throw RawSessionError(message: "handshake failed") }
        #expect(machine.phase == .ready)
        return (machine, started.map { ($0.streamID, $0.call) })
    }

    @Test("calls made before the handshake wait, then start with odd increasing ids")
    func queuedUntilReady() throws {
        let (_, started) = try Self.ready(queued: [10, 11, 12])
        #expect(started.map(\.0) == [1, 3, 5])
        #expect(started.map(\.1) == [10, 11, 12])
    }

    @Test("the client never exceeds the server's MAX_CONCURRENT_CALLS; ending a call starts a queued one")
    func respectsServerLimit() throws {
        var (machine, started) = try Self.ready(maxConcurrentCalls: 2, queued: [1, 2, 3])
        #expect(started.count == 2)
        #expect(machine.queuedCount == 1)
        _ = machine.messageReceived(streamID: 1, ByteBuffer(string: "r"))
        guard case .completeCall(let done, let result, let next) = machine.callEndReceived(streamID: 1, error: nil)
        else {
            Issue.record("no completion")
            return
        }
        #expect(done == 1)
        #expect((try? result.get()) == ByteBuffer(string: "r"))
        #expect(next.map(\.streamID) == [5] && next.map(\.call) == [3])
        // A call made while the server's limit is reached waits; one made with room starts at once.
        guard case .startCalls(let none) = machine.startCall(4), none.isEmpty else {
            Issue.record("a call beyond the server's limit started")
            return
        }
        #expect(machine.queuedCount == 1)
        _ = machine.messageReceived(streamID: 3, ByteBuffer(string: "r"))
        guard case .completeCall(2, _, let queued) = machine.callEndReceived(streamID: 3, error: nil) else {
            Issue.record("no completion of call 2")
            return
        }
        #expect(queued.map(\.streamID) == [7] && queued.map(\.call) == [4])
        _ = machine.messageReceived(streamID: 5, ByteBuffer(string: "r"))
        _ = machine.callEndReceived(streamID: 5, error: nil)
        guard case .startCall(let streamID, 5) = machine.startCall(5) else {
            Issue.record("a call made with room did not start")
            return
        }
        #expect(streamID == 9)
    }

    @Test("CALL_END with an error fails the call; OK without a message is INTERNAL")
    func callEndResults() throws {
        var (machine, _) = try Self.ready(queued: [1, 2])
        guard
            case .completeCall(1, let failed, _) = machine.callEndReceived(
                streamID: 1,
                error: RPCError(code: .notFound, message: "no", iamErrorCode: "NoSuchEntity")
            )
        else {
            Issue.record("CALL_END with an error completed nothing")
            return
        }
        #expect((try? failed.get()) == nil)
        guard case .completeCall(2, let empty, _) = machine.callEndReceived(streamID: 3, error: nil) else {
            Issue.record("CALL_END without a message completed nothing")
            return
        }
        if case .failure(let error) = empty {
            #expect(error.code == .internalError)
        } else {
            Issue.record("OK without a message succeeded")
        }
    }

    @Test("GOAWAY NO_ERROR fails calls above the last id UNAVAILABLE and drains the rest")
    func goAway() throws {
        var (machine, _) = try Self.ready(queued: [1, 2, 3])
        guard case .complete(let failed, _) = machine.goAwayReceived(lastStreamID: 3, code: .noError, message: "")
        else {
            Issue.record("no failures")
            return
        }
        #expect(failed.map(\.0) == [3])
        #expect(machine.phase == .draining)
        guard case .complete(let late, _) = machine.startCall(9) else { return }
        #expect(late.first.map { (try? $0.1.get()) == nil } == true)
        _ = machine.messageReceived(streamID: 1, ByteBuffer())
        _ = machine.callEndReceived(streamID: 1, error: nil)
        _ = machine.messageReceived(streamID: 3, ByteBuffer())
        _ = machine.callEndReceived(streamID: 3, error: nil)
        #expect(machine.isDrained)
    }

    @Test("an error GOAWAY fails everything with the code's status")
    func errorGoAway() throws {
        var (machine, _) = try Self.ready(queued: [1, 2])
        guard
            case .close(let calls, let error) = machine.goAwayReceived(
                lastStreamID: 0, code: .unauthenticated, message: "")
        else {
            Issue.record("not closed")
            return
        }
        #expect(calls.sorted() == [1, 2])
        #expect(error.code == .unauthenticated)
    }

    @Test("abandoning a call sends CANCEL; later frames for it are ignored")
    func abandon() throws {
        var (machine, _) = try Self.ready(queued: [1])
        guard
            case .cancel(1, 1, let error, _) = machine.abandonCall(
                streamID: 1,
                error: RPCError(code: .deadlineExceeded, message: "late")
            )
        else {
            Issue.record("no cancel")
            return
        }
        #expect(error.code == .deadlineExceeded)
        guard case .none = machine.callEndReceived(streamID: 1, error: nil) else {
            Issue.record("late CALL_END not ignored")
            return
        }
    }

    @Test("two response messages fail the call INTERNAL and cancel it")
    func twoResponses() throws {
        var (machine, _) = try Self.ready(queued: [1])
        _ = machine.messageReceived(streamID: 1, ByteBuffer())
        guard case .cancel(1, 1, let error, _) = machine.messageReceived(streamID: 1, ByteBuffer()) else {
            Issue.record("second message accepted")
            return
        }
        #expect(error.code == .internalError)
    }

    @Test("a server that selects no version fails calls UNIMPLEMENTED")
    func noCommonVersion() throws {
        var machine = Machine(scram: SCRAMClient(accessKeyID: SCRAMTests.keyID, secret: SCRAMTests.secret))
        _ = try machine.start()
        _ = machine.startCall(1)
        guard
            case .close(let calls, let error) = machine.prefaceReceived(
                Preface(minVersion: 2, maxVersion: 2, selectedVersion: 0)
            )
        else {
            Issue.record("not closed")
            return
        }
        #expect(calls == [1])
        #expect(error.code == .unimplemented)
    }

    @Test("a forged server signature: GOAWAY UNAUTHENTICATED; e=invalid-proof: calls fail UNAUTHENTICATED")
    func serverFinalFailures() throws {
        for final in ["v=" + SCRAM.base64(Array(repeating: 1, count: 32)), "e=invalid-proof"] {
            var machine = Machine(scram: SCRAMClient(accessKeyID: SCRAMTests.keyID, secret: SCRAMTests.secret))
            var server = SCRAMServer(decoySecret: [1])
            let first = try machine.start()
            _ = machine.startCall(1)
            _ = machine.prefaceReceived(Preface(minVersion: 1, maxVersion: 1, selectedVersion: 1))
            _ = machine.settingsReceived(ConnectionSettings())
            _ = server.receiveClientFirst(first)
            guard case .send(let serverFirst) = server.credentialLoaded(.derive(secret: SCRAMTests.secret)) else {
                return
            }
            _ = machine.authServerFirstReceived(serverFirst)
            switch machine.authServerFinalReceived(final) {
            case .failConnection(.unauthenticated, _, let calls, let error), .close(let calls, let error):
                #expect(calls == [1])
                #expect(error.code == .unauthenticated)
            default:
                Issue.record("\(final) accepted")
            }
        }
    }
}

/// The SCRAM machines reproduce the golden exchange in Protocol/vectors/frames.json (made by an
/// independent Python implementation), byte for byte.
@Suite("SCRAM against the golden vector")
struct SCRAMVectorTests {
    @Test("client-first, server-first, client-final and server-final match Protocol/vectors/frames.json")
    func goldenExchange() throws {
        // Resolve symlinks first: a dev package may link Tests/IAMRPCTests from the repository.
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol/vectors/frames.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let vectors = try #require(root["vectors"] as? [[String: Any]])
        let vector = try #require(vectors.first { $0["name"] as? String == "auth-exchange" })
        let items = try #require(vector["items"] as? [[String: Any]])
        func message(_ type: String) throws -> String {
            let item = try #require(items.first { $0["type"] as? String == type })
            return try #require((item["decoded"] as? [String: Any])?["message"] as? String)
        }
        let clientFirst = try message("AUTH_CLIENT_FIRST")
        let serverFirst = try message("AUTH_SERVER_FIRST")
        let clientFinal = try message("AUTH_CLIENT_FINAL")
        let serverFinal = try message("AUTH_SERVER_FINAL")

        let clientNonce = String(clientFirst.split(separator: "=").last!)
        let combined = String(serverFirst.split(separator: ",")[0].dropFirst(2))
        let serverNonce = String(combined.dropFirst(clientNonce.count))
        var client = SCRAMClient(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        var server = SCRAMServer(serverNonce: serverNonce, decoySecret: [0])
        #expect(try client.firstMessage(nonce: clientNonce) == clientFirst)
        #expect(server.receiveClientFirst(clientFirst) == .lookUpCredential(accessKeyID: "AKIAIOSFODNN7EXAMPLE"))
        let credential = SCRAMCredential.derive(
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            salt: Array(1...16),
            iterations: 4096
        )
        #expect(server.credentialLoaded(credential) == .send(serverFirst))
        #expect(try client.finalMessage(serverFirst: serverFirst) == clientFinal)
        #expect(
            server.receiveClientFinal(clientFinal)
                == .succeed(serverFinal: serverFinal, accessKeyID: "AKIAIOSFODNN7EXAMPLE")
        )
        try client.verify(serverFinal: serverFinal)
    }
}

// Fuzz target: IAMRPC's ServerConnectionStateMachine driven by frames decoded from the input, dispatched the
// way ServerConnectionHandler dispatches them, interleaved with the handler's other inputs (the credential
// store's answer, calls finishing, deadlines, drain, timers, the channel closing).
//
// Input: a program of operations; each starts with an opcode byte (see the switch). Opcodes 4-6 deliver a
// precomputed, valid SCRAM exchange so the fuzzer reaches the authenticated phases; everything else is
// raw bytes for the decoder or handler events.
// Invariants: no crash; an action that ends the connection leaves it closed, and closed is final; no call
// outlives the limit or exists before authentication; a call is opened only on a fresh odd stream id and
// served only from the open state; only the real key, with its credential loaded, authenticates.
@testable import IAMRPC
import IAMWire
import NIOCore

private let keyID = "AKIAFUZZFUZZFUZZFUZZ"
private let secret = "fuzz-secret-fuzz-secret-fuzz-secret-0000"
private let credential = SCRAMCredential.derive(secret: secret, salt: Array(0..<16), iterations: 4096)
private let serverNonce = "SERVERNONCESERVERNONCE00"

/// The client's side of a valid opening, computed once: preface + SETTINGS + AUTH_CLIENT_FIRST, then
/// SETTINGS ACK + AUTH_CLIENT_FINAL for the server nonce above.
private let opening: (first: [UInt8], final: [UInt8]) = {
    var client = SCRAMClient(accessKeyID: keyID, secret: secret)
    let clientFirst = try! client.firstMessage(nonce: "CLIENTNONCECLIENTNONCE00")
    var server = SCRAMServer(serverNonce: serverNonce, decoySecret: [1])
    _ = server.receiveClientFirst(clientFirst)
    guard case .send(let serverFirst) = server.credentialLoaded(credential) else { fatalError("no server-first") }
    let clientFinal = try! client.finalMessage(serverFirst: serverFirst)
    let encoder = FrameEncoder()
    var first = ByteBuffer()
    encoder.writeSettings(ConnectionSettings(maxConcurrentCalls: 0, compression: .zlib), into: &first)
    encoder.writeAuthClientFirst(AuthClientFirst(message: clientFirst), into: &first)
    var final = ByteBuffer()
    encoder.writeSettingsAck(into: &final)
    encoder.writeAuth(.authClientFinal, message: clientFinal, into: &final)
    return (Array(first.readableBytesView), Array(final.readableBytesView))
}()

private struct Harness {
    var machine: ServerConnectionStateMachine
    var decoder = FrameDecoder(maxFrameSize: 16 << 10)
    var prefaceDone = false
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var lastStreamID: UInt32 = 0
    var wasClosed = false
    var credentialGiven = false
    /// The key id the machine last asked the store for (the store only has `keyID`).
    var pendingLookup: String?
    let compressor = MessageCompressor(threshold: 0)

    init(maxConcurrentCalls: Int) {
        self.machine = ServerConnectionStateMachine(
            maxConcurrentCalls: maxConcurrentCalls,
            scram: SCRAMServer(serverNonce: serverNonce, decoySecret: [1]))
    }

    mutating func deliver(_ bytes: [UInt8]) {
        self.decoder.append(ByteBuffer(bytes: bytes))
        do throws(WireError) {
            if !self.prefaceDone {
                guard let preface = try self.decoder.decodePreface() else { return }
                self.prefaceDone = true
                if Preface.serverReply(to: preface).selectedVersion == 0 {
                    self.machine.channelClosed()  // the handler answers GOAWAY and closes
                    self.check(.none)
                    return
                }
                self.check(self.machine.prefaceReceived())
            }
            while self.machine.phase != .closed, let frame = try self.decoder.nextFrame() {
                self.handle(frame)
            }
        } catch {
            self.check(self.machine.wireErrorReceived(error))
        }
    }

    mutating func handle(_ frame: Frame) {
        switch frame.type {
        case .callStart:
            let action = self.machine.callStartReceived(streamID: frame.streamID)
            self.check(action)
            if case .openCall(let id) = action, (try? CallStart(decoding: frame.payload)) == nil {
                self.check(self.machine.callFinished(streamID: id))  // the handler ends it INVALID_ARGUMENT
            }
        case .message:
            let action = self.machine.messageReceived(
                streamID: frame.streamID, endStream: frame.flags.contains(.endStream))
            self.check(action)
            if case .serveCall(let id) = action, frame.flags.contains(.compressed) {
                if let output = try? self.compressor.decompress(frame.payload, maxSize: 4096) {
                    invariant(output.readableBytes <= 4096, "inflated past the limit")
                }
                _ = id
            }
        case .cancel:
            self.check(self.machine.cancelReceived(streamID: frame.streamID))
        case .ping:
            if frame.flags.contains(.ack) { return }
            self.check(self.machine.pingReceived(now: self.now))
        case .settings:
            if frame.flags.contains(.ack) {
                self.check(self.machine.settingsAckReceived())
                return
            }
            do throws(WireError) {
                _ = try ConnectionSettings(decoding: frame.payload)
                self.check(self.machine.settingsReceived())
            } catch {
                self.check(self.machine.wireErrorReceived(error))
            }
        case .authClientFirst:
            if let first = try? AuthClientFirst(decoding: frame.payload) {
                self.check(self.machine.authClientFirstReceived(mechanism: first.mechanism, message: first.message))
            } else {
                self.check(self.machine.authClientFirstReceived(mechanism: "", message: ""))
            }
        case .authClientFinal:
            let text = frame.payload.getString(at: frame.payload.readerIndex, length: frame.payload.readableBytes)
            self.check(self.machine.authClientFinalReceived(text ?? ""))
        case .goAway:
            do throws(WireError) {
                let goAway = try GoAway(decoding: frame.payload)
                self.check(self.machine.goAwayReceived(code: goAway.code))
            } catch {
                self.check(self.machine.wireErrorReceived(error))
            }
        default:
            self.check(self.machine.wireErrorReceived(.protocolViolation("\(frame.type) sent to a server")))
        }
    }

    /// Checks the machine's state after an input and the action it returned.
    mutating func check(_ action: ServerConnectionStateMachine.Action) {
        let phase = self.machine.phase
        switch action {
        case .failAuthentication, .failConnection, .close:
            invariant(phase == .closed, "\(action) but the phase is \(phase)")
        case .openCall(let id):
            invariant(
                id & 1 == 1 && id == self.machine.lastStreamID,
                "opened stream \(id) (last \(self.machine.lastStreamID))")
            invariant(self.machine.calls[id] == .open, "opened call \(id) is not open")
        case .serveCall(let id):
            invariant(self.machine.calls[id] == .ready, "served call \(id) is not ready")
        case .sendServerFinal(_, let id):
            invariant(id == keyID && self.credentialGiven, "authenticated \(id) without its credential")
            invariant(phase == .active, "authenticated but the phase is \(phase)")
        case .refuseCall(let id, _):
            invariant(id != 0, "refused stream 0")
        case .lookUpCredential(let id):
            self.pendingLookup = id
        default:
            break
        }
        if self.wasClosed {
            invariant(phase == .closed, "left the closed phase for \(phase)")
            invariant(
                {
                    switch action {
                    case .none, .close, .refuseCall: true
                    default: false
                    }
                }(), "acted (\(action)) after closing")
        }
        self.wasClosed = phase == .closed
        invariant(self.machine.calls.count <= self.machine.maxConcurrentCalls, "more calls than the limit")
        invariant(self.machine.calls.isEmpty || self.machine.isAuthenticated, "a call before authentication")
        invariant(!self.machine.isAuthenticated || self.credentialGiven, "authenticated without a credential")
        invariant(self.machine.lastStreamID >= self.lastStreamID, "last stream id went down")
        self.lastStreamID = self.machine.lastStreamID
        for (id, _) in self.machine.calls.entries {
            invariant(id & 1 == 1 && id <= self.lastStreamID, "call on stream \(id) never opened")
        }
    }

    /// A stream id worth poking: one of the open calls, or whatever the input says.
    func streamID(_ selector: UInt8) -> UInt32 {
        let open = self.machine.calls.entries.map(\.id)  // in increasing id order
        if !open.isEmpty, selector & 0x80 == 0 { return open[Int(selector) % open.count] }
        return UInt32(selector & 0x7F)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    var harness = Harness(maxConcurrentCalls: Int(input.byte() % 5))
    var steps = 0
    while !input.isEmpty, steps < 256 {
        steps += 1
        switch input.byte() % 12 {
        case 0, 1, 2, 3:
            harness.deliver(input.take(Int(input.byte())))
        case 4:
            var preface = ByteBuffer()
            Preface.client.write(into: &preface)
            harness.deliver(Array(preface.readableBytesView) + opening.first)
        case 5:
            let real = input.bool() && harness.pendingLookup == keyID
            harness.credentialGiven = harness.credentialGiven || real
            harness.check(harness.machine.credentialLoaded(real ? credential : nil))
        case 6:
            harness.deliver(opening.final)
        case 7:
            let id = harness.streamID(input.byte())
            harness.check(harness.machine.callFinished(streamID: id))
        case 8:
            let id = harness.streamID(input.byte())
            if input.bool() {
                harness.check(harness.machine.deadlineExceeded(streamID: id))
            } else {
                harness.check(
                    harness.machine.requestMessageTimedOut(streamID: id, RPCError(code: .deadlineExceeded, message: ""))
                )
            }
        case 9:
            let drain = harness.machine.beginDrain()
            invariant(!drain.closeNow || harness.machine.phase == .closed, "closeNow but not closed")
            if harness.machine.phase == .closed { harness.wasClosed = true }
            harness.check(.none)
        case 10:
            harness.check(harness.machine.handshakeTimedOut())
        default:
            harness.now = harness.now + .milliseconds(Int64(input.byte()) * 50)
            if input.bool() {
                harness.machine.channelClosed()
                invariant(
                    harness.machine.calls.isEmpty && !harness.machine.shouldPauseReading, "state left after close")
                harness.check(.none)
            }
        }
    }
    return 0
}

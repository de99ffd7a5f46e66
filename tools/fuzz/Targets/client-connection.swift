// Fuzz target: IAMRPC's ClientConnectionStateMachine driven by server frames decoded from the input,
// dispatched the way ClientConnectionHandler dispatches them, interleaved with the user's calls, their
// cancellation, drain, keepalive timeouts and the channel closing.
//
// Input: a program of operations; each starts with an opcode byte (see the switch). Opcodes 4-5 deliver a
// precomputed valid server opening (preface, SETTINGS, AUTH_SERVER_FIRST, then AUTH_SERVER_FINAL) so the
// fuzzer reaches the ready phase; the rest is raw bytes for the decoder or client events.
// Invariants: no crash; every call the user makes completes exactly once (or is still there when the
// channel closes — none is lost, none answered twice); calls start on increasing odd stream ids within the
// server's concurrency limit; a closed connection holds no calls.
@testable import IAMRPC
import IAMWire
import NIOCore

private let keyID = "AKIAFUZZFUZZFUZZFUZZ"
private let secret = "fuzz-secret-fuzz-secret-fuzz-secret-0000"
private let clientNonce = "CLIENTNONCECLIENTNONCE00"

/// A valid server side of the opening for the client nonce above, computed once.
private let opening: (first: [UInt8], final: [UInt8]) = {
    let credential = SCRAMCredential.derive(secret: secret, salt: Array(0..<16), iterations: 4096)
    var client = SCRAMClient(accessKeyID: keyID, secret: secret)
    var server = SCRAMServer(serverNonce: "SERVERNONCESERVERNONCE00", decoySecret: [1])
    _ = server.receiveClientFirst(try! client.firstMessage(nonce: clientNonce))
    guard case .send(let serverFirst) = server.credentialLoaded(credential) else { fatalError("no server-first") }
    guard
        case .succeed(let serverFinal, _) = server.receiveClientFinal(
            try! client.finalMessage(serverFirst: serverFirst))
    else { fatalError("no server-final") }
    let encoder = FrameEncoder()
    var first = ByteBuffer()
    encoder.writePreface(Preface.serverReply(to: .client), into: &first)
    encoder.writeSettings(ConnectionSettings(maxConcurrentCalls: 3, compression: .zlib), into: &first)
    encoder.writeAuth(.authServerFirst, message: serverFirst, into: &first)
    var final = ByteBuffer()
    encoder.writeSettingsAck(into: &final)
    encoder.writeAuth(.authServerFinal, message: serverFinal, into: &final)
    return (Array(first.readableBytesView), Array(final.readableBytesView))
}()

private let keyCache = SCRAMClientKeyCache()

private struct Harness {
    // The inputs share one key cache, as a client's connections do: the opening's salt is always the same, so
    // the PBKDF2 derivation runs once rather than for every input that reaches the server-first.
    var machine = ClientConnectionStateMachine<Int>(
        scram: SCRAMClient(accessKeyID: keyID, secret: secret, keyCache: keyCache))
    var decoder = FrameDecoder(maxFrameSize: 16 << 10)
    var prefaceDone = false
    let compressor = MessageCompressor(threshold: 0)
    /// Calls made and not yet completed, and the stream of each one started.
    var outstanding: Set<Int> = []
    var started: [Int: UInt32] = [:]
    var nextCall = 0
    var lastStreamID: UInt32 = 0

    init() {
        _ = try! self.machine.start(nonce: clientNonce)
    }

    mutating func deliver(_ bytes: [UInt8]) {
        self.decoder.append(ByteBuffer(bytes: bytes))
        do throws(WireError) {
            if !self.prefaceDone {
                guard let preface = try self.decoder.decodePreface() else { return }
                self.prefaceDone = true
                self.execute(self.machine.prefaceReceived(preface))
            }
            while self.machine.phase != .closed, let frame = try self.decoder.nextFrame() {
                self.handle(frame)
            }
        } catch {
            self.execute(self.machine.wireErrorReceived(error))
        }
    }

    mutating func handle(_ frame: Frame) {
        switch frame.type {
        case .message:
            var payload = frame.payload
            if frame.flags.contains(.compressed) {
                do throws(WireError) {
                    payload = try self.compressor.decompress(payload, maxSize: 4096)
                } catch {
                    self.execute(self.machine.messageFailed(streamID: frame.streamID, RPCError(error)))
                    return
                }
            }
            self.execute(self.machine.messageReceived(streamID: frame.streamID, payload))
        case .callEnd:
            do throws(WireError) {
                let end = try CallEnd(decoding: frame.payload)
                self.execute(self.machine.callEndReceived(streamID: frame.streamID, error: end.error))
            } catch {
                self.execute(self.machine.wireErrorReceived(error))
            }
        case .ping:
            break
        case .settings:
            if frame.flags.contains(.ack) {
                self.execute(self.machine.settingsAckReceived())
                return
            }
            do throws(WireError) {
                self.execute(self.machine.settingsReceived(try ConnectionSettings(decoding: frame.payload)))
            } catch {
                self.execute(self.machine.wireErrorReceived(error))
            }
        case .authServerFirst:
            let text = frame.payload.getString(at: frame.payload.readerIndex, length: frame.payload.readableBytes) ?? ""
            // PBKDF2 at up to 1,000,000 iterations (the client's bound) is a legitimate cost, but at that
            // price the fuzzer would run a few inputs a second; such server-firsts are not delivered.
            if let iterations = text.split(separator: ",").last(where: { $0.hasPrefix("i=") }).flatMap({
                Int($0.dropFirst(2))
            }),
                iterations > 4096
            {
                return
            }
            self.execute(self.machine.authServerFirstReceived(text))
        case .authServerFinal:
            let text = frame.payload.getString(at: frame.payload.readerIndex, length: frame.payload.readableBytes)
            self.execute(self.machine.authServerFinalReceived(text ?? ""))
        case .goAway:
            do throws(WireError) {
                let goAway = try GoAway(decoding: frame.payload)
                self.execute(
                    self.machine.goAwayReceived(
                        lastStreamID: goAway.lastStreamID, code: goAway.code, message: goAway.message))
            } catch {
                self.execute(self.machine.wireErrorReceived(error))
            }
        default:
            self.execute(self.machine.wireErrorReceived(.protocolViolation("\(frame.type) sent to a client")))
        }
    }

    mutating func finish(_ calls: [Int], _ why: String) {
        for call in calls {
            invariant(self.outstanding.remove(call) != nil, "call \(call) completed twice or never made (\(why))")
            self.started[call] = nil
        }
    }

    mutating func startCalls(_ calls: [(streamID: UInt32, call: Int)]) {
        for (id, call) in calls {
            invariant(self.outstanding.contains(call), "started call \(call), which is not outstanding")
            invariant(self.started[call] == nil, "call \(call) started twice")
            invariant(id & 1 == 1 && id > self.lastStreamID, "stream \(id) after \(self.lastStreamID)")
            self.lastStreamID = id
            self.started[call] = id
        }
    }

    mutating func execute(_ action: ClientConnectionStateMachine<Int>.Action) {
        switch action {
        case .none, .sendSettingsAck, .sendClientFinal:
            break
        case .startCalls(let calls):
            self.startCalls(calls)
        case .startCall(let id, let call):
            self.startCalls([(id, call)])
        case .complete(let results, let next):
            self.finish(results.map(\.0), "complete")
            self.startCalls(next)
        case .completeCall(let call, _, let next):
            self.finish([call], "complete")
            self.startCalls(next)
        case .cancel(let id, let call, _, let next):
            invariant(self.started[call] == id, "cancelled call \(call) on stream \(id), not its own")
            self.finish([call], "cancel")
            self.startCalls(next)
        case .failConnection(_, _, let calls, _), .close(let calls, _):
            self.finish(calls, "connection ended")
            invariant(self.machine.phase == .closed, "connection ended but the phase is \(self.machine.phase)")
        }
        self.checkState()
    }

    func checkState() {
        let inFlight = self.machine.inFlightCount
        invariant(
            inFlight <= self.machine.peerSettings.maxConcurrentCalls, "\(inFlight) calls in flight over the limit")
        invariant(
            inFlight + self.machine.queuedCount == self.outstanding.count,
            "calls lost: \(inFlight) + \(self.machine.queuedCount) != \(self.outstanding.count)")
        if self.machine.phase == .closed {
            invariant(inFlight == 0 && self.machine.queuedCount == 0, "a closed connection holds calls")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    var harness = Harness()
    var steps = 0
    while !input.isEmpty, steps < 256 {
        steps += 1
        switch input.byte() % 11 {
        case 0, 1, 2, 3:
            harness.deliver(input.take(Int(input.byte())))
        case 4:
            harness.deliver(opening.first)
        case 5:
            harness.deliver(opening.final)
        case 6, 7:
            let call = harness.nextCall
            harness.nextCall += 1
            harness.outstanding.insert(call)
            harness.execute(harness.machine.startCall(call))
        case 8:
            // The user gives up on a call (deadline or cancel), started or still queued.
            let calls = harness.outstanding.sorted()
            guard !calls.isEmpty else { continue }
            let call = calls[Int(input.byte()) % calls.count]
            let error = RPCError(code: .cancelled, message: "")
            if let id = harness.machine.streamID(where: { $0 == call }) {
                harness.execute(harness.machine.abandonCall(streamID: id, error: error))
            } else {
                harness.execute(harness.machine.abandonQueuedCall(where: { $0 == call }, error: error))
            }
        case 9:
            harness.finish(harness.machine.beginDrain(), "drain")
            harness.checkState()
        default:
            harness.execute(harness.machine.keepaliveTimedOut())
        }
    }
    let left = harness.machine.channelClosed(RPCError(code: .unavailable, message: "closed"))
    harness.finish(left, "channel closed")
    invariant(harness.outstanding.isEmpty, "calls never completed: \(harness.outstanding.sorted())")
    return 0
}

package import IAMWire
package import NIOCore

/// The protocol rules of one server connection (WIRE.md §13), with no I/O: the handler feeds it what
/// arrived (already decoded) and executes the action it returns. Tested without a channel in
/// `ServerConnectionStateMachineTests`.
///
/// Life of a connection: `awaitingPreface` → `awaitingSettings` → `authenticating` (SCRAM) → `active`
/// → `draining` (GOAWAY NO_ERROR sent: calls up to the last stream id finish, later ones are ignored)
/// → `closed`. A call lives in `calls` from CALL_START until its CALL_END is written (`callFinished`),
/// or until CANCEL removes it; stream ids are never reused, so "is it still in `calls`" is how the
/// handler tells whether a late (deferred) answer is still wanted.
package struct ServerConnectionStateMachine {
    /// Where the connection is in its life.
    package enum Phase: Equatable, Sendable {
        case awaitingPreface
        case awaitingSettings
        case authenticating
        case active
        case draining(lastStreamID: UInt32)
        case closed
    }

    /// Where one call is (WIRE.md §13: OPEN → READY → CLOSED, CLOSED being "not in `calls`").
    package enum CallPhase: Equatable, Sendable {
        /// CALL_START arrived; the request MESSAGE has not.
        case open
        /// The request arrived and the handler runs (deferred answer).
        case ready
    }

    /// What the handler does next.
    package enum Action: Equatable, Sendable {
        /// Nothing to do.
        case none
        /// Send our preface and SETTINGS (answering the client's preface).
        case sendPrefaceAndSettings
        /// Acknowledge the client's SETTINGS (after applying them).
        case acknowledgeSettings
        /// Ask the credential store, then call `credentialLoaded`.
        case lookUpCredential(accessKeyID: String)
        /// Send AUTH_SERVER_FIRST with this SCRAM message.
        case sendServerFirst(String)
        /// Send AUTH_SERVER_FINAL; the connection is now authenticated and calls may start.
        case sendServerFinal(String, accessKeyID: String)
        /// Send AUTH_SERVER_FINAL `e=invalid-proof`, GOAWAY UNAUTHENTICATED, close. `log` is for the
        /// server's log only: it says whether the key exists, which the client must not learn.
        case failAuthentication(log: String)
        /// Send GOAWAY with this code and message, then close.
        case failConnection(GoAwayCode, message: String)
        /// A new call was accepted; the handler records its CALL_START.
        case openCall(streamID: UInt32)
        /// Write CALL_END with this error for the call, then call `callFinished`.
        case refuseCall(streamID: UInt32, RPCError)
        /// The request arrived: run the handler.
        case serveCall(streamID: UInt32)
        /// Answer a PING with the same payload and the ACK flag.
        case sendPingAck
        /// The drain finished (or the peer went away): close the connection.
        case close
    }

    package private(set) var phase: Phase = .awaitingPreface
    package private(set) var calls = StreamTable<CallPhase>()
    package private(set) var accessKeyID: String?
    private var scram: SCRAMServer
    private var highestStreamID: UInt32 = 0
    private var settingsAckPending = false
    /// How many calls may be open at once (our MAX_CONCURRENT_CALLS); one more is refused with
    /// RESOURCE_EXHAUSTED.
    package let maxConcurrentCalls: Int
    private var readyCount = 0

    /// Creates the machine for one connection.
    package init(maxConcurrentCalls: Int, scram: SCRAMServer) {
        self.maxConcurrentCalls = maxConcurrentCalls
        self.scram = scram
    }

    /// True while as many calls are being served as we allow at once: the handler stops asking the
    /// socket for bytes (TCP backpressure) instead of queueing or failing more work (WIRE.md §11). Only
    /// calls being served pause reading: with none (nothing ready, a limit of 0, a closed connection) the
    /// handshake, cancels and GOAWAY must still be read.
    package var shouldPauseReading: Bool { self.readyCount > 0 && self.readyCount >= self.maxConcurrentCalls }

    /// True once calls may be made.
    package var isAuthenticated: Bool { self.accessKeyID != nil }

    /// The highest stream id accepted so far (the `last stream id` of a GOAWAY).
    package var lastStreamID: UInt32 { self.highestStreamID }

    // MARK: Handshake

    /// Input: the client's preface arrived and names a version we speak.
    package mutating func prefaceReceived() -> Action {
        // Bytes can still arrive after the handshake timer closed a connection that had sent nothing; closed
        // is final, and that close must stay silent (WIRE.md §6.3), so no GOAWAY for a "second preface".
        if self.phase == .closed { return .none }
        guard self.phase == .awaitingPreface else { return self.protocolError("second preface") }
        self.phase = .awaitingSettings
        self.settingsAckPending = true
        return .sendPrefaceAndSettings
    }

    /// Input: a SETTINGS frame without ACK arrived (its values already validated by the codec).
    package mutating func settingsReceived() -> Action {
        switch self.phase {
        case .awaitingSettings:
            self.phase = .authenticating
            return .acknowledgeSettings
        case .closed: return .none
        default: return self.protocolError("second SETTINGS (settings cannot change in version 1)")
        }
    }

    /// Input: SETTINGS with ACK.
    package mutating func settingsAckReceived() -> Action {
        if let error = self.requireSettings() { return error }
        guard self.settingsAckPending else { return self.protocolError("SETTINGS ACK without a SETTINGS to answer") }
        self.settingsAckPending = false
        return .none
    }

    /// Input: AUTH_CLIENT_FIRST (`mechanism` as sent).
    package mutating func authClientFirstReceived(mechanism: String, message: String) -> Action {
        if let error = self.requireSettings() { return error }
        guard self.phase == .authenticating else { return self.outOfOrderAuth() }
        guard mechanism == SCRAM.mechanism else {
            return self.failAuthentication("unsupported mechanism \(mechanism)")
        }
        return self.map(self.scram.receiveClientFirst(message))
    }

    /// Input: the credential store answered (`nil`: no such key, or the lookup failed).
    package mutating func credentialLoaded(_ credential: SCRAMCredential?) -> Action {
        guard self.phase == .authenticating else { return .none }
        return self.map(self.scram.credentialLoaded(credential))
    }

    /// Input: AUTH_CLIENT_FINAL.
    package mutating func authClientFinalReceived(_ message: String) -> Action {
        if let error = self.requireSettings() { return error }
        guard self.phase == .authenticating else { return self.outOfOrderAuth() }
        return self.map(self.scram.receiveClientFinal(message))
    }

    private mutating func map(_ action: SCRAMServer.Action) -> Action {
        switch action {
        case .lookUpCredential(let id): return .lookUpCredential(accessKeyID: id)
        case .send(let message): return .sendServerFirst(message)
        case .succeed(let final, let id):
            self.accessKeyID = id
            self.phase = .active
            return .sendServerFinal(final, accessKeyID: id)
        case .fail(let reason):
            return self.failAuthentication(reason)
        }
    }

    private mutating func failAuthentication(_ reason: String) -> Action {
        self.phase = .closed
        return .failAuthentication(log: reason)
    }

    private mutating func outOfOrderAuth() -> Action {
        switch self.phase {
        case .closed:
            return .none
        case .active, .draining:
            // The client is past the handshake and has no state for a second AUTH_SERVER_FINAL, so this
            // is a plain connection error: GOAWAY with the highest accepted stream id (WIRE.md §6.3).
            self.phase = .closed
            return .failConnection(.unauthenticated, message: "authentication frame after authentication")
        default:
            return self.failAuthentication("authentication frame out of order")
        }
    }

    /// Nil when SETTINGS already arrived; otherwise the connection error for a first frame that is
    /// not SETTINGS (WIRE.md §5).
    private mutating func requireSettings() -> Action? {
        switch self.phase {
        case .awaitingPreface, .awaitingSettings: return self.protocolError("the first frame must be SETTINGS")
        default: return nil
        }
    }

    // MARK: Calls

    /// Input: CALL_START on `streamID` (its payload not yet examined: payload errors affect only the call).
    package mutating func callStartReceived(streamID: UInt32) -> Action {
        if let error = self.requireSettings() { return error }
        switch self.phase {
        case .authenticating:
            self.phase = .closed
            return .failConnection(.unauthenticated, message: "CALL_START before authentication")
        case .closed:
            return .none
        default:
            break
        }
        guard streamID & 1 == 1, streamID > self.highestStreamID else {
            return self.protocolError(
                "CALL_START stream id \(streamID) is not odd and greater than \(self.highestStreamID)")
        }
        self.highestStreamID = streamID
        if case .draining(let last) = self.phase, streamID > last {
            // It raced with our GOAWAY; the client fails it with UNAVAILABLE itself (WIRE.md §9.2).
            return .none
        }
        guard self.calls.count < self.maxConcurrentCalls else {
            return .refuseCall(
                streamID: streamID,
                RPCError(
                    code: .resourceExhausted, message: "too many concurrent calls (max \(self.maxConcurrentCalls))")
            )
        }
        self.calls.set(streamID, .open)
        return .openCall(streamID: streamID)
    }

    /// Input: MESSAGE on `streamID` (`endStream`: the END_STREAM flag).
    package mutating func messageReceived(streamID: UInt32, endStream: Bool) -> Action {
        if let error = self.callFrameGuard(streamID, "MESSAGE") { return error }
        guard let call = self.calls[streamID] else {
            // The call was cancelled, answered or refused: the message raced with the end (WIRE.md §7.2).
            return .none
        }
        guard call == .open, endStream else {
            return .refuseCall(
                streamID: streamID,
                RPCError(
                    code: .invalidArgument,
                    message: "a unary call carries exactly one request MESSAGE, with END_STREAM"
                )
            )
        }
        self.calls.set(streamID, .ready)
        self.readyCount += 1
        return .serveCall(streamID: streamID)
    }

    /// Input: CANCEL on `streamID`. The call is forgotten; nothing more is sent for it.
    package mutating func cancelReceived(streamID: UInt32) -> Action {
        if let error = self.callFrameGuard(streamID, "CANCEL") { return error }
        return self.remove(streamID)
    }

    /// Input: the handler wrote the call's CALL_END (success or failure).
    package mutating func callFinished(streamID: UInt32) -> Action {
        self.remove(streamID)
    }

    /// Input: a call's deadline (counted from its CALL_START) passed. `.refuseCall` (DEADLINE_EXCEEDED)
    /// while the call is still here, waiting for its MESSAGE or running; the handler's CALL_END then
    /// frees its slot (`callFinished`), and a MESSAGE arriving later is ignored (`messageReceived`).
    package mutating func deadlineExceeded(streamID: UInt32) -> Action {
        guard self.calls[streamID] != nil else { return .none }
        return .refuseCall(
            streamID: streamID,
            RPCError(code: .deadlineExceeded, message: "the deadline passed before the call completed")
        )
    }

    /// Input: a call's request MESSAGE did not arrive within the server's bound after CALL_START.
    /// `.refuseCall` with `error` while the call still waits for it; nothing once the MESSAGE came.
    package mutating func requestMessageTimedOut(streamID: UInt32, _ error: RPCError) -> Action {
        guard self.calls[streamID] == .open else { return .none }
        return .refuseCall(streamID: streamID, error)
    }

    private mutating func callFrameGuard(_ streamID: UInt32, _ name: String) -> Action? {
        if let error = self.requireSettings() { return error }
        switch self.phase {
        case .authenticating:
            self.phase = .closed
            return .failConnection(.unauthenticated, message: "\(name) before authentication")
        case .closed:
            return Action.none
        default:
            break
        }
        if streamID > self.highestStreamID {
            return self.protocolError("\(name) on stream \(streamID), which was never opened")
        }
        return nil
    }

    private mutating func remove(_ streamID: UInt32) -> Action {
        if let old = self.calls.removeValue(forKey: streamID), old == .ready {
            self.readyCount -= 1
        }
        if case .draining = self.phase, self.calls.isEmpty {
            self.phase = .closed
            return .close
        }
        return .none
    }

    // MARK: Connection frames

    /// At most this many PINGs per `pingWindow`; more is a flood (WIRE.md §8.2).
    package static let maxPingsPerWindow = 100
    /// The window the PING limit counts over.
    package static let pingWindow = TimeAmount.seconds(10)
    private var pingWindowStart: NIODeadline?
    private var pingsInWindow = 0

    /// Input: PING without ACK, at `now`.
    package mutating func pingReceived(now: NIODeadline = .now()) -> Action {
        if let error = self.requireSettings() { return error }
        guard self.phase != .closed else { return .none }
        if let start = self.pingWindowStart, now - start < Self.pingWindow {
            self.pingsInWindow += 1
        } else {
            self.pingWindowStart = now
            self.pingsInWindow = 1
        }
        guard self.pingsInWindow <= Self.maxPingsPerWindow else {
            self.phase = .closed
            return .failConnection(.resourceExhausted, message: "too many pings")
        }
        return .sendPingAck
    }

    /// Input: GOAWAY from the client: it makes no more calls. Close once the open ones are done.
    package mutating func goAwayReceived(code: GoAwayCode) -> Action {
        if let error = self.requireSettings() { return error }
        switch self.phase {
        case .closed:
            return .none
        case .active, .draining:
            if code != .noError {
                self.phase = .closed
                return .close
            }
            self.phase = .draining(lastStreamID: self.highestStreamID)
            if self.calls.isEmpty {
                self.phase = .closed
                return .close
            }
            return .none
        default:
            self.phase = .closed
            return .close
        }
    }

    /// Input: the server is shutting down, or the connection was idle too long. Returns the last stream
    /// id for the GOAWAY, whether to send one at all (only after our preface went out), and whether to
    /// close right away (no calls open).
    package mutating func beginDrain() -> (lastStreamID: UInt32, sendGoAway: Bool, closeNow: Bool) {
        switch self.phase {
        case .active:
            self.phase = .draining(lastStreamID: self.highestStreamID)
        case .draining:
            break
        case .awaitingPreface:
            self.phase = .closed
            return (0, false, true)
        case .awaitingSettings, .authenticating:
            self.phase = .closed
            return (0, true, true)
        case .closed:
            return (self.highestStreamID, false, true)
        }
        if self.calls.isEmpty {
            self.phase = .closed
            return (self.highestStreamID, true, true)
        }
        return (self.highestStreamID, true, false)
    }

    /// Input: the handshake timer fired. Fails the connection unless authentication finished.
    package mutating func handshakeTimedOut() -> Action {
        switch self.phase {
        case .awaitingPreface:
            self.phase = .closed
            return .close  // nothing was sent yet, so no GOAWAY (WIRE.md §6.3)
        case .awaitingSettings, .authenticating:
            self.phase = .closed
            return .failConnection(.timeout, message: "handshake not finished in time")
        default:
            return .none
        }
    }

    /// Input: the peer broke a rule the decoder or a payload codec caught.
    package mutating func wireErrorReceived(_ error: WireError) -> Action {
        guard self.phase != .closed else { return .none }
        let beforePreface = self.phase == .awaitingPreface
        self.phase = .closed
        if beforePreface || error.code == .badPreface {
            return .close  // not one of ours: close without sending anything (WIRE.md §2)
        }
        return .failConnection(error.code.goAwayCode, message: error.message)
    }

    /// Input: the channel closed.
    package mutating func channelClosed() {
        self.phase = .closed
        self.calls.removeAll()
        self.readyCount = 0
    }

    private mutating func protocolError(_ message: String) -> Action {
        self.phase = .closed
        return .failConnection(.protocolError, message: message)
    }
}

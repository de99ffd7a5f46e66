package import IAMWire
package import NIOCore

/// The protocol rules of one client connection (WIRE.md §13), with no I/O. `Call` is whatever the
/// handler keeps per call (the tests use plain values); the machine owns the calls so it can hand
/// back exactly the ones an event ends.
///
/// Calls made before the connection is ready, or beyond the server's MAX_CONCURRENT_CALLS, wait in
/// `queued` (WIRE.md §11: a client queues instead of exceeding the limit).
package struct ClientConnectionStateMachine<Call> {
    /// Where the connection is in its life.
    package enum Phase: Equatable, Sendable {
        /// TLS is up and our preface, SETTINGS and AUTH_CLIENT_FIRST went out.
        case handshaking
        /// Authenticated: calls flow.
        case ready
        /// GOAWAY received or we are closing: no new calls; close when the last one ends.
        case draining
        case closed
    }

    /// What the handler does next.
    package enum Action {
        case none
        /// Acknowledge the server's SETTINGS.
        case sendSettingsAck
        /// Send AUTH_CLIENT_FINAL with this message.
        case sendClientFinal(String)
        /// Write CALL_START + MESSAGE for each of these calls (one write), with these stream ids.
        case startCalls([(streamID: UInt32, call: Call)])
        /// Write CALL_START + MESSAGE for this one call: a call made while the connection has room, the common
        /// case, which needs no array.
        case startCall(streamID: UInt32, call: Call)
        /// Complete these calls with these results; then start `next` (calls that were queued).
        case complete([(Call, Result<ByteBuffer, RPCError>)], next: [(streamID: UInt32, call: Call)])
        /// Complete this one call (its CALL_END arrived) with this result; then start `next` (calls that were
        /// queued behind it, usually none).
        case completeCall(Call, Result<ByteBuffer, RPCError>, next: [(streamID: UInt32, call: Call)])
        /// Send CANCEL on `streamID` and fail its call with `error`; then start `next`.
        case cancel(streamID: UInt32, Call, RPCError, next: [(streamID: UInt32, call: Call)])
        /// Send GOAWAY (`code`, `message`) and close, failing every call with `error`.
        case failConnection(GoAwayCode, message: String, calls: [Call], error: RPCError)
        /// Close (no GOAWAY), failing these calls with `error`.
        case close(calls: [Call], error: RPCError)
    }

    /// A call on the wire, and its response MESSAGE once that arrived. A struct, not an enum of the two
    /// phases: an enum with a generic payload was destroyed through its run-time value witnesses (a metadata
    /// lookup each time), three times a call.
    private struct CallPhase {
        var call: Call
        var response: ByteBuffer?
    }

    package private(set) var phase: Phase = .handshaking
    private var scram: SCRAMClient
    private var inFlight = StreamTable<CallPhase>()
    private var queued = CircularBuffer<Call>()
    private var nextStreamID: UInt32 = 1
    private var prefaceReceived = false
    private var settingsReceived = false
    /// The server's SETTINGS (WIRE.md's defaults until they arrive).
    package private(set) var peerSettings = ConnectionSettings()

    /// Creates the machine for one connection that authenticates with `scram`.
    package init(scram: SCRAMClient) {
        self.scram = scram
    }

    /// Calls waiting for a stream (not ready yet, or the server's limit reached).
    package var queuedCount: Int { self.queued.count }
    /// Calls on the wire.
    package var inFlightCount: Int { self.inFlight.count }

    /// The AUTH_CLIENT_FIRST message to send with the preface and SETTINGS.
    package mutating func start(nonce: String = SCRAMMath.nonce()) throws(AuthenticationFailure) -> String {
        try self.scram.firstMessage(nonce: nonce)
    }

    // MARK: Handshake

    /// Input: the server's preface.
    package mutating func prefaceReceived(_ preface: Preface) -> Action {
        guard !self.prefaceReceived, self.phase == .handshaking else {
            return self.protocolError("second preface")
        }
        self.prefaceReceived = true
        if preface.selectedVersion == 0 {
            return self.closeAll(RPCError(code: .unimplemented, message: "no common protocol version"))
        }
        guard preface.selectedVersion == Preface.currentVersion else {
            return self.closeAll(
                RPCError(code: .unavailable, message: "server selected unknown version \(preface.selectedVersion)")
            )
        }
        return .none
    }

    /// Input: the server's SETTINGS (without ACK), already range-checked by the codec.
    package mutating func settingsReceived(_ settings: ConnectionSettings) -> Action {
        guard self.prefaceReceived, !self.settingsReceived else {
            return self.protocolError("unexpected SETTINGS")
        }
        self.settingsReceived = true
        self.peerSettings = settings
        return .sendSettingsAck
    }

    /// Input: a SETTINGS ACK (answers ours; nothing to do).
    package mutating func settingsAckReceived() -> Action {
        guard self.settingsReceived else { return self.protocolError("the first frame must be SETTINGS") }
        return .none
    }

    /// Input: AUTH_SERVER_FIRST.
    package mutating func authServerFirstReceived(_ message: String) -> Action {
        guard self.settingsReceived, self.phase == .handshaking else {
            return self.protocolError("unexpected AUTH_SERVER_FIRST")
        }
        do {
            return .sendClientFinal(try self.scram.finalMessage(serverFirst: message))
        } catch {
            return self.protocolError("server-first message refused: \(error.description)")
        }
    }

    /// Input: AUTH_SERVER_FINAL.
    package mutating func authServerFinalReceived(_ message: String) -> Action {
        guard self.settingsReceived, self.phase == .handshaking else {
            return self.protocolError("unexpected AUTH_SERVER_FINAL")
        }
        do {
            try self.scram.verify(serverFinal: message)
        } catch {
            if message.hasPrefix("e=") {
                // The server refused our proof; its GOAWAY follows and closes the connection.
                return self.closeAll(RPCError(code: .unauthenticated, message: "authentication failed"))
            }
            let calls = self.takeAllCalls()
            self.phase = .closed
            return .failConnection(
                .unauthenticated,
                message: "server signature mismatch",
                calls: calls,
                error: RPCError(code: .unauthenticated, message: "the server could not prove it knows the credential")
            )
        }
        self.phase = .ready
        return .startCalls(self.dequeue())
    }

    // MARK: Calls

    /// Input: the user made a call.
    package mutating func startCall(_ call: Call) -> Action {
        switch self.phase {
        case .handshaking:
            self.queued.append(call)
            return .none
        case .ready:
            if self.queued.isEmpty, let streamID = self.admit(call) {
                return .startCall(streamID: streamID, call: call)
            }
            self.queued.append(call)
            return .startCalls(self.dequeue())
        case .draining, .closed:
            return .complete(
                [(call, .failure(RPCError(code: .unavailable, message: "the connection is closing")))],
                next: []
            )
        }
    }

    /// Input: a response MESSAGE (already decompressed) on `streamID`.
    package mutating func messageReceived(streamID: UInt32, _ message: ByteBuffer) -> Action {
        guard streamID < self.nextStreamID else { return self.protocolError("MESSAGE on unused stream \(streamID)") }
        guard let phase = self.inFlight[streamID] else {
            return .none  // we already gave up on this call (cancel or deadline)
        }
        guard phase.response != nil else {
            self.inFlight.set(streamID, CallPhase(call: phase.call, response: message))
            return .none
        }
        self.inFlight.removeValue(forKey: streamID)
        return .cancel(
            streamID: streamID,
            phase.call,
            RPCError(code: .internalError, message: "the server sent two response messages for a unary call"),
            next: self.afterRemoval()
        )
    }

    /// Input: a response MESSAGE that could not be read (too large, corrupt): fail the call, send CANCEL.
    package mutating func messageFailed(streamID: UInt32, _ error: RPCError) -> Action {
        guard streamID < self.nextStreamID else { return self.protocolError("MESSAGE on unused stream \(streamID)") }
        guard let phase = self.inFlight.removeValue(forKey: streamID) else { return .none }
        return .cancel(streamID: streamID, phase.call, error, next: self.afterRemoval())
    }

    /// Input: CALL_END on `streamID` with `status` (`.ok` or the error).
    package mutating func callEndReceived(streamID: UInt32, error: RPCError?) -> Action {
        guard streamID < self.nextStreamID else { return self.protocolError("CALL_END on unused stream \(streamID)") }
        guard let phase = self.inFlight.removeValue(forKey: streamID) else { return .none }
        let result: Result<ByteBuffer, RPCError>
        switch (phase.response, error) {
        case (_, .some(let error)):
            result = .failure(error)
        case (.some(let message), .none):
            result = .success(message)
        case (.none, .none):
            result = .failure(
                RPCError(code: .internalError, message: "the server ended the call OK without a response"))
        }
        return .completeCall(phase.call, result, next: self.afterRemoval())
    }

    /// Input: the call on `streamID` was cancelled by its caller or hit its deadline (`error` says which).
    package mutating func abandonCall(streamID: UInt32, error: RPCError) -> Action {
        guard let phase = self.inFlight.removeValue(forKey: streamID) else { return .none }
        return .cancel(streamID: streamID, phase.call, error, next: self.afterRemoval())
    }

    /// Input: a queued call (no stream yet) was cancelled or hit its deadline; `matches` finds it.
    package mutating func abandonQueuedCall(where matches: (Call) -> Bool, error: RPCError) -> Action {
        guard let index = self.queued.firstIndex(where: matches) else { return .none }
        let call = self.queued.remove(at: index)
        return .complete([(call, .failure(error))], next: [])
    }

    /// The stream id of the in-flight call `matches` finds.
    package func streamID(where matches: (Call) -> Bool) -> UInt32? {
        self.inFlight.entries.first { matches($0.value.call) }?.id
    }

    // MARK: Connection frames

    /// Input: GOAWAY from the server.
    package mutating func goAwayReceived(lastStreamID: UInt32, code: GoAwayCode, message: String) -> Action {
        if code != .noError {
            let error = RPCError(code: code.callStatus, message: "server closed the connection (\(code)): \(message)")
            return self.closeAll(error)
        }
        let unavailable = RPCError(
            code: .unavailable,
            message: "the server is shutting down (GOAWAY); the call was not run"
        )
        var failed: [(Call, Result<ByteBuffer, RPCError>)] = []
        for (id, phase) in self.inFlight.entries where id > lastStreamID {
            failed.append((phase.call, .failure(unavailable)))
            self.inFlight.removeValue(forKey: id)
        }
        while let call = self.queued.popFirst() {
            failed.append((call, .failure(unavailable)))
        }
        if self.phase == .closed { return .none }
        if self.inFlight.isEmpty {
            self.phase = .closed
            return .close(calls: failed.map(\.0), error: unavailable)
        }
        self.phase = .draining
        return .complete(failed, next: [])
    }

    /// Input: we are closing (user asked): no new calls, close once the open ones end.
    /// Returns true when nothing is in flight (close now).
    package mutating func beginDrain() -> [Call] {
        let waiting = Array(self.queued)
        self.queued.removeAll()
        if self.phase != .closed { self.phase = self.inFlight.isEmpty ? .closed : .draining }
        return waiting
    }

    /// True when draining and nothing is left: close now.
    package var isDrained: Bool { self.phase == .closed || (self.phase == .draining && self.inFlight.isEmpty) }

    /// Input: the keepalive PING went unanswered.
    package mutating func keepaliveTimedOut() -> Action {
        guard self.phase != .closed else { return .none }
        let calls = self.takeAllCalls()
        self.phase = .closed
        return .failConnection(
            .timeout,
            message: "keepalive PING unanswered",
            calls: calls,
            error: RPCError(code: .unavailable, message: "the connection stopped answering (keepalive timeout)")
        )
    }

    /// Input: the decoder or a codec found the server broke a rule.
    package mutating func wireErrorReceived(_ error: WireError) -> Action {
        guard self.phase != .closed else { return .none }
        if error.code == .badPreface {
            return self.closeAll(
                RPCError(code: .unavailable, message: "the server is not an iam server: \(error.message)"))
        }
        let calls = self.takeAllCalls()
        self.phase = .closed
        return .failConnection(
            error.code.goAwayCode,
            message: error.message,
            calls: calls,
            error: RPCError(code: .unavailable, message: "protocol error from server: \(error.message)")
        )
    }

    /// Input: the channel closed (EOF, TLS error, reset). Every call still here fails.
    package mutating func channelClosed(_ error: RPCError) -> [Call] {
        self.phase = .closed
        return self.takeAllCalls()
    }

    private mutating func afterRemoval() -> [(streamID: UInt32, call: Call)] {
        self.phase == .ready ? self.dequeue() : []
    }

    private mutating func dequeue() -> [(streamID: UInt32, call: Call)] {
        var started: [(streamID: UInt32, call: Call)] = []
        while let call = self.queued.first, let id = self.admit(call) {
            self.queued.removeFirst()
            started.append((id, call))
        }
        return started
    }

    /// Starts `call` on the next stream id if the server's MAX_CONCURRENT_CALLS leaves room and ids remain.
    private mutating func admit(_ call: Call) -> UInt32? {
        guard self.inFlight.count < self.peerSettings.maxConcurrentCalls, self.nextStreamID < UInt32(Int32.max)
        else { return nil }
        let id = self.nextStreamID
        self.nextStreamID += 2
        self.inFlight.set(id, CallPhase(call: call, response: nil))
        return id
    }

    private mutating func takeAllCalls() -> [Call] {
        var calls = self.inFlight.entries.map(\.value.call)
        calls.append(contentsOf: self.queued)
        self.inFlight.removeAll()
        self.queued.removeAll()
        return calls
    }

    private mutating func closeAll(_ error: RPCError) -> Action {
        let calls = self.takeAllCalls()
        self.phase = .closed
        return .close(calls: calls, error: error)
    }

    private mutating func protocolError(_ message: String) -> Action {
        let calls = self.takeAllCalls()
        let wasClosed = self.phase == .closed
        self.phase = .closed
        if wasClosed { return .close(calls: calls, error: RPCError(code: .unavailable, message: message)) }
        return .failConnection(
            .protocolError,
            message: message,
            calls: calls,
            error: RPCError(code: .unavailable, message: "protocol error from server: \(message)")
        )
    }
}

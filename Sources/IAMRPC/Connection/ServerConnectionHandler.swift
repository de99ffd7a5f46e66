import IAMWire
import Logging
import NIOCore

/// The server end of one connection: decodes frames from the plaintext the TLS handler passes up,
/// feeds them to `ServerConnectionStateMachine` and runs the handlers.
///
/// Performance (WIRE.md §16, issue 3's targets): a unary call whose handler answers `.immediate` is
/// decoded, served and encoded in the `channelRead` that delivered it, on this event loop, with no
/// thread hop. Every frame produced while handling one read goes into one `outbound` buffer that is
/// written and flushed once, in `channelReadComplete` (so one TLS record and one syscall answer a burst
/// of calls). The response is encoded straight into that buffer; the zlib streams live as long as the
/// connection.
///
/// Memory (issue 12): nothing is allocated for a connection until its first bytes arrive; the outbound
/// buffer is kept between bursts only while calls are open and it is small, so an idle connection holds
/// none (and one that once answered with 1 MiB does not keep 1 MiB; the decoder lets go of its input the
/// same way); the logger's per-connection metadata is made only when something is logged.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Everything the handler knows about a call between CALL_START and its end. A class: a call's record is
    /// looked up several times, and copying a struct of six counted references cost about 1k instructions a call.
    private final class CallRecord {
        let method: RPCServerMethod
        let requestID: CallRequestID
        let metadata: Metadata
        let deadline: NIODeadline?
        /// When CALL_START arrived: the request MESSAGE must follow within `requestMessageTimeout`.
        let opened: NIODeadline
        var timer: Scheduled<Void>?
        /// Stops a deferred handler's work when the call ends before its answer.
        var cancel: (@Sendable () -> Void)?

        init(
            method: RPCServerMethod, requestID: CallRequestID, metadata: Metadata, deadline: NIODeadline?,
            opened: NIODeadline
        ) {
            self.method = method
            self.requestID = requestID
            self.metadata = metadata
            self.deadline = deadline
            self.opened = opened
        }
    }

    private var state: ServerConnectionStateMachine
    private let shared: ServerShared
    private var decoder: FrameDecoder
    private var encoder = FrameEncoder()
    private var prefaceDone = false
    private var records = StreamTable<CallRecord>()
    /// Calls opened or deferred during this read burst whose timer is armed at its end: most calls are
    /// answered in the read that started them and never need one.
    private var callsNeedingTimers: [UInt32] = []
    /// The client's address, read from the channel at the first call (reading it takes the channel's lock).
    private var peerAddress: SocketAddress?
    private var outbound = ByteBuffer()
    private var inReadBurst = false
    private var readPending = false
    private var readsPaused = false
    private var compressor: MessageCompressor?
    private var peerAcceptsZlib = false
    /// The client's COMPRESSION_THRESHOLD: we never compress a message below it (WIRE.md §10).
    private var peerCompressionThreshold = ConnectionSettings.defaultCompressionThreshold
    private var context: ChannelHandlerContext?
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var drainTimer: Scheduled<Void>?
    private var lastCallActivity = NIODeadline.now()
    private let connectionID: UInt64
    /// The method of the connection's latest call, most likely its next one's too.
    private var lastMethod: RPCServerMethod?
    /// The authenticated access key, for log lines.
    private var accessKeyID: String?

    /// The server's logger with this connection's metadata, made per log line: a copy kept per connection
    /// cost about 0.7 KiB of each idle connection's memory for lines that are rarely written.
    private var logger: Logger {
        var logger = self.shared.logger
        logger[metadataKey: "connection"] = "\(self.connectionID)"
        if let accessKeyID = self.accessKeyID { logger[metadataKey: "accessKeyID"] = "\(accessKeyID)" }
        return logger
    }

    init(shared: ServerShared, connectionID: UInt64) {
        self.shared = shared
        self.connectionID = connectionID
        self.state = ServerConnectionStateMachine(
            maxConcurrentCalls: shared.options.maxConcurrentCalls,
            scram: SCRAMServer(decoySecret: shared.decoySecret)
        )
        self.decoder = FrameDecoder(maxFrameSize: shared.settings.maxFrameSize)
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loop = context.eventLoop.assumeIsolated()
        self.handshakeTimer = loop.scheduleTask(in: TimeAmount(self.shared.options.handshakeTimeout)) {
            self.execute(self.state.handshakeTimedOut())
            self.flushIfNeeded()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state.channelClosed()
        self.cancelTimers()
        for (_, record) in self.records.entries {
            record.timer?.cancel()
            record.cancel?()
        }
        self.records.removeAll()
        self.callsNeedingTimers.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS failures (bad handshake, plaintext to the TLS port) arrive here; the TLS handler closes.
        self.logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    private func cancelTimers() {
        self.handshakeTimer?.cancel()
        self.idleTimer?.cancel()
        self.drainTimer?.cancel()
        self.handshakeTimer = nil
        self.idleTimer = nil
        self.drainTimer = nil
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.inReadBurst = true
        if self.outbound.capacity == 0 {
            // Made at the first bytes, not at accept, and room for a burst of small answers.
            self.outbound = context.channel.allocator.buffer(capacity: Self.outboundCapacity)
        }
        self.decoder.append(self.unwrapInboundIn(data))
        do throws(WireError) {
            if !self.prefaceDone {
                guard let preface = try self.decoder.decodePreface() else { return }
                self.prefaceDone = true
                self.prefaceReceived(preface)
            }
            while self.state.phase != .closed, let frame = try self.decoder.nextFrame() {
                self.handle(frame)
            }
        } catch {
            self.execute(self.state.wireErrorReceived(error))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.inReadBurst = false
        self.armCallTimers()
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: while too many calls run, hold the read so TCP pushes back on the client.
        if self.state.shouldPauseReading || !context.channel.isWritable {
            self.readPending = true
            self.readsPaused = true
            return
        }
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.resumeReadingIfPossible()
        context.fireChannelWritabilityChanged()
    }

    private func resumeReadingIfPossible() {
        guard self.readPending, let context, !self.state.shouldPauseReading, context.channel.isWritable else {
            return
        }
        self.readPending = false
        self.readsPaused = false
        context.read()
    }

    private func prefaceReceived(_ preface: Preface) {
        let reply = Preface.serverReply(to: preface)
        if reply.selectedVersion == 0 {
            self.encoder.writePreface(reply, into: &self.outbound)
            self.encoder.writeGoAway(
                GoAway(lastStreamID: 0, code: .unsupportedVersion, message: "this server speaks version 1 only"),
                into: &self.outbound
            )
            self.closeAfterFlush()
            return
        }
        self.execute(self.state.prefaceReceived())
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .callStart:
            self.lastCallActivity = .now()
            let action = self.state.callStartReceived(streamID: frame.streamID)
            if case .openCall(let id) = action {
                self.openCall(id, payload: frame.payload)
            } else {
                self.execute(action)
            }
        case .message:
            let action = self.state.messageReceived(
                streamID: frame.streamID,
                endStream: frame.flags.contains(.endStream)
            )
            if case .serveCall(let id) = action {
                self.serveCall(id, payload: frame.payload, compressed: frame.flags.contains(.compressed))
            } else {
                self.execute(action)
            }
        case .cancel:
            if let record = self.records.removeValue(forKey: frame.streamID) {
                record.timer?.cancel()
                record.cancel?()
            }
            self.execute(self.state.cancelReceived(streamID: frame.streamID))
        case .ping:
            if frame.flags.contains(.ack) { return }  // we send no pings; an unexpected ACK is ignored
            let action = self.state.pingReceived()
            if action == .sendPingAck, let data = frame.pingData {
                self.encoder.writePing(data, ack: true, into: &self.outbound)
            } else {
                self.execute(action)
            }
        case .settings:
            if frame.flags.contains(.ack) {
                self.execute(self.state.settingsAckReceived())
                return
            }
            do throws(WireError) {
                let settings = try ConnectionSettings(decoding: frame.payload)
                let action = self.state.settingsReceived()
                if action == .acknowledgeSettings {
                    self.encoder.apply(peerSettings: settings)
                    // Compress what we send only if the peer inflates zlib and this server allows compression.
                    self.peerAcceptsZlib = settings.compression.contains(.zlib) && self.shared.options.compression
                    self.peerCompressionThreshold = settings.compressionThreshold
                }
                self.execute(action)
            } catch {
                self.execute(self.state.wireErrorReceived(error))
            }
        case .authClientFirst:
            do {
                let first = try AuthClientFirst(decoding: frame.payload)
                self.execute(self.state.authClientFirstReceived(mechanism: first.mechanism, message: first.message))
            } catch {
                self.execute(self.state.authClientFirstReceived(mechanism: "", message: ""))
            }
        case .authClientFinal:
            let text = frame.payload.getString(at: frame.payload.readerIndex, length: frame.payload.readableBytes)
            self.execute(self.state.authClientFinalReceived(text ?? ""))
        case .goAway:
            do throws(WireError) {
                let goAway = try GoAway(decoding: frame.payload)
                self.execute(self.state.goAwayReceived(code: goAway.code))
            } catch {
                self.execute(self.state.wireErrorReceived(error))
            }
        default:
            // CALL_END, AUTH_SERVER_*: frames only a server sends.
            self.execute(
                self.state.wireErrorReceived(.protocolViolation("\(frame.type) sent to a server"))
            )
        }
    }

    // MARK: Calls

    private func openCall(_ streamID: UInt32, payload: ByteBuffer) {
        let start: CallStart
        do throws(WireError) {
            start = try CallStart(decoding: payload, expectingMethod: self.lastMethod?.descriptor.fullName)
        } catch {
            // The framing is intact, so only this call fails (WIRE.md §7.1).
            let code: StatusCode = error.code == .limitExceeded ? .resourceExhausted : .invalidArgument
            self.endCall(streamID, RPCError(code: code, message: "bad CALL_START: \(error.message)"))
            return
        }
        let requestID: CallRequestID =
            start.requestID.isEmpty ? self.assignedRequestID(streamID) : .caller(start.requestID)
        // A connection mostly repeats one method: the path the decoder reused is the same string, and
        // comparing it is cheaper than hashing it for the table.
        guard
            let method = self.lastMethod.flatMap({ $0.descriptor.fullName == start.method ? $0 : nil })
                ?? self.shared.methods[start.method]
        else {
            self.endCall(
                streamID,
                RPCError(code: .unimplemented, message: "method \(start.method) is not served here"),
                requestID: requestID.text
            )
            return
        }
        let deadline: NIODeadline? =
            start.timeoutMicroseconds == 0
            ? nil
            : self.now + .microseconds(Int64(clamping: min(start.timeoutMicroseconds, UInt64(Int64.max / 1000))))
        self.lastMethod = method
        self.records.set(
            streamID,
            CallRecord(
                method: method,
                requestID: requestID,
                metadata: start.metadata,
                deadline: deadline,
                opened: self.now
            ))
        self.needsTimer(streamID)
    }

    private func serveCall(_ streamID: UInt32, payload: ByteBuffer, compressed: Bool) {
        guard let context, let record = self.records[streamID] else { return }
        if let deadline = record.deadline, deadline <= self.now {
            self.execute(self.state.deadlineExceeded(streamID: streamID))
            return
        }
        if let timer = record.timer {
            // It was waiting for this MESSAGE; from now on only the deadline (if any) applies.
            timer.cancel()
            record.timer = nil
        }
        var request: ByteBuffer
        if compressed {
            guard self.shared.options.compression, let compressor = self.compressorForConnection() else {
                self.endCall(
                    streamID, RPCError(code: .unimplemented, message: "compressed message, but zlib was not announced"))
                return
            }
            do throws(WireError) {
                request = try compressor.decompress(payload, maxSize: self.shared.settings.maxMessageSize)
            } catch {
                self.endCall(streamID, RPCError(error))
                return
            }
        } else {
            guard payload.readableBytes <= self.shared.settings.maxMessageSize else {
                self.endCall(
                    streamID,
                    RPCError(code: .resourceExhausted, message: "request larger than the max message size")
                )
                return
            }
            request = payload
        }
        // A heavy call moves when this loop has more of the connection's work (another call, or unread frames)
        // and another loop is free of heavy calls; one served here marks this loop busy meanwhile.
        var servingHeavy: CallOffloader.Slot?
        if let offloader = self.shared.offloader,
            offloader.isHeavy(record.method.descriptor, bytes: request.readableBytes)
        {
            if self.state.calls.count > 1 || self.decoder.bufferedBytes > 0,
                let slot = offloader.claim(besides: context.eventLoop)
            {
                self.offload(
                    streamID, record: record, request: request, to: slot, offloader: offloader, context: context)
                return
            }
            servingHeavy = offloader.serving(on: context.eventLoop)
        }
        defer { if let servingHeavy { self.shared.offloader?.finished(servingHeavy) } }
        let callContext = self.callContext(record, on: context.eventLoop, context: context)
        // Encode the answer straight into the outbound buffer behind a MESSAGE header; roll back if the
        // handler failed or answers later.
        let mark = self.outbound.writerIndex
        var outcome = EncodedServerResponse.encoded
        do throws(WireError) {
            try self.encoder.writeMessage(
                streamID: streamID,
                compressor: self.peerAcceptsZlib ? self.compressorForConnection() : nil,
                into: &self.outbound
            ) { buffer in
                outcome = record.method.invoke(&request, callContext, &buffer)
            }
        } catch {
            self.outbound.moveWriterIndex(to: mark)
            self.endCall(
                streamID, RPCError(sending: error))
            return
        }
        switch outcome {
        case .encoded:
            self.encoder.writeSuccessCallEnd(streamID: streamID, into: &self.outbound) {
                record.requestID.write(into: &$0)
            }
            self.finish(streamID)
        case .failed(let error):
            self.outbound.moveWriterIndex(to: mark)
            self.endCall(streamID, error)
        case .deferred(let future, let cancel):
            self.outbound.moveWriterIndex(to: mark)
            record.cancel = cancel
            self.awaitDeferred(streamID, future, deadline: record.deadline, context: context)
        }
    }

    /// What the call's interceptors and handler see of it, running on `loop`.
    private func callContext(
        _ record: CallRecord, on loop: any EventLoop, context: ChannelHandlerContext
    ) -> ServerCallContext {
        ServerCallContext(
            eventLoop: loop,
            method: record.method.descriptor,
            requestID: record.requestID,
            metadata: record.metadata,
            deadline: record.deadline,
            accessKeyID: self.state.accessKeyID ?? "",
            peerAddress: self.peerAddress(context)
        )
    }

    /// Serves the call on `loop` (decode, interceptors, handler, encode) and writes its answer here when it is
    /// back, as a deferred answer's (``CallOffload``).
    private func offload(
        _ streamID: UInt32, record: CallRecord, request: ByteBuffer, to slot: CallOffloader.Slot,
        offloader: CallOffloader, context: ChannelHandlerContext
    ) {
        let loop = slot.loop
        let callContext = self.callContext(record, on: loop, context: context)
        let method = record.method
        let allocator = context.channel.allocator
        let cancel = OffloadedCancel()
        record.cancel = { cancel.callEnded() }
        let answer = loop.flatSubmit { () -> EventLoopFuture<ByteBuffer> in
            defer { offloader.finished(slot) }
            var request = request
            // Room for a batch's answer without regrowing it from nothing.
            var response = allocator.buffer(capacity: 4096)
            switch method.invoke(&request, callContext, &response) {
            case .encoded: return loop.makeSucceededFuture(response)
            case .failed(let error): return loop.makeFailedFuture(error)
            case .deferred(let later, let handlerCancel):
                cancel.handlerAnswersLater(cancel: handlerCancel)
                return later
            }
        }
        self.awaitDeferred(streamID, answer, deadline: record.deadline, context: context)
    }

    private func awaitDeferred(
        _ streamID: UInt32,
        _ future: EventLoopFuture<ByteBuffer>,
        deadline: NIODeadline?,
        context: ChannelHandlerContext
    ) {
        let loop = context.eventLoop
        if deadline != nil { self.needsTimer(streamID) }
        future.hop(to: loop).assumeIsolated().whenComplete { result in
            // Cancelled, timed out or the connection closed meanwhile: the answer is no longer wanted.
            guard self.state.calls[streamID] != nil, self.context != nil else { return }
            switch result {
            case .success(let response):
                do throws(WireError) {
                    try self.encoder.writeMessage(
                        response,
                        streamID: streamID,
                        compressor: self.peerAcceptsZlib ? self.compressorForConnection() : nil,
                        into: &self.outbound
                    )
                    let requestID = self.records[streamID]?.requestID ?? self.assignedRequestID(streamID)
                    self.encoder.writeSuccessCallEnd(streamID: streamID, into: &self.outbound) {
                        requestID.write(into: &$0)
                    }
                    self.finish(streamID)
                } catch {
                    self.endCall(streamID, RPCError(sending: error))
                }
            case .failure(let error as RPCError):
                self.endCall(streamID, error)
            case .failure(let error):
                self.logger.error("handler failed", metadata: ["error": "\(error)", "stream": "\(streamID)"])
                self.endCall(streamID, RPCError(code: .internalError, message: "internal error"))
            }
            self.flushIfNeeded()
        }
    }

    // MARK: Call timers (WIRE.md §7.1)

    /// The request id CALL_END returns (WIRE.md §7.3): the call's, or for a call refused before its
    /// CALL_START was read, the one the server assigns (`<server instance>-<connection>-<stream>`, as for an empty id).
    private func requestID(_ streamID: UInt32) -> String {
        (self.records[streamID]?.requestID ?? self.assignedRequestID(streamID)).text
    }

    /// `<instance>-<connection>-<stream>`: the id of every call that names none of its own.
    private func assignedRequestID(_ streamID: UInt32) -> CallRequestID {
        .assigned(instance: self.shared.instanceID, connection: self.connectionID, stream: streamID)
    }

    private func peerAddress(_ context: ChannelHandlerContext) -> SocketAddress? {
        if let address = self.peerAddress { return address }
        self.peerAddress = context.channel.remoteAddress
        return self.peerAddress
    }

    /// The loop's clock (an embedded loop's in tests, so deadlines move with its virtual time).
    private var now: NIODeadline { self.context?.eventLoop.now ?? .now() }

    private func needsTimer(_ streamID: UInt32) {
        self.callsNeedingTimers.append(streamID)
        if !self.inReadBurst { self.armCallTimers() }
    }

    /// Arms the timer of each call still waiting after this read: a call without its MESSAGE waits
    /// until its deadline or `requestMessageTimeout` after CALL_START, whichever comes first; a
    /// deferred call until its deadline.
    private func armCallTimers() {
        guard !self.callsNeedingTimers.isEmpty, let context else { return }
        let loop = context.eventLoop.assumeIsolated()
        for streamID in self.callsNeedingTimers {
            guard let record = self.records[streamID], record.timer == nil, let phase = self.state.calls[streamID]
            else { continue }
            var fireAt = record.deadline
            if phase == .open {
                let messageDue = record.opened + TimeAmount(self.shared.options.requestMessageTimeout)
                fireAt = min(fireAt ?? messageDue, messageDue)
            }
            guard let fireAt else { continue }
            let timer = loop.scheduleTask(deadline: fireAt) {
                self.callTimerFired(streamID)
            }
            record.timer = timer
        }
        self.callsNeedingTimers.removeAll(keepingCapacity: true)
    }

    private func callTimerFired(_ streamID: UInt32) {
        guard let record = self.records[streamID] else { return }
        record.timer = nil
        if self.state.calls[streamID] == .open, record.deadline.map({ self.now < $0 }) ?? true {
            let waited = self.shared.options.requestMessageTimeout
            self.execute(
                self.state.requestMessageTimedOut(
                    streamID: streamID,
                    RPCError(
                        code: .deadlineExceeded,
                        message: "no request MESSAGE within \(waited) of CALL_START"
                    )
                )
            )
        } else {
            record.cancel?()
            self.execute(self.state.deadlineExceeded(streamID: streamID))
        }
        self.flushIfNeeded()
    }

    /// Writes CALL_END with `error` and forgets the call.
    private func endCall(_ streamID: UInt32, _ error: RPCError, requestID: String? = nil) {
        self.encoder.writeCallEnd(
            CallEnd(error, requestID: requestID ?? self.requestID(streamID)),
            streamID: streamID,
            into: &self.outbound
        )
        self.finish(streamID)
    }

    private func finish(_ streamID: UInt32) {
        if let record = self.records.removeValue(forKey: streamID) { record.timer?.cancel() }
        // Most calls end in the read that opened them: then no timer is needed at the read's end.
        if self.callsNeedingTimers.last == streamID { self.callsNeedingTimers.removeLast() }
        self.lastCallActivity = .now()
        self.execute(self.state.callFinished(streamID: streamID))
        if self.readsPaused { self.resumeReadingIfPossible() }
    }

    private func compressorForConnection() -> MessageCompressor? {
        if let compressor = self.compressor { return compressor }
        // Made on first use: most connections never compress, and a zlib stream costs ~95 µs to create.
        let compressor = MessageCompressor(
            threshold: max(self.shared.options.compressionThreshold, self.peerCompressionThreshold),
            level: self.shared.options.compressionLevel
        )
        self.compressor = compressor
        return compressor
    }

    // MARK: Actions

    private func execute(_ action: ServerConnectionStateMachine.Action) {
        switch action {
        case .none, .openCall, .serveCall:
            break
        case .sendPrefaceAndSettings:
            self.encoder.writePreface(Preface.serverReply(to: .client), into: &self.outbound)
            self.encoder.writeSettings(self.shared.settings, into: &self.outbound)
        case .acknowledgeSettings:
            self.encoder.writeSettingsAck(into: &self.outbound)
        case .lookUpCredential(let id):
            self.lookUp(id)
        case .sendServerFirst(let message):
            self.encoder.writeAuth(.authServerFirst, message: message, into: &self.outbound)
        case .sendServerFinal(let message, let id):
            self.encoder.writeAuth(.authServerFinal, message: message, into: &self.outbound)
            self.handshakeTimer?.cancel()
            self.handshakeTimer = nil
            self.accessKeyID = id
            if let channel = self.context?.channel { self.shared.registry?.opened(channel) }
            self.armIdleTimer()
        case .failAuthentication(let log):
            self.logger.notice("authentication failed: \(log)")
            self.encoder.writeAuth(.authServerFinal, message: "e=invalid-proof", into: &self.outbound)
            self.encoder.writeGoAway(
                GoAway(lastStreamID: 0, code: .unauthenticated, message: "authentication failed"),
                into: &self.outbound
            )
            self.closeAfterFlush()
        case .failConnection(let code, let message):
            self.logger.debug("connection error \(code): \(message)")
            self.encoder.writeGoAway(
                GoAway(lastStreamID: self.state.lastStreamID, code: code, message: String(message.prefix(1000))),
                into: &self.outbound
            )
            self.closeAfterFlush()
        case .refuseCall(let streamID, let error):
            self.endCall(streamID, error)
        case .sendPingAck:
            break  // written by the caller, which has the payload
        case .close:
            self.closeAfterFlush()
        }
    }

    private func lookUp(_ accessKeyID: String) {
        guard let context else { return }
        let store = self.shared.credentialStore
        switch store.immediateCredential(forAccessKeyID: accessKeyID) {
        case .found(let credential):
            self.execute(self.state.credentialLoaded(credential))
            return
        case .notFound:
            self.execute(self.state.credentialLoaded(nil))
            return
        case .deferred:
            break  // a store that reads a database: off the event loop
        }
        let promise = context.eventLoop.makePromise(of: SCRAMCredential?.self)
        promise.completeWithTask { try await store.credential(forAccessKeyID: accessKeyID) }
        promise.futureResult.assumeIsolated().whenComplete { result in
            let credential = (try? result.get()) ?? nil
            self.execute(self.state.credentialLoaded(credential))
            self.flushIfNeeded()
        }
    }

    // MARK: Timers

    private func armIdleTimer() {
        guard let context, let idle = self.shared.options.idleTimeout else { return }
        let timeout = TimeAmount(idle)
        self.idleTimer = context.eventLoop.assumeIsolated().scheduleTask(
            deadline: self.lastCallActivity + timeout
        ) {
            self.idleTimer = nil
            if self.state.calls.isEmpty, NIODeadline.now() >= self.lastCallActivity + timeout {
                self.drain(message: "idle timeout")
            } else {
                self.armIdleTimer()
            }
        }
    }

    /// Starts a graceful drain: GOAWAY NO_ERROR, finish calls, close (WIRE.md §9.2).
    func drain(message: String) {
        guard let context else { return }
        let (last, sendGoAway, closeNow) = self.state.beginDrain()
        if sendGoAway {
            self.encoder.writeGoAway(GoAway(lastStreamID: last, code: .noError, message: message), into: &self.outbound)
        }
        if closeNow {
            self.closeAfterFlush()
        } else {
            self.flushIfNeeded()
            self.drainTimer = context.eventLoop.assumeIsolated().scheduleTask(
                in: TimeAmount(self.shared.options.drainTimeout)
            ) {
                self.logger.notice("drain timeout: closing with \(self.state.calls.count) calls open")
                self.context?.close(promise: nil)
            }
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is ServerDrainEvent {
            self.drain(message: "server shutting down")
            promise?.succeed(())
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    // MARK: Writing

    private func flushIfNeeded() {
        guard !self.inReadBurst, let context, self.outbound.readableBytes > 0 else { return }
        self.writeOutbound(context)
        context.flush()
        if self.state.calls.isEmpty {
            // Nothing open: the connection may now sit idle for hours, so it keeps no buffer (the next burst
            // makes one, a malloc per burst of a connection that had gone quiet).
            self.outbound = ByteBuffer()
        } else if self.outbound.capacity > Self.maxRetainedOutboundCapacity {
            // A large answer went out: give its memory back rather than keep it for the connection's life.
            self.outbound = context.channel.allocator.buffer(capacity: Self.outboundCapacity)
        } else {
            // The TLS handler encrypted and released the bytes during flush, so clearing reuses the storage
            // (no allocation per burst); if something still holds it, clear() copies-on-write instead.
            self.outbound.clear()
        }
    }

    /// The outbound buffer's size when made: a burst of a few small answers fits without growing.
    static let outboundCapacity = 1024
    /// An outbound buffer that grew past this for a burst is replaced after it.
    static let maxRetainedOutboundCapacity = 4096

    /// What this connection keeps allocated between bursts in its own buffers (decoder input and
    /// outbound), for tests of buffer release.
    var retainedBufferCapacity: Int { self.decoder.retainedCapacity + self.outbound.capacity }

    /// Slots the call tables keep allocated (0 when no call is open), for tests of idle memory.
    var callTableCapacity: Int { self.records.capacity + self.state.calls.capacity }

    private func writeOutbound(_ context: ChannelHandlerContext) {
        context.write(self.wrapOutboundOut(self.outbound), promise: nil)
    }

    private var closing = false

    private func closeAfterFlush() {
        guard let context, !self.closing else { return }
        self.closing = true
        if self.outbound.readableBytes > 0 {
            self.writeOutbound(context)
            self.outbound = ByteBuffer()
        }
        context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).assumeIsolated()
            .whenComplete { _ in
                self.context?.close(promise: nil)
            }
    }
}

/// Sent down a server connection's pipeline to start a graceful drain.
struct ServerDrainEvent: Sendable {}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}

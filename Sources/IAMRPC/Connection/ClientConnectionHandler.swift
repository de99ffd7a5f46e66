import IAMTLS
import IAMWire
import NIOCore
import NIOPosix

/// One call a client has made, from `unaryFuture` until it completes. A class so the deadline timer, a
/// cancellation and the response can race safely on the event loop: whichever comes first completes it
/// and the others find `isCompleted`.
final class PendingClientCall {
    let method: MethodDescriptor
    let options: CallOptions
    /// When the caller stops waiting: fixed when the call is made, so connecting, TLS, authentication
    /// and queueing behind MAX_CONCURRENT_CALLS all count against it (WIRE.md §7.1).
    let deadline: NIODeadline?
    let encode: (inout ByteBuffer) -> Void
    private let onComplete: (Result<ByteBuffer, RPCError>, _ requestID: String?) -> Void
    private(set) var isCompleted = false
    /// The request id the server returned in CALL_END (WIRE.md §7.3), once it arrived.
    var requestID: String?
    var timer: Scheduled<Void>?
    /// The connection carrying (or queueing) the call, for cancellation.
    weak var connection: ClientConnectionHandler?

    init(
        method: MethodDescriptor,
        options: CallOptions,
        encode: @escaping (inout ByteBuffer) -> Void,
        complete: @escaping (Result<ByteBuffer, RPCError>, _ requestID: String?) -> Void
    ) {
        self.method = method
        self.options = options
        self.deadline = options.timeout.map { NIODeadline.now() + TimeAmount($0) }
        self.encode = encode
        self.onComplete = complete
    }

    func complete(_ result: Result<ByteBuffer, RPCError>) {
        guard !self.isCompleted else { return }
        self.isCompleted = true
        self.timer?.cancel()
        self.timer = nil
        self.onComplete(result, self.requestID)
    }

    /// The caller gave up (Task cancelled) or the deadline passed.
    func abandon(_ error: RPCError) {
        guard !self.isCompleted else { return }
        if let connection = self.connection {
            connection.abandon(self, error)
        }
        self.complete(.failure(error))
    }
}

/// The client end of one connection: writes the preface, SETTINGS and SCRAM frames, then carries calls.
/// Calls made before it is ready wait in its state machine's queue, so the manager can hand calls to a
/// handler whose channel is still connecting.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var state: ClientConnectionStateMachine<PendingClientCall>
    private let options: ConnectionOptions
    private let settings: ConnectionSettings
    private var decoder: FrameDecoder
    private var encoder = FrameEncoder()
    private var prefaceDone = false
    private var outbound = ByteBuffer()
    private var inReadBurst = false
    private var context: ChannelHandlerContext?
    private var compressor: MessageCompressor?
    private let eventLoop: any EventLoop
    private var keepaliveTimer: Scheduled<Void>?
    private var keepaliveDeadline: Scheduled<Void>?
    private var outstandingPing: UInt64?
    private var lastReceived = NIODeadline.now()
    private var closing = false
    /// Completes when authentication succeeded (or fails with why it did not).
    let ready: EventLoopPromise<Void>
    /// Called once when the connection can take no more calls (closed or draining).
    var onRetire: (() -> Void)?
    /// Completes when the connection is gone: its channel closed, or it never connected.
    let closed: EventLoopPromise<Void>
    /// Set by ``drain()``: a channel that was not yet there when it ran closes as soon as it is.
    private var drainRequested = false
    private var drainTimer: Scheduled<Void>?

    init(
        accessKeyID: String, secret: String, keyCache: SCRAMClientKeyCache, options: ConnectionOptions,
        eventLoop: any EventLoop
    ) {
        self.state = ClientConnectionStateMachine(
            scram: SCRAMClient(accessKeyID: accessKeyID, secret: secret, keyCache: keyCache))
        self.options = options
        self.settings = options.settings(isServer: false)
        self.decoder = FrameDecoder(maxFrameSize: self.settings.maxFrameSize)
        self.eventLoop = eventLoop
        self.ready = eventLoop.makePromise(of: Void.self)
        self.closed = eventLoop.makePromise(of: Void.self)
    }

    /// False once the connection is closing or closed: the manager opens a new one for new calls.
    var acceptsCalls: Bool {
        switch self.state.phase {
        case .handshaking, .ready: !self.closing
        case .draining, .closed: false
        }
    }

    // MARK: Calls

    func startCall(_ call: PendingClientCall) {
        call.connection = self
        self.execute(self.state.startCall(call))
        self.flushIfNeeded()
    }

    func abandon(_ call: PendingClientCall, _ error: RPCError) {
        if let id = self.state.streamID(where: { $0 === call }) {
            self.execute(self.state.abandonCall(streamID: id, error: error))
        } else {
            self.execute(self.state.abandonQueuedCall(where: { $0 === call }, error: error))
        }
        self.flushIfNeeded()
    }

    func ping(_ promise: EventLoopPromise<Duration>) {
        guard let context, self.state.phase == .ready else {
            promise.fail(RPCError(code: .unavailable, message: "not connected"))
            return
        }
        let start = NIODeadline.now()
        let data = UInt64.random(in: 1...UInt64.max)
        self.pingWaiters.append((data, start, promise))
        self.encoder.writePing(data, ack: false, into: &self.outbound)
        self.flushIfNeeded()
        _ = context
    }

    private var pingWaiters: [(UInt64, NIODeadline, EventLoopPromise<Duration>)] = []

    /// Stops new calls, lets the in-flight ones finish (for at most the drain timeout), then closes (GOAWAY
    /// NO_ERROR, last stream 0). A connection not yet authenticated carries no call, so it closes at once: its
    /// GOAWAY could not even leave before TLS's handshake, which a silent server never finishes.
    func drain() {
        guard !self.drainRequested else { return }
        self.drainRequested = true
        let wasReady = self.state.phase == .ready
        let waiting = self.state.beginDrain()
        let error = RPCError(code: .unavailable, message: "the client is closing")
        for call in waiting { call.complete(.failure(error)) }
        self.retire()
        // No channel yet: `handlerAdded` closes it when it comes.
        guard let context else { return }
        guard wasReady else {
            self.closeNow(context)
            return
        }
        self.encoder.writeGoAway(
            GoAway(lastStreamID: 0, code: .noError, message: "client closing"), into: &self.outbound)
        self.flushIfNeeded()
        if self.state.isDrained {
            self.closeAfterFlush()
        } else {
            self.drainTimer = self.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(self.options.drainTimeout)) {
                self.context?.close(promise: nil)
            }
        }
    }

    /// Closes without a word: the connection never became ready, so it carries no call to finish.
    private func closeNow(_ context: ChannelHandlerContext) {
        self.closing = true
        self.keepaliveTimer?.cancel()
        context.close(promise: nil)
    }

    /// The TCP connection could not be made.
    func connectFailed(_ error: any Error) {
        let rpcError = RPCError(code: .unavailable, message: "cannot connect: \(error)")
        for call in self.state.channelClosed(rpcError) { call.complete(.failure(rpcError)) }
        self.ready.fail(rpcError)
        self.retire()
        self.closed.succeed(())
    }

    private func retire() {
        if let onRetire = self.onRetire {
            self.onRetire = nil
            onRetire()
        }
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if self.drainRequested {
            // The client closed while this connection was still being made.
            self.closeNow(context)
            return
        }
        self.outbound = context.channel.allocator.buffer(capacity: 4096)
        if context.channel.isActive { self.sendHandshake() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        self.sendHandshake()
        context.fireChannelActive()
    }

    private var handshakeSent = false

    private func sendHandshake() {
        guard !self.handshakeSent, !self.closing else { return }
        self.handshakeSent = true
        // The TLS handler buffers these until its handshake completes, then sends them in one record:
        // preface, SETTINGS and AUTH_CLIENT_FIRST in one write saves a round trip (WIRE.md §2).
        do {
            let first = try self.state.start()
            self.encoder.writePreface(.client, into: &self.outbound)
            self.encoder.writeSettings(self.settings, into: &self.outbound)
            self.encoder.writeAuthClientFirst(AuthClientFirst(message: first), into: &self.outbound)
            self.flushIfNeeded()
            self.armKeepalive()
        } catch {
            let rpcError = RPCError(code: .unauthenticated, message: error.description)
            self.execute(.close(calls: self.state.channelClosed(rpcError), error: rpcError))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.keepaliveTimer?.cancel()
        self.keepaliveDeadline?.cancel()
        self.drainTimer?.cancel()
        let error = RPCError(code: .unavailable, message: "the connection to the server was lost")
        for call in self.state.channelClosed(error) { call.complete(.failure(error)) }
        for (_, _, promise) in self.pingWaiters { promise.fail(error) }
        self.pingWaiters.removeAll()
        self.ready.fail(error)
        self.retire()
        self.closed.succeed(())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS errors (certificate not trusted, wrong host name) end the connection; say why in the calls.
        let rpcError = RPCError(code: .unavailable, message: "connection failed: \(error)")
        for call in self.state.channelClosed(rpcError) { call.complete(.failure(rpcError)) }
        self.ready.fail(rpcError)
        self.retire()
        context.close(promise: nil)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.inReadBurst = true
        self.lastReceived = .now()
        self.decoder.append(self.unwrapInboundIn(data))
        do throws(WireError) {
            if !self.prefaceDone {
                guard let preface = try self.decoder.decodePreface() else { return }
                self.prefaceDone = true
                self.execute(self.state.prefaceReceived(preface))
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
        self.flushIfNeeded()
        context.fireChannelReadComplete()
    }

    private func handle(_ frame: Frame) {
        switch frame.type {
        case .message:
            var payload = frame.payload
            if frame.flags.contains(.compressed) {
                guard self.options.compression else {
                    self.execute(
                        self.state.messageFailed(
                            streamID: frame.streamID,
                            RPCError(code: .unimplemented, message: "compressed response, but zlib was not announced")
                        )
                    )
                    return
                }
                do throws(WireError) {
                    payload = try self.compressorForConnection().decompress(
                        payload,
                        maxSize: self.settings.maxMessageSize
                    )
                } catch {
                    self.execute(self.state.messageFailed(streamID: frame.streamID, RPCError(error)))
                    return
                }
            } else if payload.readableBytes > self.settings.maxMessageSize {
                self.execute(
                    self.state.messageFailed(
                        streamID: frame.streamID,
                        RPCError(code: .resourceExhausted, message: "response larger than the max message size")
                    )
                )
                return
            }
            self.execute(self.state.messageReceived(streamID: frame.streamID, payload))
        case .callEnd:
            do throws(WireError) {
                let end = try CallEnd(decoding: frame.payload)
                let action = self.state.callEndReceived(streamID: frame.streamID, error: end.error)
                // The request id goes to the call that this CALL_END completes (looked up in the action rather
                // than in the table first: that read copied the whole state machine).
                if !end.requestID.isEmpty, case .completeCall(let call, _, _) = action {
                    call.requestID = end.requestID
                }
                self.execute(action)
            } catch {
                self.execute(self.state.wireErrorReceived(error))
            }
        case .ping:
            guard let data = frame.pingData else { return }
            if frame.flags.contains(.ack) {
                if data == self.outstandingPing {
                    self.outstandingPing = nil
                    self.keepaliveDeadline?.cancel()
                    self.keepaliveDeadline = nil
                }
                if let index = self.pingWaiters.firstIndex(where: { $0.0 == data }) {
                    let (_, start, promise) = self.pingWaiters.remove(at: index)
                    let elapsed = NIODeadline.now() - start
                    promise.succeed(.nanoseconds(elapsed.nanoseconds))
                }
            } else {
                self.encoder.writePing(data, ack: true, into: &self.outbound)
            }
        case .settings:
            if frame.flags.contains(.ack) {
                self.execute(self.state.settingsAckReceived())
                return
            }
            do throws(WireError) {
                let settings = try ConnectionSettings(decoding: frame.payload)
                self.encoder.apply(peerSettings: settings)
                self.execute(self.state.settingsReceived(settings))
            } catch {
                self.execute(self.state.wireErrorReceived(error))
            }
        case .authServerFirst:
            let text = frame.payload.getString(at: frame.payload.readerIndex, length: frame.payload.readableBytes)
            self.execute(self.state.authServerFirstReceived(text ?? ""))
        case .authServerFinal:
            let text = frame.payload.getString(at: frame.payload.readerIndex, length: frame.payload.readableBytes)
            let wasHandshaking = self.state.phase == .handshaking
            self.execute(self.state.authServerFinalReceived(text ?? ""))
            if wasHandshaking, self.state.phase == .ready { self.ready.succeed(()) }
        case .goAway:
            do throws(WireError) {
                let goAway = try GoAway(decoding: frame.payload)
                self.execute(
                    self.state.goAwayReceived(
                        lastStreamID: goAway.lastStreamID,
                        code: goAway.code,
                        message: goAway.message
                    )
                )
                self.retire()
                if self.state.isDrained { self.closeAfterFlush() }
            } catch {
                self.execute(self.state.wireErrorReceived(error))
            }
        default:
            self.execute(self.state.wireErrorReceived(.protocolViolation("\(frame.type) sent to a client")))
        }
    }

    // MARK: Actions

    private func execute(_ action: ClientConnectionStateMachine<PendingClientCall>.Action) {
        switch action {
        case .none:
            break
        case .sendSettingsAck:
            self.encoder.writeSettingsAck(into: &self.outbound)
        case .sendClientFinal(let message):
            self.encoder.writeAuth(.authClientFinal, message: message, into: &self.outbound)
        case .startCalls(let calls):
            self.writeCalls(calls)
        case .startCall(let streamID, let call):
            self.writeCall(call, streamID: streamID)
        case .complete(let results, let next):
            for (call, result) in results { call.complete(result) }
            self.writeCalls(next)
            if self.state.phase == .draining, self.state.isDrained { self.closeAfterFlush() }
        case .completeCall(let call, let result, let next):
            call.complete(result)
            self.writeCalls(next)
            if self.state.phase == .draining, self.state.isDrained { self.closeAfterFlush() }
        case .cancel(let streamID, let call, let error, let next):
            self.encoder.writeCancel(streamID: streamID, into: &self.outbound)
            call.complete(.failure(error))
            self.writeCalls(next)
            if self.state.phase == .draining, self.state.isDrained { self.closeAfterFlush() }
        case .failConnection(let code, let message, let calls, let error):
            self.encoder.writeGoAway(GoAway(lastStreamID: 0, code: code, message: message), into: &self.outbound)
            for call in calls { call.complete(.failure(error)) }
            self.ready.fail(error)
            self.retire()
            self.closeAfterFlush()
        case .close(let calls, let error):
            for call in calls { call.complete(.failure(error)) }
            self.ready.fail(error)
            self.retire()
            self.closeAfterFlush()
        }
    }

    private func writeCalls(_ calls: [(streamID: UInt32, call: PendingClientCall)]) {
        for (streamID, call) in calls { self.writeCall(call, streamID: streamID) }
    }

    private func writeCall(_ call: PendingClientCall, streamID: UInt32) {
        let compressor =
            self.options.compression && self.state.peerSettings.compression.contains(.zlib)
            ? self.compressorForConnection() : nil
        // The server gets what is left of the deadline, not the whole timeout: the time spent
        // connecting or queued is already gone.
        let start = CallStart(
            method: call.method.fullName,
            timeout: call.deadline.map { remaining in
                let left = remaining - NIODeadline.now()
                return .nanoseconds(max(left.nanoseconds, 1000))
            },
            requestID: call.options.requestID ?? "",
            metadata: call.options.metadata
        )
        let mark = self.outbound.writerIndex
        do throws(WireError) {
            try self.encoder.writeCallStart(start, streamID: streamID, into: &self.outbound)
            try self.encoder.writeMessage(
                streamID: streamID,
                endStream: true,
                compressor: compressor,
                into: &self.outbound,
                body: call.encode
            )
        } catch {
            // Nothing of this call reached the buffer and the server never hears of the stream id
            // (WIRE.md allows gaps: ids need only increase), so no CANCEL: fail the call and start
            // whatever was queued behind it.
            self.outbound.moveWriterIndex(to: mark)
            let action = self.state.abandonCall(streamID: streamID, error: RPCError(sending: error))
            if case .cancel(_, let failed, let failure, let next) = action {
                failed.complete(.failure(failure))
                self.writeCalls(next)
            }
        }
    }

    private func compressorForConnection() -> MessageCompressor {
        if let compressor { return compressor }
        let compressor = MessageCompressor(
            threshold: max(self.options.compressionThreshold, self.state.peerSettings.compressionThreshold),
            level: self.options.compressionLevel
        )
        self.compressor = compressor
        return compressor
    }

    // MARK: Keepalive (WIRE.md §8.2)

    private func armKeepalive() {
        let interval = TimeAmount(self.options.keepaliveInterval)
        self.keepaliveTimer = self.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            self.keepaliveTimer = nil
            guard self.state.phase != .closed else { return }
            if self.state.inFlightCount > 0, self.outstandingPing == nil,
                NIODeadline.now() - self.lastReceived >= interval
            {
                let data = UInt64.random(in: 1...UInt64.max)
                self.outstandingPing = data
                self.encoder.writePing(data, ack: false, into: &self.outbound)
                self.flushIfNeeded()
                self.keepaliveDeadline = self.eventLoop.assumeIsolated().scheduleTask(
                    in: TimeAmount(self.options.keepaliveTimeout)
                ) {
                    self.execute(self.state.keepaliveTimedOut())
                }
            }
            self.armKeepalive()
        }
    }

    // MARK: Writing

    private func flushIfNeeded() {
        guard !self.inReadBurst, let context, self.outbound.readableBytes > 0 else { return }
        context.write(self.wrapOutboundOut(self.outbound), promise: nil)
        context.flush()
        self.outbound.clear()
    }

    private func closeAfterFlush() {
        guard !self.closing else { return }
        self.closing = true
        self.keepaliveTimer?.cancel()
        guard let context else { return }
        let bytes = self.outbound
        self.outbound = ByteBuffer()
        context.writeAndFlush(self.wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in
            self.context?.close(promise: nil)
        }
    }
}

/// Owns the client's current connection, on the client's event loop; makes a new one when the current
/// one is gone or draining (reconnect).
final class ClientConnectionManager {
    private let configuration: RPCClientConfiguration
    private let tlsContext: TLSContext
    private let eventLoop: any EventLoop
    private var current: ClientConnectionHandler?
    /// The keys derived from the configuration's secret, so a reconnect skips the PBKDF2 derivation.
    private let keyCache = SCRAMClientKeyCache()
    /// Every connection not yet gone (the current one and those draining), so `close` can wait for them.
    private var open: [ObjectIdentifier: ClientConnectionHandler] = [:]
    private var isClosed = false

    init(configuration: RPCClientConfiguration, tlsContext: TLSContext, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.eventLoop = eventLoop
    }

    func start(_ call: PendingClientCall) {
        guard !self.isClosed else {
            call.complete(.failure(RPCError(code: .unavailable, message: "the client is closed")))
            return
        }
        if let deadline = call.deadline {
            call.timer = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                call.abandon(
                    RPCError(code: .deadlineExceeded, message: "the deadline passed before the server answered"))
            }
        }
        self.connection().startCall(call)
    }

    func connect(_ promise: EventLoopPromise<Void>) {
        guard !self.isClosed else {
            promise.fail(RPCError(code: .unavailable, message: "the client is closed"))
            return
        }
        self.connection().ready.futureResult.cascade(to: promise)
    }

    func ping(_ promise: EventLoopPromise<Duration>) {
        guard let current = self.current, current.acceptsCalls else {
            promise.fail(RPCError(code: .unavailable, message: "not connected"))
            return
        }
        current.ping(promise)
    }

    /// Drains every open connection and completes when all of them are gone.
    func close(_ promise: EventLoopPromise<Void>) {
        self.isClosed = true
        self.current = nil
        let handlers = Array(self.open.values)
        for handler in handlers { handler.drain() }
        EventLoopFuture.andAllComplete(handlers.map(\.closed.futureResult), on: self.eventLoop).cascade(to: promise)
    }

    private func connection() -> ClientConnectionHandler {
        if let current = self.current, current.acceptsCalls { return current }
        let handler = ClientConnectionHandler(
            accessKeyID: self.configuration.accessKeyID,
            secret: self.configuration.secretAccessKey,
            keyCache: self.keyCache,
            options: self.configuration.connection,
            eventLoop: self.eventLoop
        )
        let id = ObjectIdentifier(handler)
        handler.onRetire = { [weak self, weak handler] in
            if let self, self.current === handler { self.current = nil }
        }
        self.current = handler
        self.open[id] = handler
        handler.closed.futureResult.assumeIsolated().whenComplete { [weak self] _ in self?.open[id] = nil }
        let bound = NIOLoopBound(handler, eventLoop: self.eventLoop)
        let tlsContext = self.tlsContext
        let serverName = self.configuration.tls.serverName ?? self.configuration.host
        ClientBootstrap(group: self.eventLoop)
            .connectTimeout(TimeAmount(self.configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        TLSHandler(context: tlsContext, serverName: serverName))
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(host: self.configuration.host, port: self.configuration.port)
            .whenFailure { error in
                bound.value.connectFailed(error)
            }
        return handler
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}

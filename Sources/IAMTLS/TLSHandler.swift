internal import COpenSSL
public import NIOCore

/// TLS for one connection: a NIO duplex handler that drives OpenSSL through two in-memory BIOs.
///
/// Ciphertext from the network (`ByteBuffer`) is written into the read BIO; OpenSSL's output is
/// drained from the write BIO and written down the pipeline. Plaintext flows upward as
/// `ByteBuffer`s and application writes flow down as `ByteBuffer`s, so the handler sits directly
/// above the socket. It fires ``TLSEvent/handshakeCompleted(negotiatedALPN:version:peerCertificateSubject:)``
/// when data may flow and reports every failure as a ``TLSError`` through `errorCaught`, then
/// closes the channel.
///
/// Lifecycle: `idle` (added, channel not active) → `handshaking` (timeout armed) → `active` →
/// `closing` (our close_notify sent, waiting for theirs up to the close timeout) → `closed`.
/// Writes issued before the handshake completes are buffered and sent, in order, right after it.
/// Write coalescing: records produced by one flush (or one inbound burst) go out as one write.
///
/// Memory (issue 12: servers hold thousands of mostly idle connections): a server creates its `SSL` and
/// BIOs only when the peer's first byte arrives, so an accepted connection that never speaks costs no
/// OpenSSL state; the context releases OpenSSL's record buffers while they are empty
/// (`SSL_MODE_RELEASE_BUFFERS`); the BIOs are byte queues that free their storage when drained; and every
/// buffer here is sized to the burst it carries and dropped after it, so an idle connection holds no
/// plaintext, ciphertext or BIO buffer.
public final class TLSHandler: ChannelDuplexHandler {
    /// Ciphertext from the network.
    public typealias InboundIn = ByteBuffer
    /// Plaintext for the application.
    public typealias InboundOut = ByteBuffer
    /// Plaintext from the application.
    public typealias OutboundIn = ByteBuffer
    /// Ciphertext for the network.
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case handshaking
        case active
        case closing
        case closed
    }

    /// The outcome of one OpenSSL call, so SSL_get_error's WANT_READ / WANT_WRITE never leave here.
    private enum Outcome {
        /// The call did everything asked.
        case complete
        /// More bytes from the peer are needed (WANT_READ; WANT_WRITE cannot persist with a
        /// memory BIO, which grows instead).
        case incomplete
        /// The peer's close_notify was read.
        case closedByPeer
        /// A fatal error; the connection is unusable.
        case failed(TLSError)
    }

    /// The least room offered to one SSL_read; the buffer grows past it when a burst holds more.
    private static let minimumReadRoom = 1024
    /// The most bytes one TLS record takes on the wire: a 5-byte header and up to 2^14 + 2048 bytes (TLS 1.2's
    /// limit; TLS 1.3's is 2^14 + 256).
    private static let maximumRecordBytes = 5 + 16_384 + 2_048
    /// The most plaintext one TLS record carries.
    private static let recordSize = 16 * 1024

    private let tlsContext: TLSContext
    private let serverName: String?
    /// Created at the first byte (server) or at the start of the handshake (client); nil before, so a
    /// silent connection holds no OpenSSL state.
    private var ssl: OpaquePointer?
    /// The SSL's byte-queue BIOs (owned by it).
    private var readBIO: OpaquePointer?
    /// At least the ciphertext bytes of a record OpenSSL took in but could not yet decrypt (its rest had not
    /// arrived): `readRecords` sizes its buffer to hold that record's plaintext too.
    private var partialRecordBound = 0
    /// How many times a read's plaintext buffer had to grow (each growth copies what was read so far): none while
    /// the bound above holds.
    package private(set) var readBufferGrowths = 0
    private var writeBIO: OpaquePointer?
    private var state: State = .idle
    /// Application writes not yet encrypted; the first `flushedCount` of them were flushed.
    private var pendingWrites = CircularBuffer<(ByteBuffer, EventLoopPromise<Void>?)>(initialCapacity: 4)
    private var flushedCount = 0
    private var handshakeTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var closePromise: EventLoopPromise<Void>?
    /// Whether this read burst produced plaintext; channelReadComplete is forwarded only then.
    private var deliveredData = false

    /// Creates the handler for one connection. `serverName` (clients) overrides the context's
    /// ``TLSConfiguration/serverName`` for this connection: the name or IP address the server's
    /// certificate must match, also sent as SNI when it is a DNS name.
    public init(context: TLSContext, serverName: String? = nil) throws(TLSError) {
        self.tlsContext = context
        self.serverName = serverName
        if context.configuration.role == .client {
            // A client speaks first, and a bad server name should fail here, where the caller set it.
            try self.makeConnection()
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }  // frees both BIOs too
    }

    /// Creates the SSL and its BIOs if they do not exist yet.
    private func makeConnection() throws(TLSError) {
        guard self.ssl == nil else { return }
        let ssl = try self.tlsContext.makeConnection(serverName: self.serverName)
        var readBIO: OpaquePointer?
        var writeBIO: OpaquePointer?
        guard iam_SSL_attach_memory_bios(ssl, &readBIO, &writeBIO) == 1, let readBIO, let writeBIO else {
            SSL_free(ssl)
            throw TLSError.fromErrorQueue(.invalidConfiguration, "cannot allocate BIOs")
        }
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
    }

    /// Whether this connection's OpenSSL state exists yet (a server makes it at the first byte).
    package var hasOpenSSLState: Bool { self.ssl != nil }

    /// Bytes this handler keeps allocated between bursts in its BIOs (the SSL's own state and
    /// buffers not counted). Tests use it to check that a burst's memory is given back.
    package var retainedBIOBytes: Int { iam_BIO_retained(self.readBIO) + iam_BIO_retained(self.writeBIO) }

    private var configuration: TLSConfiguration { self.tlsContext.configuration }

    // MARK: Channel lifecycle

    /// Starts the handshake at once when added to an already active channel.
    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.startHandshake(context: context)
        }
    }

    /// Cancels timers and fails writes still buffered.
    public func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.state = .closed
        self.failPendingWrites(TLSError(code: .alreadyClosed, message: "TLS handler removed from the pipeline"))
    }

    /// Starts the handshake (clients send their ClientHello now) and arms the handshake timeout.
    public func channelActive(context: ChannelHandlerContext) {
        self.startHandshake(context: context)
        context.fireChannelActive()
    }

    /// Reports a connection that ended without close_notify: mid-handshake as
    /// ``TLSError/Code/handshakeFailed``, afterwards as ``TLSError/Code/uncleanShutdown``.
    public func channelInactive(context: ChannelHandlerContext) {
        let previous = self.state
        self.state = .closed
        self.cancelTimers()
        switch previous {
        case .handshaking:
            let error = TLSError(code: .handshakeFailed, message: "connection closed during the TLS handshake")
            self.failPendingWrites(error)
            context.fireErrorCaught(error)
        case .active:
            let error = TLSError(
                code: .uncleanShutdown,
                message: "connection closed without a TLS close_notify (the data may have been truncated)"
            )
            self.failPendingWrites(error)
            context.fireErrorCaught(error)
        case .closing:
            // We already sent close_notify; a peer that just closes the socket loses nothing of ours.
            self.closePromise?.succeed(())
            self.closePromise = nil
        case .idle, .closed:
            self.failPendingWrites(TLSError(code: .alreadyClosed, message: "connection closed"))
        }
        context.fireChannelInactive()
    }

    // MARK: Inbound

    /// Feeds ciphertext to OpenSSL, advances the handshake, and fires the decrypted plaintext of
    /// the whole burst as one `channelRead`.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        guard self.state != .closed else { return }
        if self.ssl == nil {
            do throws(TLSError) {
                try self.makeConnection()
            } catch {
                self.fail(context: context, error)
                return
            }
        }
        // A byte-queue BIO takes everything (it grows), so this loop only splits >2 GiB buffers.
        while buffer.readableBytes > 0 {
            let written = buffer.withUnsafeReadableBytes { bytes in
                BIO_write(self.readBIO!, bytes.baseAddress, Int32(clamping: bytes.count))
            }
            guard written > 0 else {
                self.fail(context: context, TLSError.fromErrorQueue(.connectionFailed, "BIO_write failed"))
                return
            }
            buffer.moveReaderIndex(forwardBy: Int(written))
        }
        switch self.state {
        case .idle:
            self.startHandshake(context: context)
        case .handshaking:
            self.advanceHandshake(context: context)
        case .active, .closing:
            break
        case .closed:
            return
        }
        if self.state == .active || self.state == .closing {
            self.readRecords(context: context)
        }
    }

    /// Forwards the end of a read burst only if it delivered plaintext. A burst that only advanced
    /// the handshake or held part of a record delivered nothing; with autoRead off nobody above would
    /// ask for more, so the handler asks itself (otherwise the connection would stall).
    public func channelReadComplete(context: ChannelHandlerContext) {
        if self.deliveredData {
            self.deliveredData = false
            context.fireChannelReadComplete()
        } else if self.state != .closed, let options = context.channel.syncOptions,
            (try? options.getOption(.autoRead)) == false
        {
            context.read()
        }
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard self.state == .idle else { return }
        self.state = .handshaking
        // The timeout counts from here for a server too, although it makes its SSL only at the first byte.
        let timeout = self.configuration.handshakeTimeout
        self.handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            guard self.state == .handshaking else { return }
            self.fail(
                context: context,
                TLSError(code: .handshakeTimeout, message: "TLS handshake did not complete within \(timeout)")
            )
        }
        // A server can do nothing before the ClientHello: its SSL is made when bytes arrive.
        if self.ssl != nil {
            self.advanceHandshake(context: context)
        }
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        guard let ssl = self.ssl else { return }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            self.handshakeCompleted(context: context)
            return
        }
        switch self.outcome(of: rc, failing: .handshakeFailed, "TLS handshake failed") {
        case .complete, .incomplete:
            self.writeNetworkOutput(context: context, promise: nil)  // our next flight, if any
        case .closedByPeer:
            self.fail(
                context: context,
                TLSError(code: .handshakeFailed, message: "peer sent close_notify during the TLS handshake")
            )
        case .failed(let error):
            self.fail(context: context, error)
        }
    }

    private func handshakeCompleted(context: ChannelHandlerContext) {
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        self.state = .active

        let ssl = self.ssl!  // the handshake ran on it
        var length: UInt32 = 0
        var alpn: String?
        if let selected = iam_SSL_get0_alpn_selected(ssl, &length), length > 0 {
            alpn = String(decoding: UnsafeBufferPointer(start: selected, count: Int(length)), as: UTF8.self)
        }
        if self.configuration.role == .client, !self.configuration.alpn.isEmpty, alpn == nil {
            self.fail(
                context: context,
                TLSError(
                    code: .alpnMismatch,
                    message: "server selected no ALPN protocol; this client requires one of \(self.configuration.alpn)"
                )
            )
            return
        }
        let version = String(cString: SSL_get_version(ssl))
        let subject = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 1024) { buffer -> String? in
            guard iam_SSL_peer_subject(ssl, buffer.baseAddress, Int32(buffer.count)) == 1 else { return nil }
            return String(cString: buffer.baseAddress!)
        }
        context.fireUserInboundEventTriggered(
            TLSEvent.handshakeCompleted(negotiatedALPN: alpn, version: version, peerCertificateSubject: subject)
        )
        // The final handshake flight (a TLS 1.3 client's Finished) and the writes buffered during
        // the handshake leave together in one write.
        guard self.state == .active else { return }
        self.encryptFlushedWrites(context: context)
    }

    /// Decrypts every complete record in the read BIO into one buffer, then fires it once.
    private func readRecords(context: ChannelHandlerContext) {
        guard let ssl = self.ssl, let readBIO = self.readBIO else { return }
        // Sized to the ciphertext that can be decrypted now, so it is allocated once: what arrived, what OpenSSL
        // decrypted but was not read, and the start of a record it took in an earlier burst (plaintext is never
        // longer than its ciphertext). Handed up whole: the layer above owns it, so nothing is kept here between
        // bursts and an idle connection holds no read buffer.
        let arrived = iam_BIO_pending(readBIO)
        let waiting = arrived + Int(SSL_pending(ssl)) + self.partialRecordBound
        var outcome = Outcome.complete
        // Nothing arrived (the handshake took the whole burst): SSL_read could only say WANT_READ.
        let rounds = waiting == 0 && SSL_has_pending(ssl) == 0 ? 0 : 1_000_000
        var plaintext =
            rounds == 0 ? ByteBuffer() : context.channel.allocator.buffer(capacity: max(waiting, Self.minimumReadRoom))
        // Set when OpenSSL and the BIO hold nothing more.
        var drained = false
        // Each successful SSL_read consumes buffered bytes, so this ends; the count is a backstop.
        for _ in 0..<rounds {
            Self.clearErrorQueue()
            var rc: Int32 = 0
            let capacity = plaintext.capacity
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.minimumReadRoom) { bytes in
                rc = SSL_read(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
                return rc > 0 ? Int(rc) : 0
            }
            if plaintext.capacity != capacity, capacity > 0 { self.readBufferGrowths &+= 1 }
            if rc > 0 {
                // Nothing left in the BIO or inside OpenSSL: the next SSL_read could only say WANT_READ, so
                // skip it (one SSL_read, SSL_get_error and error-queue clear fewer per read burst; the
                // per-wake-up path of a 1 x 1 caller, tools/benchmarks/README.md).
                if iam_BIO_pending(readBIO) == 0, SSL_has_pending(ssl) == 0 {
                    drained = true
                    break
                }
                continue
            }
            outcome = self.outcome(of: rc, failing: .connectionFailed, "TLS read failed")
            break
        }
        // The records completed here took their ciphertext from the earlier partial record and from this burst, at
        // least as many bytes as their plaintext: what OpenSSL may hold of a record not yet complete is at most the
        // rest, and never more than one record (the sum also counts each completed record's overhead, which would
        // add up over bursts that all end inside a record). None when OpenSSL holds nothing (SSL_has_pending counts
        // a partial record too).
        if drained || SSL_has_pending(ssl) == 0 {
            self.partialRecordBound = 0
        } else {
            let consumed = arrived - iam_BIO_pending(readBIO)
            self.partialRecordBound = min(
                max(0, self.partialRecordBound + consumed - plaintext.readableBytes), Self.maximumRecordBytes)
        }
        if plaintext.readableBytes > 0 {
            self.deliveredData = true
            context.fireChannelRead(self.wrapInboundOut(plaintext))
        }
        switch outcome {
        case .complete, .incomplete:
            // Post-handshake messages (a TLS 1.3 KeyUpdate reply) may be waiting to go out.
            if self.state == .active || self.state == .closing {
                self.writeNetworkOutput(context: context, promise: nil)
            }
        case .closedByPeer:
            self.peerSentCloseNotify(context: context)
        case .failed(let error):
            self.fail(context: context, error)
        }
    }

    private func peerSentCloseNotify(context: ChannelHandlerContext) {
        switch self.state {
        case .active:
            // The peer started the close: answer with ours, then close the socket.
            self.state = .closed
            ERR_clear_error()
            _ = SSL_shutdown(self.ssl!)  // active: it exists
            self.writeNetworkOutput(context: context, promise: nil)
            self.failPendingWrites(TLSError(code: .alreadyClosed, message: "peer closed the TLS connection"))
            context.fireUserInboundEventTriggered(TLSEvent.shutdownCompleted)
            context.close(promise: nil)
        case .closing:
            // The answer to our close_notify: the close completes now.
            self.state = .closed
            self.cancelTimers()
            let promise = self.closePromise
            self.closePromise = nil
            context.fireUserInboundEventTriggered(TLSEvent.shutdownCompleted)
            context.close(promise: promise)
        case .idle, .handshaking, .closed:
            break
        }
    }

    // MARK: Outbound

    /// Buffers the write; it is encrypted on the next flush once the handshake has completed.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.state {
        case .closing, .closed:
            promise?.fail(TLSError(code: .alreadyClosed, message: "write after the TLS connection began closing"))
        case .idle, .handshaking, .active:
            self.pendingWrites.append((self.unwrapOutboundIn(data), promise))
        }
    }

    /// Encrypts all writes so far and sends the records as one network write (once active).
    public func flush(context: ChannelHandlerContext) {
        self.flushedCount = self.pendingWrites.count
        if self.state == .active {
            self.encryptFlushedWrites(context: context)
        }
    }

    /// Closing (mode `.all`) once active sends close_notify after the already flushed writes and
    /// waits up to ``TLSConfiguration/closeTimeout`` for the peer's; the promise completes when the
    /// channel is closed. Before the handshake completes the channel closes at once.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else {
            if mode == .output, self.state == .active {
                self.encryptFlushedWrites(context: context)
                self.state = .closing
                ERR_clear_error()
                _ = SSL_shutdown(self.ssl!)  // active: it exists
                self.writeNetworkOutput(context: context, promise: nil)
            }
            context.close(mode: mode, promise: promise)
            return
        }
        switch self.state {
        case .idle, .handshaking:
            self.state = .closed
            self.cancelTimers()
            self.failPendingWrites(TLSError(code: .alreadyClosed, message: "connection closed before the handshake"))
            context.close(mode: mode, promise: promise)
        case .active:
            self.encryptFlushedWrites(context: context)
            guard self.state == .active else {
                context.close(mode: mode, promise: promise)  // encryption failed and closed already
                return
            }
            self.failPendingWrites(
                TLSError(code: .alreadyClosed, message: "connection closed before this write was flushed"))
            self.state = .closing
            self.closePromise = promise
            ERR_clear_error()
            _ = SSL_shutdown(self.ssl!)  // queues our close_notify (active: it exists); 0 = theirs not received yet
            self.writeNetworkOutput(context: context, promise: nil)
            self.closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.configuration.closeTimeout) {
                guard self.state == .closing else { return }
                // The peer never answered; closing anyway is safe, we already said goodbye.
                self.state = .closed
                let promise = self.closePromise
                self.closePromise = nil
                context.close(promise: promise)
            }
        case .closing:
            if let promise {
                if let existing = self.closePromise {
                    existing.futureResult.cascade(to: promise)
                } else {
                    self.closePromise = promise
                }
            }
        case .closed:
            context.close(mode: mode, promise: promise)
        }
    }

    /// Encrypts the flushed writes into the write BIO and sends everything there as one write whose
    /// completion completes all their promises. Small writes are first packed into one staging
    /// buffer of up to a record's worth, so 64 small responses cost one or two TLS records (one
    /// AEAD seal and 22 bytes of framing each) instead of 64.
    private func encryptFlushedWrites(context: ChannelHandlerContext) {
        var combined: EventLoopPromise<Void>?
        // Made only when two or more small writes need packing (a lone write, the common case for a
        // request/response peer, is encrypted from its own storage), sized to them, and not kept.
        var staging: ByteBuffer?
        var failure: TLSError?
        while failure == nil, self.flushedCount > 0, let (buffer, promise) = self.pendingWrites.popFirst() {
            self.flushedCount -= 1
            if let promise {
                // One promise per network write: later ones ride on the first.
                if let combined { combined.futureResult.cascade(to: promise) } else { combined = promise }
            }
            let staged = staging?.readableBytes ?? 0
            if (self.flushedCount == 0 && staged == 0) || buffer.readableBytes >= Self.recordSize {
                // Alone or large: encrypt in place, no copy (after what was staged before it).
                if staged > 0 {
                    failure = self.sslWrite(staging!)
                    staging!.clear()
                }
                failure = failure ?? self.sslWrite(buffer)
            } else {
                if staging == nil {
                    var flushedBytes = buffer.readableBytes
                    for index in self.pendingWrites.indices.prefix(self.flushedCount) {
                        flushedBytes += self.pendingWrites[index].0.readableBytes
                        if flushedBytes >= Self.recordSize { break }
                    }
                    staging = context.channel.allocator.buffer(capacity: min(flushedBytes, Self.recordSize))
                } else if staged + buffer.readableBytes > Self.recordSize {
                    failure = self.sslWrite(staging!)
                    staging!.clear()
                }
                staging!.writeImmutableBuffer(buffer)
            }
        }
        if failure == nil, let staged = staging, staged.readableBytes > 0 {
            failure = self.sslWrite(staged)
        }
        if let failure {
            combined?.fail(failure)
            self.fail(context: context, failure)
            return
        }
        self.writeNetworkOutput(context: context, promise: combined)
    }

    /// Encrypts all of `buffer` into the write BIO; returns the error if OpenSSL refused.
    private func sslWrite(_ buffer: ByteBuffer) -> TLSError? {
        let ssl = self.ssl!  // only called once active
        var remaining = buffer
        while remaining.readableBytes > 0 {
            Self.clearErrorQueue()
            // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write writes all it was given or fails;
            // a byte-queue BIO never pushes back, so it does not fail for lack of room.
            let rc = remaining.withUnsafeReadableBytes { bytes in
                SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, 1 << 30)))
            }
            guard rc > 0 else {
                switch self.outcome(of: rc, failing: .connectionFailed, "TLS write failed") {
                case .failed(let error): return error
                default: return TLSError(code: .connectionFailed, message: "TLS write made no progress")
                }
            }
            remaining.moveReaderIndex(forwardBy: Int(rc))
        }
        return nil
    }

    /// Drains the write BIO into one buffer of exactly that size (written directly into its storage,
    /// owned by NIO once written, so nothing stays here after the burst) and writes and flushes it;
    /// completes `promise` at once when there is nothing to send.
    private func writeNetworkOutput(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        // A server's silent connection can time out or close before its SSL exists: nothing to send.
        guard let writeBIO = self.writeBIO else {
            promise?.succeed(())
            return
        }
        let pending = iam_BIO_pending(writeBIO)
        guard pending > 0 else {
            promise?.succeed(())
            return
        }
        var output = context.channel.allocator.buffer(capacity: pending)
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            let read = BIO_read(writeBIO, bytes.baseAddress, Int32(clamping: pending))
            return read > 0 ? Int(read) : 0
        }
        context.write(self.wrapOutboundOut(output), promise: promise)
        context.flush()
    }

    /// OpenSSL's SSL_get_error needs an empty error queue before each I/O call. Clearing an empty queue
    /// still walks all its slots, so look first: on the data path the queue is almost always empty.
    private static func clearErrorQueue() {
        if ERR_peek_error() != 0 {
            ERR_clear_error()
        }
    }

    // MARK: Failure

    private func outcome(of rc: Int32, failing code: TLSError.Code, _ what: String) -> Outcome {
        let ssl = self.ssl!  // outcomes are of calls on it
        let error = SSL_get_error(ssl, rc)
        switch error {
        case SSL_ERROR_NONE:
            return .complete
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .incomplete
        case SSL_ERROR_ZERO_RETURN:
            return .closedByPeer
        default:
            var verifyResult = 0
            if self.configuration.verifyPeer || self.configuration.requireClientCertificate {
                verifyResult = SSL_get_verify_result(ssl)
            }
            let kind = error == SSL_ERROR_SYSCALL ? " (syscall error)" : ""
            return .failed(TLSError.fromErrorQueue(code, what + kind, verifyResult: verifyResult))
        }
    }

    /// Sends any alert OpenSSL queued, reports `error`, and closes the channel.
    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        guard self.state != .closed else { return }
        self.state = .closed
        self.cancelTimers()
        self.writeNetworkOutput(context: context, promise: nil)
        self.failPendingWrites(error)
        let promise = self.closePromise
        self.closePromise = nil
        context.fireErrorCaught(error)
        context.close(promise: promise)
    }

    private func failPendingWrites(_ error: TLSError) {
        while let (_, promise) = self.pendingWrites.popFirst() {
            promise?.fail(error)
        }
        self.flushedCount = 0
    }

    private func cancelTimers() {
        self.handshakeTimer?.cancel()
        self.handshakeTimer = nil
        self.closeTimer?.cancel()
        self.closeTimer = nil
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}

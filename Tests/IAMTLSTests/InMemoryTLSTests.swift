import IAMTLS
import IAMTestSupport
import NIOCore
import NIOEmbedded
import Testing

/// Exact handshake, data, close and failure sequences between two real OpenSSL endpoints whose
/// bytes are shuttled by hand (no sockets, no threads, virtual time).
@Suite("TLS in memory")
struct InMemoryTLSTests {
    let chain: TestCertificateChain

    init() async throws { self.chain = try await TestCertificateChain.loadShared() }

    @Test(arguments: [TLSConfiguration.ProtocolVersion.tls13, .tls12])
    func handshakeAndDataBothWays(version: TLSConfiguration.ProtocolVersion) throws {
        var server = self.chain.serverConfiguration()
        server.maximumVersion = version
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.handshake()

        let clientView = try #require(pair.clientRecorder.handshake)
        #expect(clientView.version == version.description)
        #expect(clientView.alpn == "iam/1")
        #expect(clientView.subject == "CN=localhost,O=swift-iam test")
        #expect(pair.serverRecorder.handshake?.alpn == "iam/1")
        #expect(pair.serverRecorder.handshake?.subject == nil)  // no client certificate

        let sent = pair.client.writeString("ping from client")
        _ = pair.server.writeString("pong from server")
        try pair.interact()
        #expect(pair.serverRecorder.receivedString == "ping from client")
        #expect(pair.clientRecorder.receivedString == "pong from server")
        try sent.wait()
        #expect(pair.clientRecorder.tlsErrors.isEmpty && pair.serverRecorder.tlsErrors.isEmpty)
    }

    @Test func writesBeforeHandshakeAreBufferedAndDeliveredInOrder() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.activate()
        var futures: [EventLoopFuture<Void>] = []
        var expected = ""
        for index in 0..<200 {
            let line = "message \(index)\n"
            expected += line
            futures.append(pair.client.writeString(line, flush: index % 7 == 0))
        }
        pair.client.flush()
        // Nothing may complete before the handshake: the bytes do not exist yet.
        var completedEarly = 0
        for future in futures { future.assumeIsolated().whenComplete { _ in completedEarly += 1 } }
        #expect(completedEarly == 0)
        try pair.interact()
        #expect(pair.serverRecorder.receivedString == expected)
        for future in futures { try future.wait() }
    }

    @Test func largeWritesBothWays() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        let mebibyte = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
        let clientWrite = pair.client.writeAndFlush(mebibyte)
        let serverWrite = pair.server.writeAndFlush(mebibyte)
        try pair.interact()
        try clientWrite.wait()
        try serverWrite.wait()
        #expect(pair.serverRecorder.received == mebibyte)
        #expect(pair.clientRecorder.received == mebibyte)
    }

    enum Split: String, CaseIterable, Sendable {
        case byteByByte, random, halves
    }

    /// Every handshake message and record arrives cut into pieces: the handler must reassemble.
    @Test(arguments: Split.allCases)
    func dripFedHandshakeAndData(split: Split) throws {
        var generator = SystemRandomNumberGenerator()
        let splitter: (Int) -> Int =
            switch split {
            case .byteByByte: { _ in 1 }
            case .random: { remaining in Int.random(in: 1...max(1, min(remaining, 700)), using: &generator) }
            case .halves: { remaining in max(1, remaining / 2) }
            }
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.activate()
        _ = pair.client.writeString("early data from the client")
        try pair.interact(split: splitter)
        #expect(pair.clientRecorder.handshake?.alpn == "iam/1")
        #expect(pair.serverRecorder.handshake != nil)
        let payload = String(repeating: "0123456789abcdef", count: 3000)  // 48 000 bytes: several records
        _ = pair.server.writeString(payload)
        try pair.interact(split: splitter)
        #expect(pair.serverRecorder.receivedString == "early data from the client")
        #expect(pair.clientRecorder.receivedString == payload)
        #expect(pair.clientRecorder.tlsErrors.isEmpty && pair.serverRecorder.tlsErrors.isEmpty)
    }

    /// A record that arrives in two bursts is decrypted into a buffer sized at once to hold it: the handler counts
    /// the start of the record OpenSSL took in with the first burst (growing the buffer for it copied a batch's
    /// plaintext two or three times).
    @Test func aRecordSplitAcrossBurstsIsReadIntoOneAllocation() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        let plaintext = String(repeating: "0123456789abcdef", count: 1000)  // 16 000 bytes: one record
        _ = pair.client.writeString(plaintext)
        var ciphertext = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        #expect(try pair.client.readOutbound(as: ByteBuffer.self) == nil)
        let total = ciphertext.readableBytes
        let readsBefore = pair.serverRecorder.readCount
        try pair.server.writeInbound(ciphertext.readSlice(length: total / 2)!)
        #expect(pair.serverRecorder.readCount == readsBefore)  // half a record: nothing to decrypt yet
        try pair.server.writeInbound(ciphertext)
        #expect(pair.serverRecorder.readCount == readsBefore + 1)
        #expect(pair.serverRecorder.receivedString == plaintext)
        // Allocated for the whole record's ciphertext (which is longer than its plaintext), not grown.
        let handler = try pair.server.pipeline.syncOperations.handler(type: TLSHandler.self)
        #expect(handler.readBufferGrowths == 0)
    }

    /// Many writes and one flush leave as one network write; a burst of records read in one
    /// `channelRead` reaches the application as one plaintext buffer.
    @Test func writesAndReadsAreCoalesced() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        var promises: [EventLoopFuture<Void>] = []
        for index in 0..<50 {
            promises.append(pair.client.writeString("frame \(index);", flush: false))
        }
        pair.client.flush()
        var writes: [ByteBuffer] = []
        while let buffer = try pair.client.readOutbound(as: ByteBuffer.self) { writes.append(buffer) }
        #expect(writes.count == 1)
        // Packed into one TLS 1.3 record: 5 bytes of header, 1 of content type, 16 of AEAD tag.
        let plaintextLength = (0..<50).map { "frame \($0);".utf8.count }.reduce(0, +)
        #expect(writes.first?.readableBytes == plaintextLength + 22)
        for future in promises { try future.wait() }
        let readsBefore = pair.serverRecorder.readCount
        try pair.server.writeInbound(try #require(writes.first))
        #expect(pair.serverRecorder.readCount == readsBefore + 1)
        #expect(pair.serverRecorder.receivedString == (0..<50).map { "frame \($0);" }.joined())
    }

    /// The handler reuses its ciphertext buffer across flushes; a write the network side still holds
    /// (EmbeddedChannel keeps every write until it is read) must never be overwritten by the next one.
    @Test func writesStillHeldDownstreamAreNotOverwritten() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        let messages = (0..<20).map { "message \($0) " + String(repeating: "x", count: $0 * 37) + ";" }
        for message in messages { _ = pair.client.writeString(message) }
        var writes: [ByteBuffer] = []
        while let buffer = try pair.client.readOutbound(as: ByteBuffer.self) { writes.append(buffer) }
        #expect(writes.count == messages.count)
        for write in writes { try pair.server.writeInbound(write) }
        #expect(pair.serverRecorder.receivedString == messages.joined())
        // Ping-pong, each write read before the next: the reused buffer carries every round intact.
        for round in 0..<50 {
            _ = pair.server.writeString("pong \(round);")
            try pair.interact()
        }
        #expect(pair.clientRecorder.receivedString == (0..<50).map { "pong \($0);" }.joined())
        #expect(pair.clientRecorder.tlsErrors.isEmpty && pair.serverRecorder.tlsErrors.isEmpty)
    }

    /// Records that arrive together are all decrypted in one read, including a close_notify right behind
    /// the data (the read loop stops early only when OpenSSL and the BIO hold nothing more).
    @Test func dataAndCloseNotifyInOneBurst() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        _ = pair.server.writeString("first;")
        _ = pair.server.writeString("second;")
        _ = pair.server.close()
        var burst = ByteBuffer()
        while var buffer = try pair.server.readOutbound(as: ByteBuffer.self) { burst.writeBuffer(&buffer) }
        let readsBefore = pair.clientRecorder.readCount
        try pair.client.writeInbound(burst)
        #expect(pair.clientRecorder.readCount == readsBefore + 1)
        #expect(pair.clientRecorder.receivedString == "first;second;")
        #expect(pair.clientRecorder.events.last == .shutdownCompleted)
        #expect(pair.clientRecorder.tlsErrors.isEmpty)
    }

    @Test func cleanCloseExchangesCloseNotify() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        _ = pair.client.writeString("last words")
        let closed = pair.client.close()
        // Our close_notify is out, the socket stays open until the peer answers.
        #expect(pair.client.isActive)
        var closeCompleted = false
        closed.assumeIsolated().whenComplete { _ in closeCompleted = true }
        try pair.interact()
        #expect(closeCompleted)
        try closed.wait()
        #expect(pair.serverRecorder.receivedString == "last words")
        #expect(pair.serverRecorder.events.last == .shutdownCompleted)
        #expect(pair.clientRecorder.events.last == .shutdownCompleted)
        #expect(!pair.client.isActive && !pair.server.isActive)
        #expect(pair.clientRecorder.tlsErrors.isEmpty && pair.serverRecorder.tlsErrors.isEmpty)
        // Writing after the close is refused with a clear error.
        let late = #expect(throws: TLSError.self) { try pair.client.writeString("too late").wait() }
        #expect(late?.code == .alreadyClosed)
    }

    @Test func outputHalfCloseSendsCloseNotify() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        _ = pair.client.writeString("before half-close")
        pair.client.close(mode: .output, promise: nil)  // EmbeddedChannel may refuse the socket half
        try pair.interact()
        #expect(pair.serverRecorder.receivedString == "before half-close")
        #expect(pair.serverRecorder.events.last == .shutdownCompleted)
        #expect(!pair.server.isActive)
        // (EmbeddedChannel cannot half-close, so what the client sees next is the channel's business.)
        #expect(pair.serverRecorder.tlsErrors.isEmpty && pair.clientRecorder.tlsErrors.isEmpty)
    }

    @Test func closeWithoutAnswerTimesOut() throws {
        var client = self.chain.clientConfiguration()
        client.closeTimeout = .milliseconds(50)
        let pair = try InMemoryPair(client: client, server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        let closed = pair.client.close()
        _ = try InMemoryPair.move(from: pair.client, to: pair.server)  // the server never gets to answer
        _ = try pair.server.readOutbound(as: ByteBuffer.self)
        #expect(pair.client.isActive)
        pair.client.embeddedEventLoop.advanceTime(by: .milliseconds(60))
        try closed.wait()
        #expect(!pair.client.isActive)
        #expect(pair.clientRecorder.tlsErrors.isEmpty)
    }

    @Test func eofWithoutCloseNotifyIsUncleanShutdown() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        _ = pair.server.writeString("partial")
        try pair.interact()
        // The server's TCP connection ends without a close_notify (what a truncation attack looks like).
        pair.client.pipeline.fireChannelInactive()
        #expect(pair.clientRecorder.receivedString == "partial")
        #expect(pair.clientRecorder.tlsErrors.map(\.code) == [.uncleanShutdown])
    }

    /// A flipped bit in a record fails its AEAD tag: the receiver reports it, sends an alert and
    /// closes, and delivers none of the forged plaintext.
    @Test func tamperedRecordIsRejected() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        _ = pair.client.writeString("transfer 100 to alice")
        var record = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        let index = record.readerIndex + record.readableBytes - 20  // inside the ciphertext
        record.setInteger(record.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
        try pair.server.writeInbound(record)
        #expect(pair.serverRecorder.receivedString.isEmpty)
        let error = try #require(pair.serverRecorder.tlsErrors.first)
        #expect(error.code == .connectionFailed)
        #expect(error.message.contains("bad record mac"), "\(error)")
        #expect(!pair.server.isActive)
        // The server's bad_record_mac alert reaches the client, which fails too.
        try pair.interact()
        #expect(pair.clientRecorder.tlsErrors.map(\.code) == [.connectionFailed])
    }

    @Test func errorDescriptionNamesCodeAndOpenSSLReason() {
        let error = TLSError(code: .handshakeTimeout, message: "TLS handshake did not complete within 1 s")
        #expect(error.description == "TLSError.handshakeTimeout: TLS handshake did not complete within 1 s")
        #expect(TLSError.Code.uncleanShutdown.description == "uncleanShutdown")
    }

    @Test func eofDuringHandshakeIsHandshakeFailure() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.activate()
        _ = try InMemoryPair.move(from: pair.client, to: pair.server)
        pair.server.pipeline.fireChannelInactive()
        #expect(pair.serverRecorder.tlsErrors.map(\.code) == [.handshakeFailed])
    }

    @Test func slowClientIsClosedAfterHandshakeTimeout() throws {
        var server = self.chain.serverConfiguration()
        server.handshakeTimeout = .milliseconds(100)
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.activate()
        // Half a ClientHello arrives, then nothing.
        var hello = try #require(try pair.client.readOutbound(as: ByteBuffer.self))
        try pair.server.writeInbound(hello.readSlice(length: hello.readableBytes / 2)!)
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(99))
        #expect(pair.server.isActive)
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(2))
        #expect(!pair.server.isActive)
        #expect(pair.serverRecorder.tlsErrors.map(\.code) == [.handshakeTimeout])
    }

    @Test func timeoutDoesNotFireAfterHandshake() throws {
        var server = self.chain.serverConfiguration()
        server.handshakeTimeout = .milliseconds(100)
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.handshake()
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(pair.server.isActive)
        #expect(pair.serverRecorder.tlsErrors.isEmpty)
    }

    @Test func plaintextToServerFailsHandshake() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try pair.server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(!pair.server.isActive)
        let error = try #require(pair.serverRecorder.tlsErrors.first)
        #expect(error.code == .handshakeFailed)
        #expect(error.message.contains("OpenSSL:"), "\(error)")
    }

    // MARK: Verification failures

    enum Variant: Sendable {
        case otherCA, expired, wrongHost, valid

        func path(in chain: TestCertificateChain) -> String {
            switch self {
            case .otherCA: chain.otherCAServerCertificatePath
            case .expired: chain.expiredServerCertificatePath
            case .wrongHost: chain.wrongHostServerCertificatePath
            case .valid: chain.serverCertificatePath
            }
        }
    }

    struct BadServerCase: Sendable, CustomTestStringConvertible {
        var name: String
        var certificate: Variant
        var serverName: String
        var reason: String
        var testDescription: String { self.name }
    }

    @Test(arguments: [
        BadServerCase(
            name: "unrelated CA", certificate: .otherCA, serverName: "localhost",
            reason: "unable to get local issuer certificate"),
        BadServerCase(
            name: "expired", certificate: .expired, serverName: "localhost",
            reason: "certificate has expired"),
        BadServerCase(
            name: "wrong host name", certificate: .wrongHost, serverName: "localhost",
            reason: "hostname mismatch"),
        BadServerCase(
            name: "name not in SANs", certificate: .valid, serverName: "other.localhost",
            reason: "hostname mismatch"),
        BadServerCase(
            name: "wrong IP address", certificate: .valid, serverName: "127.0.0.2",
            reason: "IP address mismatch"),
    ])
    func clientRejectsBadServerCertificate(_ bad: BadServerCase) throws {
        let server = TLSConfiguration.server(
            certificateChainPath: bad.certificate.path(in: self.chain),
            privateKeyPath: self.chain.serverKeyPath
        )
        let pair = try InMemoryPair(
            client: self.chain.clientConfiguration(serverName: bad.serverName),
            server: server
        )
        defer { pair.finish() }
        try pair.activate()
        try pair.interact()
        #expect(pair.clientRecorder.handshake == nil)
        let error = try #require(pair.clientRecorder.tlsErrors.first)
        #expect(error.code == .certificateVerifyFailed)
        #expect(error.message.contains(bad.reason), "\(error)")
        #expect(!pair.client.isActive)
        // The client's alert tells the server why.
        #expect(pair.serverRecorder.tlsErrors.first?.code == .handshakeFailed)
        #expect(!pair.server.isActive)
    }

    @Test func ipAddressNameIsVerified() throws {
        let pair = try InMemoryPair(
            client: self.chain.clientConfiguration(serverName: "127.0.0.1"),
            server: self.chain.serverConfiguration()
        )
        defer { pair.finish() }
        try pair.handshake()
    }

    @Test func perConnectionServerNameOverridesConfiguration() throws {
        let pair = try InMemoryPair(
            client: self.chain.clientConfiguration(serverName: "not-this-one"),
            server: self.chain.serverConfiguration(),
            serverName: "localhost"
        )
        defer { pair.finish() }
        try pair.handshake()
    }

    // MARK: ALPN

    @Test func alpnServerPicksItsPreferenceAmongClientOffers() throws {
        var server = self.chain.serverConfiguration()
        server.alpn = ["iam/2", "iam/1"]
        var client = self.chain.clientConfiguration()
        client.alpn = ["iam/1", "iam/2"]
        let pair = try InMemoryPair(client: client, server: server)
        defer { pair.finish() }
        try pair.handshake()
        #expect(pair.clientRecorder.handshake?.alpn == "iam/2")
        #expect(pair.serverRecorder.handshake?.alpn == "iam/2")
    }

    @Test func alpnMismatchFailsBothSides() throws {
        var server = self.chain.serverConfiguration()
        server.alpn = ["h2"]
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.activate()
        try pair.interact()
        #expect(pair.serverRecorder.tlsErrors.map(\.code) == [.alpnMismatch])
        #expect(pair.clientRecorder.tlsErrors.map(\.code) == [.alpnMismatch])
        #expect(!pair.client.isActive && !pair.server.isActive)
    }

    @Test func clientRequiresALPNWhenConfigured() throws {
        var server = self.chain.serverConfiguration()
        server.alpn = []
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.activate()
        try pair.interact()
        #expect(pair.clientRecorder.handshake == nil)
        #expect(pair.clientRecorder.tlsErrors.map(\.code) == [.alpnMismatch])
        #expect(!pair.client.isActive)
    }

    @Test func clientWithoutALPNIsAccepted() throws {
        var client = self.chain.clientConfiguration()
        client.alpn = []
        let pair = try InMemoryPair(client: client, server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        #expect(pair.serverRecorder.handshake?.alpn == nil)
    }

    // MARK: Versions

    @Test func tls13OnlyServerRefusesTLS12OnlyClient() throws {
        var server = self.chain.serverConfiguration()
        server.minimumVersion = .tls13
        var client = self.chain.clientConfiguration()
        client.maximumVersion = .tls12
        let pair = try InMemoryPair(client: client, server: server)
        defer { pair.finish() }
        try pair.activate()
        try pair.interact()
        #expect(pair.serverRecorder.tlsErrors.map(\.code) == [.unsupportedProtocolVersion])
        #expect(pair.clientRecorder.handshake == nil && !pair.clientRecorder.tlsErrors.isEmpty)
    }

    // MARK: Mutual TLS

    @Test(arguments: [TLSConfiguration.ProtocolVersion.tls13, .tls12])
    func mutualTLSWithClientCertificate(version: TLSConfiguration.ProtocolVersion) throws {
        var server = self.chain.serverConfiguration(requireClientCertificate: true)
        server.maximumVersion = version
        let pair = try InMemoryPair(
            client: self.chain.clientConfiguration(presentClientCertificate: true),
            server: server
        )
        defer { pair.finish() }
        try pair.handshake()
        #expect(pair.serverRecorder.handshake?.subject == TestCertificateChain.clientSubject)
        _ = pair.client.writeString("authenticated")
        try pair.interact()
        #expect(pair.serverRecorder.receivedString == "authenticated")
    }

    @Test(arguments: [TLSConfiguration.ProtocolVersion.tls13, .tls12])
    func mutualTLSWithoutClientCertificate(version: TLSConfiguration.ProtocolVersion) throws {
        var server = self.chain.serverConfiguration(requireClientCertificate: true)
        server.maximumVersion = version
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.activate()
        _ = pair.client.writeString("should never arrive")
        try pair.interact()
        #expect(pair.serverRecorder.handshake == nil)
        #expect(pair.serverRecorder.receivedString.isEmpty)
        #expect(pair.serverRecorder.tlsErrors.map(\.code) == [.peerCertificateRequired])
        // TLS 1.3 has a certificate_required alert (the client finished its side first and learns
        // of the refusal from it); TLS 1.2 only has a generic handshake_failure alert.
        let clientSees: TLSError.Code = version == .tls13 ? .peerCertificateRequired : .handshakeFailed
        #expect(pair.clientRecorder.tlsErrors.map(\.code) == [clientSees])
        #expect(!pair.client.isActive && !pair.server.isActive)
    }

    @Test func mutualTLSRejectsClientCertificateFromUnrelatedCA() throws {
        var client = self.chain.clientConfiguration()
        client.certificateChainPath = self.chain.otherCAClientCertificatePath
        client.privateKeyPath = self.chain.otherCAClientKeyPath
        let pair = try InMemoryPair(
            client: client, server: self.chain.serverConfiguration(requireClientCertificate: true))
        defer { pair.finish() }
        try pair.activate()
        try pair.interact()
        let error = try #require(pair.serverRecorder.tlsErrors.first)
        #expect(error.code == .certificateVerifyFailed)
        #expect(error.message.contains("unable to get local issuer certificate"), "\(error)")
        #expect(!pair.clientRecorder.tlsErrors.isEmpty)
    }

    // MARK: Configuration errors

    @Test func invalidConfigurationsAreReported() throws {
        var missingFile = self.chain.serverConfiguration()
        missingFile.certificateChainPath = self.chain.directory + "/does-not-exist.pem"
        var wrongKey = self.chain.serverConfiguration()
        wrongKey.privateKeyPath = self.chain.clientKeyPath
        var badALPN = self.chain.serverConfiguration()
        badALPN.alpn = [""]
        var noCertificate = TLSConfiguration(role: .server)
        noCertificate.alpn = ["iam/1"]
        var inverted = self.chain.clientConfiguration()
        inverted.minimumVersion = .tls13
        inverted.maximumVersion = .tls12
        var badCiphers = self.chain.clientConfiguration()
        badCiphers.tls12CipherList = "NOT-A-CIPHER"
        for configuration in [missingFile, wrongKey, badALPN, noCertificate, inverted, badCiphers] {
            #expect {
                _ = try TLSContext(configuration: configuration)
            } throws: { error in
                (error as? TLSError)?.code == .invalidConfiguration
            }
        }
        let wrongKeyError = #expect(throws: TLSError.self) { try TLSContext(configuration: wrongKey) }
        #expect(wrongKeyError?.message.contains("key values mismatch") == true, "\(String(describing: wrongKeyError))")
    }

    @Test func verifyingClientNeedsAServerName() throws {
        let context = try TLSContext(
            configuration: .client(trustRootsPath: self.chain.caCertificatePath, serverName: nil))
        let error = #expect(throws: TLSError.self) { try TLSHandler(context: context) }
        #expect(error?.code == .invalidConfiguration)
        _ = try TLSHandler(context: context, serverName: "localhost")
    }
}

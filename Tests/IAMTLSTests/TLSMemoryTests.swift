import IAMTLS
import IAMTestSupport
import NIOCore
import NIOEmbedded
import Testing

/// What a TLS connection keeps allocated while it waits (issue 12): no OpenSSL state before the peer's
/// first byte, and no buffer sized by an earlier burst.
@Suite("TLS memory")
struct TLSMemoryTests {
    let chain: TestCertificateChain

    init() async throws { self.chain = try await TestCertificateChain.loadShared() }

    @Test("a server makes its OpenSSL state at the client's first byte, not at accept")
    func serverStateIsLazy() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        #expect(!pair.serverHandler.hasOpenSSLState, "an accepted, silent connection holds no SSL")
        #expect(try pair.server.readOutbound(as: ByteBuffer.self) == nil, "a server says nothing first")
        // A client makes its own at once: it speaks first.
        #expect(pair.clientHandler.hasOpenSSLState)
        try pair.client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        try pair.interact()
        #expect(pair.serverHandler.hasOpenSSLState)
        #expect(pair.serverRecorder.handshake?.alpn == "iam/1")
        #expect(pair.clientRecorder.handshake != nil)
    }

    @Test("a silent connection still times out in the handshake, from accept")
    func silentConnectionTimesOut() throws {
        var server = self.chain.serverConfiguration()
        server.handshakeTimeout = .seconds(3)
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: server)
        defer { pair.finish() }
        try pair.server.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(pair.server.isActive)
        pair.server.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!pair.server.isActive)
        #expect(pair.serverRecorder.tlsErrors.map(\.code) == [.handshakeTimeout])
        #expect(!pair.serverHandler.hasOpenSSLState)
    }

    @Test("after 1 MiB each way both ends give the burst's buffers back")
    func buffersShrinkAfterABurst() throws {
        let pair = try InMemoryPair(client: self.chain.clientConfiguration(), server: self.chain.serverConfiguration())
        defer { pair.finish() }
        try pair.handshake()
        // Between bursts, even right after the handshake's flights, the BIOs hold no storage.
        #expect(pair.serverHandler.retainedBIOBytes == 0 && pair.clientHandler.retainedBIOBytes == 0)
        let mebibyte = ByteBuffer(repeating: 0x5A, count: 1 << 20)
        let clientWrite = pair.client.writeAndFlush(mebibyte)
        let serverWrite = pair.server.writeAndFlush(mebibyte)
        try pair.interact()
        try clientWrite.wait()
        try serverWrite.wait()
        #expect(pair.serverRecorder.received.readableBytes == 1 << 20)
        #expect(pair.clientRecorder.received.readableBytes == 1 << 20)
        // The BIOs held the whole megabyte of ciphertext on the way; drained, they hold nothing.
        #expect(pair.serverHandler.retainedBIOBytes == 0, "server keeps \(pair.serverHandler.retainedBIOBytes)")
        #expect(pair.clientHandler.retainedBIOBytes == 0, "client keeps \(pair.clientHandler.retainedBIOBytes)")
        // And the connection still works, small messages both ways.
        _ = pair.client.writeString("after")
        _ = pair.server.writeString("burst")
        try pair.interact()
        #expect(pair.serverRecorder.receivedString.hasSuffix("after"))
        #expect(pair.clientRecorder.receivedString.hasSuffix("burst"))
        #expect(pair.clientRecorder.tlsErrors.isEmpty && pair.serverRecorder.tlsErrors.isEmpty)
        #expect(pair.serverHandler.retainedBIOBytes == 0 && pair.clientHandler.retainedBIOBytes == 0)
    }
}

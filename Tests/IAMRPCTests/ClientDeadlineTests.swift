import IAMRPC
import IAMTestSupport
import IAMWire
import NIOCore
import NIOPosix
import Testing

/// WIRE.md §7.1: the client's deadline covers the whole call — connecting, TLS, authentication and
/// waiting behind MAX_CONCURRENT_CALLS — as in gRPC. Each test tells the client's own deadline from any
/// other ending by the error (code and the client's message), never by elapsed time.
@Suite("Client deadlines cover the whole call")
struct ClientDeadlineTests {
    static let clientsMessage = "the deadline passed before the server answered"

    @Test("a server that accepts TCP but never answers TLS: the call ends at its deadline, not at a connect timeout")
    func deadlineCoversConnecting() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // A listener that takes the connection and never says a word.
        let silent = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let certificates = try await TestCertificateChain.loadShared()
        let client = try RPCClient(
            configuration: RPCClientConfiguration(
                host: "127.0.0.1",
                port: silent.localAddress?.port ?? 0,
                tls: certificates.clientConfiguration(serverName: "127.0.0.1"),
                accessKeyID: TestCredentials.accessKeyID,
                secretAccessKey: TestCredentials.secretAccessKey,
                connectTimeout: .seconds(60)
            ),
            eventLoopGroup: group
        )
        let error = await rpcError {
            _ = try await client.unary(
                TestService.echo, PingRequest("x"), as: PingResponse.self,
                options: CallOptions(timeout: .milliseconds(300)))
        }
        #expect(error?.code == .deadlineExceeded, "\(String(describing: error))")
        #expect(error?.message == Self.clientsMessage)
        await client.close()
        try await silent.close()
        try await group.shutdownGracefully()
    }

    @Test("a call queued behind MAX_CONCURRENT_CALLS ends at its deadline without reaching the server")
    func deadlineCoversQueueing() async throws {
        try await withServer(connection: ConnectionOptions(maxConcurrentCalls: 1)) {
            server in
            let client = try server.makeClient()
            try await client.connect().get()
            let busy = client.unaryFuture(
                TestService.slow, PingRequest("busy"), as: PingResponse.self,
                options: CallOptions(metadata: ["delay-ms": "3000"]))
            let error = await rpcError {
                _ = try await client.unary(
                    TestService.echo, PingRequest("queued"), as: PingResponse.self,
                    options: CallOptions(timeout: .milliseconds(200)))
            }
            // Had the queueing not counted, the call would have run once the slow one ended, and succeeded.
            #expect(error?.code == .deadlineExceeded)
            #expect(error?.message == Self.clientsMessage)
            #expect(error?.requestID == nil, "it never reached the server, so no CALL_END named it")
            #expect(String(buffer: try await busy.get().payload) == "busy")
            await client.close()
        }
    }
}

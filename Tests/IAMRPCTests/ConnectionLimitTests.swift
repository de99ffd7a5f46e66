import IAMRPC
import IAMServer
import IAMTestSupport
import IAMWire
import NIOCore
import Testing

/// Server-wide connection limits and connections that never finish opening (issue 12, issue 9's
/// slowloris), over real TLS on loopback: beyond a limit a connection is accepted and closed at once and
/// counted; a well-behaved client is served within its deadline while many silent connections are open.
@Suite("Connection limits and slow openers")
struct ConnectionLimitTests {
    /// Starts a server with Health and the test service, runs `body`, shuts the server down. The handshake
    /// timeout defaults to 10 minutes so that only the test that is about it sees it fire.
    func withLimitedServer(
        maxConnections: Int = RPCServerConfiguration.defaultMaxConnections,
        maxHandshakingConnections: Int = RPCServerConfiguration.defaultMaxHandshakingConnections,
        handshakeTimeout: Duration = .seconds(600),
        _ body: (LoopbackRPCServer) async throws -> Void
    ) async throws {
        var connection = ConnectionOptions()
        connection.handshakeTimeout = handshakeTimeout
        let server = try await LoopbackRPCServer.start(
            services: [HealthService(), TestService()],
            connection: connection,
            maxConnections: maxConnections,
            maxHandshakingConnections: maxHandshakingConnections
        )
        do {
            try await body(server)
            await server.shutdown()
        } catch {
            await server.shutdown()
            throw error
        }
    }

    /// One echo call on `client`, with a deadline.
    func echo(_ client: RPCClient, _ text: String, deadline: Duration = .seconds(30)) async throws -> String {
        let response = try await client.unary(
            TestService.echo, PingRequest(text), as: PingResponse.self, options: CallOptions(timeout: deadline))
        return String(buffer: response.payload)
    }

    @Test("beyond maxConnections a new connection is accepted and closed at once, and counted")
    func connectionLimit() async throws {
        try await withLimitedServer(maxConnections: 2) { server in
            let client = try server.makeClient()
            #expect(try await self.echo(client, "first") == "first")
            let silent = try await server.rawPlaintextConnection()
            #expect(await eventually(timeout: .seconds(30)) { server.server.statistics.open == 2 })

            let refused = try await server.rawPlaintextConnection()
            let snapshot = try await refused.waitFor(timeout: .seconds(30)) { $0.closed }
            #expect(snapshot.closed, "the third connection was closed by the server")
            #expect(snapshot.received.readableBytes == 0)
            #expect(server.server.statistics.refusedOverConnectionLimit == 1)
            #expect(server.server.statistics.refusedOverHandshakeLimit == 0)
            // The connections inside the limit are untouched.
            #expect(try await self.echo(client, "still served") == "still served")
            #expect(try await silent.snapshot().closed == false)

            // Once one closes there is room again.
            await silent.close()
            #expect(await eventually(timeout: .seconds(30)) { server.server.statistics.open == 1 })
            let other = try server.makeClient()
            #expect(try await self.echo(other, "room again") == "room again")
            await other.close()
            await client.close()
            await refused.close()
        }
    }

    @Test("beyond maxHandshakingConnections an opening connection is refused; authenticated ones do not count")
    func handshakeLimit() async throws {
        try await withLimitedServer(maxHandshakingConnections: 2) { server in
            // Two connections that never send a byte fill the opening slots...
            let silent = [try await server.rawPlaintextConnection(), try await server.rawPlaintextConnection()]
            #expect(await eventually(timeout: .seconds(30)) { server.server.statistics.handshaking == 2 })
            // ...so a third is accepted and closed at once, whatever it would have said.
            let refused = try await server.rawPlaintextConnection()
            #expect(try await refused.waitFor(timeout: .seconds(30)) { $0.closed }.closed)
            #expect(server.server.statistics.refusedOverHandshakeLimit == 1)
            #expect(server.server.statistics.refusedOverConnectionLimit == 0)
            for connection in silent + [refused] { await connection.close() }
            #expect(await eventually(timeout: .seconds(30)) { server.server.statistics.open == 0 })

            // Authenticated connections leave the opening count: three clients, one at a time, all served.
            var clients: [RPCClient] = []
            for index in 0..<3 {
                let client = try server.makeClient()
                #expect(try await self.echo(client, "client \(index)") == "client \(index)")
                clients.append(client)
            }
            #expect(server.server.statistics.open == 3)
            #expect(server.server.statistics.handshaking == 0)
            // And the opening slots are free again for new connections.
            let late = [try await server.rawPlaintextConnection(), try await server.rawPlaintextConnection()]
            #expect(await eventually(timeout: .seconds(30)) { server.server.statistics.handshaking == 2 })
            #expect(try await late[1].snapshot().closed == false)
            #expect(server.server.statistics.refusedOverHandshakeLimit == 1)
            for connection in late { await connection.close() }
            for client in clients { await client.close() }
        }
    }

    @Test("a slowloris: many connections stuck before TLS, before the preface or inside it; a client is still served")
    func slowloris() async throws {
        try await withLimitedServer { server in
            var stuck: [RawConnection] = []
            // Silent TCP: never a ClientHello.
            for _ in 0..<150 { stuck.append(try await server.rawPlaintextConnection()) }
            // TLS done, then nothing: never a preface.
            for _ in 0..<20 { stuck.append(try await server.rawTLSConnection()) }
            // Half a preface, then nothing.
            for _ in 0..<20 { stuck.append(try await server.rawTLSConnection(firstBytes: [0x49, 0x41, 0x4D])) }
            #expect(await eventually(timeout: .seconds(60)) { server.server.statistics.handshaking == 190 })

            let client = try server.makeClient()
            #expect(try await self.echo(client, "served", deadline: .seconds(20)) == "served")
            #expect(try await self.echo(client, "again", deadline: .seconds(20)) == "again")
            #expect(server.server.statistics.refusedOverHandshakeLimit == 0)
            #expect(server.server.statistics.handshaking == 190, "nobody gave up yet: the timeout is 10 minutes")
            await client.close()
            for connection in stuck { await connection.close() }
        }
    }

    @Test("shutting down closes connections still opening at once, not after their handshake timeout")
    func shutdownDoesNotWaitForSilentOpeners() async throws {
        var connection = ConnectionOptions()
        connection.handshakeTimeout = .seconds(600)
        let server = try await LoopbackRPCServer.start(
            services: [HealthService(), TestService()], connection: connection)
        let silent = try await server.rawPlaintextConnection()
        let opening = try await server.rawTLSConnection()
        let client = try server.makeClient()
        #expect(try await echo(client, "before") == "before")
        // Bounded only so that a regression fails rather than hangs: the silent ones would hold it for 600 s.
        // The server alone stops (its event loops keep running), so what closes the raw connections is it.
        let start = ContinuousClock.now
        await server.stop()
        #expect(ContinuousClock.now - start < .seconds(120))
        #expect(try await silent.waitFor(timeout: .seconds(30)) { $0.closed }.closed)
        #expect(try await opening.waitFor(timeout: .seconds(30)) { $0.closed }.closed)
        await client.close()
        await server.shutdown()
    }

    @Test("the handshake timeout closes connections that never finish opening, from TCP accept")
    func handshakeTimeoutClearsSlowOpeners() async throws {
        try await withLimitedServer(handshakeTimeout: .seconds(1)) { server in
            var stuck: [RawConnection] = []
            for _ in 0..<40 { stuck.append(try await server.rawPlaintextConnection()) }
            for _ in 0..<10 { stuck.append(try await server.rawTLSConnection()) }
            // Closed by the server, not by us: each one sees its connection end.
            #expect(await eventually(timeout: .seconds(120)) { server.server.statistics.open == 0 })
            for connection in stuck {
                #expect(try await connection.waitFor(timeout: .seconds(30)) { $0.closed }.closed)
            }
        }
    }
}

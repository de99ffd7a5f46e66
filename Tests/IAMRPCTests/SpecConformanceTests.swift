import IAMRPC
import IAMTestSupport
import IAMWire
import NIOCore
import Testing

/// The points issue 6 found WIRE.md ambiguous about, each pinned to the answer WIRE.md now gives, on the
/// server's real connection handler (EmbeddedChannel: exact bytes, no timing).
@Suite("WIRE.md's answers to issue 6 (server)")
struct SpecConformanceTests {
    static let openingFrames = ServerDeadlineTests.openingFrames

    static func frame(_ type: FrameType, _ payload: [UInt8] = [], flags: FrameFlags = [], stream: UInt32 = 0)
        -> (FrameEncoder, inout ByteBuffer) throws -> Void
    {
        { encoder, out in
            encoder.writeFrame(
                Frame(type: type, flags: flags, streamID: stream, payload: ByteBuffer(bytes: payload)), into: &out)
        }
    }

    /// A server that has the client's first flight (preface, SETTINGS, AUTH_CLIENT_FIRST) and answered it.
    static func authenticating() throws -> (EmbeddedServerConnection, ClientOpening) {
        let server = try EmbeddedServerConnection()
        var client = ClientOpening()
        try server.deliver(client.firstFlight())
        #expect(server.frames.map(\.type) == [.settings, .settings, .authServerFirst])
        return (server, client)
    }

    @Test(
        "§6.3/§9.4: an AUTH frame after authentication gets GOAWAY(UNAUTHENTICATED, highest accepted id), no AUTH_SERVER_FINAL",
        arguments: [FrameType.authClientFirst, .authClientFinal]
    )
    func lateAuthFrame(_ type: FrameType) throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        try server.deliver { encoder, out in
            try ServerDeadlineTests.callStart(5, timeout: nil)(encoder, &out)
            try ServerDeadlineTests.message(5)(encoder, &out)
        }
        let before = server.frames.count
        try server.deliver(Self.frame(type, Array("n,,n=AKIATESTKEY0000000001,r=abcdefghijklmnopqrstuvwx".utf8)))
        let after = server.frames(after: before)
        #expect(after.map(\.type) == [.goAway], "\(after.map(\.type))")
        #expect(after.first?.goAway?.code == .unauthenticated)
        #expect(after.first?.goAway?.lastStreamID == 5)
        #expect(server.isClosed)
    }

    @Test("§6.3: an AUTH frame out of order during authentication: AUTH_SERVER_FINAL e=..., GOAWAY(0, UNAUTHENTICATED)")
    func outOfOrderDuringAuthentication() throws {
        let (server, _) = try Self.authenticating()
        defer { server.close() }
        try server.deliver(
            Self.frame(
                .authClientFirst,
                [13] + Array("SCRAM-SHA-256n,,n=AKIATESTKEY0000000001,r=abcdefghijklmnopqrstuvwx".utf8)))
        let after = server.frames(after: 3)
        #expect(after.map(\.type) == [.authServerFinal, .goAway])
        #expect(after.first.map { String(buffer: $0.payload) }?.hasPrefix("e=") == true)
        #expect(after.last?.goAway?.code == .unauthenticated)
        #expect(after.last?.goAway?.lastStreamID == 0)
        #expect(server.isClosed)
    }

    @Test(
        "§12: a frame in the wrong direction beats 'AUTH frame out of order': GOAWAY PROTOCOL_ERROR, no AUTH_SERVER_FINAL",
        arguments: [FrameType.authServerFirst, .authServerFinal, .callEnd]
    )
    func wrongDirectionWins(_ type: FrameType) throws {
        let (server, _) = try Self.authenticating()
        defer { server.close() }
        try server.deliver(Self.frame(type, [0, 0, 0, 0, 0], stream: type == .callEnd ? 1 : 0))
        let after = server.frames(after: 3)
        #expect(after.map(\.type) == [.goAway], "\(type): \(after.map(\.type))")
        #expect(after.first?.goAway?.code == .protocolError)
        #expect(after.first?.goAway?.lastStreamID == 0)
        #expect(server.isClosed)
    }

    @Test("§13: a mechanism other than SCRAM-SHA-256 gets AUTH_SERVER_FINAL e=... without AUTH_SERVER_FIRST")
    func wrongMechanism() throws {
        let server = try EmbeddedServerConnection()
        defer { server.close() }
        try server.deliver { encoder, out in
            encoder.writePreface(.client, into: &out)
            encoder.writeSettings(ConnectionSettings(maxConcurrentCalls: 0), into: &out)
            encoder.writeAuthClientFirst(AuthClientFirst(mechanism: "PLAIN", message: "n,,n=x,r=y"), into: &out)
        }
        #expect(server.frames.map(\.type) == [.settings, .settings, .authServerFinal, .goAway])
        #expect(server.frames.last?.goAway?.code == .unauthenticated)
        #expect(server.isClosed)
    }

    @Test(
        "§5: the server answers AUTH_CLIENT_FINAL without waiting for the SETTINGS ACK; a late ACK is fine, a second one is not"
    )
    func settingsAckOrder() throws {
        let (server, client) = try Self.authenticating()
        defer { server.close() }
        var opening = client
        var second = try opening.secondFlight(answering: server.frames, ping: nil)
        // Drop the ACK (the first 10 bytes) and send it after AUTH_CLIENT_FINAL.
        let ack = Array(second[..<10])
        second.removeFirst(10)
        try server.deliver(second)
        #expect(server.frames(after: 3).map(\.type) == [.authServerFinal])
        try opening.verify(server.frames)
        try server.deliver(ack)
        #expect(!server.isClosed)
        try server.deliver(ack)
        #expect(server.frames.last?.goAway?.code == .protocolError)
    }

    @Test("§10: the server never compresses below the client's COMPRESSION_THRESHOLD", arguments: [1024, 100_000])
    func clientsThreshold(threshold: Int) throws {
        let server = try EmbeddedServerConnection()
        defer { server.close() }
        var client = ClientOpening()
        client.settings = ConnectionSettings(maxConcurrentCalls: 0, compression: .zlib, compressionThreshold: threshold)
        try server.deliver(client.firstFlight())
        try server.deliver(client.secondFlight(answering: server.frames, ping: nil))
        let payload = String(repeating: "a policy document, compressible. ", count: 250)  // 8 KiB
        try server.deliver { encoder, out in
            try ServerDeadlineTests.callStart(1, timeout: nil)(encoder, &out)
            try ServerDeadlineTests.message(1, payload)(encoder, &out)
        }
        let response = try #require(server.frames.first { $0.type == .message })
        #expect(response.flags.contains(.compressed) == (threshold <= 8192), "threshold \(threshold)")
        #expect(Self.callEnd(server)?.status == .ok)
    }

    static func callEnd(_ server: EmbeddedServerConnection, stream: UInt32 = 1) -> CallEnd? {
        server.frames.last { $0.type == .callEnd && $0.streamID == stream }?.callEnd
    }

    @Test("§7.2: a known field with the wrong wire type (08 01 as a PingRequest) ends the call INVALID_ARGUMENT")
    func wrongWireType() throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        try server.deliver { encoder, out in
            try ServerDeadlineTests.callStart(1, timeout: nil)(encoder, &out)
            try encoder.writeMessage(ByteBuffer(bytes: [0x08, 0x01]), streamID: 1, endStream: true, into: &out)
            // An unknown field of any wire type is still skipped.
            try ServerDeadlineTests.callStart(3, timeout: nil)(encoder, &out)
            try encoder.writeMessage(
                ByteBuffer(bytes: [0x10, 0x01, 0x0A, 0x01, 0x41]), streamID: 3, endStream: true, into: &out)
        }
        #expect(Self.callEnd(server)?.status == .invalidArgument)
        #expect(Self.callEnd(server, stream: 3)?.status == .ok)
        #expect(!server.isClosed)
    }

    /// A CALL_START payload built byte by byte (the encoder refuses what these tests need to send).
    static func rawCallStart(key: String, value: String) -> [UInt8] {
        let method = Array(TestService.echo.fullName.utf8)
        var bytes: [UInt8] = [UInt8(method.count)] + method + [UInt8](repeating: 0, count: 8) + [0, 1]
        bytes += [UInt8(key.utf8.count)] + Array(key.utf8)
        bytes += [UInt8(value.utf8.count >> 8), UInt8(value.utf8.count & 0xFF)] + Array(value.utf8)
        return bytes
    }

    @Test(
        "§7.1: metadata sizes over a limit are RESOURCE_EXHAUSTED, bad characters INVALID_ARGUMENT",
        arguments: [
            (String(repeating: "k", count: 65), "v", StatusCode.resourceExhausted),
            ("k", String(repeating: "v", count: 4097), StatusCode.resourceExhausted),
            ("", "v", StatusCode.invalidArgument),
            ("Bad", "v", StatusCode.invalidArgument),
        ]
    )
    func metadataStatus(key: String, value: String, status: StatusCode) throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        try server.deliver(Self.frame(.callStart, Self.rawCallStart(key: key, value: value), stream: 1))
        #expect(Self.callEnd(server)?.status == status, "key \(key.count) B, value \(value.count) B")
        #expect(!server.isClosed)
    }

    @Test(
        "§9.2: after the client's GOAWAY the server finishes started calls, ignores new ones, sends no GOAWAY, closes")
    func afterClientGoAway() throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        try server.deliver { encoder, out in
            try ServerDeadlineTests.callStart(1, method: TestService.slow, timeout: nil, metadata: ["delay-ms": "100"])(
                encoder, &out)
            try ServerDeadlineTests.message(1, "last")(encoder, &out)
            encoder.writeGoAway(GoAway(lastStreamID: 0, code: .noError, message: "client closing"), into: &out)
            try ServerDeadlineTests.callStart(3, timeout: nil)(encoder, &out)
            try ServerDeadlineTests.message(3)(encoder, &out)
        }
        #expect(server.frames(after: Self.openingFrames).isEmpty)
        #expect(!server.isClosed)
        server.advance(by: .milliseconds(100))
        let after = server.frames(after: Self.openingFrames)
        #expect(after.map(\.type) == [.message, .callEnd], "\(after.map(\.type))")
        #expect(after.allSatisfy { $0.streamID == 1 })
        #expect(server.isClosed)
    }

    @Test("§7.3: CALL_END returns the request id: the client's, or the one the server assigned")
    func requestIDReturned() throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        try server.deliver { encoder, out in
            try encoder.writeCallStart(
                CallStart(method: TestService.echo.fullName, requestID: "req-9"), streamID: 1, into: &out)
            try ServerDeadlineTests.message(1)(encoder, &out)
            try ServerDeadlineTests.callStart(3, timeout: nil)(encoder, &out)
            try ServerDeadlineTests.message(3)(encoder, &out)
            try encoder.writeCallStart(CallStart(method: "/no.such/Method"), streamID: 5, into: &out)
        }
        try server.deliver(Self.frame(.callStart, [0], stream: 7))  // unreadable CALL_START
        #expect(Self.callEnd(server, stream: 1)?.requestID == "req-9")
        let assigned = try #require(Self.callEnd(server, stream: 3)?.requestID)
        #expect(
            assigned.wholeMatch(of: /[0-9a-f]{8}-1-3/) != nil, "server instance, connection 1, stream 3: \(assigned)")
        #expect(Self.callEnd(server, stream: 5)?.status == .unimplemented)
        #expect(Self.callEnd(server, stream: 5)?.requestID.hasSuffix("-1-5") == true)
        #expect(Self.callEnd(server, stream: 7)?.status == .invalidArgument)
        #expect(Self.callEnd(server, stream: 7)?.requestID.hasSuffix("-1-7") == true)
    }
}

/// The client's side of issue 6's answers (state machine, no I/O) and the request id over real TLS.
@Suite("WIRE.md's answers to issue 6 (client)")
struct ClientSpecConformanceTests {
    typealias Machine = ClientConnectionStateMachine<Int>

    static func handshaking() throws -> Machine {
        var machine = Machine(scram: SCRAMClient(accessKeyID: SCRAMTests.keyID, secret: SCRAMTests.secret))
        _ = try machine.start()
        _ = machine.startCall(1)
        #expect(machine.prefaceReceived(Preface.serverReply(to: .client)).isNone)
        return machine
    }

    @Test("§5: the client acknowledges the server's SETTINGS when they arrive, so before AUTH_CLIENT_FINAL")
    func ackBeforeFinal() throws {
        var machine = try Self.handshaking()
        guard case .sendSettingsAck = machine.settingsReceived(ConnectionSettings()) else {
            Issue.record("no ACK")
            return
        }
        // AUTH_SERVER_FIRST cannot come before the server's SETTINGS: that is a protocol error.
        var early = try Self.handshaking()
        guard case .failConnection(.protocolError, _, _, _) = early.authServerFirstReceived("r=x,s=y,i=4096") else {
            Issue.record("AUTH_SERVER_FIRST before SETTINGS accepted")
            return
        }
    }

    @Test("§13: AUTH_SERVER_FINAL e=... instead of AUTH_SERVER_FIRST (wrong mechanism) fails calls UNAUTHENTICATED")
    func wrongMechanismPath() throws {
        var machine = try Self.handshaking()
        _ = machine.settingsReceived(ConnectionSettings())
        guard case .close(let calls, let error) = machine.authServerFinalReceived("e=other-error") else {
            Issue.record("not closed")
            return
        }
        #expect(calls == [1])
        #expect(error.code == .unauthenticated)
        #expect(machine.phase == .closed)
    }

    @Test("§13: an AUTH frame once ready is a protocol error (GOAWAY PROTOCOL_ERROR)")
    func authFrameWhenReady() throws {
        var (machine, _) = try ClientConnectionStateMachineTests.ready()
        guard case .failConnection(.protocolError, _, _, _) = machine.authServerFinalReceived("v=AAAA") else {
            Issue.record("second AUTH_SERVER_FINAL accepted")
            return
        }
    }

    @Test("§7.3: the client returns the request id with the response and with the error")
    func requestIDOverTLS() async throws {
        try await withServer { server in
            let client = try server.makeClient()
            let mine = try await client.unaryResponse(
                TestService.echo, PingRequest("a"), as: PingResponse.self, options: CallOptions(requestID: "req-42"))
            #expect(mine.requestID == "req-42")
            #expect(String(buffer: mine.message.payload) == "a")
            let assigned = try await client.unaryResponse(TestService.echo, PingRequest("b"), as: PingResponse.self)
            #expect(assigned.requestID.split(separator: "-").count == 3, "\(assigned.requestID)")
            let error = await rpcError {
                _ = try await client.unary(
                    TestService.fail, PingRequest("c"), as: PingResponse.self,
                    options: CallOptions(metadata: ["code": "5"], requestID: "req-43"))
            }
            #expect(error?.code == .notFound)
            #expect(error?.requestID == "req-43")
            await client.close()
        }
    }
}

extension ClientConnectionStateMachine.Action {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

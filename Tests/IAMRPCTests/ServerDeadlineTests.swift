import IAMRPC
import IAMTestSupport
import IAMWire
import NIOCore
import Testing

/// WIRE.md §7.1: the server's deadline runs from CALL_START; when it passes the server sends
/// CALL_END(DEADLINE_EXCEEDED), frees the call's slot and ignores a late MESSAGE. A call without a
/// deadline waits at most `requestMessageTimeout` for its MESSAGE. Issue 6 found a CALL_START whose
/// MESSAGE never came holding its slot forever (100 of them wedged the connection).
///
/// The embedded tests move a virtual clock, so they are exact and cannot flake on a loaded machine.
@Suite("Server deadlines")
struct ServerDeadlineTests {
    /// Frames of an authenticated embedded connection's opening (SETTINGS, ACK, AUTH_SERVER_FIRST/FINAL).
    static let openingFrames = 4

    static func callStart(
        _ streamID: UInt32,
        method: MethodDescriptor = TestService.echo,
        timeout: Duration?,
        metadata: Metadata = Metadata()
    ) -> (FrameEncoder, inout ByteBuffer) throws -> Void {
        { encoder, out in
            try encoder.writeCallStart(
                CallStart(method: method.fullName, timeout: timeout, metadata: metadata), streamID: streamID, into: &out
            )
        }
    }

    static func message(_ streamID: UInt32, _ text: String = "x") -> (FrameEncoder, inout ByteBuffer) throws -> Void {
        { encoder, out in
            try encoder.writeMessage(PingRequest(text).encodedBuffer, streamID: streamID, endStream: true, into: &out)
        }
    }

    static func callEnds(_ frames: [Frame]) -> [UInt32: CallEnd] {
        var ends: [UInt32: CallEnd] = [:]
        for frame in frames where frame.type == .callEnd { ends[frame.streamID] = frame.callEnd }
        return ends
    }

    @Test("100 CALL_STARTs whose MESSAGE never comes end DEADLINE_EXCEEDED at their deadline and free their slots")
    func wedgedCallsEndAtTheirDeadline() throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        let ids = (0..<100).map { UInt32(2 * $0 + 1) }
        try server.deliver { encoder, out in
            for id in ids { try Self.callStart(id, timeout: .milliseconds(100))(encoder, &out) }
        }
        #expect(server.frames(after: Self.openingFrames).isEmpty)
        // While they wait, they hold every slot (MAX_CONCURRENT_CALLS 100): the next call is refused.
        try server.deliver { encoder, out in
            try Self.callStart(201, timeout: nil)(encoder, &out)
            try Self.message(201)(encoder, &out)
        }
        #expect(Self.callEnds(server.frames(after: Self.openingFrames))[201]?.status == .resourceExhausted)

        server.advance(by: .milliseconds(99))
        #expect(Self.callEnds(server.frames(after: Self.openingFrames)).count == 1, "nothing ends before 100 ms")
        server.advance(by: .milliseconds(1))
        let ends = Self.callEnds(server.frames(after: Self.openingFrames))
        #expect(ends.count == 101)
        #expect(ids.allSatisfy { ends[$0]?.status == .deadlineExceeded })

        // The slots are free again.
        let before = server.frames.count
        try server.deliver { encoder, out in
            try Self.callStart(203, timeout: nil)(encoder, &out)
            try Self.message(203, "free")(encoder, &out)
        }
        let answer = server.frames(after: before)
        #expect(answer.map(\.type) == [.message, .callEnd])
        #expect(answer.last?.callEnd?.status == .ok)

        // A MESSAGE arriving after its call's deadline is ignored: no frame, no connection error.
        let quiet = server.frames.count
        try server.deliver { encoder, out in
            for id in ids { try Self.message(id)(encoder, &out) }
        }
        #expect(server.frames.count == quiet)
        #expect(!server.isClosed)
    }

    @Test("the deadline runs from CALL_START, not from the MESSAGE, and covers a running handler")
    func deadlineCountsFromCallStart() throws {
        let server = try EmbeddedServerConnection.authenticated()
        defer { server.close() }
        try server.deliver(
            Self.callStart(1, method: TestService.slow, timeout: .milliseconds(100), metadata: ["delay-ms": "3000"]))
        server.advance(by: .milliseconds(60))
        try server.deliver(Self.message(1))
        #expect(server.frames(after: Self.openingFrames).isEmpty, "the handler runs")
        server.advance(by: .milliseconds(39))
        #expect(server.frames(after: Self.openingFrames).isEmpty)
        server.advance(by: .milliseconds(1))
        #expect(server.frames(after: Self.openingFrames).map(\.type) == [.callEnd])
        #expect(Self.callEnds(server.frames)[1]?.status == .deadlineExceeded)
        // The handler's late answer is dropped.
        server.advance(by: .seconds(3))
        #expect(server.frames(after: Self.openingFrames).map(\.type) == [.callEnd])
        #expect(!server.isClosed)
    }

    @Test("without a deadline a call waits at most requestMessageTimeout for its MESSAGE; a longer deadline is capped")
    func requestMessageTimeout() throws {
        let server = try EmbeddedServerConnection.authenticated(
            connection: ConnectionOptions(requestMessageTimeout: .seconds(2)))
        defer { server.close() }
        try server.deliver { encoder, out in
            try Self.callStart(1, timeout: nil)(encoder, &out)
            try Self.callStart(3, timeout: .seconds(60))(encoder, &out)
            try Self.callStart(5, timeout: nil)(encoder, &out)
        }
        server.advance(by: .seconds(1))
        // Call 5's MESSAGE comes in time, in a later read: it is served, and its wait timer stops.
        try server.deliver(Self.message(5, "in time"))
        #expect(Self.callEnds(server.frames)[5]?.status == .ok)
        server.advance(by: .milliseconds(999))
        #expect(Self.callEnds(server.frames).count == 1)
        server.advance(by: .milliseconds(1))
        let ends = Self.callEnds(server.frames)
        #expect(ends.count == 3)
        #expect(ends[1]?.status == .deadlineExceeded)
        #expect(ends[3]?.status == .deadlineExceeded)
        #expect(ends[1]?.message.contains("no request MESSAGE") == true, "\(String(describing: ends[1]))")
        server.advance(by: .seconds(120))
        #expect(Self.callEnds(server.frames).count == 3, "no second CALL_END for any call")
        #expect(!server.isClosed)
    }

    @Test("over loopback TLS: 100 wedged calls with 100 ms deadlines end, and the connection serves again")
    func wedgedCallsOverTLS() async throws {
        try await withServer { server in
            let session = try await RawSession.authenticated(server)
            var out = ByteBuffer()
            for index in 0..<100 {
                try session.encoder.writeCallStart(
                    CallStart(method: TestService.echo.fullName, timeout: .milliseconds(100)),
                    streamID: UInt32(2 * index + 1),
                    into: &out
                )
            }
            try await session.connection.write(out)
            // Event-driven: wait (generously) for the 100 CALL_ENDs rather than asserting how fast they come.
            let snapshot = try await session.connection.waitFor(timeout: .seconds(30)) { snapshot in
                snapshot.closed || RawSession.decode(snapshot.received).filter { $0.type == .callEnd }.count >= 100
            }
            let ends = RawSession.decode(snapshot.received).compactMap(\.callEnd)
            #expect(
                ends.count == 100,
                "\(RawSession.decode(snapshot.received).compactMap(\.goAway)), closed: \(snapshot.closed)")
            #expect(ends.allSatisfy { $0.status == .deadlineExceeded })
            try await session.call(TestService.echo, PingRequest("after"), streamID: 201)
            let end = try await session.waitForFrame { $0.type == .callEnd && $0.streamID == 201 }
            #expect(end.callEnd?.status == .ok)
            await session.connection.close()
        }
    }
}

import IAMRPC
import IAMServer
import IAMTestSupport
import IAMWire
import NIOCore
import NIOPosix
import Testing

/// Heavy calls served on another event loop than their connection's (``CallOffload``), over real TLS on
/// loopback: which calls move, which stay, and that a moved call's answer is the one it would have had. The
/// test's client runs on another group than the server's two loops, so a call that holds one of them does not
/// hold the client too.
@Suite("Call offload")
struct CallOffloadTests {
    /// A request over the 256 bytes from which the test server's calls may move.
    static let heavy = String(repeating: "h", count: 300)

    /// An authenticated raw session on a server with a group of two loops whose Loop, Echo, Stall and Hang
    /// calls of 256 bytes or more may move. The session's connection runs on another group.
    static func withOffloadingSession(_ body: (RawSession) async throws -> Void) async throws {
        let offload = CallOffload(
            methods: [
                TestService.loop.fullName, TestService.echo.fullName, TestService.stall.fullName,
                TestService.hang.fullName,
            ],
            minimumRequestBytes: 256)
        try await withServer(group: MultiThreadedEventLoopGroup(numberOfThreads: 2), offload: offload) { server in
            try await body(
                try await RawSession.authenticated(server, clientGroup: MultiThreadedEventLoopGroup.singleton))
        }
    }

    /// Writes every call in one write (one TLS record, so the server reads them in one burst).
    static func send(
        _ calls: [(stream: UInt32, method: MethodDescriptor, payload: String, metadata: Metadata)],
        on session: RawSession
    ) async throws {
        var out = ByteBuffer()
        for call in calls {
            try session.encodeCall(
                call.method, PingRequest(call.payload), streamID: call.stream, metadata: call.metadata, into: &out)
        }
        try await session.connection.write(out)
    }

    /// The text the call on `stream` answered, after its CALL_END OK.
    static func answer(_ stream: UInt32, on session: RawSession) async throws -> String {
        let end = try await session.waitForFrame { $0.type == .callEnd && $0.streamID == stream }
        #expect(end.callEnd?.status == .ok, "stream \(stream): \(String(describing: end.callEnd))")
        guard
            let message = try await session.frames().frames.first(where: {
                $0.type == .message && $0.streamID == stream
            })
        else {
            throw RawSessionError(message: "no MESSAGE on stream \(stream)")
        }
        var payload = message.payload
        return String(buffer: try PingResponse(decoding: &payload).payload)
    }

    /// The loop id out of a Loop answer (`<loop> <bytes>`).
    static func loop(_ answer: String) -> Substring { answer.split(separator: " ")[0] }

    @Test("a heavy call moves only while its connection has more work, and the rest stay on the connection's loop")
    func heavyCallsMoveOnlyWithWorkBehindThem() async throws {
        try await Self.withOffloadingSession { session in
            let heavy = Self.heavy

            // A heavy call alone: nothing else for the connection's loop to do, so it stays.
            try await Self.send([(1, TestService.loop, heavy, Metadata())], on: session)
            let alone = try await Self.answer(1, on: session)
            try await Self.send([(3, TestService.loop, "small", Metadata())], on: session)
            let home = Self.loop(try await Self.answer(3, on: session))
            #expect(Self.loop(alone) == home)
            #expect(alone.hasSuffix(" 300"))

            // The same heavy call with another behind it in the same read: it moves; the small one stays.
            try await Self.send(
                [(5, TestService.loop, heavy, Metadata()), (7, TestService.loop, "small", Metadata())], on: session)
            let moved = try await Self.answer(5, on: session)
            let stayed = try await Self.answer(7, on: session)
            #expect(Self.loop(moved) != home)
            #expect(moved.hasSuffix(" 300"))
            #expect(Self.loop(stayed) == home)

            // A moved call's answer is the one it would have had.
            try await Self.send(
                [(9, TestService.echo, heavy, Metadata()), (11, TestService.loop, "small", Metadata())], on: session)
            #expect(try await Self.answer(9, on: session) == heavy)
            _ = try await Self.answer(11, on: session)
        }
    }

    @Test("no call moves to a loop that runs a heavy call: then the next heavy call stays")
    func noCallMovesToABusyLoop() async throws {
        try await Self.withOffloadingSession { session in
            let heavy = Self.heavy
            try await Self.send([(1, TestService.loop, "small", Metadata())], on: session)
            let home = Self.loop(try await Self.answer(1, on: session))

            // Stall holds the loop it runs on for 300 ms: moved, it holds the group's only other loop, so the
            // heavy Loop call read right after it must stay (a loop running a heavy call takes no moved one).
            try await Self.send(
                [
                    (3, TestService.stall, heavy, ["delay-ms": "300"]),
                    (5, TestService.loop, heavy, Metadata()),
                    (7, TestService.loop, "small", Metadata()),
                ], on: session)
            let stayed = try await Self.answer(5, on: session)
            #expect(Self.loop(stayed) == home)
            #expect(Self.loop(try await Self.answer(7, on: session)) == home)
            #expect(try await Self.answer(3, on: session) == heavy)

            // Once the stall is done, a heavy call with work behind it moves again.
            try await Self.send(
                [(9, TestService.loop, heavy, Metadata()), (11, TestService.loop, "small", Metadata())], on: session)
            #expect(Self.loop(try await Self.answer(9, on: session)) != home)
            _ = try await Self.answer(11, on: session)
        }
    }

    @Test("a moved call that fails, or whose client cancels it, ends as it would on the connection's loop")
    func movedCallsFailAndCancelAsUsual() async throws {
        try await Self.withOffloadingSession { session in
            let heavy = Self.heavy
            // A request that does not decode fails the moved call alone.
            var out = ByteBuffer()
            try session.encoder.writeCallStart(CallStart(method: TestService.echo.fullName), streamID: 1, into: &out)
            var bad = ByteBuffer()
            bad.writeBytes([0x0A, 0xFF, 0xFF, 0xFF, 0x0F])  // field 1, a length far past the end
            bad.writeRepeatingByte(0, count: 300)
            try session.encoder.writeMessage(bad, streamID: 1, endStream: true, into: &out)
            try session.encodeCall(TestService.loop, PingRequest("small"), streamID: 3, into: &out)
            try await session.connection.write(out)
            let failed = try await session.waitForFrame { $0.type == .callEnd && $0.streamID == 1 }
            #expect(failed.callEnd?.status == .invalidArgument)
            _ = try await Self.answer(3, on: session)

            // Cancelled while its handler waits in a Task it started on the other loop: the handler's own cancel
            // hook runs (the Task sees cancellation), and the call is over without a CALL_END (WIRE.md §8.1).
            let tag = "moved-\(UInt32.random(in: 0...UInt32.max))"
            try await Self.send(
                [
                    (5, TestService.hang, heavy, ["tag": tag]),
                    (7, TestService.loop, "small", Metadata()),
                ], on: session)
            _ = try await Self.answer(7, on: session)
            out.clear()
            session.encoder.writeCancel(streamID: 5, into: &out)
            try await session.connection.write(out)
            #expect(await eventually { TestService.cancelledHangs.withLock { $0.contains(tag) } })
            try await Self.send([(9, TestService.loop, "small", Metadata())], on: session)
            _ = try await Self.answer(9, on: session)
            #expect(!(try await session.frames().frames.contains { $0.streamID == 5 }))
        }
    }
}

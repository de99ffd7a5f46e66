import IAMRPC
import IAMTestSupport
import IAMWire
import NIOCore
import Testing

/// WIRE.md §3: "a frame MAY be split across any number of reads; receivers MUST decode incrementally" —
/// applied to the connection opening, which a client written from the spec alone found the server
/// refusing whenever it did not arrive in one read (issue 6). STYLE.md's drip-feed rule: every cut,
/// byte by byte, random cuts, and over real TLS.
@Suite("The connection opening survives any split")
struct OpeningSplitTests {
    /// Runs the opening with the first flight cut at `firstCuts` and the second at `secondCuts`, and
    /// checks every step: nothing but the expected frames, never a GOAWAY, a working call at the end.
    static func open(firstCuts: [Int], secondCuts: [Int], label: String) throws {
        let server = try EmbeddedServerConnection()
        defer { server.close() }
        var client = ClientOpening()
        let first = try client.firstFlight()
        var start = 0
        for cut in firstCuts + [first.count] where cut > start {
            try server.deliver(first[start..<cut])
            start = cut
            if cut < first.count {
                // A piece of the first flight may at most bring the server's preface + SETTINGS (once the
                // client's preface is whole) and its SETTINGS ACK: never an error, never the auth answer.
                #expect(!server.isClosed, "\(label): closed after \(cut) bytes: \(server.frames.map(\.type))")
                #expect(
                    server.frames.allSatisfy { $0.type == .settings },
                    "\(label): after \(cut) of \(first.count) bytes the server sent \(server.frames.map(\.type))"
                )
            }
        }
        let afterFirst = server.frames
        #expect(
            afterFirst.map(\.type) == [.settings, .settings, .authServerFirst],
            "\(label): \(afterFirst.map(\.type)) \(afterFirst.compactMap(\.goAway))"
        )
        #expect(afterFirst.count > 1 && afterFirst[1].flags.contains(.ack), "\(label): the second is the ACK")

        let second = try client.secondFlight(answering: afterFirst)
        start = 0
        for cut in secondCuts + [second.count] where cut > start {
            try server.deliver(second[start..<cut])
            start = cut
            #expect(!server.isClosed, "\(label): closed after \(cut) bytes of the second flight")
        }
        let all = server.frames
        #expect(
            all.map(\.type) == [.settings, .settings, .authServerFirst, .authServerFinal, .message, .callEnd],
            "\(label): \(all.map(\.type)) \(all.compactMap(\.goAway))"
        )
        try client.verify(all)
        let response = try all.first { $0.type == .message }.map { frame in
            var payload = frame.payload
            return try PingResponse(decoding: &payload)
        }
        #expect(response.map { String(buffer: $0.payload) } == "opened", "\(label)")
        #expect(all.last?.callEnd?.status == .ok, "\(label)")
    }

    /// The byte counts of the two flights (they vary only with the SCRAM nonces' fixed lengths).
    static func flightSizes() throws -> (Int, Int) {
        let server = try EmbeddedServerConnection()
        defer { server.close() }
        var client = ClientOpening()
        let first = try client.firstFlight()
        try server.deliver(first)
        return (first.count, try client.secondFlight(answering: server.frames).count)
    }

    @Test("the first flight (preface, SETTINGS, AUTH_CLIENT_FIRST) cut at every byte boundary")
    func firstFlightEveryCut() throws {
        let (size, _) = try Self.flightSizes()
        for cut in 1..<size {
            try Self.open(firstCuts: [cut], secondCuts: [], label: "first flight cut at \(cut)")
        }
    }

    @Test("the second flight (SETTINGS ACK, AUTH_CLIENT_FINAL, first call) cut at every byte boundary")
    func secondFlightEveryCut() throws {
        let (_, size) = try Self.flightSizes()
        for cut in 1..<size {
            try Self.open(firstCuts: [], secondCuts: [cut], label: "second flight cut at \(cut)")
        }
    }

    @Test("the whole opening byte by byte")
    func byteByByte() throws {
        let (first, second) = try Self.flightSizes()
        try Self.open(firstCuts: Array(1..<first), secondCuts: Array(1..<second), label: "byte by byte")
    }

    @Test("the whole opening in random pieces (seeded, so a failure repeats)")
    func randomPieces() throws {
        let (first, second) = try Self.flightSizes()
        var generator = SplitMix64(seed: 0x1A3_5EED)
        for round in 0..<200 {
            let firstCuts = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                Int.random(in: 1..<first, using: &generator)
            }
            let secondCuts = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                Int.random(in: 1..<second, using: &generator)
            }
            try Self.open(
                firstCuts: Set(firstCuts).sorted(),
                secondCuts: Set(secondCuts).sorted(),
                label: "round \(round): \(firstCuts.sorted()) / \(secondCuts.sorted())"
            )
        }
    }

    @Test("over loopback TLS, every byte of the opening in its own TLS record")
    func byteByByteOverTLS() async throws {
        try await withServer { server in
            let connection = try await server.rawTLSConnection()
            var client = ClientOpening()
            for byte in try client.firstFlight() {
                try await connection.write([byte])
            }
            let session = RawSession(connection: connection)
            _ = try await session.waitForFrame { $0.type == .authServerFirst }
            let afterFirst = try await session.frames()
            #expect(afterFirst.frames.map(\.type) == [.settings, .settings, .authServerFirst])
            for byte in try client.secondFlight(answering: afterFirst.frames) {
                try await connection.write([byte])
            }
            let end = try await session.waitForFrame { $0.type == .callEnd }
            #expect(end.callEnd?.status == .ok)
            let all = try await session.frames()
            try client.verify(all.frames)
            #expect(!all.closed)
            await connection.close()
        }
    }

    @Test("over loopback TLS, a client that waits for the server's preface and SETTINGS before its own")
    func clientWaitsForServerOpening() async throws {
        try await withServer { server in
            let connection = try await server.rawTLSConnection()
            let session = RawSession(connection: connection)
            var client = ClientOpening()
            let first = try client.firstFlight()
            // WIRE.md §2 lets a client send its preface alone and wait for the server's.
            try await connection.write(Array(first[..<Preface.size]))
            _ = try await session.waitForFrame { $0.type == .settings }
            let opening = try await session.frames()
            #expect(opening.frames.map(\.type) == [.settings], "only the server's SETTINGS so far")
            #expect(!opening.closed)
            try await connection.write(Array(first[Preface.size...]))
            _ = try await session.waitForFrame { $0.type == .authServerFirst }
            let afterFirst = try await session.frames()
            #expect(afterFirst.frames.map(\.type) == [.settings, .settings, .authServerFirst])
            try await connection.write(try client.secondFlight(answering: afterFirst.frames))
            let end = try await session.waitForFrame { $0.type == .callEnd }
            #expect(end.callEnd?.status == .ok)
            try client.verify(try await session.frames().frames)
            await connection.close()
        }
    }
}

/// A small seeded generator (SplitMix64), so random splits repeat from run to run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

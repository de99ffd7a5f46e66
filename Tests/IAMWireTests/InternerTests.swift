import NIOCore
import Testing

@testable import IAMWire

/// Decoding reuses the strings and small messages it made before on the thread (``Interner``): the same bytes give
/// the same storage, and never a value other than the bytes spell.
@Suite("Interning while decoding")
struct InternerTests {
    /// Where a string's UTF-8 lives: the same address for two strings means one storage.
    static func storage(_ string: String) -> UnsafeRawPointer? {
        string.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
    }

    static func decoded(_ request: AuthorizeRequest) throws -> AuthorizeRequest {
        var buffer = ByteBuffer()
        request.encode(into: &buffer)
        return try AuthorizeRequest(decoding: &buffer)
    }

    @Test("a string decoded again is the one decoded before; short ones and long ones are made afresh")
    func repeatedStringsShareStorage() throws {
        var request = AuthorizeRequest()
        request.principalARN = "arn:aws:iam::123456789012:user/dept-3/user-000003"
        request.resource = "arn:aws:s3:::company-reports/" + String(repeating: "r", count: 300)
        request.action = "s3:GetObject"
        request.contextEntries = [
            ContextEntry(
                contextKeyName: "aws:RequestedRegion", contextKeyValues: ["us-east-1"], contextKeyType: .string)
        ]
        let first = try Self.decoded(request)
        let second = try Self.decoded(request)
        #expect(first == request)
        #expect(second == request)
        #expect(Self.storage(first.principalARN) == Self.storage(second.principalARN))
        #expect(
            Self.storage(first.contextEntries[0].contextKeyName)
                == Self.storage(second.contextEntries[0].contextKeyName)
        )
        // Over 256 bytes: not held.
        #expect(Self.storage(first.resource) != Self.storage(second.resource))
    }

    @Test("only equal bytes give a held string: thousands of distinct strings, each decoded twice, come back as sent")
    func collisionsNeverMixStrings() throws {
        let names = (0..<3000).map { "arn:aws:iam::123456789012:user/team-\($0 % 7)/user-\($0)" }
        var generator = SystemRandomNumberGenerator()
        for name in (names + names).shuffled(using: &generator) {
            var request = AuthorizeRequest()
            request.principalARN = name
            #expect(try Self.decoded(request).principalARN == name)
        }
        // Lengths on both sides of the limits.
        for length in [15, 16, 17, 255, 256, 257] {
            var request = AuthorizeRequest()
            request.principalARN = String(repeating: "x", count: length - 1) + "é".prefix(1)
            #expect(try Self.decoded(request).principalARN == request.principalARN)
            #expect(try Self.decoded(request).principalARN == request.principalARN)
        }
    }

    @Test("two strings of one set, met in turn, both stay held; a third takes the place of the one met longest ago")
    func aSetHoldsTwo() {
        let interner = Interner()
        let same = [
            "arn:aws:iam::123456789012:user/dept-3/user-000003", "arn:aws:iam::123456789012:user/dept-7/user-000027",
            "arn:aws:iam::123456789012:user/dept-5/user-000245",
        ]
        // Found by search: if the hash changes, this fails rather than the test passing without proving anything.
        let sets = same.map { text in Array(text.utf8).withUnsafeBufferPointer { Interner.set($0) } }
        #expect(Set(sets).count == 1)
        func intern(_ text: String) -> String { Array(text.utf8).withUnsafeBufferPointer { interner.string($0)! } }
        let held = same.prefix(2).map(intern)
        for _ in 0..<3 {
            for index in 0..<2 { #expect(Self.storage(intern(same[index])) == Self.storage(held[index])) }
        }
        // same[1] was met last: same[2] takes same[0]'s place.
        let third = intern(same[2])
        #expect(Self.storage(intern(same[1])) == Self.storage(held[1]))
        #expect(Self.storage(intern(same[2])) == Self.storage(third))
        #expect(Self.storage(intern(same[0])) != Self.storage(held[0]))
    }

    @Test("bytes that are not UTF-8 are refused even when a held string has their length")
    func invalidUTF8IsRefused() {
        let interner = Interner()
        var valid = Array("arn:aws:iam::123456789012:user/a".utf8)
        let held = valid.withUnsafeBufferPointer { interner.string($0) }
        #expect(held == "arn:aws:iam::123456789012:user/a")
        // The same length, one byte changed to one that is not UTF-8.
        valid[10] = 0xFF
        #expect(valid.withUnsafeBufferPointer { interner.string($0) } == nil)
        valid[10] = UInt8(ascii: "9")
        #expect(valid.withUnsafeBufferPointer { interner.string($0) } == "arn:aws:ia9::123456789012:user/a")

        var buffer = ByteBuffer(bytes: [0x0A, 20] + Array("arn:aws:iam::1234567".utf8))
        buffer.setInteger(UInt8(0xC3), at: 12)  // a lead byte with no continuation
        #expect(throws: WireError.self) { try AuthorizeRequest(decoding: &buffer) }
    }

    @Test("a small message without bytes decoded again is the one decoded before")
    func repeatedMessagesShareStorage() throws {
        #expect(ContextEntry.isInternable)
        #expect(Tag.isInternable)
        #expect(!PingRequest.isInternable)  // a bytes field: a slice of the frame
        #expect(AuthorizeRequest.isInternable)  // but this one is over 256 bytes: its parts are held, not it
        var request = AuthorizeRequest()
        request.principalARN = "arn:aws:iam::123456789012:user/alice"
        request.contextEntries = [
            ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["203.0.113.9"], contextKeyType: .ip),
            ContextEntry(
                contextKeyName: "aws:TagKeys", contextKeyValues: ["team", "cost-center"], contextKeyType: .stringList),
            ContextEntry(
                contextKeyName: "big", contextKeyValues: [String(repeating: "v", count: 1100)], contextKeyType: .string),
        ]
        // The entries' run is longer than a run held whole (Interner.maximumRunLength): each entry on its own.
        let first = try Self.decoded(request)
        let second = try Self.decoded(request)
        #expect(first == request)
        #expect(second == request)
        func values(_ entry: ContextEntry) -> UnsafeRawPointer? {
            entry.contextKeyValues.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        for index in 0..<2 {
            #expect(values(first.contextEntries[index]) == values(second.contextEntries[index]), "entry \(index)")
        }
        // Over 256 bytes encoded: made afresh.
        #expect(values(first.contextEntries[2]) != values(second.contextEntries[2]))
    }

    @Test("a repeated field's run of values decoded again is the array decoded before, whole")
    func repeatedRunsShareStorage() throws {
        func storage(_ entries: [ContextEntry]) -> UnsafeRawPointer? {
            entries.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        var request = AuthorizeRequest()
        request.principalARN = "arn:aws:iam::123456789012:user/alice"
        request.contextEntries = [
            ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["203.0.113.9"], contextKeyType: .ip),
            ContextEntry(
                contextKeyName: "aws:RequestedRegion", contextKeyValues: ["us-east-1"], contextKeyType: .string),
        ]
        let first = try Self.decoded(request)
        let second = try Self.decoded(request)
        #expect(first == request)
        #expect(second == request)
        #expect(storage(first.contextEntries) == storage(second.contextEntries))

        // One byte else (the address): another run, decoded as sent, not the held one.
        var other = request
        other.contextEntries[0].contextKeyValues = ["203.0.113.8"]
        let third = try Self.decoded(other)
        #expect(third == other)
        #expect(storage(third.contextEntries) != storage(first.contextEntries))

        // A run of over Interner.maximumRunLength bytes is made afresh each time, and decodes as sent.
        var long = request
        long.contextEntries = (0..<40).map {
            ContextEntry(
                contextKeyName: "k\($0)", contextKeyValues: ["a value of some length"], contextKeyType: .string)
        }
        var encoded = ByteBuffer()
        long.encode(into: &encoded)
        #expect(encoded.readableBytes > Interner.maximumRunLength)
        let longFirst = try Self.decoded(long)
        let longSecond = try Self.decoded(long)
        #expect(longFirst == long)
        #expect(longSecond == long)
        #expect(storage(longFirst.contextEntries) != storage(longSecond.contextEntries))
    }

    @Test(
        "a whole payload of at most 256 bytes decoded again is the message decoded before; a longer one is decoded afresh from held parts"
    )
    func wholePayloadsShareStorage() throws {
        #expect(AuthorizeRequest.isInternable)  // a backend's check repeats whole: principal, action, resource, entries
        #expect(AuthorizeBatchRequest.isInternable)  // but only values of at most 256 bytes are held
        let request = AuthorizeRequest(
            principalARN: "arn:aws:iam::123456789012:user/whole-payload", action: "s3:GetObject",
            resource: "arn:aws:s3:::reports/2026/q3.csv",
            contextEntries: [
                ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["203.0.113.9"], contextKeyType: .ip)
            ])
        let interner = Interner.current  // a synchronous test decodes on this thread, with this interner
        func held<M: WireMessage>(_: M.Type, _ buffer: ByteBuffer) -> M? {
            Array(buffer.readableBytesView).withUnsafeBufferPointer { interner.value(M.self, $0) }
        }
        let encoded = request.encodedBuffer
        #expect(try AuthorizeRequest(decoding: encoded) == request)
        #expect(held(AuthorizeRequest.self, encoded) == request)
        #expect(try AuthorizeRequest(decoding: encoded) == request)  // the held value, equal to what was sent

        // One byte else: decoded as sent, and held beside it.
        var other = request
        other.action = "s3:PutObject"
        #expect(try AuthorizeRequest(decoding: other.encodedBuffer) == other)
        #expect(held(AuthorizeRequest.self, other.encodedBuffer) == other)

        // A batch of such requests is over 256 bytes: not held whole, its requests decoded through the interner.
        let batch = AuthorizeBatchRequest(requests: [request, other, request, other])
        let batchBytes = batch.encodedBuffer
        #expect(batchBytes.readableBytes > Interner.maximumLength)
        #expect(try AuthorizeBatchRequest(decoding: batchBytes) == batch)
        #expect(held(AuthorizeBatchRequest.self, batchBytes) == nil)
    }

    @Test("an answer's matched statements, with their positions, decoded again are the array decoded before")
    func repeatedAnswersShareStorage() throws {
        #expect(EvaluatedStatement.isInternable)  // a single leaf message (its positions) is a small value too
        var statement = EvaluatedStatement()
        statement.sourcePolicyID = "arn:aws:iam::123456789012:policy/ApiGatewayPets"
        statement.sourcePolicyType = .userManaged
        statement.startPosition = Position(line: 4, column: 3)
        statement.endPosition = Position(line: 5, column: 81)
        statement.statementIndex = 1
        var response = AuthorizeResponse()
        response.decision = .allowed
        response.matchedStatements = [statement, statement]
        response.revision = 7
        func decoded() throws -> AuthorizeResponse {
            var buffer = ByteBuffer()
            response.encode(into: &buffer)
            return try AuthorizeResponse(decoding: &buffer)
        }
        let first = try decoded()
        let second = try decoded()
        #expect(first == response)
        #expect(second == response)
        #expect(
            first.matchedStatements.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
                == second.matchedStatements.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) })
    }

    @Test("values of a repeated field with other fields between them decode in order, every time")
    func interleavedValuesDecodeInOrder() throws {
        let entries = [
            ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["203.0.113.9"], contextKeyType: .ip),
            ContextEntry(
                contextKeyName: "aws:RequestedRegion", contextKeyValues: ["us-east-1"], contextKeyType: .string),
            ContextEntry(contextKeyName: "aws:SecureTransport", contextKeyValues: ["true"], contextKeyType: .boolean),
        ]
        func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] { [number << 3 | 2, UInt8(bytes.count)] + bytes }
        func encoded(_ entry: ContextEntry) -> [UInt8] {
            var buffer = ByteBuffer()
            entry.encode(into: &buffer)
            return Array(buffer.readableBytesView)
        }
        // entry 0, the action (field 2), entries 1 and 2: the first run is entry 0 alone.
        let bytes =
            field(4, encoded(entries[0])) + field(2, Array("s3:GetObject".utf8)) + field(4, encoded(entries[1]))
            + field(4, encoded(entries[2]))
        for _ in 0..<3 {
            var buffer = ByteBuffer(bytes: bytes)
            let request = try AuthorizeRequest(decoding: &buffer)
            #expect(request.contextEntries == entries)
            #expect(request.action == "s3:GetObject")
        }
        // The run of entries 1 and 2, met first in another message, is held, and the interleaved one still decodes.
        let run = field(4, encoded(entries[1])) + field(4, encoded(entries[2]))
        var buffer = ByteBuffer(bytes: run)
        #expect(try AuthorizeRequest(decoding: &buffer).contextEntries == Array(entries[1...]))
        buffer = ByteBuffer(bytes: bytes)
        #expect(try AuthorizeRequest(decoding: &buffer).contextEntries == entries)
    }

    @Test("a run whose last value runs past the message is refused every time, not held")
    func malformedRunsAreNotHeld() throws {
        let entry = ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["203.0.113.9"], contextKeyType: .ip)
        var encoded = ByteBuffer()
        entry.encode(into: &encoded)
        let value = Array(encoded.readableBytesView)
        let good: [UInt8] = [0x22, UInt8(value.count)] + value
        // The second value claims one byte more than the message has.
        let bad = good + [0x22, UInt8(value.count + 1)] + value
        for _ in 0..<2 {
            var buffer = ByteBuffer(bytes: bad)
            #expect(throws: WireError.self) { try AuthorizeRequest(decoding: &buffer) }
        }
        // A value inside the run that does not decode: the run is refused, and its first value alone still decodes.
        let broken = good + [0x22, 0x03, 0x0A, 0x05, 0x61]
        for _ in 0..<2 {
            var buffer = ByteBuffer(bytes: broken)
            #expect(throws: WireError.self) { try AuthorizeRequest(decoding: &buffer) }
        }
        var buffer = ByteBuffer(bytes: good)
        #expect(try AuthorizeRequest(decoding: &buffer).contextEntries == [entry])
    }

    @Test("a held message is given only for its own type and bytes")
    func messagesAreHeldByTypeAndBytes() {
        let interner = Interner()
        let tag = Tag(key: "team", value: "eng")
        var encoded = ByteBuffer()
        tag.encode(into: &encoded)
        let bytes = Array(encoded.readableBytesView)
        bytes.withUnsafeBufferPointer { interner.hold(tag, decodedFrom: $0) }
        #expect(bytes.withUnsafeBufferPointer { interner.value(Tag.self, $0) } == tag)
        // The same bytes read as another type: not held (a context entry with this key and no values).
        #expect(bytes.withUnsafeBufferPointer { interner.value(ContextEntry.self, $0) } == nil)
        var other = bytes
        other[other.count - 1] = UInt8(ascii: "x")
        let changed: IAMWire.Tag? = other.withUnsafeBufferPointer { interner.value(Tag.self, $0) }
        #expect(changed == nil)
    }

    @Test("a nested message that does not decode is refused every time, not held")
    func malformedMessagesAreNotHeld() {
        // AuthorizeRequest field 4 (context entry) holding field 1 (key) with a length past its end.
        let bytes: [UInt8] = [0x22, 0x03, 0x0A, 0x05, 0x61]
        for _ in 0..<2 {
            var buffer = ByteBuffer(bytes: bytes)
            #expect(throws: WireError.self) { try AuthorizeRequest(decoding: &buffer) }
        }
    }
}

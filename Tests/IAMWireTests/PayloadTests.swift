import IAMWire
import NIOCore
import Testing

@Suite("Control payloads")
struct PayloadTests {
    static func roundTrip(_ start: CallStart) throws -> CallStart {
        var buffer = ByteBuffer()
        try start.encode(into: &buffer)
        return try CallStart(decoding: buffer)
    }

    @Test("CALL_START round trip with every field at its limit")
    func callStartLimits() throws {
        var metadata = Metadata()
        for index in 0..<64 {
            metadata.add(String(repeating: "v", count: 120), forKey: "key-\(index)")
        }
        let start = CallStart(
            method: "/" + String(repeating: "m", count: 254),
            timeoutMicroseconds: .max,
            requestID: String(repeating: "r", count: 128),
            metadata: metadata
        )
        #expect(try Self.roundTrip(start) == start)
        let big = CallStart(method: "/a/b", metadata: ["k": String(repeating: "~", count: 4096)])
        #expect(try Self.roundTrip(big) == big)
    }

    @Test("the largest control payloads fit in the smallest MAX_FRAME_SIZE, as WIRE.md §11 says")
    func largestPayloads() throws {
        var metadata = Metadata()
        for index in 0..<64 {
            // 64 keys of 64 bytes, values filling the 8,192-byte total exactly.
            let key = String(format64: index)
            metadata.add(String(repeating: "v", count: 8192 / 64 - 64), forKey: key)
        }
        var start = ByteBuffer()
        try CallStart(
            method: "/" + String(repeating: "m", count: 254),
            timeoutMicroseconds: .max,
            requestID: String(repeating: "r", count: 128),
            metadata: metadata
        ).encode(into: &start)
        #expect(start.readableBytes == 8778)
        var end = ByteBuffer()
        CallEnd(
            status: .internalError, message: String(repeating: "x", count: 9000),
            iamErrorCode: String(repeating: "C", count: 64), requestID: String(repeating: "r", count: 200)
        )
        .encode(into: &end)
        #expect(end.readableBytes == 4293)
        var goAway = ByteBuffer()
        GoAway(lastStreamID: 1, code: .noError, message: String(repeating: "x", count: 2000)).encode(into: &goAway)
        #expect(goAway.readableBytes == 1031)
        for size in [start.readableBytes, end.readableBytes, goAway.readableBytes] {
            #expect(size <= ConnectionSettings.maxFrameSizeRange.lowerBound)
        }
    }

    @Test("CALL_START encoding refuses what the decoder would refuse")
    func callStartEncodeBounds() {
        let bad: [(CallStart, WireError.Code)] = [
            (CallStart(method: ""), .malformedFrame),
            (CallStart(method: "/" + String(repeating: "m", count: 255)), .malformedFrame),
            (CallStart(method: "/a b/c"), .malformedFrame),
            (CallStart(method: "/é/c"), .malformedFrame),
            (CallStart(method: "/a/b", requestID: String(repeating: "r", count: 129)), .malformedFrame),
            (CallStart(method: "/a/b", requestID: "tab\t"), .malformedFrame),
            (CallStart(method: "/a/b", metadata: ["": "v"]), .malformedFrame),
            (CallStart(method: "/a/b", metadata: ["key with space": "v"]), .malformedFrame),
            // Sizes are limits (RESOURCE_EXHAUSTED), characters malformation (WIRE.md §7.1).
            (CallStart(method: "/a/b", metadata: [String(repeating: "k", count: 65): "v"]), .limitExceeded),
            (CallStart(method: "/a/b", metadata: ["k": String(repeating: "v", count: 4097)]), .limitExceeded),
            (CallStart(method: "/a/b", metadata: ["k": "new\nline"]), .malformedFrame),
            (CallStart(method: "/a/b", metadata: Metadata((0..<65).map { ("k\($0)", "v") })), .limitExceeded),
            (
                CallStart(
                    method: "/a/b", metadata: Metadata((0..<3).map { ("k\($0)", String(repeating: "v", count: 3000)) })),
                .limitExceeded
            ),
        ]
        for (start, code) in bad {
            var buffer = ByteBuffer()
            #expect("\(start.method) \(start.metadata)") {
                try start.encode(into: &buffer)
            } throws: { ($0 as? WireError)?.code == code }
        }
    }

    @Test("every truncation of a CALL_START payload is refused, never a crash")
    func callStartTruncations() throws {
        var buffer = ByteBuffer()
        try CallStart(
            method: "/iam.v1.IAM/GetUser", timeoutMicroseconds: 5, requestID: "rid", metadata: ["a": "b", "c": ""]
        )
        .encode(into: &buffer)
        let bytes = Array(buffer.readableBytesView)
        for cut in 0..<bytes.count {
            #expect(throws: WireError.self, "cut \(cut)") {
                _ = try CallStart(decoding: ByteBuffer(bytes: bytes[..<cut]))
            }
        }
        // A length byte pointing past the end is refused before reading.
        var lying = ByteBuffer(bytes: [200])
        lying.writeString("/a/b")
        #expect {
            _ = try CallStart(decoding: lying)
        } throws: { ($0 as? WireError)?.code == .malformedFrame }
    }

    @Test("a CALL_START read expecting a method decodes exactly as one read without, whatever it spells")
    func callStartExpectingMethod() throws {
        var buffer = ByteBuffer()
        try CallStart(method: "/iam.v1.IAM/GetUser", timeoutMicroseconds: 5, requestID: "rid", metadata: ["a": "b"])
            .encode(into: &buffer)
        let plain = try CallStart(decoding: buffer)
        let expectations = ["/iam.v1.IAM/GetUser", "/iam.v1.IAM/GetUsers", "/iam.v1.IAM/GetUseR", "/iam.v1.IAM/", ""]
        for expected in expectations {
            #expect(try CallStart(decoding: buffer, expectingMethod: expected) == plain, "expecting \(expected)")
        }
        // Bytes that differ from the expected method are still checked: a space is refused, however close.
        var spaced = ByteBuffer()
        spaced.writeInteger(UInt8(19))
        spaced.writeString("/iam.v1.IAM/Get ser")
        spaced.writeBytes([UInt8](repeating: 0, count: 10))
        #expect {
            _ = try CallStart(decoding: spaced, expectingMethod: "/iam.v1.IAM/GetUser")
        } throws: { ($0 as? WireError)?.code == .malformedFrame }
        // And every truncation is refused as without an expectation.
        let bytes = Array(buffer.readableBytesView)
        for cut in 0..<bytes.count {
            #expect(throws: WireError.self, "cut \(cut)") {
                _ = try CallStart(decoding: ByteBuffer(bytes: bytes[..<cut]), expectingMethod: "/iam.v1.IAM/GetUser")
            }
        }
    }

    @Test("random CALL_START payloads never crash and errors map to INVALID_ARGUMENT or RESOURCE_EXHAUSTED")
    func callStartFuzz() {
        var generator = SeededGenerator(seed: 99)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            do {
                _ = try CallStart(decoding: ByteBuffer(bytes: bytes))
            } catch {
                #expect([StatusCode.invalidArgument, .resourceExhausted].contains(error.code.statusCode))
            }
        }
    }

    @Test("timeouts convert to and from Duration")
    func timeouts() {
        #expect(CallStart(method: "/a/b", timeout: nil).timeoutMicroseconds == 0)
        #expect(CallStart(method: "/a/b", timeout: .seconds(5)).timeoutMicroseconds == 5_000_000)
        #expect(CallStart(method: "/a/b", timeout: .nanoseconds(10)).timeoutMicroseconds == 1)
        #expect(CallStart(method: "/a/b", timeout: .seconds(-1)).timeoutMicroseconds == 1)
        #expect(CallStart(method: "/a/b", timeoutMicroseconds: 1500).timeout == .microseconds(1500))
        #expect(CallStart(method: "/a/b", timeoutMicroseconds: 0).timeout == nil)
        #expect(CallStart(method: "/a/b", timeoutMicroseconds: .max).timeout != nil)
    }

    @Test("CALL_END round trip for every status, with and without IAM codes", arguments: StatusCode.allCases)
    func callEnd(_ status: StatusCode) throws {
        for (code, message) in [(nil, ""), ("NoSuchEntity", "The user with name bob cannot be found. ✓")] {
            let end = CallEnd(status: status, message: message, iamErrorCode: code)
            var buffer = ByteBuffer()
            end.encode(into: &buffer)
            let decoded = try CallEnd(decoding: buffer)
            #expect(decoded == end)
            #expect(decoded.error?.code == (status == .ok ? nil : status))
        }
    }

    @Test("CALL_END truncates what is too long instead of failing, keeping UTF-8 valid")
    func callEndTruncation() throws {
        let end = CallEnd(
            status: .invalidArgument,
            message: String(repeating: "é", count: 3000),
            iamErrorCode: String(repeating: "X", count: 70) + "\u{1}"
        )
        var buffer = ByteBuffer()
        end.encode(into: &buffer)
        let decoded = try CallEnd(decoding: buffer)
        #expect(decoded.message.utf8.count == 4096)
        #expect(decoded.message == String(repeating: "é", count: 2048))
        #expect(decoded.iamErrorCode == String(repeating: "X", count: 64))
        // 2 + 3k bytes: the cut falls inside a 3-byte scalar and backs up to 4094.
        let odd = CallEnd(status: .internalError, message: "ab" + String(repeating: "€", count: 2000))
        var oddBuffer = ByteBuffer()
        odd.encode(into: &oddBuffer)
        #expect(try CallEnd(decoding: oddBuffer).message.utf8.count == 4094)
    }

    @Test("unknown status numbers read as UNKNOWN")
    func unknownStatus() throws {
        let decoded = try CallEnd(decoding: ByteBuffer(bytes: [200, 0, 0, 0, 0]))
        #expect(decoded.status == .unknown)
        #expect(StatusCode(rawValue: 17) == nil)
        #expect(StatusCode(rawValue: 16) == .unauthenticated)
        #expect(StatusCode.allCases.map(\.rawValue) == Array(0...16))
    }

    @Test(
        "CALL_END bounds",
        arguments: [
            [UInt8](), [0], [0, 65] + Array(repeating: 0x41, count: 65) + [0, 0], [0, 1, 0x07, 0, 0],
            [0, 0, 0x10, 0x01],
            [0, 0, 0, 1, 0xFF], [0, 0, 0, 0], [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 129] + Array(repeating: 0x41, count: 129),
            [0, 0, 0, 0, 1, 0x0A],
        ])
    func callEndBounds(_ bytes: [UInt8]) {
        #expect {
            _ = try CallEnd(decoding: ByteBuffer(bytes: bytes))
        } throws: { ($0 as? WireError)?.code == .malformedFrame }
    }

    @Test("GOAWAY round trip, truncation and bounds")
    func goAway() throws {
        for code in (0...9).map(GoAwayCode.init(rawValue:)) {
            let goAway = GoAway(lastStreamID: 0x7FFF_FFFF, code: code, message: "draining ✓")
            var buffer = ByteBuffer()
            goAway.encode(into: &buffer)
            #expect(try GoAway(decoding: buffer) == goAway)
        }
        var long = ByteBuffer()
        GoAway(lastStreamID: 1, code: .noError, message: String(repeating: "x", count: 2000)).encode(into: &long)
        #expect(try GoAway(decoding: long).message.utf8.count == 1024)
        for bad: [UInt8] in [
            [], [0, 0, 0, 1], [0, 0, 0, 1, 0], [0x80, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 1, 0, 0x04, 0x01] + Array(repeating: 0x61, count: 1025),
        ] {
            #expect(throws: WireError.self) { _ = try GoAway(decoding: ByteBuffer(bytes: bad)) }
        }
        #expect(GoAwayCode(rawValue: 0x42).isKnown == false)
        #expect(GoAwayCode.unauthenticated.callStatus == .unauthenticated)
    }

    @Test("SETTINGS: canonical encoding, defaults, repeated and unknown ids, ranges")
    func settings() throws {
        let mine = ConnectionSettings(
            maxFrameSize: 65536, maxConcurrentCalls: 64, compression: .zlib, idleTimeoutSeconds: 0)
        var buffer = ByteBuffer()
        mine.encode(into: &buffer)
        #expect(buffer.readableBytes == 36)
        #expect(try ConnectionSettings(decoding: buffer) == mine)

        var mixed = ByteBuffer()
        ConnectionSettings.encode(
            entries: [(.maxFrameSize, 20000), (SettingID(rawValue: 0x7777), 123), (.maxFrameSize, 30000)],
            into: &mixed
        )
        let applied = try ConnectionSettings(decoding: mixed)
        #expect(applied.maxFrameSize == 30000)
        #expect(applied.maxConcurrentCalls == ConnectionSettings.defaultMaxConcurrentCalls)
        #expect(try ConnectionSettings.entries(in: mixed).count == 3)

        let outOfRange: [(SettingID, UInt32)] = [
            (.maxFrameSize, 16383), (.maxFrameSize, (16 << 20) + 1), (.maxConcurrentCalls, 1_000_001),
            (.maxMessageSize, 1023), (.maxMessageSize, (64 << 20) + 1), (.compression, 2),
            (.compressionThreshold, (16 << 20) + 1), (.idleTimeout, 86401),
        ]
        for (id, value) in outOfRange {
            var bad = ByteBuffer()
            ConnectionSettings.encode(entries: [(id, value)], into: &bad)
            #expect("\(id)=\(value)") {
                _ = try ConnectionSettings(decoding: bad)
            } throws: { ($0 as? WireError)?.code == .malformedFrame }
        }
        var tooMany = ByteBuffer()
        ConnectionSettings.encode(entries: Array(repeating: (SettingID(rawValue: 99), 0), count: 33), into: &tooMany)
        #expect(throws: WireError.self) { _ = try ConnectionSettings(decoding: tooMany) }
        // Out-of-range values are clamped by the encoder, never sent.
        var clamped = ByteBuffer()
        ConnectionSettings(maxFrameSize: 1, maxMessageSize: .max).encode(into: &clamped)
        let back = try ConnectionSettings(decoding: clamped)
        #expect(back.maxFrameSize == 16384)
        #expect(back.maxMessageSize == 64 << 20)
    }

    @Test("AUTH_CLIENT_FIRST bounds")
    func authClientFirst() throws {
        let first = AuthClientFirst(message: "n,,n=AKIAIOSFODNN7EXAMPLE,r=" + String(repeating: "a", count: 24))
        var buffer = ByteBuffer()
        first.encode(into: &buffer)
        #expect(try AuthClientFirst(decoding: buffer) == first)
        let bad: [[UInt8]] = [
            [], [0], [21] + Array(repeating: 0x41, count: 21) + [0x61], [13] + Array("SCRAM-SHA-256".utf8),
            [3, 0x41, 0x20, 0x41, 0x61], [1, 0x41] + Array(repeating: 0x61, count: 1025), [1, 0x41, 0xFF],
        ]
        for bytes in bad {
            #expect {
                _ = try AuthClientFirst(decoding: ByteBuffer(bytes: bytes))
            } throws: { ($0 as? WireError)?.code == .authenticationFailed }
        }
    }

    @Test("Metadata keeps order, repeats and lower-cases keys")
    func metadata() {
        var metadata: Metadata = ["X-Trace": "1", "a": "2"]
        metadata.add("3", forKey: "x-trace")
        #expect(metadata.values(forKey: "X-TRACE") == ["1", "3"])
        #expect(metadata["x-trace"] == "1")
        metadata.replaceOrAdd("9", forKey: "x-trace")
        #expect(metadata.map(\.key) == ["x-trace", "a"])
        #expect(metadata["x-trace"] == "9")
        let removed = metadata.removeAll(forKey: "A")
        #expect(removed)
        #expect(metadata.count == 1)
        let removedMissing = metadata.removeAll(forKey: "missing")
        #expect(!removedMissing)
    }

    @Test("WireError codes map to statuses and GOAWAY codes as WIRE.md says")
    func errorMapping() {
        #expect(WireError.Code.frameTooLarge.goAwayCode == .resourceExhausted)
        #expect(WireError.Code.unknownFrameType.goAwayCode == .protocolError)
        #expect(WireError.Code.authenticationFailed.goAwayCode == .unauthenticated)
        #expect(WireError.Code.messageTooLarge.statusCode == .resourceExhausted)
        #expect(WireError.Code.decompressionFailed.statusCode == .internalError)
        #expect(WireError.Code.malformedFrame.statusCode == .invalidArgument)
        #expect(WireError.malformedMessage("x").code.statusCode == .invalidArgument)
        #expect(RPCError(WireError.messageTooLarge("big")).code == .resourceExhausted)
        #expect(
            "\(RPCError(code: .notFound, message: "m", iamErrorCode: "NoSuchEntity"))" == "NOT_FOUND (NoSuchEntity): m")
    }
}

@Suite("SCRAM texts")
struct SCRAMTests {
    static let nonce = "fyko+d2lbbFgONRv9qkxdawL"

    @Test("messages render and parse back")
    func roundTrip() throws {
        let first = SCRAM.ClientFirst(accessKeyID: "AKIAIOSFODNN7EXAMPLE", nonce: Self.nonce)
        #expect(first.message == "n,,n=AKIAIOSFODNN7EXAMPLE,r=\(Self.nonce)")
        #expect(try SCRAM.ClientFirst(parsing: first.message) == first)
        let server = SCRAM.ServerFirst(nonce: Self.nonce + "SERVERNONCE", salt: Array(0..<16), iterations: 4096)
        #expect(try SCRAM.ServerFirst(parsing: server.message, clientNonce: Self.nonce) == server)
        let final = SCRAM.ClientFinal(nonce: server.nonce, proof: Array(repeating: 0xAB, count: 32))
        #expect(try SCRAM.ClientFinal(parsing: final.message) == final)
        for serverFinal in [SCRAM.ServerFinal.verifier(Array(repeating: 1, count: 32)), .error("invalid-proof")] {
            #expect(try SCRAM.ServerFinal(parsing: serverFinal.message) == serverFinal)
        }
    }

    @Test(
        "malformed or out-of-profile messages are refused",
        arguments: [
            "n=AKIAIOSFODNN7EXAMPLE,r=fyko+d2lbbFgONRv9qkxdawL",
            "y,,n=AKIAIOSFODNN7EXAMPLE,r=fyko+d2lbbFgONRv9qkxdawL",
            "p=tls-unique,,n=AKIAIOSFODNN7EXAMPLE,r=fyko+d2lbbFgONRv9qkxdawL",
            "n,a=admin,n=AKIAIOSFODNN7EXAMPLE,r=fyko+d2lbbFgONRv9qkxdawL",
            "n,,n=akiaiosfodnn7example,r=fyko+d2lbbFgONRv9qkxdawL",
            "n,,n=SHORT,r=fyko+d2lbbFgONRv9qkxdawL",
            "n,,n=AKIAIOSFODNN7EXAMPLE,r=short",
            "n,,r=fyko+d2lbbFgONRv9qkxdawL,n=AKIAIOSFODNN7EXAMPLE",
            "n,,n=AKIAIOSFODNN7EXAMPLE,r=fyko+d2lbbFgONRv9qkxdawL,m=ext",
            "n,,n=AKIAIOSFODNN7EXAMPLE",
        ])
    func badClientFirst(_ text: String) {
        #expect(throws: WireError.self) { _ = try SCRAM.ClientFirst(parsing: text) }
    }

    @Test(
        "the client's limits on server-first",
        arguments: [
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=4095",
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=1000001",
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=99999999999999999999",
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXC,i=4096",
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf9!,i=4096",
            "r=OTHERNONCEOTHERNONCEOTHER,s=QSXCR+Q6sek8bf92,i=4096",
            "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
            "r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=+4096",
            "m=x,r=fyko+d2lbbFgONRv9qkxdawLabc,s=QSXCR+Q6sek8bf92,i=4096",
        ])
    func badServerFirst(_ text: String) {
        #expect(throws: WireError.self) { _ = try SCRAM.ServerFirst(parsing: text, clientNonce: Self.nonce) }
    }

    @Test("client-final and server-final are strict")
    func finals() {
        let nonce = Self.nonce + "SERVER"
        let proof = SCRAM.base64(Array(repeating: UInt8(7), count: 32))
        for bad in [
            "c=eSws,r=\(nonce),p=\(proof)",  // "y,," channel binding flag
            "c=biws,r=\(nonce)",
            "c=biws,r=\(nonce),p=\(SCRAM.base64(Array(repeating: UInt8(7), count: 31)))",
            "c=biws,p=\(proof),r=\(nonce)",
            "c=biws,r=short,p=\(proof)",
            "c=biws,r=\(nonce),p=\(proof),x=1",
        ] {
            #expect(throws: WireError.self, "\(bad)") { _ = try SCRAM.ClientFinal(parsing: bad) }
        }
        for bad in ["v=", "v=AAAA", "e=", "e=bad,value", "x=1", "v=\(proof),e=x"] {
            #expect(throws: WireError.self, "\(bad)") { _ = try SCRAM.ServerFinal(parsing: bad) }
        }
    }

    @Test("AUTH text payloads are 1...1024 bytes of UTF-8")
    func authTextBounds() throws {
        #expect(try SCRAM.readMessage(from: ByteBuffer(repeating: 0x61, count: 1024)).utf8.count == 1024)
        for bad in [ByteBuffer(), ByteBuffer(repeating: 0x61, count: 1025), ByteBuffer(bytes: [0x61, 0xC0, 0x80])] {
            #expect {
                _ = try SCRAM.readMessage(from: bad)
            } throws: { ($0 as? WireError)?.code == .authenticationFailed }
        }
    }

    @Test("base64 matches RFC 4648 test vectors and refuses non-canonical input")
    func base64() {
        let vectors = [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(SCRAM.base64(Array(plain.utf8)) == encoded)
            #expect(SCRAM.base64Decode(encoded) == Array(plain.utf8))
        }
        for bad in ["Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9", "=Zm9"] {
            #expect(SCRAM.base64Decode(bad) == nil, "\(bad)")
        }
        var generator = SeededGenerator(seed: 5)
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(SCRAM.base64Decode(SCRAM.base64(bytes)) == bytes)
        }
    }
}

extension String {
    /// A 64-byte metadata key unique per index.
    fileprivate init(format64 index: Int) {
        let digits = String(index)
        self = "k" + String(repeating: "-", count: 63 - digits.count) + digits
    }
}

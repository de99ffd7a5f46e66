import Foundation
import IAMTestSupport
import IAMWire
import NIOCore
import Testing

// Proves that the messages iam-codegen writes speak real protobuf: the bytes they produce are read by
// the reference implementation (`protoc --decode`, Debian's protobuf-compiler) as the expected text,
// and the bytes protoc produces from that text (`protoc --encode`) decode in Swift to the expected
// values. The probe IDL (tools/codegen/Fixtures/probe.proto, rendered into Generated/ProbeMessages.swift)
// covers every scalar type, packed and unpacked repeated fields, maps, optional presence, nested and
// enum types and multi-byte tags; Protocol/iam.proto's own messages are checked too. protoc is run as
// a real process; when it is missing these tests fail (they never skip).

/// Runs the real protoc.
fileprivate enum Protoc {
    static let root: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // IAMWireTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func executable() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("protoc")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failure(
            description:
                "protoc not found on PATH: install Debian's protobuf-compiler (apt-get install protobuf-compiler); "
                + "the protobuf compatibility tests need the real protoc and do not skip"
        )
    }

    static func run(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        // Bounded: protoc answers in milliseconds.
        let output = try SpawnedProcess.run(
            try self.executable().path, ["--proto_path=\(self.root.path)"] + arguments, stdin: input,
            workingDirectory: self.root.path, timeout: 60)
        guard output.status == 0 else {
            throw Failure(
                description: "protoc \(arguments.joined(separator: " ")) exited with \(output.status): "
                    + output.errorText
            )
        }
        return output.stdout
    }

    static func decode(_ type: String, in file: String, _ bytes: ByteBuffer) throws -> String {
        String(
            decoding: try self.run(["--decode=\(type)", file], input: Array(bytes.readableBytesView)), as: UTF8.self)
    }

    static func encode(_ type: String, in file: String, _ text: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try self.run(["--encode=\(type)", file], input: Array(text.utf8)))
    }
}

/// One message value, its protobuf type and protoc's text form of it.
struct ProtobufCase: Sendable, CustomTestStringConvertible {
    var name: String
    var protoFile: String
    var protoType: String
    var text: String
    /// False for maps with several entries: protobuf leaves map entry order to the implementation.
    var byteExact: Bool
    var encode: @Sendable () -> ByteBuffer
    var size: @Sendable () -> Int
    var decodesToValue: @Sendable (ByteBuffer) throws -> Bool
    /// Decodes as the case's type and discards the result (for the mutation test).
    var decode: @Sendable (ByteBuffer) throws(WireError) -> Void

    var testDescription: String { self.name }

    static func make<M: WireMessage>(
        _ name: String,
        _ protoType: String,
        in protoFile: String = "tools/codegen/Fixtures/probe.proto",
        _ value: M,
        _ text: String,
        byteExact: Bool = true
    ) -> ProtobufCase {
        ProtobufCase(
            name: name,
            protoFile: protoFile,
            protoType: protoType,
            text: text,
            byteExact: byteExact,
            encode: { value.encodedBuffer },
            size: { value.encodedSize },
            decodesToValue: { buffer in try M(decoding: buffer) == value },
            decode: { buffer throws(WireError) in _ = try M(decoding: buffer) }
        )
    }
}

@Suite("Generated messages are real protobuf (checked with protoc)")
struct GeneratedProtobufTests {
    static let iam = "Protocol/iam.proto"

    static let cases: [ProtobufCase] = [
        .make(
            "every scalar type, negative values, enum, nested message",
            "iam.probe.Scalars",
            Scalars(
                fDouble: -1.5,
                fFloat: 3.25,
                fInt32: -7,
                fInt64: -9_000_000_000,
                fUint32: .max,
                fUint64: .max,
                fSint32: .min,
                fSint64: .min,
                fFixed32: 4_000_000_000,
                fFixed64: 1_234_567_890_123_456_789,
                fSfixed32: -123_456,
                fSfixed64: -1_234_567_890_123,
                fBool: true,
                fString: "héllo \"w\"",
                fBytes: ByteBuffer(bytes: [0, 1, 255]),
                fColor: .blue,
                fInner: Inner(name: "in", value: -1)
            ),
            """
            f_double: -1.5
            f_float: 3.25
            f_int32: -7
            f_int64: -9000000000
            f_uint32: 4294967295
            f_uint64: 18446744073709551615
            f_sint32: -2147483648
            f_sint64: -9223372036854775808
            f_fixed32: 4000000000
            f_fixed64: 1234567890123456789
            f_sfixed32: -123456
            f_sfixed64: -1234567890123
            f_bool: true
            f_string: "h\\303\\251llo \\"w\\""
            f_bytes: "\\000\\001\\377"
            f_color: COLOR_BLUE
            f_inner {
              name: "in"
              value: -1
            }

            """
        ),
        .make(
            "extremes of the other sign",
            "iam.probe.Scalars",
            Scalars(fInt32: .min, fInt64: .max, fSint32: .max, fSint64: .max, fSfixed32: .max, fSfixed64: .min),
            """
            f_int32: -2147483648
            f_int64: 9223372036854775807
            f_sint32: 2147483647
            f_sint64: 9223372036854775807
            f_sfixed32: 2147483647
            f_sfixed64: -9223372036854775808

            """
        ),
        .make("all defaults encode to nothing", "iam.probe.Scalars", Scalars(), ""),
        .make(
            "an enum number the IDL does not define", "iam.probe.Scalars", Scalars(fColor: .unrecognized(99)),
            "f_color: 99\n"),
        .make(
            "repeated: packed numbers, enums and bools; unpacked strings, bytes, messages and [packed = false]",
            "iam.probe.Repeated",
            Repeated(
                rInt32: [1, -1, 300],
                rSint64: [-2, 2],
                rDouble: [0.25, -8],
                rFixed32: [7, .max],
                rBool: [true, false],
                rColor: [.red, .blue, .unrecognized(77)],
                rString: ["x", ""],
                rBytes: [ByteBuffer(bytes: [10])],
                rInner: [Inner(name: "a"), Inner(value: 2)],
                rUnpacked: [1, 128]
            ),
            """
            r_int32: 1
            r_int32: -1
            r_int32: 300
            r_sint64: -2
            r_sint64: 2
            r_double: 0.25
            r_double: -8
            r_fixed32: 7
            r_fixed32: 4294967295
            r_bool: true
            r_bool: false
            r_color: COLOR_RED
            r_color: COLOR_BLUE
            r_color: 77
            r_string: "x"
            r_string: ""
            r_bytes: "\\n"
            r_inner {
              name: "a"
            }
            r_inner {
              value: 2
            }
            r_unpacked: 1
            r_unpacked: 128

            """
        ),
        .make(
            "maps with every kind of key and value",
            "iam.probe.Maps",
            Maps(
                mStringInt32: ["a": 1, "b": -2],
                mInt64String: [-5: "minus five"],
                mBoolColor: [true: .green],
                mUint32Inner: [7: Inner(name: "seven")],
                mSint32Bytes: [-3: ByteBuffer(bytes: [1])],
                mFixed64Double: [9: 0.5]
            ),
            """
            m_string_int32 {
              key: "a"
              value: 1
            }
            m_string_int32 {
              key: "b"
              value: -2
            }
            m_int64_string {
              key: -5
              value: "minus five"
            }
            m_bool_color {
              key: true
              value: COLOR_GREEN
            }
            m_uint32_inner {
              key: 7
              value {
                name: "seven"
              }
            }
            m_sint32_bytes {
              key: -3
              value: "\\001"
            }
            m_fixed64_double {
              key: 9
              value: 0.5
            }

            """,
            byteExact: false
        ),
        .make(
            "optional fields set to their defaults are still sent",
            "iam.probe.Optionals",
            Optionals(oInt32: 0, oString: "", oBool: false, oColor: .unspecified, oInner: Inner(), oDouble: 0),
            """
            o_int32: 0
            o_string: ""
            o_bool: false
            o_color: COLOR_UNSPECIFIED
            o_inner {
            }
            o_double: 0

            """
        ),
        .make("optional fields left out are absent", "iam.probe.Optionals", Optionals(), ""),
        .make(
            // Lengths of one, two and three bytes at two levels: each embedded message is written after one byte
            // for its length and moved up when the length takes more.
            "nested messages whose lengths take two and three bytes",
            "iam.probe.Nested",
            Nested(
                level1: Nested.Level1(
                    level2: Nested.Level1.Level2(leaf: String(repeating: "a", count: 200)),
                    items: [
                        Nested.Level1.Level2(leaf: String(repeating: "b", count: 16_400)),
                        Nested.Level1.Level2(leaf: "c"),
                    ]
                ),
                mode: .fast
            ),
            """
            level1 {
              level2 {
                leaf: "\(String(repeating: "a", count: 200))"
              }
              items {
                leaf: "\(String(repeating: "b", count: 16_400))"
              }
              items {
                leaf: "c"
              }
            }
            mode: MODE_FAST

            """
        ),
        .make(
            "nested messages and enums",
            "iam.probe.Nested",
            Nested(
                level1: Nested.Level1(
                    level2: Nested.Level1.Level2(leaf: "deep"),
                    items: [Nested.Level1.Level2(leaf: "i1"), Nested.Level1.Level2()]
                ),
                mode: .fast
            ),
            """
            level1 {
              level2 {
                leaf: "deep"
              }
              items {
                leaf: "i1"
              }
              items {
              }
            }
            mode: MODE_FAST

            """
        ),
        .make(
            "tags of two, three and five bytes",
            "iam.probe.BigTags",
            BigTags(twoBytes: 16, threeBytes: "t", maxNumber: true),
            """
            two_bytes: 16
            three_bytes: "t"
            max_number: true

            """
        ),
        .make(
            "iam.v1.CreateUserRequest",
            "iam.v1.CreateUserRequest",
            in: iam,
            CreateUserRequest(
                path: "/eng/",
                userName: "alice",
                permissionsBoundary: "arn:aws:iam::123456789012:policy/Boundary",
                tags: [Tag(key: "team", value: "iam"), Tag(key: "empty")]
            ),
            """
            path: "/eng/"
            user_name: "alice"
            permissions_boundary: "arn:aws:iam::123456789012:policy/Boundary"
            tags {
              key: "team"
              value: "iam"
            }
            tags {
              key: "empty"
            }

            """
        ),
        .make(
            "iam.v1.SimulationResult",
            "iam.v1.SimulationResult",
            in: iam,
            SimulationResult(
                evalActionName: "s3:GetObject",
                evalResourceName: "*",
                evalDecision: .explicitDeny,
                matchedStatements: [
                    EvaluatedStatement(
                        sourcePolicyID: "ANPA1",
                        sourcePolicyType: .userManaged,
                        startPosition: Position(line: 1, column: 2),
                        statementIndex: 3,
                        sid: "DenyAll"
                    )
                ],
                missingContextValues: ["aws:SourceIp"],
                evalDecisionDetails: ["IdentityPolicy": .explicitDeny],
                permissionsBoundaryDecisionDetail: PermissionsBoundaryDecisionDetail(allowedByPermissionsBoundary: true)
            ),
            """
            eval_action_name: "s3:GetObject"
            eval_resource_name: "*"
            eval_decision: POLICY_EVALUATION_DECISION_TYPE_EXPLICIT_DENY
            matched_statements {
              source_policy_id: "ANPA1"
              source_policy_type: POLICY_SOURCE_TYPE_USER_MANAGED
              start_position {
                line: 1
                column: 2
              }
              statement_index: 3
              sid: "DenyAll"
            }
            missing_context_values: "aws:SourceIp"
            eval_decision_details {
              key: "IdentityPolicy"
              value: POLICY_EVALUATION_DECISION_TYPE_EXPLICIT_DENY
            }
            permissions_boundary_decision_detail {
              allowed_by_permissions_boundary: true
            }

            """
        ),
        .make(
            "iam.v1.GetAccountAuthorizationDetailsRequest (packed enums, negative int32)",
            "iam.v1.GetAccountAuthorizationDetailsRequest",
            in: iam,
            GetAccountAuthorizationDetailsRequest(filter: [.user, .awsManagedPolicy], maxItems: -1),
            """
            filter: ENTITY_TYPE_USER
            filter: ENTITY_TYPE_AWS_MANAGED_POLICY
            max_items: -1

            """
        ),
        .make(
            "iam.v1.AuthorizeRequest (optional uint64 present at 0)",
            "iam.v1.AuthorizeRequest",
            in: iam,
            AuthorizeRequest(
                principalARN: "arn:aws:iam::123456789012:user/alice",
                action: "iam:CreateUser",
                resource: "*",
                contextEntries: [
                    ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["10.0.0.1"], contextKeyType: .ip)
                ],
                minRevision: 0
            ),
            """
            principal_arn: "arn:aws:iam::123456789012:user/alice"
            action: "iam:CreateUser"
            resource: "*"
            context_entries {
              context_key_name: "aws:SourceIp"
              context_key_values: "10.0.0.1"
              context_key_type: CONTEXT_KEY_TYPE_IP
            }
            min_revision: 0

            """
        ),
        .make(
            "iam.v1.GetAccountSummaryResponse (map)",
            "iam.v1.GetAccountSummaryResponse",
            in: iam,
            GetAccountSummaryResponse(summaryMap: ["Users": 3, "UsersQuota": 5000]),
            """
            summary_map {
              key: "Users"
              value: 3
            }
            summary_map {
              key: "UsersQuota"
              value: 5000
            }

            """,
            byteExact: false
        ),
        .make(
            "iam.v1.PingRequest (bytes)",
            "iam.v1.PingRequest",
            in: iam,
            PingRequest(payload: ByteBuffer(bytes: Array("\u{0}\u{1}ping".utf8))),
            "payload: \"\\000\\001ping\"\n"
        ),
    ]

    @Test("Swift's encoding decodes with protoc --decode to the expected text", arguments: Self.cases)
    func swiftToProtoc(_ testCase: ProtobufCase) throws {
        let bytes = testCase.encode()
        #expect(bytes.readableBytes == testCase.size(), "encodedSize disagrees with the bytes written")
        let text = try Protoc.decode(testCase.protoType, in: testCase.protoFile, bytes)
        #expect(text == testCase.text)
    }

    @Test("protoc --encode's bytes decode in Swift to the expected value", arguments: Self.cases)
    func protocToSwift(_ testCase: ProtobufCase) throws {
        let bytes = try Protoc.encode(testCase.protoType, in: testCase.protoFile, testCase.text)
        #expect(try testCase.decodesToValue(bytes))
        if testCase.byteExact {
            // protoc writes fields in number order like we do, so the bytes must be identical.
            #expect(Array(bytes.readableBytesView) == Array(testCase.encode().readableBytesView))
        }
    }

    @Test("unknown fields of every wire type are skipped")
    func unknownFieldsSkipped() throws {
        let text = """
            name: "kept"
            value: 42
            extra_fixed64: 18446744073709551615
            extra_fixed32: 7
            extra_string: "ignored"
            extra_varint: -1
            extra_message {
              name: "nested"
            }
            extra_packed: 1
            extra_packed: -2

            """
        let bytes = try Protoc.encode("iam.probe.InnerSuperset", in: "tools/codegen/Fixtures/probe.proto", text)
        let inner = try Inner(decoding: bytes)
        #expect(inner == Inner(name: "kept", value: 42))
        // Re-encoding keeps only what Inner knows, and protoc reads that back as such.
        let reread = try Protoc.decode(
            "iam.probe.InnerSuperset", in: "tools/codegen/Fixtures/probe.proto", inner.encodedBuffer)
        #expect(reread == "name: \"kept\"\nvalue: 42\n")
    }

    @Test("a singular message field seen twice is merged, as protobuf specifies")
    func repeatedSingularMessageMerges() throws {
        var bytes = Scalars(fInner: Inner(name: "first")).encodedBuffer
        var second = Scalars(fInner: Inner(value: 9)).encodedBuffer
        bytes.writeBuffer(&second)
        let merged = try Scalars(decoding: bytes)
        #expect(merged.fInner == Inner(name: "first", value: 9))
        #expect(
            try Protoc.decode("iam.probe.Scalars", in: "tools/codegen/Fixtures/probe.proto", bytes)
                == "f_inner {\n  name: \"first\"\n  value: 9\n}\n")
    }
    @Test("truncated and mutated payloads decode or fail with malformedMessage, never crash")
    func mutations() {
        var random = SplitMix64(seed: 0x5EED_1A3)
        var decoded = 0
        var refused = 0
        func attempt(_ bytes: [UInt8], _ decode: @Sendable (ByteBuffer) throws(WireError) -> Void) {
            do throws(WireError) {
                try decode(ByteBuffer(bytes: bytes))
                decoded += 1
            } catch {
                refused += 1
                #expect(error.code == .malformedMessage, "\(error)")
            }
        }
        for testCase in Self.cases {
            let decode = testCase.decode
            let bytes = Array(testCase.encode().readableBytesView)
            for length in 0...bytes.count {
                attempt(Array(bytes[0..<length]), decode)
            }
            for _ in 0..<300 {
                var mutated = bytes
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    let position = mutated.isEmpty ? 0 : Int(random.next() % UInt64(mutated.count))
                    switch random.next() % 3 {
                    case 0 where !mutated.isEmpty: mutated[position] ^= UInt8(truncatingIfNeeded: random.next() | 1)
                    case 1: mutated.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
                    default: if !mutated.isEmpty { mutated.remove(at: position) }
                    }
                }
                attempt(mutated, decode)
            }
        }
        // Both outcomes must actually occur, or the corpus tests nothing.
        #expect(decoded > 100 && refused > 100, "decoded \(decoded), refused \(refused)")
    }
}

/// A small deterministic generator so failures reproduce.
fileprivate struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Hostile or broken payloads: each is refused with `malformedMessage`, never a crash, hang or big allocation.
@Suite("Protobuf decoding of bad input")
struct ProtobufBadInputTests {
    struct BadPayload: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var testDescription: String { self.name }
    }

    static let payloads: [BadPayload] = [
        BadPayload(name: "varint cut short", bytes: [0x18, 0x80]),
        BadPayload(name: "varint longer than ten bytes", bytes: [0x18] + Array(repeating: 0xFF, count: 10) + [0x01]),
        BadPayload(name: "tag cut short", bytes: [0x80]),
        BadPayload(name: "field number 0", bytes: [0x00, 0x01]),
        BadPayload(name: "wire type 6", bytes: [0x0E]),
        BadPayload(name: "wire type 7", bytes: [0x0F]),
        BadPayload(name: "length past the end", bytes: [0x72, 0x05, 0x61]),
        BadPayload(name: "length of 4 GiB", bytes: [0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        BadPayload(name: "length of 2^63", bytes: [0x72] + Array(repeating: 0xFF, count: 8) + [0x7F]),
        BadPayload(name: "invalid UTF-8 in a string", bytes: [0x72, 0x02, 0xC3, 0x28]),
        BadPayload(name: "fixed32 cut short", bytes: [0x4D, 0x01, 0x02]),
        BadPayload(name: "fixed64 cut short", bytes: [0x51, 0x01, 0x02, 0x03]),
        BadPayload(name: "double cut short", bytes: [0x09, 0x00]),
        BadPayload(name: "unknown fixed64 cut short", bytes: [0xF9, 0x07, 0x01]),
        BadPayload(name: "end-group without start", bytes: [0x0C]),
        BadPayload(name: "group never closed", bytes: [0xFB, 0x07, 0x08, 0x01]),
        BadPayload(name: "group closed with the wrong field", bytes: [0xFB, 0x07, 0x0C]),
        BadPayload(
            name: "groups nested 65 deep",
            bytes: Array([[UInt8]](repeating: [0xFB, 0x07], count: 65).joined())
                + Array([[UInt8]](repeating: [0xFC, 0x07], count: 65).joined())
        ),
        BadPayload(name: "nested message with a bad inner length", bytes: [0x8A, 0x01, 0x02, 0x0A, 0x09]),
        BadPayload(name: "packed field cut inside an element", bytes: [0x0A, 0x02, 0x01, 0x80]),
    ]

    @Test("is refused with malformedMessage", arguments: Self.payloads)
    func refused(_ payload: BadPayload) {
        let buffer = ByteBuffer(bytes: payload.bytes)
        do {
            if payload.name == "packed field cut inside an element" {
                _ = try Repeated(decoding: buffer)
            } else {
                _ = try Scalars(decoding: buffer)
            }
            Issue.record("decoded without error")
        } catch {
            #expect(error.code == .malformedMessage, "\(error)")
        }
    }

    @Test("a well-formed unknown group is skipped")
    func groupSkipped() throws {
        // Field 3 as a group holding a varint and a nested group, then value = 7.
        let bytes: [UInt8] = [0x1B, 0x08, 0x05, 0x23, 0x24, 0x1C, 0x10, 0x07]
        #expect(try Inner(decoding: ByteBuffer(bytes: bytes)) == Inner(value: 7))
    }

    @Test("varints: sizes, both fast and slow paths, and the ten-byte maximum")
    func varints() throws {
        // Through the writer and reader the generated messages use.
        func encoded(_ write: (inout ProtobufWriter) -> Void, size: Int) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
                var writer = ProtobufWriter(UnsafeMutableRawBufferPointer(rebasing: bytes[..<size]))
                write(&writer)
                return writer.count
            }
            return buffer
        }
        for value: UInt64 in [0, 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), .max] {
            let buffer = encoded({ $0.writeVarint(value) }, size: Protobuf.varintSize(value))
            #expect(buffer.readableBytes == Protobuf.varintSize(value))
            let decoded = try buffer.withUnsafeReadableBytes { bytes throws(WireError) -> (UInt64, Bool) in
                var reader = ProtobufReader(bytes: bytes, base: buffer, baseOffset: buffer.readerIndex)
                return (try reader.readVarint(), reader.isAtEnd)
            }
            #expect(decoded.0 == value)
            #expect(decoded.1)
        }
        #expect(Protobuf.varintSize(Int32(-1)) == 10)
        #expect(encoded({ $0.writeVarint(Int32(-1)) }, size: 10).readableBytes == 10)
        for value: Int64 in [0, -1, 1, .min, .max] {
            #expect(Protobuf.unZigZag(Protobuf.zigZag(value)) == value)
        }
        #expect(Protobuf.zigZag(Int32(-1)) == 1)
        #expect(Protobuf.zigZag(Int32(1)) == 2)
    }

    /// The count a repeated message field reserves by, read right after the field's first tag.
    static func countAfterFirstTag(_ bytes: [UInt8]) throws -> Int {
        let buffer = ByteBuffer(bytes: bytes)
        return try buffer.withUnsafeReadableBytes { raw throws(WireError) -> Int in
            var reader = ProtobufReader(bytes: raw, base: buffer, baseOffset: buffer.readerIndex)
            guard let tag = try reader.readTag() else { return -1 }
            return reader.countLengthDelimited(tag)
        }
    }

    @Test("a repeated field's count skips other fields of every wire type and stops at anything malformed")
    func repeatedCount() throws {
        // Field 9 (Repeated.r_inner) three times, between a varint, a fixed64, a fixed32 and another
        // length-delimited field (7), which must not count.
        let three: [UInt8] = [
            0x4A, 0x02, 0x10, 0x01, 0x08, 0x96, 0x01, 0x4A, 0x00, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x3A, 0x01, 0x61,
            0x25, 1, 2, 3, 4, 0x4A, 0x02, 0x10, 0x02,
        ]
        #expect(try Self.countAfterFirstTag(three) == 3)
        var decoded = try Repeated(decoding: ByteBuffer(bytes: three))
        #expect(decoded.rInner == [Inner(value: 1), Inner(), Inner(value: 2)])
        #expect(decoded.rString == ["a"])
        // One alone.
        #expect(try Self.countAfterFirstTag([0x4A, 0x00]) == 1)
        // A later length running past the end, a group, or a truncated varint ends the count where it is; the
        // decode itself reports the damage.
        #expect(try Self.countAfterFirstTag([0x4A, 0x00, 0x4A, 0x00, 0x4A, 0x05, 0x10]) == 2)
        #expect(throws: WireError.self) { try Repeated(decoding: ByteBuffer(bytes: [0x4A, 0x00, 0x4A, 0x05, 0x10])) }
        #expect(try Self.countAfterFirstTag([0x4A, 0x00, 0x1B, 0x1C, 0x4A, 0x00]) == 1)
        #expect(try Self.countAfterFirstTag([0x4A, 0x00, 0x08, 0x80]) == 1)
        // The first value's own length past the end: nothing to reserve for.
        #expect(try Self.countAfterFirstTag([0x4A, 0x09, 0x10]) == 0)
        // Many empty values: the count (so the reservation) is bounded by the bytes, two a value.
        let many = [UInt8](repeating: 0, count: 2000).enumerated().map { $0.offset % 2 == 0 ? UInt8(0x4A) : 0 }
        #expect(try Self.countAfterFirstTag(many) == 1000)
        decoded = try Repeated(decoding: ByteBuffer(bytes: many))
        #expect(decoded.rInner.count == 1000)
    }
}

/// WIRE.md §7.2: a known field with a wire type its declared type never uses does not decode (protobuf's
/// runtimes would keep it as unknown; this protocol refuses it so a broken sender is caught).
@Suite("Wrong wire types")
struct WrongWireTypeTests {
    @Test(
        "a known field with the wrong wire type is malformedMessage",
        arguments: [
            ("PingRequest field 1 (bytes) as a varint: 08 01", [UInt8]([0x08, 0x01])),
            ("Scalars field 3 (int32) as a length: 1a 01 00", [0x1A, 0x01, 0x00]),
            ("Repeated field 7 (string) as fixed32", [0x3D, 1, 2, 3, 4]),
            ("Maps entry key (string) as a varint", [0x0A, 0x04, 0x08, 0x01, 0x10, 0x02]),
        ]
    )
    func refused(name: String, bytes: [UInt8]) {
        let error: WireError? =
            switch name.prefix(4) {
            case "Ping": Self.failure(PingRequest.self, bytes)
            case "Scal": Self.failure(Scalars.self, bytes)
            case "Repe": Self.failure(Repeated.self, bytes)
            default: Self.failure(Maps.self, bytes)
            }
        #expect(error?.code == .malformedMessage, "\(name)")
    }

    static func failure<M: WireMessage>(_: M.Type, _ bytes: [UInt8]) -> WireError? {
        do throws(WireError) {
            _ = try M(decoding: ByteBuffer(bytes: bytes))
            return nil
        } catch {
            return error
        }
    }

    @Test("unknown fields of any wire type are still skipped; packed and unpacked repeated numbers both decode")
    func stillAccepted() throws {
        let unknown = try PingRequest(decoding: ByteBuffer(bytes: [0x10, 0x01, 0x1D, 1, 2, 3, 4]))
        #expect(unknown.payload.readableBytes == 0)
        // Field 1 (repeated int32) packed (wire type 2) then unpacked (wire type 0).
        let repeated = try Repeated(decoding: ByteBuffer(bytes: [0x0A, 0x02, 0x01, 0x02, 0x08, 0x03]))
        #expect(repeated.rInt32 == [1, 2, 3])
        // Field 10 ([packed = false] uint64) also accepts the packed form.
        #expect(try Repeated(decoding: ByteBuffer(bytes: [0x52, 0x02, 0x05, 0x06])).rUnpacked == [5, 6])
    }
}

import Foundation
import IAMWire
import NIOCore
import Testing

/// Runs Protocol/vectors/frames.json: every vector decodes to its items and re-encodes byte for byte;
/// every invalid entry is refused with its error.
@Suite("Golden vectors")
struct VectorTests {
    struct File: Decodable {
        var protocolVersion: Int
        var vectors: [Vector]
        var invalid: [Invalid]
        var skipped: [Skipped]
    }

    struct Vector: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var direction: String
        var meaning: String
        var hex: String
        var items: [Item]
        var scram: Scram?
        var testDescription: String { self.name }
    }

    /// The intermediate SCRAM values of the auth-exchange vector.
    struct Scram: Decodable, Sendable {
        var accessKeyID: String
        var saltHex: String
        var iterations: Int
        var clientNonce: String
        var serverNonce: String
        var authMessage: String
        var clientProofHex: String
        var serverSignatureHex: String
    }

    struct Item: Decodable, Sendable {
        var kind: String
        var hex: String
        var type: String?
        var flags: [String]?
        var streamID: UInt32?
        var payloadHex: String?
        var decoded: Fields
    }

    /// The union of every item's decoded fields.
    struct Fields: Decodable, Sendable {
        var minVersion: UInt8?
        var maxVersion: UInt8?
        var selectedVersion: UInt8?
        var entries: [Entry]?
        var data: String?
        var lastStreamID: UInt32?
        var code: UInt8?
        var codeName: String?
        var message: String?
        var mechanism: String?
        var method: String?
        var timeoutMicroseconds: UInt64?
        var requestID: String?
        var metadata: [[String]]?
        var messageHex: String?
        var compressed: Bool?
        var endStream: Bool?
        var status: UInt8?
        var statusName: String?
        var iamErrorCode: String?
    }

    struct Entry: Decodable, Sendable {
        var id: UInt16
        var value: UInt32
    }

    struct Invalid: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var meaning: String
        var hex: String
        var stage: String
        var error: String
        var maxFrameSize: Int
        var goAway: String?
        var status: String?
        var testDescription: String { self.name }
    }

    struct Skipped: Decodable, Sendable {
        var name: String
        var hex: String
        var expect: [Expected]
    }

    struct Expected: Decodable, Sendable {
        var type: String
        var streamID: UInt32
        var payloadHex: String
    }

    static let file: File = {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Protocol/vectors/frames.json")
        do {
            return try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()

    @Test("the file covers every frame type and every status")
    func coverage() {
        #expect(Self.file.protocolVersion == 1)
        let types = Set(Self.file.vectors.flatMap(\.items).compactMap(\.type))
        #expect(types == Set(FrameType.allKnown.map(\.description)))
        let statuses = Set(Self.file.vectors.flatMap(\.items).compactMap(\.decoded.status))
        #expect(statuses == Set(0...16))
        #expect(Self.file.vectors.contains { $0.items.contains { $0.decoded.compressed == true } })
    }

    @Test("each vector is one direction's bytes: what one receiver decodes, its preface (if any) first")
    func oneDirectionPerVector() {
        for vector in Self.file.vectors {
            #expect(["client->server", "server->client", "both"].contains(vector.direction), "\(vector.name)")
            let prefaces = vector.items.indices.filter { vector.items[$0].kind == "preface" }
            #expect(prefaces.isEmpty || prefaces == [0], "\(vector.name): prefaces at \(prefaces)")
        }
        let client = Self.file.vectors.first { $0.name == "whole-call-client-to-server" }
        let server = Self.file.vectors.first { $0.name == "whole-call-server-to-client" }
        #expect(client?.direction == "client->server")
        #expect(server?.direction == "server->client")
        #expect(client?.items.compactMap(\.type) == ["SETTINGS", "SETTINGS", "CALL_START", "MESSAGE"])
        #expect(server?.items.compactMap(\.type) == ["SETTINGS", "SETTINGS", "MESSAGE", "CALL_END"])
    }

    @Test("decodes and re-encodes byte for byte", arguments: file.vectors)
    func roundTrip(_ vector: Vector) throws {
        #expect(vector.hex == vector.items.map(\.hex).joined())
        let prefaces = Set(vector.items.indices.filter { vector.items[$0].kind == "preface" })
        for feeding in Feeding.all {
            let (decoded, leftover) = try decodeAll(
                Hex.decode(vector.hex),
                feeding: feeding,
                maxFrameSize: ConnectionSettings.maxFrameSizeRange.upperBound,
                expectingPrefaceAt: prefaces
            )
            #expect(leftover == 0, "\(feeding)")
            try #require(decoded.count == vector.items.count, "\(feeding)")
            var reencoded = ByteBuffer()
            for (item, result) in zip(vector.items, decoded) {
                var one = ByteBuffer()
                try Self.check(item, result, reencoding: &one)
                #expect(Hex.encode(one) == item.hex, "\(item.type ?? item.kind) re-encoded, \(feeding)")
                reencoded.writeImmutableBuffer(one)
            }
            #expect(Hex.encode(reencoded) == vector.hex)
        }
    }

    static func flags(_ names: [String], type: FrameType) -> FrameFlags {
        var flags: FrameFlags = []
        for name in names {
            switch name {
            case "ACK": flags.insert(.ack)
            case "COMPRESSED": flags.insert(.compressed)
            case "END_STREAM": flags.insert(.endStream)
            default: Issue.record("unknown flag \(name)")
            }
        }
        return flags
    }

    /// Checks one decoded item against the vector's fields and writes it again from those fields.
    static func check(_ item: Item, _ result: Decoded, reencoding out: inout ByteBuffer) throws {
        let fields = item.decoded
        let encoder = FrameEncoder(peerMaxFrameSize: 16 << 20, peerMaxMessageSize: 64 << 20)
        switch result {
        case .preface(let preface):
            #expect(item.kind == "preface")
            #expect(preface.minVersion == fields.minVersion)
            #expect(preface.maxVersion == fields.maxVersion)
            #expect(preface.selectedVersion == fields.selectedVersion)
            encoder.writePreface(
                Preface(
                    minVersion: try #require(fields.minVersion),
                    maxVersion: try #require(fields.maxVersion),
                    selectedVersion: try #require(fields.selectedVersion)
                ),
                into: &out
            )
        case .frame(let frame):
            #expect(item.kind == "frame")
            #expect(frame.type.description == item.type)
            #expect(frame.flags == Self.flags(item.flags ?? [], type: frame.type))
            #expect(frame.streamID == item.streamID)
            #expect(Hex.encode(frame.payload) == item.payloadHex)
            try self.checkPayload(frame, fields, encoder: encoder, reencoding: &out)
        }
    }

    static func checkPayload(_ frame: Frame, _ fields: Fields, encoder: FrameEncoder, reencoding out: inout ByteBuffer)
        throws
    {
        switch frame.type {
        case .settings where frame.flags.contains(.ack):
            encoder.writeSettingsAck(into: &out)
        case .settings:
            let entries = try ConnectionSettings.entries(in: frame.payload)
            let expected = try #require(fields.entries)
            #expect(entries.map(\.id.rawValue) == expected.map(\.id))
            #expect(entries.map(\.value) == expected.map(\.value))
            // The known values land in ConnectionSettings; ids absent keep their defaults.
            let settings = try ConnectionSettings(decoding: frame.payload)
            for entry in expected {
                switch SettingID(rawValue: entry.id) {
                case .maxFrameSize: #expect(settings.maxFrameSize == Int(entry.value))
                case .maxConcurrentCalls: #expect(settings.maxConcurrentCalls == Int(entry.value))
                case .maxMessageSize: #expect(settings.maxMessageSize == Int(entry.value))
                case .compression: #expect(settings.compression.rawValue == entry.value)
                case .compressionThreshold: #expect(settings.compressionThreshold == Int(entry.value))
                case .idleTimeout: #expect(settings.idleTimeoutSeconds == Int(entry.value))
                default: break
                }
            }
            if expected.isEmpty {
                #expect(settings == ConnectionSettings())
            }
            encoder.writeSettings(entries: entries, into: &out)
        case .ping:
            #expect(frame.pingData.map { Hex.encode(ByteBuffer(integer: $0)) } == fields.data)
            encoder.writePing(try #require(frame.pingData), ack: frame.flags.contains(.ack), into: &out)
        case .goAway:
            let goAway = try GoAway(decoding: frame.payload)
            #expect(goAway.lastStreamID == fields.lastStreamID)
            #expect(goAway.code.rawValue == fields.code)
            #expect(goAway.code.description == fields.codeName)
            #expect(goAway.message == fields.message)
            encoder.writeGoAway(goAway, into: &out)
        case .cancel:
            encoder.writeCancel(streamID: frame.streamID, into: &out)
        case .authClientFirst:
            let first = try AuthClientFirst(decoding: frame.payload)
            #expect(first.mechanism == fields.mechanism)
            #expect(first.message == fields.message)
            let parsed = try SCRAM.ClientFirst(parsing: first.message)
            #expect(parsed.message == first.message)
            encoder.writeAuthClientFirst(first, into: &out)
        case .authServerFirst, .authClientFinal, .authServerFinal:
            let text = try SCRAM.readMessage(from: frame.payload)
            #expect(text == fields.message)
            switch frame.type {
            case .authServerFirst: #expect(try SCRAM.ServerFirst(parsing: text).message == text)
            case .authClientFinal: #expect(try SCRAM.ClientFinal(parsing: text).message == text)
            default: #expect(try SCRAM.ServerFinal(parsing: text).message == text)
            }
            encoder.writeAuth(frame.type, message: text, into: &out)
        case .callStart:
            let start = try CallStart(decoding: frame.payload)
            #expect(start.method == fields.method)
            #expect(start.timeoutMicroseconds == fields.timeoutMicroseconds)
            #expect(start.requestID == fields.requestID)
            #expect(start.metadata.map { [$0.key, $0.value] } == fields.metadata)
            try encoder.writeCallStart(start, streamID: frame.streamID, into: &out)
        case .message:
            let compressed = frame.flags.contains(.compressed)
            #expect(compressed == fields.compressed)
            #expect(frame.flags.contains(.endStream) == fields.endStream)
            let message =
                compressed
                ? try MessageCompressor().decompress(frame.payload, maxSize: ConnectionSettings.defaultMaxMessageSize)
                : frame.payload
            #expect(Hex.encode(message) == fields.messageHex)
            // Re-encoding with threshold 0 and level 1 must give zlib's exact bytes.
            try encoder.writeMessage(
                message,
                streamID: frame.streamID,
                endStream: frame.flags.contains(.endStream),
                compressor: compressed ? MessageCompressor(threshold: 0, level: 1) : nil,
                into: &out
            )
        case .callEnd:
            let end = try CallEnd(decoding: frame.payload)
            #expect(end.status.rawValue == fields.status)
            #expect(end.status.description == fields.statusName)
            #expect((end.iamErrorCode ?? "") == fields.iamErrorCode)
            #expect(end.message == fields.message)
            #expect(end.requestID == fields.requestID)
            if end.status != .ok {
                #expect(
                    end.error
                        == RPCError(
                            code: end.status,
                            message: end.message,
                            iamErrorCode: end.iamErrorCode,
                            requestID: end.requestID
                        )
                )
            }
            encoder.writeCallEnd(end, streamID: frame.streamID, into: &out)
        default:
            Issue.record("unexpected frame type \(frame.type)")
        }
    }

    @Test("the SCRAM texts of the auth vector give its AuthMessage, proof and signature")
    func scramVector() throws {
        let vector = try #require(Self.file.vectors.first { $0.scram != nil })
        let scram = try #require(vector.scram)
        let texts = vector.items.compactMap(\.decoded.message)
        try #require(texts.count == 4)
        let clientFirst = try SCRAM.ClientFirst(parsing: texts[0])
        #expect(clientFirst.accessKeyID == scram.accessKeyID)
        #expect(clientFirst.nonce == scram.clientNonce)
        let serverFirst = try SCRAM.ServerFirst(parsing: texts[1], clientNonce: clientFirst.nonce)
        #expect(serverFirst.nonce == scram.clientNonce + scram.serverNonce)
        #expect(Hex.encode(serverFirst.salt) == scram.saltHex)
        #expect(serverFirst.iterations == scram.iterations)
        let clientFinal = try SCRAM.ClientFinal(parsing: texts[2])
        #expect(Hex.encode(clientFinal.proof) == scram.clientProofHex)
        #expect(
            SCRAM.authMessage(clientFirst: clientFirst, serverFirst: serverFirst, clientFinal: clientFinal)
                == scram.authMessage
        )
        #expect(try SCRAM.ServerFinal(parsing: texts[3]) == .verifier(Hex.decode(scram.serverSignatureHex)))
    }

    @Test("invalid bytes are refused with the right error", arguments: file.invalid)
    func invalid(_ entry: Invalid) throws {
        let bytes = Hex.decode(entry.hex)
        let error: WireError
        do {
            switch entry.stage {
            case "preface":
                // Refused from the first wrong byte, before 8 bytes arrive.
                var decoder = FrameDecoder()
                decoder.append(ByteBuffer(bytes: bytes.prefix(5)))
                _ = try decoder.decodePreface()
                decoder.append(ByteBuffer(bytes: bytes.dropFirst(5)))
                _ = try decoder.decodePreface()
                Issue.record("accepted")
                return
            case "frame":
                _ = try decodeAll(bytes, feeding: .allAtOnce, maxFrameSize: entry.maxFrameSize)
                Issue.record("accepted")
                return
            default:
                let (items, _) = try decodeAll(bytes, feeding: .allAtOnce, maxFrameSize: entry.maxFrameSize)
                guard case .frame(let frame) = try #require(items.first) else { return }
                switch entry.stage {
                case "settings": _ = try ConnectionSettings(decoding: frame.payload)
                case "callStart": _ = try CallStart(decoding: frame.payload)
                case "callEnd": _ = try CallEnd(decoding: frame.payload)
                case "goAway": _ = try GoAway(decoding: frame.payload)
                case "message":
                    #expect(frame.flags.contains(.compressed))
                    _ = try MessageCompressor().decompress(
                        frame.payload,
                        maxSize: ConnectionSettings.defaultMaxMessageSize
                    )
                default: Issue.record("unknown stage \(entry.stage)")
                }
                Issue.record("accepted")
                return
            }
        } catch let caught as WireError {
            error = caught
        }
        #expect(error.code.description == entry.error, "\(error)")
        if let goAway = entry.goAway {
            #expect(error.code.goAwayCode.description == goAway)
        }
        if let status = entry.status {
            #expect(error.code.statusCode.description == status)
        }
    }

    @Test("frame-level invalid vectors fail the same way however the bytes arrive", arguments: file.invalid)
    func invalidDripFed(_ entry: Invalid) throws {
        guard entry.stage == "frame" else { return }
        for feeding in Feeding.all {
            #expect(throws: WireError.self, "\(feeding)") {
                _ = try decodeAll(Hex.decode(entry.hex), feeding: feeding, maxFrameSize: entry.maxFrameSize)
            }
        }
    }

    @Test("extension frames are skipped")
    func skipped() throws {
        for entry in Self.file.skipped {
            for feeding in Feeding.all {
                var decoder = FrameDecoder()
                var frames: [Frame] = []
                for chunk in feeding.chunks(of: Hex.decode(entry.hex)) {
                    decoder.append(chunk)
                    while let frame = try decoder.nextFrame() { frames.append(frame) }
                }
                #expect(frames.map(\.type.description) == entry.expect.map(\.type), "\(feeding)")
                #expect(frames.map(\.streamID) == entry.expect.map(\.streamID))
                #expect(frames.map { Hex.encode($0.payload) } == entry.expect.map(\.payloadHex))
                #expect(decoder.skippedExtensionFrames == 1)
            }
        }
    }
}

import Foundation
import Testing

@testable import IAMCodeGen

/// Renders small IDL snippets and compares the raw generator output (before swift format) line for line.
@Suite("Snippets: rendered Swift for small inputs")
struct SnippetTests {
    static let tiny = """
        syntax = "proto3";
        package t;
        // A mode.
        enum Mode {
          // Off.
          MODE_OFF = 0;
          MODE_ON = 1;
        }
        // Ask.
        message Ask {
          // Who.
          string who = 1;
          Mode mode = 2;
        }
        // Answer.
        message Answer {}
        // Greets.
        service Greeter {
          // Says hello.
          rpc SayHello(Ask) returns (Answer);
        }

        """

    /// Greeter is served `.immediate` and needs authentication only, as Health is.
    static let greeterOnly: CodeGenOptions = {
        var options = CodeGenOptions()
        options.services = [
            "Greeter": ServiceGeneration(handler: .immediate, actionPrefix: nil, requestsNameResource: false)
        ]
        return options
    }()

    static func render(_ source: String, options: CodeGenOptions = greeterOnly) throws -> [String: String] {
        let files = try CodeGenerator.generate(source: source, fileName: "tiny.proto", options: options)
        return Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.contents) })
    }

    static func section(_ text: String, from start: String, to end: String?) -> String {
        guard let lower = text.range(of: start)?.lowerBound else { return "<missing \(start)>" }
        let upper = end.flatMap { text.range(of: $0, range: lower..<text.endIndex)?.lowerBound } ?? text.endIndex
        return String(text[lower..<upper]).trimmingTrailingNewlines() + "\n"
    }

    @Test("a message with a string and an enum field")
    func message() throws {
        let messages = try #require(
            try Self.render(Self.tiny)["Sources/IAMWire/Generated/GreeterService+Messages.swift"])
        #expect(messages.hasPrefix(CodeGenerator.header(for: "tiny.proto") + "\npublic import NIOCore\n"))
        #expect(
            Self.section(messages, from: "/// Ask.", to: "/// Answer.")
                == """
                /// Ask.
                public struct Ask: WireMessage {
                    /// Who.
                    public var who: String = ""
                    /// Field `mode` (2).
                    public var mode: Mode = Mode()

                    /// Creates a message with every field at its proto3 default.
                    public init() {}

                    /// Creates a message from its fields; the ones left out keep their proto3 defaults.
                    public init(who: String = "", mode: Mode = Mode()) {
                        self.who = who
                        self.mode = mode
                    }

                    /// A small value without `bytes`: a decoder may give a value it made before for the same bytes.
                    public static var isInternable: Bool { true }

                    /// Appends the protobuf encoding: fields in number order, proto3 defaults omitted.
                    public func encode(into buffer: inout ByteBuffer) {
                        buffer.writeProtobufEncoding(of: self)
                    }

                    /// Writes the fields into memory reserved for `encodedSize` bytes.
                    public func encode(to writer: inout ProtobufWriter) {
                        if !self.who.isEmpty {
                            writer.writeTag(1, .lengthDelimited)
                            writer.writeString(self.who)
                        }
                        if self.mode.rawValue != 0 {
                            writer.writeTag(2, .varint)
                            writer.writeVarint(self.mode.rawValue)
                        }
                    }

                    /// The exact number of bytes `encode(into:)` appends.
                    public var encodedSize: Int {
                        var size = 0
                        if !self.who.isEmpty {
                            size += 1 + Protobuf.lengthDelimitedSize(self.who.utf8.count)
                        }
                        if self.mode.rawValue != 0 {
                            size += 1 + Protobuf.varintSize(self.mode.rawValue)
                        }
                        return size
                    }

                    /// Merges fields read from `buffer` until it is empty; unknown fields are skipped.
                    public mutating func merge(from buffer: inout ByteBuffer) throws(WireError) {
                        try buffer.mergeProtobufEncoding(into: &self)
                    }

                    /// Merges fields from `reader` until its end; unknown fields are skipped.
                    public mutating func merge(from reader: inout ProtobufReader) throws(WireError) {
                        while let tag = try reader.readTag() {
                            switch (tag.fieldNumber, tag.wireType) {
                            case (1, .lengthDelimited):
                                self.who = try reader.readString()
                            case (2, .varint):
                                self.mode = try Mode(rawValue: Int32(truncatingIfNeeded: reader.readVarint()))
                            case (1, _), (2, _):
                                throw ProtobufReader.wrongWireType(tag)
                            default:
                                try reader.skipField(tag)
                            }
                        }
                    }
                }

                """
        )
    }

    @Test(
        "scalars, enums, lists and maps of them, and messages or lists or maps of such messages are internable; messages with bytes at any depth are not"
    )
    func internable() throws {
        let source = """
            syntax = "proto3";
            package t;
            enum Kind { KIND_NONE = 0; }
            message Blob { bytes data = 1; }
            message BlobMap { map<string, bytes> blobs = 1; }
            message Plain { string name = 1; repeated int32 numbers = 2; map<string, string> labels = 3; Kind kind = 4; }
            message HoldsPlain { Plain plain = 1; optional Plain other = 2; string name = 3; }
            message ListsPlain { repeated Plain plains = 1; }
            message MapsPlain { map<string, Plain> plains = 1; }
            message HoldsBlob { Blob blob = 1; }
            message HoldsHoldsPlain { HoldsPlain inner = 1; }
            message ListsBlobs { repeated HoldsBlob blobs = 1; string name = 2; }
            message Empty {}

            """
        let file = try Resolver.resolve(try Parser.parse(source: source, fileName: "t.proto"))
        let renderer = MessageRenderer(file: file)
        let internable = file.allMessages.filter(renderer.isInternable).map(\.name)
        #expect(internable == ["Plain", "HoldsPlain", "ListsPlain", "MapsPlain", "HoldsHoldsPlain", "Empty"])
    }

    @Test("an enum with an unrecognized case")
    func enumeration() throws {
        let messages = try #require(
            try Self.render(Self.tiny)["Sources/IAMWire/Generated/GreeterService+Messages.swift"])
        #expect(
            Self.section(messages, from: "/// A mode.", to: "/// Ask.")
                == """
                /// A mode.
                ///
                /// Values this version does not know decode as `unrecognized` and encode unchanged.
                public enum Mode: Hashable, Sendable {
                    /// Off.
                    case off
                    /// `MODE_ON` (1).
                    case on
                    /// A number this version of the IDL does not define; kept so it round-trips.
                    case unrecognized(Int32)

                    /// The default value (number 0).
                    public init() {
                        self = .off
                    }

                    /// The case for a number read off the wire; unknown numbers become `unrecognized`.
                    public init(rawValue: Int32) {
                        switch rawValue {
                        case 0: self = .off
                        case 1: self = .on
                        default: self = .unrecognized(rawValue)
                        }
                    }

                    /// The number sent on the wire.
                    public var rawValue: Int32 {
                        switch self {
                        case .off: 0
                        case .on: 1
                        case .unrecognized(let value): value
                        }
                    }

                    /// The name in the IDL, e.g. `MODE_OFF`, or the number when unknown.
                    public var protoName: String {
                        switch self {
                        case .off: "MODE_OFF"
                        case .on: "MODE_ON"
                        case .unrecognized(let value): String(value)
                        }
                    }

                    /// Every value the IDL defines, in declaration order (aliases excluded).
                    public static let allKnownCases: [Mode] = [.off, .on]

                    /// Equal when the numbers are equal, so `.unrecognized(n)` equals the known case for `n`.
                    public static func == (lhs: Mode, rhs: Mode) -> Bool {
                        lhs.rawValue == rhs.rawValue
                    }

                    /// Hashes the number, consistently with `==`.
                    public func hash(into hasher: inout Hasher) {
                        hasher.combine(self.rawValue)
                    }
                }

                """
        )
    }

    @Test("the method table")
    func methodTable() throws {
        let files = try Self.render(Self.tiny)
        #expect(
            files["Sources/IAMWire/Generated/IAMMethods.swift"]
                == """
                // DO NOT EDIT. Generated by iam-codegen (tools/codegen) from tiny.proto.
                // Change the IDL and run tools/scripts/generate; CI runs tools/scripts/check-generated.

                /// The method descriptors of every service in `tiny.proto`, by service.
                public enum IAMMethods {
                    /// Greets.
                    public enum Greeter {
                        /// The service's fully qualified name, as sent on the wire.
                        public static let serviceName = "t.Greeter"

                        /// Says hello.
                        public static let sayHello = MethodDescriptor(service: serviceName, method: "SayHello")

                        /// Every method of the service, in IDL order.
                        public static let all: [MethodDescriptor] = [
                            sayHello,
                        ]
                    }

                    /// Every method of every service, in IDL order.
                    public static let all: [MethodDescriptor] = Greeter.all
                }

                """
        )
    }

    @Test("the server protocol")
    func server() throws {
        let files = try Self.render(Self.tiny)
        #expect(
            files["Sources/IAMServer/Generated/GreeterService+Server.swift"]
                == """
                // DO NOT EDIT. Generated by iam-codegen (tools/codegen) from tiny.proto.
                // Change the IDL and run tools/scripts/generate; CI runs tools/scripts/check-generated.

                public import IAMWire
                public import IAMRPC

                /// Greets.
                ///
                /// Implement one method per rpc; `methods` (provided below) registers them with the server.
                /// Return `.immediate` when the answer is ready on the connection's event loop (no thread hop).
                public protocol GreeterServiceProtocol: RPCService {
                    /// Says hello.
                    func sayHello(_ request: Ask, context: ServerCallContext) -> ServerResponse<Answer>
                }

                extension GreeterServiceProtocol {
                    /// One entry per rpc of `t.Greeter`, dispatching to the methods above.
                    public var methods: [RPCServerMethod] {
                        var methods: [RPCServerMethod] = []
                        methods.reserveCapacity(1)
                        methods.append(.unary(IAMMethods.Greeter.sayHello) { [self] in self.sayHello($0, context: $1) })
                        return methods
                    }
                }

                """
        )
    }

    @Test("the client stubs")
    func client() throws {
        let files = try Self.render(Self.tiny)
        #expect(
            files["Sources/IAMClient/Generated/GreeterService+Client.swift"]
                == """
                // DO NOT EDIT. Generated by iam-codegen (tools/codegen) from tiny.proto.
                // Change the IDL and run tools/scripts/generate; CI runs tools/scripts/check-generated.

                public import IAMWire
                public import IAMRPC

                /// Greets.
                ///
                /// Client stubs: one `async throws(RPCError)` method per rpc, sent through an `RPCClient`.
                public struct GreeterServiceClient: Sendable {
                    /// The connection (or pool) the calls go through.
                    public let client: RPCClient

                    /// Creates stubs that send `t.Greeter` calls through `client`.
                    public init(client: RPCClient) {
                        self.client = client
                    }

                    /// Says hello.
                    public func sayHello(
                        _ request: Ask,
                        options: CallOptions = CallOptions()
                    ) async throws(RPCError) -> Answer {
                        try await self.client.unary(IAMMethods.Greeter.sayHello, request, options: options)
                    }
                }

                """
        )
    }

    @Test("packed sint32, optional bool, map with message values, enum alias")
    func features() throws {
        let source = """
            syntax = "proto3";
            package s.v1;
            enum Color {
              option allow_alias = true;
              COLOR_UNSPECIFIED = 0;
              COLOR_RED = 1;
              COLOR_CRIMSON = 1;
            }
            message Thing {
              repeated sint32 deltas = 2;
              optional bool flag = 3;
              map<string, Other> by_key = 4;
              repeated string names = 5;
            }
            message Other {}
            """
        let files = try CodeGenerator.generate(source: source, fileName: "s.proto")
        let text = try #require(files.first?.contents)
        let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for expected in [
            "public static let crimson = Color.red",
            "public var deltas: [Int32] = []",
            "public var flag: Bool? = nil",
            "public var byKey: [String: Other] = [:]",
            "for element in self.deltas { writer.writeVarint(Protobuf.zigZag(element)) }",
            "case (2, .lengthDelimited):",
            "case (2, .varint):",
            "if self.flag != nil {",
            "size += 2",
            "for (key, value) in self.byKey.sorted(by: { $0.key < $1.key }) {",
            "let valueSize = value.encodedSize",
            "try entry.mergeMessage(into: &value)",
            "self.byKey[key] = value",
            "for element in self.names {",
            "self.names.append(try reader.readString())",
        ] {
            #expect(lines.contains(expected), "missing line: \(expected)")
        }
        // Strings are never packed: no length-delimited case reads a packed run for field 5.
        #expect(!text.contains("self.names.append(try packed"))
        #expect(files.count == 1, "no services, so no method table, server or client files")
    }

    /// Two of this repository's services under their real names, so the default settings are pinned too.
    static let management = """
        syntax = "proto3";
        package m.v1;
        // A tag.
        message Tag { string key = 1; }
        message User { string name = 1; repeated Tag tags = 2; }
        message CreateUserRequest { string user_name = 1; repeated Tag tags = 2; }
        message CreateUserResponse { User user = 1; }
        message PingRequest { repeated Tag tags = 1; }
        message PingResponse {}
        message Unused {}
        // Management.
        service IAM {
          // Creates a user.
          rpc CreateUser(CreateUserRequest) returns (CreateUserResponse);
        }
        // Liveness.
        service Health {
          // Echoes.
          rpc Ping(PingRequest) returns (PingResponse);
        }

        """

    static func declarations(_ text: String?) -> [String] {
        (text ?? "").split(separator: "\n").filter { $0.hasPrefix("public struct ") || $0.hasPrefix("public enum ") }
            .map { String($0.split(separator: ":")[0].dropFirst("public ".count)) }
    }

    @Test("messages go to the file of the one service that uses them; shared and unused ones to SharedMessages")
    func messagesSplitPerService() throws {
        let files = try Self.render(Self.management, options: CodeGenOptions())
        let directory = "Sources/IAMWire/Generated/"
        #expect(
            Set(files.keys.filter { $0.hasPrefix(directory) }) == [
                directory + "SharedMessages.swift",
                directory + "IAMService+Messages.swift",
                directory + "HealthService+Messages.swift",
                directory + "IAMMethods.swift",
            ]
        )
        #expect(Self.declarations(files[directory + "SharedMessages.swift"]) == ["struct Tag", "struct Unused"])
        #expect(
            Self.declarations(files[directory + "IAMService+Messages.swift"])
                == ["struct User", "struct CreateUserRequest", "struct CreateUserResponse"]
        )
        #expect(
            Self.declarations(files[directory + "HealthService+Messages.swift"])
                == ["struct PingRequest", "struct PingResponse"]
        )
        for (path, text) in files where path.hasSuffix("Messages.swift") {
            #expect(text.hasPrefix(CodeGenerator.header(for: "tiny.proto") + "\npublic import NIOCore\n"), "\(path)")
        }
    }

    @Test("a management service: async throws handlers, the action in the method table, requests naming their resource")
    func asyncManagementService() throws {
        let files = try Self.render(Self.management, options: CodeGenOptions())
        #expect(
            files["Sources/IAMServer/Generated/IAMService+Server.swift"]
                == """
                // DO NOT EDIT. Generated by iam-codegen (tools/codegen) from tiny.proto.
                // Change the IDL and run tools/scripts/generate; CI runs tools/scripts/check-generated.

                public import IAMWire
                public import IAMRPC

                /// Management.
                ///
                /// Implement one `async throws` method per rpc; `methods` (provided below) registers them with the
                /// server. Each runs in a Task once the request is decoded and the interceptors let it through
                /// on the connection's event loop; throw `RPCError` or an `RPCErrorConvertible` to fail the call.
                public protocol IAMServiceProtocol: RPCService {
                    /// Creates a user.
                    func createUser(_ request: CreateUserRequest, context: ServerCallContext) async throws -> CreateUserResponse
                }

                extension IAMServiceProtocol {
                    /// One entry per rpc of `m.v1.IAM`, dispatching to the methods above.
                    public var methods: [RPCServerMethod] {
                        var methods: [RPCServerMethod] = []
                        methods.reserveCapacity(1)
                        methods.append(.async(IAMMethods.IAM.createUser) { [self] in try await self.createUser($0, context: $1) })
                        return methods
                    }
                }

                // Every request of `m.v1.IAM` names the resource its call touches, for the authorizer.
                // The requirement is implemented by hand; an rpc added to the IDL without it does not compile.
                extension CreateUserRequest: IAMResourceNaming {}

                extension IAMServiceProtocol {
                    /// The request types above, so the authorizer finds a request's naming by its type: a cast to
                    /// `IAMResourceNaming` would search the runtime's conformance records on every call.
                    static var resourceNamingTypes: [any IAMResourceNaming.Type] {
                        [
                            CreateUserRequest.self,
                        ]
                    }
                }

                """
        )
        let table = try #require(files["Sources/IAMWire/Generated/IAMMethods.swift"])
        #expect(
            table.contains(
                "public static let createUser = MethodDescriptor(service: serviceName, method: \"CreateUser\", action: \"iam:CreateUser\")"
            )
        )
        // Health needs authentication only: no action, and its handlers stay immediate.
        #expect(table.contains("public static let ping = MethodDescriptor(service: serviceName, method: \"Ping\")\n"))
        let health = try #require(files["Sources/IAMServer/Generated/HealthService+Server.swift"])
        #expect(
            health.contains(
                "func ping(_ request: PingRequest, context: ServerCallContext) -> ServerResponse<PingResponse>"))
        #expect(
            health.contains("methods.append(.unary(IAMMethods.Health.ping) { [self] in self.ping($0, context: $1) })"))
    }

    @Test("only services that must name resources get the conformances")
    func resourceNamingOnlyWhereAsked() throws {
        let files = try Self.render(Self.management, options: CodeGenOptions())
        let health = try #require(files["Sources/IAMServer/Generated/HealthService+Server.swift"])
        #expect(!health.contains("IAMResourceNaming"))
        var options = CodeGenOptions()
        options.services["IAM"]?.requestsNameResource = false
        options.resourceNamingProtocol = "Unused"
        let relaxed = try Self.render(Self.management, options: options)
        #expect(relaxed["Sources/IAMServer/Generated/IAMService+Server.swift"]?.contains("extension") == true)
        #expect(relaxed["Sources/IAMServer/Generated/IAMService+Server.swift"]?.contains(": Unused") == false)
        options.services["IAM"]?.requestsNameResource = true
        let renamed = try Self.render(Self.management, options: options)
        #expect(
            renamed["Sources/IAMServer/Generated/IAMService+Server.swift"]?.contains(
                "extension CreateUserRequest: Unused {}") == true)
    }

    @Test("two rpcs sharing a request type cannot both name their resource")
    func sharedRequestType() {
        let source = Self.management.replacingOccurrences(
            of: "  rpc CreateUser(CreateUserRequest) returns (CreateUserResponse);\n",
            with:
                "  rpc CreateUser(CreateUserRequest) returns (CreateUserResponse);\n  rpc CreateUser2(CreateUserRequest) returns (CreateUserResponse);\n"
        )
        #expect {
            _ = try Self.render(source, options: CodeGenOptions())
        } throws: { error in
            (error as? CodeGenError)?.description
                == "tiny.proto:15:7: error: rpcs 'CreateUser' and 'CreateUser2' of 'IAM' share request type 'm.v1.CreateUserRequest'; each rpc of a service whose requests name their resource needs its own request type"
        }
    }

    @Test("a service without generation settings is an error, not a silent default")
    func unknownService() {
        var options = CodeGenOptions()
        options.services["Health"] = nil
        #expect {
            _ = try Self.render(Self.management, options: options)
        } throws: { error in
            (error as? CodeGenError)?.description.hasPrefix(
                "tiny.proto:17:9: error: service 'Health' has no entry in CodeGenOptions.services") == true
        }
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var copy = self
        while copy.hasSuffix("\n") { copy.removeLast() }
        return copy
    }
}

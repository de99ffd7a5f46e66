import Testing

@testable import IAMCodeGen

@Suite("Parser and resolver")
struct ParserTests {
    static func parse(_ body: String) throws(CodeGenError) -> ProtoFile {
        try Resolver.resolve(Parser.parse(source: "syntax = \"proto3\";\npackage t.v1;\n" + body, fileName: "t.proto"))
    }

    @Test("a message with every field form parses into the model")
    func messageForms() throws {
        let file = try Self.parse(
            """
            // Leading comment
            // on two lines.
            message M {
              string name = 1;  // trailing comment
              optional int64 when = 2;
              repeated Inner items = 3;
              map<string, E> by_name = 4;
              repeated int32 numbers = 5 [packed = false, deprecated = true];
              reserved 6, 8 to 10;
              reserved "old";
              message Inner { bool ok = 1; }
              enum E { E_ZERO = 0; E_ONE = 1; }
            }
            """
        )
        #expect(file.package == "t.v1")
        let message = try #require(file.messages.first)
        #expect(message.fullName == "t.v1.M")
        #expect(message.comments == ["Leading comment", "on two lines."])
        #expect(message.fields.map(\.name) == ["name", "when", "items", "by_name", "numbers"])
        #expect(message.fields[0].comments == ["trailing comment"])
        #expect(message.fields[0].type == .scalar(.string))
        #expect(message.fields[1].label == .optional)
        #expect(message.fields[2].type == .message("t.v1.M.Inner"))
        #expect(message.fields[2].label == .repeated)
        #expect(message.fields[3].type == .map(key: .string, value: .enumeration("t.v1.M.E")))
        #expect(message.fields[4].packed == false)
        #expect(message.fields[4].deprecated)
        #expect(message.reservedNumbers == [6...6, 8...10])
        #expect(message.reservedNames == ["old"])
        #expect(message.messages.map(\.fullName) == ["t.v1.M.Inner"])
        #expect(message.enums.first?.values.map(\.number) == [0, 1])
        #expect(message.fields[0].location == SourceLocation(file: "t.proto", line: 6, column: 10))
    }

    @Test("services, rpcs, stream flags and comments")
    func services() throws {
        let file = try Self.parse(
            """
            message A {}
            message B {}
            // The service.
            service S {
              // Unary.
              rpc Call(A) returns (B);
              rpc Watch(stream A) returns (stream .t.v1.B) { option deprecated = true; }
            }
            """
        )
        let service = try #require(file.services.first)
        #expect(service.fullName == "t.v1.S")
        #expect(service.comments == ["The service."])
        #expect(service.methods.map(\.name) == ["Call", "Watch"])
        #expect(service.methods[0].comments == ["Unary."])
        #expect(service.methods[0].inputType == "t.v1.A")
        #expect(service.methods[1].clientStreaming && service.methods[1].serverStreaming)
        #expect(service.methods[1].outputType == "t.v1.B")
    }

    @Test("a comment block separated by a blank line documents nothing")
    func detachedComment() throws {
        let file = try Self.parse(
            """
            // Detached.

            message M {}
            /* Block
             * comment. */
            message N {}
            """
        )
        #expect(file.messages[0].comments == [])
        #expect(file.messages[1].comments == ["Block", "comment."])
    }

    @Test("names resolve innermost scope first, like protoc")
    func scoping() throws {
        let file = try Self.parse(
            """
            message X { int32 top = 1; }
            message Outer {
              message X { int32 inner = 1; }
              X nearest = 1;
              .t.v1.X absolute = 2;
              Outer.X dotted = 3;
            }
            """
        )
        let outer = try #require(file.messages.first { $0.name == "Outer" })
        #expect(outer.fields.map(\.type) == [.message("t.v1.Outer.X"), .message("t.v1.X"), .message("t.v1.Outer.X")])
    }

    @Test("Protocol/iam.proto parses and resolves", .tags(.repository))
    func repositoryIDL() throws {
        let source = try String(
            contentsOf: RepositoryPaths.root.appendingPathComponent("Protocol/iam.proto"), encoding: .utf8)
        let file = try Resolver.resolve(Parser.parse(source: source, fileName: "Protocol/iam.proto"))
        #expect(file.services.map(\.name) == ["IAM", "Authorization", "STS", "Health"])
        let health = try #require(file.services.last)
        #expect(health.methods.map(\.name) == ["Ping"])
        #expect(health.fullName == "iam.v1.Health")
        // Every message and rpc carries documentation into the generated code.
        for message in file.allMessages {
            #expect(!message.comments.isEmpty, "message \(message.name) has no comment")
            for field in message.fields {
                #expect(!field.comments.isEmpty, "field \(message.name).\(field.name) has no comment")
            }
        }
        for service in file.services {
            for method in service.methods {
                #expect(!method.comments.isEmpty, "rpc \(method.name) has no comment")
            }
        }
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var source: String
        var expected: String
        var testDescription: String { self.expected }
    }

    /// Each bad input and the exact `file:line:column: error: ...` prefix expected (source starts at line 1).
    static let badInputs: [BadInput] = [
        BadInput(source: "message M {}", expected: "t.proto:1:1: error: missing 'syntax = \"proto3\";'"),
        BadInput(source: "syntax = \"proto2\";", expected: "t.proto:1:10: error: syntax \"proto2\" is not supported"),
        BadInput(
            source: "syntax = \"proto3\";\nimport \"other.proto\";",
            expected: "t.proto:2:1: error: 'import' is not supported"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M {\n  string name = 1\n}",
            expected: "t.proto:4:1: error: expected ';' after field 'name', found '}'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M {\n  Missing m = 1;\n}",
            expected: "t.proto:3:3: error: unknown type 'Missing'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M {\n  int32 a = 1;\n  int32 b = 1;\n}",
            expected: "t.proto:4:9: error: field number 1 of 'b' is already used by 'a' in 'M'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M {\n  int32 a = 1;\n  string a = 2;\n}",
            expected: "t.proto:4:10: error: field 'a' is already defined in 'M' at t.proto:3:9"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { int32 a = 0; }",
            expected: "t.proto:2:23: error: field number 0 is out of range"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { int32 a = 19001; }",
            expected: "t.proto:2:23: error: field numbers 19000-19999 are reserved"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { int32 a = 536870912; }",
            expected: "t.proto:2:23: error: field number 536870912 is out of range"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { reserved 5; int32 a = 5; }",
            expected: "t.proto:2:31: error: field number 5 of 'a' is reserved"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nenum E { E_ONE = 1; }",
            expected: "t.proto:2:10: error: the first value of enum 'E' must be 0"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nenum E { E_ZERO = 0; E_AGAIN = 0; }",
            expected: "t.proto:2:22: error: enum value 'E_AGAIN' reuses number 0 of 'E_ZERO'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { map<double, string> m = 1; }",
            expected: "t.proto:2:17: error: invalid map key type 'double'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { repeated map<string, string> m = 1; }",
            expected: "t.proto:2:13: error: a map field cannot be 'repeated' or 'optional'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { oneof x { int32 a = 1; } }",
            expected: "t.proto:2:13: error: 'oneof' is not supported"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { required int32 a = 1; }",
            expected: "t.proto:2:13: error: 'required' is not allowed in proto3"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { int32 a = 1 [default = 3]; }",
            expected: "t.proto:2:26: error: explicit default values are not allowed in proto3"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage A { B b = 1; }\nmessage B { repeated A a = 1; }",
            expected: "t.proto:3:24: error: recursive message types are not supported (A -> B -> A)"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M {\n  int32 a = 1;",
            expected: "t.proto:3:15: error: message 'M' is not closed: expected '}'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { string s = 1; }\n/* never closed",
            expected: "t.proto:3:1: error: unterminated /* comment"
        ),
        BadInput(
            source: "syntax = \"proto3\";\noption x = \"open;\n",
            expected: "t.proto:2:12: error: unterminated string literal"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { int32 a = 1; }\n$",
            expected: "t.proto:3:1: error: unexpected character '$'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nenum E { E_ZERO = 0; E_BIG = 4294967296; }",
            expected: "t.proto:2:30: error: enum value 4294967296 does not fit in int32"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage A {}\nservice S { rpc X(A) returns (E); }\nenum E { E_ZERO = 0; }",
            expected: "t.proto:3:17: error: rpc 'X' uses 'E', which is not a message"
        ),
        BadInput(
            source:
                "syntax = \"proto3\";\nmessage A {}\nservice S {\n  rpc X(A) returns (A);\n  rpc X(A) returns (A);\n}",
            expected: "t.proto:5:7: error: rpc 'X' is already defined in service 'S' at t.proto:4:7"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage A {}\nmessage A {}",
            expected: "t.proto:3:9: error: 'A' is already defined at t.proto:2:9"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nenum A { X = 0; }\nenum B { X = 0; }",
            expected: "t.proto:3:10: error: enum value 'X' of 'B' clashes with the same value name in enum 'A'"
        ),
        BadInput(
            source: "syntax = \"proto3\";\nmessage M { int32 a = 0x1G; }",
            expected: "t.proto:2:23: error: invalid hexadecimal literal '0x1G'"
        ),
    ]

    @Test("bad input gives a located error", arguments: ParserTests.badInputs)
    func badInput(_ input: BadInput) {
        do {
            let file = try Resolver.resolve(Parser.parse(source: input.source, fileName: "t.proto"))
            Issue.record("expected an error, got \(file.messages.count) messages")
        } catch {
            #expect(error.description.hasPrefix(input.expected), "got: \(error.description)")
        }
    }
}

extension Tag {
    /// Tests that read files of the repository (Protocol/, Generated/).
    @Tag static var repository: Self
}

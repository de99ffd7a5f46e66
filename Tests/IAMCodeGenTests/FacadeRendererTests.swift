import Testing

@testable import IAMCodeGen

/// The IAMClient facade and the CLI table renderers on a small IDL: which rpcs page, and what each emits.
@Suite("Snippets: IAMClient paginators and CLI commands")
struct FacadeRendererTests {
    static let source = """
        syntax = "proto3";
        package t;
        message ListThingsRequest {
          // Prefix.
          string path_prefix = 1;
          string marker = 2;
          int32 max_items = 3;
        }
        message ListThingsResponse {
          repeated string things = 1;
          bool is_truncated = 2;
          string marker = 3;
        }
        message PutThingRequest {
          // The thing's name.
          string thing_name = 1;
          bool set_as_default = 2;
          repeated string tag_keys = 3;
        }
        message PutThingResponse {}
        service IAM {
          // Lists things.
          rpc ListThings(ListThingsRequest) returns (ListThingsResponse);
          // Puts a thing.
          rpc PutThing(PutThingRequest) returns (PutThingResponse);
        }

        """

    static func files() throws -> [String: String] {
        var options = CodeGenOptions()
        options.services = ["IAM": ServiceGeneration(handler: .async, actionPrefix: "iam", requestsNameResource: false)]
        let files = try CodeGenerator.generate(source: source, fileName: "t.proto", options: options)
        return Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.contents) })
    }

    @Test("a List rpc with Marker/IsTruncated gets a paginator and conformances; a write only a typed call")
    func paginators() throws {
        let facade = try #require(try Self.files()["Sources/IAMClient/Generated/IAMClient+Operations.swift"])
        #expect(facade.contains("public func listThingsPages("))
        #expect(facade.contains(") -> IAMPaginator<ListThingsRequest, ListThingsResponse> {"))
        #expect(facade.contains("extension ListThingsRequest: IAMPaginatedRequest {}"))
        #expect(facade.contains("extension ListThingsResponse: IAMPaginatedResponse {}"))
        #expect(facade.contains("public func putThing("))
        #expect(facade.contains(") async throws(IAMClientError) -> PutThingResponse {"))
        #expect(!facade.contains("putThingPages"))
    }

    @Test("commands are named and flagged as the AWS CLI does; pagination fields become pagination options")
    func commands() throws {
        let commands = try #require(try Self.files()["Sources/IAMCLI/Generated/IAM+Commands.swift"])
        #expect(commands.contains(#"commandName: "list-things","#))
        #expect(commands.contains("@OptionGroup var pagination: PaginationOptions"))
        #expect(commands.contains(#"@Option(name: .customLong("path-prefix"), help: "Prefix.")"#))
        #expect(!commands.contains(#"customLong("marker")"#))
        #expect(commands.contains(#"@Flag(name: .customLong("set-as-default"), inversion: .prefixedNo"#))
        #expect(commands.contains(#"@Option(name: .customLong("tag-keys"), parsing: .upToNextOption"#))
        #expect(commands.contains(#"("thing_name", ParameterInput(thingName)),"#))
        let shapes = try #require(try Self.files()["Sources/IAMCLI/Generated/OperationShapes.swift"])
        #expect(shapes.contains(#"FieldShape(3, "tag_keys", .scalar(.string), .repeated, help: ""),"#))
    }

    @Test("kebab-case as botocore's xform_name")
    func kebab() {
        #expect(CLITableRenderer.kebab("GetAccountAuthorizationDetails") == "get-account-authorization-details")
        #expect(CLITableRenderer.kebab("policy_source_arn") == "policy-source-arn")
        #expect(CLITableRenderer.kebab("ListMFADevices") == "list-mfa-devices")
    }
}

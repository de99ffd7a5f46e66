/// One file the generator writes, with its path relative to the repository root.
public struct GeneratedFile: Hashable, Sendable {
    /// Path relative to the repository root, e.g. "Sources/IAMWire/Generated/IAMMessages.swift".
    public var path: String
    /// The file's full contents.
    public var contents: String

    /// Creates a file description.
    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

/// How the generator renders one service.
public struct ServiceGeneration: Hashable, Sendable {
    /// The shape of the server protocol's methods.
    public enum Handler: Hashable, Sendable {
        /// `func rpc(_:context:) -> ServerResponse<Response>`: answered `.immediate` on the connection's
        /// event loop (no thread hop) or `.deferred`; for calls served from memory (checks, health).
        case immediate
        /// `func rpc(_:context:) async throws -> Response`, run in a Task after the interceptors; for
        /// calls that await a store.
        case async
    }

    /// The server protocol's flavour.
    public var handler: Handler
    /// The service prefix of the action each rpc is authorized as (`iam` gives `iam:CreateUser`);
    /// nil when the service's calls need authentication only.
    public var actionPrefix: String?
    /// Whether every request type of the service's rpcs must name the resource the call touches: the
    /// generator declares each a conformance to `CodeGenOptions.resourceNamingProtocol`, whose
    /// requirement only hand-written code can satisfy, so an rpc added without it does not compile.
    public var requestsNameResource: Bool

    /// Creates a service setting.
    public init(handler: Handler, actionPrefix: String?, requestsNameResource: Bool) {
        self.handler = handler
        self.actionPrefix = actionPrefix
        self.requestsNameResource = requestsNameResource
    }
}

/// Where and under which names the generated Swift goes.
public struct CodeGenOptions: Hashable, Sendable {
    /// Folder (relative to the repository root) of the message types and the method table.
    public var messagesDirectory = "Sources/IAMWire/Generated"
    /// Folder of the server protocols.
    public var serverDirectory = "Sources/IAMServer/Generated"
    /// Folder of the client stubs.
    public var clientDirectory = "Sources/IAMClient/Generated"
    /// File name of the messages of an IDL without services (all in one file).
    public var messagesFileName = "IAMMessages.swift"
    /// File name of the messages several services use (or none does); each service's own messages go to
    /// `<Service>Service+Messages.swift`.
    public var sharedMessagesFileName = "SharedMessages.swift"
    /// Name of the method-table namespace (and its file, `<name>.swift`).
    public var methodTableName = "IAMMethods"
    /// Module that holds the messages and the method table (imported by server and client files).
    public var messagesModule = "IAMWire"
    /// Modules the messages file imports besides NIOCore (e.g. "IAMWire" when the messages live in
    /// another module, as the test-only probe messages do).
    public var messageImports: [String] = []
    /// Module that provides ServerResponse, RPCService, RPCClient, ...
    public var rpcModule = "IAMRPC"
    /// The protocol (declared by hand in the server module) each request of a service with
    /// `requestsNameResource` conforms to.
    public var resourceNamingProtocol = "IAMResourceNaming"
    /// Every service of the IDL, by name. A service missing here is an error rather than a default, so a
    /// new service cannot slip past authorization unnoticed.
    public var services: [String: ServiceGeneration] = [
        // Management: calls touch the store, each authorized as <prefix>:<Rpc> on the resource it names.
        "IAM": ServiceGeneration(handler: .async, actionPrefix: "iam", requestsNameResource: true),
        "STS": ServiceGeneration(handler: .async, actionPrefix: "sts", requestsNameResource: true),
        // Checks and simulation answer from the in-memory snapshot on the event loop.
        "Authorization": ServiceGeneration(handler: .immediate, actionPrefix: "iam", requestsNameResource: false),
        // Authentication only.
        "Health": ServiceGeneration(handler: .immediate, actionPrefix: nil, requestsNameResource: false),
    ]

    /// The defaults used for this repository.
    public init() {}
}

/// The generator: IDL text in, Swift files out. Pure (no file system), so tests call it directly.
public enum CodeGenerator {
    /// Parses, resolves and renders `source`. `fileName` is how the IDL is named in errors and headers
    /// (use the repository-relative path, e.g. "Protocol/iam.proto").
    public static func generate(
        source: String,
        fileName: String,
        options: CodeGenOptions = CodeGenOptions()
    ) throws(CodeGenError) -> [GeneratedFile] {
        let parsed = try Parser.parse(source: source, fileName: fileName)
        let file = try Resolver.resolve(parsed)
        return try self.render(file, options: options)
    }

    /// The do-not-edit header every generated file starts with.
    public static func header(for fileName: String) -> String {
        """
        // DO NOT EDIT. Generated by iam-codegen (tools/codegen) from \(fileName).
        // Change the IDL and run tools/scripts/generate; CI runs tools/scripts/check-generated.

        """
    }

    /// Renders an already resolved file.
    public static func render(_ file: ProtoFile, options: CodeGenOptions = CodeGenOptions()) throws(CodeGenError)
        -> [GeneratedFile]
    {
        let messages = MessageRenderer(file: file)
        var settings: [String: ServiceGeneration] = [:]
        for service in file.services {
            guard let setting = options.services[service.name] else {
                throw CodeGenError(
                    "service '\(service.name)' has no entry in CodeGenOptions.services (handler flavour, action prefix, resource naming)",
                    at: service.location
                )
            }
            settings[service.name] = setting
        }
        let services = ServiceRenderer(
            file: file,
            swiftTypeNames: messages.swiftTypeNames,
            methodTableName: options.methodTableName,
            settings: settings,
            resourceNamingProtocol: options.resourceNamingProtocol
        )
        for service in file.services {
            try services.checkUnary(service)
            try services.checkMethodNames(service)
            try services.checkResourceNaming(service)
        }

        var files: [GeneratedFile] = []

        if file.services.isEmpty {
            files.append(
                GeneratedFile(
                    path: "\(options.messagesDirectory)/\(options.messagesFileName)",
                    contents: try self.renderMessages(file.enums, file.messages, of: file, with: messages, options)
                )
            )
            // A file without services (the test-only probe) gets no method table.
            return files
        }
        for group in MessagePartition(file: file).groups where !group.enums.isEmpty || !group.messages.isEmpty {
            let name = group.service.map { "\($0.name)Service+Messages.swift" } ?? options.sharedMessagesFileName
            files.append(
                GeneratedFile(
                    path: "\(options.messagesDirectory)/\(name)",
                    contents: try self.renderMessages(group.enums, group.messages, of: file, with: messages, options)
                )
            )
        }

        var writer = CodeWriter()
        writer.lines(self.header(for: file.fileName))
        services.renderMethodTable(into: &writer)
        files.append(
            GeneratedFile(path: "\(options.messagesDirectory)/\(options.methodTableName).swift", contents: writer.text)
        )

        for service in file.services {
            writer = CodeWriter()
            writer.lines(self.header(for: file.fileName))
            writer.line("public import \(options.messagesModule)")
            writer.line("public import \(options.rpcModule)")
            writer.line()
            services.renderServer(service, into: &writer)
            files.append(
                GeneratedFile(
                    path: "\(options.serverDirectory)/\(service.name)Service+Server.swift", contents: writer.text)
            )

            writer = CodeWriter()
            writer.lines(self.header(for: file.fileName))
            writer.line("public import \(options.messagesModule)")
            writer.line("public import \(options.rpcModule)")
            writer.line()
            services.renderClient(service, into: &writer)
            files.append(
                GeneratedFile(
                    path: "\(options.clientDirectory)/\(service.name)Service+Client.swift", contents: writer.text)
            )
        }
        files.append(contentsOf: self.renderFacades(file, swiftTypeNames: messages.swiftTypeNames, options: options))
        files.append(contentsOf: self.renderCLI(file, swiftTypeNames: messages.swiftTypeNames, options: options))
        return files
    }

    private static func renderMessages(
        _ enums: [EnumDecl],
        _ messageDecls: [MessageDecl],
        of file: ProtoFile,
        with renderer: MessageRenderer,
        _ options: CodeGenOptions
    ) throws(CodeGenError) -> String {
        var writer = CodeWriter()
        writer.lines(self.header(for: file.fileName))
        for module in (["NIOCore"] + options.messageImports).sorted() {
            writer.line("public import \(module)")
        }
        for decl in enums {
            writer.line()
            try renderer.renderEnum(decl, into: &writer)
        }
        for message in messageDecls {
            writer.line()
            try renderer.renderMessage(message, into: &writer)
        }
        return writer.text
    }
}

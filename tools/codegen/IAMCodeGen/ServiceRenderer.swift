/// Renders the method table (IAMWire), the server protocols (IAMServer) and the client stubs (IAMClient).
struct ServiceRenderer {
    let file: ProtoFile
    let swiftTypeNames: [String: String]
    let methodTableName: String
    /// The generation setting of every service, by name.
    let settings: [String: ServiceGeneration]
    let resourceNamingProtocol: String

    func setting(_ service: ServiceDecl) -> ServiceGeneration { self.settings[service.name]! }

    /// The action an rpc is authorized as (`iam:CreateUser`), or nil for authentication-only services.
    func action(_ service: ServiceDecl, _ method: MethodDecl) -> String? {
        self.setting(service).actionPrefix.map { "\($0):\(method.name)" }
    }

    /// The request types that must name their resource, in IDL order.
    func resourceNamingRequests(_ service: ServiceDecl) -> [String] {
        guard self.setting(service).requestsNameResource else { return [] }
        return service.methods.map { self.swiftTypeNames[$0.inputType]! }
    }

    /// A request type shared by two rpcs of a resource-naming service would have to name two resources
    /// with one implementation; refuse it rather than authorize one of them on the wrong resource.
    func checkResourceNaming(_ service: ServiceDecl) throws(CodeGenError) {
        guard self.setting(service).requestsNameResource else { return }
        var seen: [String: String] = [:]
        for method in service.methods {
            if let other = seen[method.inputType] {
                throw CodeGenError(
                    "rpcs '\(other)' and '\(method.name)' of '\(service.name)' share request type '\(method.inputType)'; each rpc of a service whose requests name their resource needs its own request type",
                    at: method.location
                )
            }
            seen[method.inputType] = method.name
        }
    }

    func checkUnary(_ service: ServiceDecl) throws(CodeGenError) {
        for method in service.methods where method.clientStreaming || method.serverStreaming {
            throw CodeGenError(
                "rpc '\(method.name)' streams; the IAMRPC layer and its generated stubs support unary calls only",
                at: method.location
            )
        }
    }

    func checkMethodNames(_ service: ServiceDecl) throws(CodeGenError) {
        var seen: [String: String] = [:]
        for method in service.methods {
            let name = Naming.methodName(method.name)
            if let other = seen[name] {
                throw CodeGenError(
                    "rpcs '\(other)' and '\(method.name)' of '\(service.name)' both become Swift method '\(name)'",
                    at: method.location
                )
            }
            if name == "all" || name == "serviceName" || name == "methods" || name == "client" {
                throw CodeGenError(
                    "rpc '\(method.name)' would become '\(name)', a name the generated code already uses",
                    at: method.location
                )
            }
            seen[name] = method.name
        }
    }

    func descriptorReference(_ service: ServiceDecl, _ method: MethodDecl) -> String {
        "\(self.methodTableName).\(service.name).\(Naming.escaped(Naming.methodName(method.name)))"
    }

    // MARK: Method table

    func renderMethodTable(into writer: inout CodeWriter) {
        writer.line("/// The method descriptors of every service in `\(self.file.fileName)`, by service.")
        writer.block("public enum \(self.methodTableName) {") { writer in
            for service in self.file.services {
                writer.doc(service.comments, fallback: "The `\(service.name)` service.")
                writer.block("public enum \(Naming.escaped(service.name)) {") { writer in
                    writer.line("/// The service's fully qualified name, as sent on the wire.")
                    writer.line("public static let serviceName = \"\(service.fullName)\"")
                    for method in service.methods {
                        writer.line()
                        writer.doc(method.comments, fallback: "The `\(method.name)` rpc.")
                        let action = self.action(service, method).map { ", action: \"\($0)\"" } ?? ""
                        writer.line(
                            "public static let \(Naming.escaped(Naming.methodName(method.name))) = MethodDescriptor(service: serviceName, method: \"\(method.name)\"\(action))"
                        )
                    }
                    writer.line()
                    writer.line("/// Every method of the service, in IDL order.")
                    writer.line("public static let all: [MethodDescriptor] = [")
                    for method in service.methods {
                        writer.line("    \(Naming.escaped(Naming.methodName(method.name))),")
                    }
                    writer.line("]")
                }
                writer.line()
            }
            writer.line("/// Every method of every service, in IDL order.")
            let all = self.file.services.map { "\(Naming.escaped($0.name)).all" }
            if all.isEmpty {
                writer.line("public static let all: [MethodDescriptor] = []")
            } else {
                writer.line("public static let all: [MethodDescriptor] = \(all.joined(separator: " + "))")
            }
        }
    }

    // MARK: Server

    func renderServer(_ service: ServiceDecl, into writer: inout CodeWriter) {
        let protocolName = "\(service.name)ServiceProtocol"
        let setting = self.setting(service)
        writer.doc(service.comments, fallback: "The `\(service.name)` service.")
        writer.line("///")
        switch setting.handler {
        case .immediate:
            writer.line("/// Implement one method per rpc; `methods` (provided below) registers them with the server.")
            writer.line(
                "/// Return `.immediate` when the answer is ready on the connection's event loop (no thread hop).")
        case .async:
            writer.line(
                "/// Implement one `async throws` method per rpc; `methods` (provided below) registers them with the")
            writer.line(
                "/// server. Each runs in a Task once the request is decoded and the interceptors let it through")
            writer.line(
                "/// on the connection's event loop; throw `RPCError` or an `RPCErrorConvertible` to fail the call.")
        }
        writer.block("public protocol \(protocolName): RPCService {") { writer in
            for (index, method) in service.methods.enumerated() {
                if index > 0 { writer.line() }
                writer.doc(method.comments, fallback: "Serves the `\(method.name)` rpc.")
                let input = self.swiftTypeNames[method.inputType]!
                let output = self.swiftTypeNames[method.outputType]!
                let name = Naming.escaped(Naming.methodName(method.name))
                let result =
                    switch setting.handler {
                    case .immediate: "-> ServerResponse<\(output)>"
                    case .async: "async throws -> \(output)"
                    }
                let oneLine = "func \(name)(_ request: \(input), context: ServerCallContext) \(result)"
                if oneLine.count + 4 <= 120 {
                    writer.line(oneLine)
                } else {
                    // One parameter per line keeps the return type whole (swift-format would split it).
                    writer.line("func \(name)(")
                    writer.line("    _ request: \(input),")
                    writer.line("    context: ServerCallContext")
                    writer.line(") \(result)")
                }
            }
        }
        writer.line()
        writer.block("extension \(protocolName) {") { writer in
            writer.line("/// One entry per rpc of `\(service.fullName)`, dispatching to the methods above.")
            writer.block("public var methods: [RPCServerMethod] {") { writer in
                writer.line("var methods: [RPCServerMethod] = []")
                writer.line("methods.reserveCapacity(\(service.methods.count))")
                for method in service.methods {
                    let name = Naming.methodName(method.name)
                    let descriptor = self.descriptorReference(service, method)
                    let (kind, call) =
                        switch setting.handler {
                        case .immediate: ("unary", "self.\(name)($0, context: $1)")
                        case .async: ("async", "try await self.\(name)($0, context: $1)")
                        }
                    let oneLine = "methods.append(.\(kind)(\(descriptor)) { [self] in \(call) })"
                    if oneLine.count + 8 <= 120 {
                        writer.line(oneLine)
                    } else {
                        writer.line("methods.append(")
                        writer.line("    .\(kind)(\(descriptor)) { [self] in")
                        writer.line("        \(call)")
                        writer.line("    }")
                        writer.line(")")
                    }
                }
                writer.line("return methods")
            }
        }
        let naming = self.resourceNamingRequests(service)
        if !naming.isEmpty {
            writer.line()
            writer.line(
                "// Every request of `\(service.fullName)` names the resource its call touches, for the authorizer.")
            writer.line(
                "// The requirement is implemented by hand; an rpc added to the IDL without it does not compile.")
            for request in naming {
                writer.line("extension \(request): \(self.resourceNamingProtocol) {}")
            }
            writer.line()
            writer.block("extension \(protocolName) {") { writer in
                writer.line(
                    "/// The request types above, so the authorizer finds a request's naming by its type: a cast to")
                writer.line(
                    "/// `\(self.resourceNamingProtocol)` would search the runtime's conformance records on every call."
                )
                writer.block("static var resourceNamingTypes: [any \(self.resourceNamingProtocol).Type] {") { writer in
                    writer.block("[", closer: "]") { writer in
                        for request in naming { writer.line("\(request).self,") }
                    }
                }
            }
        }
    }

    // MARK: Client

    func renderClient(_ service: ServiceDecl, into writer: inout CodeWriter) {
        let clientName = "\(service.name)ServiceClient"
        writer.doc(service.comments, fallback: "The `\(service.name)` service.")
        writer.line("///")
        writer.line("/// Client stubs: one `async throws(RPCError)` method per rpc, sent through an `RPCClient`.")
        writer.block("public struct \(clientName): Sendable {") { writer in
            writer.line("/// The connection (or pool) the calls go through.")
            writer.line("public let client: RPCClient")
            writer.line()
            writer.line("/// Creates stubs that send `\(service.fullName)` calls through `client`.")
            writer.block("public init(client: RPCClient) {") { writer in
                writer.line("self.client = client")
            }
            for method in service.methods {
                let input = self.swiftTypeNames[method.inputType]!
                let output = self.swiftTypeNames[method.outputType]!
                writer.line()
                writer.doc(method.comments, fallback: "Calls the `\(method.name)` rpc.")
                writer.line("public func \(Naming.escaped(Naming.methodName(method.name)))(")
                writer.line("    _ request: \(input),")
                writer.line("    options: CallOptions = CallOptions()")
                writer.block(") async throws(RPCError) -> \(output) {") { writer in
                    writer.line(
                        "try await self.client.unary(\(self.descriptorReference(service, method)), request, options: options)"
                    )
                }
            }
        }
    }
}

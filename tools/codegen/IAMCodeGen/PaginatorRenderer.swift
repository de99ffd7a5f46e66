/// Renders `IAMClient`'s typed calls (one method per rpc, retried by the client's policy) and, for every rpc
/// that pages with AWS's Marker, the `IAMPaginated…` conformances and a `list…Pages` method returning an
/// `IAMPaginator`.
struct PaginatorRenderer {
    let file: ProtoFile
    let swiftTypeNames: [String: String]
    let methodTableName: String

    /// Whether an rpc pages: its request has `string marker` and its response `bool is_truncated` and
    /// `string marker`, as every AWS List call does.
    static func isPaginated(_ method: MethodDecl, in file: ProtoFile) -> Bool {
        let messages = Dictionary(file.allMessages.map { ($0.fullName, $0) }, uniquingKeysWith: { first, _ in first })
        guard let input = messages[method.inputType], let output = messages[method.outputType] else { return false }
        func has(_ message: MessageDecl, _ name: String, _ type: ScalarType) -> Bool {
            message.fields.contains { $0.name == name && $0.label == .singular && $0.type == .scalar(type) }
        }
        return has(input, "marker", .string) && has(output, "marker", .string) && has(output, "is_truncated", .bool)
    }

    func render(_ services: [ServiceDecl], header: String, into writer: inout CodeWriter) {
        writer.lines(header)
        writer.line("public import IAMRPC")
        writer.line("public import IAMWire")
        var conformed: Set<String> = []
        for service in services {
            writer.line()
            writer.line("// MARK: \(service.name)")
            writer.line()
            writer.block("extension IAMClient {") { writer in
                for (index, method) in service.methods.enumerated() {
                    if index > 0 { writer.line() }
                    self.renderCall(service, method, into: &writer)
                    if Self.isPaginated(method, in: file) {
                        writer.line()
                        self.renderPages(service, method, into: &writer)
                    }
                }
            }
            for method in service.methods where Self.isPaginated(method, in: file) {
                for (type, proto) in [
                    (method.inputType, "IAMPaginatedRequest"), (method.outputType, "IAMPaginatedResponse"),
                ]
                where conformed.insert(type).inserted {
                    writer.line()
                    writer.line("extension \(self.swiftTypeNames[type]!): \(proto) {}")
                }
            }
        }
    }

    private func descriptor(_ service: ServiceDecl, _ method: MethodDecl) -> String {
        "\(self.methodTableName).\(service.name).\(Naming.escaped(Naming.methodName(method.name)))"
    }

    private func renderCall(_ service: ServiceDecl, _ method: MethodDecl, into writer: inout CodeWriter) {
        let input = self.swiftTypeNames[method.inputType]!
        let output = self.swiftTypeNames[method.outputType]!
        writer.doc(method.comments, fallback: "Calls `\(service.name).\(method.name)`.")
        writer.line("///")
        writer.line("/// - Throws: ``IAMClientError`` with AWS's error code when the server refuses the call.")
        writer.line("public func \(Naming.escaped(Naming.methodName(method.name)))(")
        writer.line("    _ request: \(input) = \(input)(),")
        writer.line("    options: CallOptions = CallOptions()")
        writer.block(") async throws(IAMClientError) -> \(output) {") { writer in
            writer.line(
                "try await self.call(\(self.descriptor(service, method)), request, as: \(output).self, options: options)"
            )
        }
    }

    private func renderPages(_ service: ServiceDecl, _ method: MethodDecl, into writer: inout CodeWriter) {
        let input = self.swiftTypeNames[method.inputType]!
        let output = self.swiftTypeNames[method.outputType]!
        writer.line("/// Every page of `\(method.name)`, following `Marker` while `IsTruncated`; one call per page.")
        writer.line("public func \(Naming.methodName(method.name))Pages(")
        writer.line("    _ request: \(input) = \(input)(),")
        writer.line("    options: CallOptions = CallOptions()")
        writer.block(") -> IAMPaginator<\(input), \(output)> {") { writer in
            writer.line(
                "IAMPaginator(client: self, method: \(self.descriptor(service, method)), request: request, options: options)"
            )
        }
    }
}

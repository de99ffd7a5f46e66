extension CodeGenOptions {
    /// File (in `clientDirectory`) of `IAMClient`'s typed calls and paginators.
    public var clientFacadeFileName: String { "IAMClient+Operations.swift" }
}

extension CodeGenerator {
    /// The files rendered on top of the messages and stubs: `IAMClient`'s typed calls and paginators.
    static func renderFacades(_ file: ProtoFile, swiftTypeNames: [String: String], options: CodeGenOptions)
        -> [GeneratedFile]
    {
        var writer = CodeWriter()
        PaginatorRenderer(file: file, swiftTypeNames: swiftTypeNames, methodTableName: options.methodTableName)
            .render(file.services, header: self.header(for: file.fileName), into: &writer)
        return [
            GeneratedFile(path: "\(options.clientDirectory)/\(options.clientFacadeFileName)", contents: writer.text)
        ]
    }
}

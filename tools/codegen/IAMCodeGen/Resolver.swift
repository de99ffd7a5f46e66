/// Resolves type references with protobuf's scoping rules and checks what protoc would reject,
/// plus what the Swift renderers cannot represent (recursive messages).
public enum Resolver {
    private enum Kind { case message, enumeration }

    /// Returns `file` with every `.unresolved` type replaced by `.message`/`.enumeration`, or throws
    /// the first problem found, located.
    public static func resolve(_ file: ProtoFile) throws(CodeGenError) -> ProtoFile {
        var kinds: [String: Kind] = [:]
        var locations: [String: SourceLocation] = [:]
        for message in file.allMessages {
            if let previous = locations[message.fullName] {
                throw CodeGenError("'\(message.fullName)' is already defined at \(previous)", at: message.location)
            }
            kinds[message.fullName] = .message
            locations[message.fullName] = message.location
        }
        for decl in file.allEnums {
            if let previous = locations[decl.fullName] {
                throw CodeGenError("'\(decl.fullName)' is already defined at \(previous)", at: decl.location)
            }
            kinds[decl.fullName] = .enumeration
            locations[decl.fullName] = decl.location
        }

        func lookup(_ name: String, scope: String, at location: SourceLocation) throws(CodeGenError) -> FieldType {
            if name.hasPrefix(".") {
                let full = String(name.dropFirst())
                switch kinds[full] {
                case .message: return .message(full)
                case .enumeration: return .enumeration(full)
                case nil: throw CodeGenError("unknown type '\(name)'", at: location)
                }
            }
            // Innermost scope first, as protoc does: a.b.C looks in a.b.C, a.b, a, then the root.
            var components = scope.isEmpty ? [] : scope.split(separator: ".").map(String.init)
            while true {
                let candidate = (components + [name]).joined(separator: ".")
                switch kinds[candidate] {
                case .message: return .message(candidate)
                case .enumeration: return .enumeration(candidate)
                case nil: break
                }
                if components.isEmpty { break }
                components.removeLast()
            }
            throw CodeGenError("unknown type '\(name)'", at: location)
        }

        func resolveType(_ type: FieldType, scope: String, at location: SourceLocation) throws(CodeGenError)
            -> FieldType
        {
            switch type {
            case .unresolved(let name): return try lookup(name, scope: scope, at: location)
            case .map(let key, let value):
                return .map(key: key, value: try resolveType(value, scope: scope, at: location))
            default: return type
            }
        }

        func resolveMessage(_ message: MessageDecl) throws(CodeGenError) -> MessageDecl {
            var message = message
            var names: [String: SourceLocation] = [:]
            var numbers: [Int: String] = [:]
            for index in message.fields.indices {
                let field = message.fields[index]
                if let previous = names[field.name] {
                    throw CodeGenError(
                        "field '\(field.name)' is already defined in '\(message.name)' at \(previous)",
                        at: field.location
                    )
                }
                if let other = numbers[field.number] {
                    throw CodeGenError(
                        "field number \(field.number) of '\(field.name)' is already used by '\(other)' in '\(message.name)'",
                        at: field.location
                    )
                }
                if message.reservedNumbers.contains(where: { $0.contains(field.number) }) {
                    throw CodeGenError(
                        "field number \(field.number) of '\(field.name)' is reserved", at: field.location)
                }
                if message.reservedNames.contains(field.name) {
                    throw CodeGenError("field name '\(field.name)' is reserved", at: field.location)
                }
                names[field.name] = field.location
                numbers[field.number] = field.name
                message.fields[index].type = try resolveType(
                    field.type, scope: message.fullName, at: field.typeLocation)
            }
            for index in message.messages.indices {
                message.messages[index] = try resolveMessage(message.messages[index])
            }
            try checkEnumScope(message.enums)
            return message
        }

        var resolved = file
        for index in resolved.messages.indices {
            resolved.messages[index] = try resolveMessage(resolved.messages[index])
        }
        try checkEnumScope(resolved.enums)
        for decl in resolved.allEnums {
            try checkEnum(decl)
        }

        var serviceNames: [String: SourceLocation] = [:]
        for serviceIndex in resolved.services.indices {
            let service = resolved.services[serviceIndex]
            if let previous = serviceNames[service.name] ?? locations[service.fullName] {
                throw CodeGenError("'\(service.name)' is already defined at \(previous)", at: service.location)
            }
            serviceNames[service.name] = service.location
            var methodNames: [String: SourceLocation] = [:]
            for methodIndex in service.methods.indices {
                let method = service.methods[methodIndex]
                if let previous = methodNames[method.name] {
                    throw CodeGenError(
                        "rpc '\(method.name)' is already defined in service '\(service.name)' at \(previous)",
                        at: method.location
                    )
                }
                methodNames[method.name] = method.location
                for (keyPath, typeName) in [
                    (\MethodDecl.inputType, method.inputType), (\.outputType, method.outputType),
                ] {
                    guard case .message(let full) = try lookup(typeName, scope: resolved.package, at: method.location)
                    else {
                        throw CodeGenError(
                            "rpc '\(method.name)' uses '\(typeName)', which is not a message", at: method.location)
                    }
                    resolved.services[serviceIndex].methods[methodIndex][keyPath: keyPath] = full
                }
            }
        }
        try checkNoRecursion(resolved)
        return resolved
    }

    private static func checkEnum(_ decl: EnumDecl) throws(CodeGenError) {
        guard let first = decl.values.first, first.number == 0 else {
            throw CodeGenError(
                "the first value of enum '\(decl.name)' must be 0 in proto3 (it is the default)",
                at: decl.values.first?.location ?? decl.location
            )
        }
        var numbers: [Int32: String] = [:]
        var names: Set<String> = []
        for value in decl.values {
            guard names.insert(value.name).inserted else {
                throw CodeGenError(
                    "enum value '\(value.name)' is already defined in '\(decl.name)'", at: value.location)
            }
            if let other = numbers[value.number], !decl.allowAlias {
                throw CodeGenError(
                    "enum value '\(value.name)' reuses number \(value.number) of '\(other)'; add 'option allow_alias = true;' if that is intended",
                    at: value.location
                )
            }
            numbers[value.number] = numbers[value.number] ?? value.name
        }
    }

    /// Enum values are siblings of their enum (C++ scoping): two enums in one scope cannot share a value name.
    private static func checkEnumScope(_ enums: [EnumDecl]) throws(CodeGenError) {
        var seen: [String: String] = [:]
        for decl in enums {
            for value in decl.values {
                if let other = seen[value.name], other != decl.name {
                    throw CodeGenError(
                        "enum value '\(value.name)' of '\(decl.name)' clashes with the same value name in enum '\(other)' (enum values share their enclosing scope)",
                        at: value.location
                    )
                }
                seen[value.name] = decl.name
            }
        }
    }

    /// A message that contains itself, directly or not, would make decoding depth depend on the input
    /// instead of the schema; the generated decoders recurse per nesting level, so we refuse it.
    private static func checkNoRecursion(_ file: ProtoFile) throws(CodeGenError) {
        let messages = Dictionary(uniqueKeysWithValues: file.allMessages.map { ($0.fullName, $0) })
        func children(of message: MessageDecl) -> [(String, FieldDecl)] {
            message.fields.compactMap { field in
                switch field.type {
                case .message(let name): (name, field)
                case .map(_, .message(let name)): (name, field)
                default: nil
                }
            }
        }
        var state: [String: Int] = [:]  // 1 = on the current path, 2 = done
        func visit(_ name: String, path: [String]) throws(CodeGenError) {
            if state[name] == 2 { return }
            state[name] = 1
            guard let message = messages[name] else { return }
            for (child, field) in children(of: message) {
                if state[child] == 1 {
                    let cycle = (path + [name, child]).drop { $0 != child }.joined(separator: " -> ")
                    throw CodeGenError(
                        "recursive message types are not supported (\(cycle)): decoding depth must be bounded by the schema",
                        at: field.location
                    )
                }
                try visit(child, path: path + [name])
            }
            state[name] = 2
        }
        for message in file.allMessages {
            try visit(message.fullName, path: [])
        }
    }
}

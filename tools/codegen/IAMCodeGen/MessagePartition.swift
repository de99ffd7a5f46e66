/// Which file each top-level message and enum goes into: the one service whose rpcs reach it (through
/// request/response types and their fields, transitively), or the shared file when several services
/// reach it or none does.
///
/// One file per service lets the compiler type-check the files in parallel and rebuild only the
/// service whose messages changed; a single file of every message was the one job every build of the
/// wire module waited for.
struct MessagePartition {
    /// A group of top-level declarations rendered into one file.
    struct Group {
        /// The owning service, or nil for the shared file.
        var service: ServiceDecl?
        var enums: [EnumDecl] = []
        var messages: [MessageDecl] = []
    }

    /// The shared group first, then one group per service in IDL order (possibly empty).
    let groups: [Group]

    init(file: ProtoFile) {
        // Every type (nested included) -> the full name of the top-level declaration that holds it.
        var topLevel: [String: String] = [:]
        func claim(_ message: MessageDecl, top: String) {
            topLevel[message.fullName] = top
            for decl in message.enums { topLevel[decl.fullName] = top }
            for nested in message.messages { claim(nested, top: top) }
        }
        for message in file.messages { claim(message, top: message.fullName) }
        for decl in file.enums { topLevel[decl.fullName] = decl.fullName }

        // Top-level declaration -> the top-level declarations its fields (and its nested messages' fields) use.
        var uses: [String: Set<String>] = [:]
        func referenced(_ type: FieldType) -> String? {
            switch type {
            case .message(let name), .enumeration(let name): name
            case .map(_, let value): referenced(value)
            case .scalar, .unresolved: nil
            }
        }
        func collect(_ message: MessageDecl, top: String) {
            for field in message.fields {
                if let name = referenced(field.type), let target = topLevel[name], target != top {
                    uses[top, default: []].insert(target)
                }
            }
            for nested in message.messages { collect(nested, top: top) }
        }
        for message in file.messages { collect(message, top: message.fullName) }

        var owners: [String: Set<String>] = [:]
        for service in file.services {
            var pending = service.methods.flatMap { [$0.inputType, $0.outputType] }.compactMap { topLevel[$0] }
            var reached: Set<String> = []
            while let next = pending.popLast() {
                guard reached.insert(next).inserted else { continue }
                pending.append(contentsOf: uses[next, default: []])
            }
            for name in reached { owners[name, default: []].insert(service.fullName) }
        }

        var shared = Group(service: nil)
        var byService = file.services.map { Group(service: $0) }
        func index(of name: String) -> Int? {
            guard let owner = owners[name], owner.count == 1 else { return nil }
            return byService.firstIndex { $0.service?.fullName == owner.first }
        }
        for decl in file.enums {
            if let index = index(of: decl.fullName) {
                byService[index].enums.append(decl)
            } else {
                shared.enums.append(decl)
            }
        }
        for message in file.messages {
            if let index = index(of: message.fullName) {
                byService[index].messages.append(message)
            } else {
                shared.messages.append(message)
            }
        }
        self.groups = [shared] + byService
    }
}

import Foundation

/// The AWS CLI's pagination of a List command: follow Marker until IsTruncated is false, concatenating the
/// result lists; `--max-items N` stops after N items and prints a NextToken, which `--starting-token` continues
/// from. Tokens are botocore's: base64 of `{"Marker": ..., "boto_truncate_amount": n}`, so the items of a page
/// cut by --max-items are not lost; a plain marker is accepted too.
struct Paginator {
    let operation: OperationShape
    let options: PaginationOptions

    func run(_ input: AWSJSON, call: (AWSJSON) async throws(CLIFailure) -> AWSJSON) async throws(CLIFailure)
        -> AWSJSON
    {
        guard case .object(var request) = input else { return try await call(input) }
        var (marker, skip) = try Self.decodeToken(options.startingToken)
        if marker == nil, case .string(let given)? = input["Marker"] { marker = given }
        if let pageSize = options.pageSize { set(&request, "MaxItems", .int(Int64(pageSize))) }
        if let maxItems = options.maxItems, maxItems < 1 { throw .usage("--max-items must be at least 1") }

        var merged: [AWSJSON.Member] = []
        var collected = 0
        while true {
            if let marker { set(&request, "Marker", .string(marker)) }
            let page = try await call(.object(request))
            let skippedAtPageStart = skip
            guard case .object(let members) = page else { return page }
            let truncated = page["IsTruncated"] == .bool(true)
            let next: String? = if case .string(let m)? = page["Marker"], truncated { m } else { nil }
            for member in members where member.key != "Marker" && member.key != "IsTruncated" {
                guard case .array(var items) = member.value else {
                    if !merged.contains(where: { $0.key == member.key }) { merged.append(member) }
                    continue
                }
                if skip > 0 {
                    let dropped = min(skip, items.count)
                    items.removeFirst(dropped)
                    skip -= dropped
                }
                var available = items.count
                if let maxItems = options.maxItems { available = min(available, maxItems - collected) }
                let kept = Array(items.prefix(available))
                collected += kept.count
                if let index = merged.firstIndex(where: { $0.key == member.key }),
                    case .array(let earlier) = merged[index].value
                {
                    merged[index].value = .array(earlier + kept)
                } else {
                    merged.append(.init(key: member.key, value: .array(kept)))
                }
                if kept.count < items.count {
                    // Stopped inside this page: the token restarts at it and skips what was printed from it.
                    return finish(
                        merged, token: Self.encodeToken(marker: marker, skip: skippedAtPageStart + kept.count))
                }
            }
            if let maxItems = options.maxItems, collected >= maxItems, let next {
                return finish(merged, token: Self.encodeToken(marker: next, skip: 0))
            }
            guard let next, next != marker else { break }
            marker = next
        }
        return finish(merged, token: nil)
    }

    /// The merged result as the AWS CLI prints it (botocore's full result): the paging members are gone, and a
    /// NextToken says where `--starting-token` resumes when `--max-items` stopped early.
    private func finish(_ members: [AWSJSON.Member], token: String?) -> AWSJSON {
        var result = members
        if let token { result.append(.init(key: "NextToken", value: .string(token))) }
        return .object(result)
    }

    private func set(_ members: inout [AWSJSON.Member], _ key: String, _ value: AWSJSON) {
        members.removeAll { $0.key == key }
        members.append(.init(key: key, value: value))
    }

    static func encodeToken(marker: String?, skip: Int) -> String {
        var members: [AWSJSON.Member] = []
        if let marker { members.append(.init(key: "Marker", value: .string(marker))) }
        if skip > 0 { members.append(.init(key: "boto_truncate_amount", value: .int(Int64(skip)))) }
        return Data(AWSJSON.object(members).rendered(indent: nil).utf8).base64EncodedString()
    }

    static func decodeToken(_ token: String?) throws(CLIFailure) -> (marker: String?, skip: Int) {
        guard let token else { return (nil, 0) }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
            let json = try? AWSJSON.parse(text), case .object = json
        else { return (token, 0) }
        let marker: String? = if case .string(let m)? = json["Marker"] { m } else { nil }
        let skip: Int = if case .int(let n)? = json["boto_truncate_amount"] { Int(n) } else { 0 }
        return (marker, max(0, skip))
    }
}

/// `--generate-cli-skeleton`: the input's members with placeholder values of their types.
enum Skeleton {
    static func make(_ shape: MessageShape, hidingPagination: Bool, depth: Int = 0) -> AWSJSON {
        .object(
            shape.fields.compactMap { field in
                if hidingPagination && depth == 0 && CLITableNames.paginationFields.contains(field.name) { return nil }
                let value = placeholder(field.kind, depth: depth)
                return .init(key: field.awsName, value: field.label == .repeated ? .array([value]) : value)
            })
    }

    private static func placeholder(_ kind: FieldKind, depth: Int) -> AWSJSON {
        switch kind {
        case .scalar(.bool): return .bool(true)
        case .scalar(.string), .scalar(.bytes): return .string("")
        case .scalar: return .int(0)
        case .enumeration(let name):
            let first = Shapes.enums[name]?.values.compactMap { AWSNames.enumValue($0.name, of: name) }.first
            return .string(first ?? "")
        case .message(let name):
            return depth > 4 ? .object([]) : make(Shapes.message(name), hidingPagination: false, depth: depth + 1)
        case .map: return .object([.init(key: "KeyName", value: .string(""))])
        }
    }
}

/// Names the generated commands and the run path agree on.
enum CLITableNames {
    /// Request fields that the pagination options stand for.
    static let paginationFields: Set<String> = ["marker", "max_items"]
}

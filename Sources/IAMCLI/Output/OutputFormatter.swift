/// `--output json|text|table`, as the AWS CLI prints each.
enum OutputFormatter {
    static func format(_ value: AWSJSON, as format: OutputFormat, title: String) -> String {
        switch format {
        case .json: value.rendered()
        case .text: TextFormat.render(value)
        case .table: TableFormat.render(value, title: title, terminalWidth: TableFormat.terminalWidth())
        }
    }
}

/// The AWS CLI's text format (awscli/text.py): one line per object with its scalar members tab-separated in
/// key order, prefixed by the upper-cased name of the list or member it sits in; lists of scalars as
/// `NAME\tvalue` lines.
enum TextFormat {
    static func render(_ value: AWSJSON) -> String {
        var lines: [String] = []
        // A NextToken (`--max-items` stopped early) comes last, labelled, as the AWS CLI prints its resume token
        // (`{"NextToken": {"NextToken": token}}` after the pages): scripts read it from the last line.
        if case .object(let members) = value, let token = value["NextToken"], token.isScalar {
            write(.object(members.filter { $0.key != "NextToken" }), identifier: nil, scalarKeys: nil, into: &lines)
            lines.append("NEXTTOKEN\t\(token.textValue)")
        } else {
            write(value, identifier: nil, scalarKeys: nil, into: &lines)
        }
        return lines.joined(separator: "\n")
    }

    private static func write(_ value: AWSJSON, identifier: String?, scalarKeys: [String]?, into lines: inout [String])
    {
        switch value {
        case .object(let members):
            let sorted = members.sorted { $0.key < $1.key }
            var scalars: [String]
            if let scalarKeys {
                scalars = scalarKeys.map { key in value[key].map(\.textValue) ?? "" }
            } else {
                scalars = sorted.filter { $0.value.isScalar }.map(\.value.textValue)
            }
            if !scalars.isEmpty {
                if let identifier { scalars.insert(identifier.uppercased(), at: 0) }
                lines.append(scalars.joined(separator: "\t"))
            }
            for member in sorted where !member.value.isScalar {
                write(member.value, identifier: member.key, scalarKeys: nil, into: &lines)
            }
        case .array(let items):
            guard !items.isEmpty else { return }
            if items.contains(where: { if case .object = $0 { true } else { false } }) {
                var keys: Set<String> = []
                for case .object(let members) in items {
                    for member in members where member.value.isScalar { keys.insert(member.key) }
                }
                for item in items { write(item, identifier: identifier, scalarKeys: keys.sorted(), into: &lines) }
            } else if items.contains(where: { if case .array = $0 { true } else { false } }) {
                let scalars = items.filter(\.isScalar)
                if !scalars.isEmpty { scalarList(scalars, identifier: identifier, into: &lines) }
                for item in items where !item.isScalar {
                    write(item, identifier: identifier, scalarKeys: nil, into: &lines)
                }
            } else {
                scalarList(items, identifier: identifier, into: &lines)
            }
        default:
            lines.append(value.textValue)
        }
    }

    private static func scalarList(_ items: [AWSJSON], identifier: String?, into lines: inout [String]) {
        if let identifier {
            for item in items { lines.append("\(identifier.uppercased())\t\(item.textValue)") }
        } else {
            lines.append(items.map(\.textValue).joined(separator: "\t"))
        }
    }
}

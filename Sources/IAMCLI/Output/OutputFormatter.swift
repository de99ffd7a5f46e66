/// `--output json|text|table`, as the AWS CLI prints each.
enum OutputFormatter {
    static func format(_ value: AWSJSON, as format: OutputFormat, title: String) -> String {
        switch format {
        case .json: value.rendered()
        case .text: TextFormat.render(value)
        case .table: TableFormat.render(value, title: title)
        }
    }
}

/// The AWS CLI's text format (awscli/text.py): one line per object with its scalar members tab-separated in
/// key order, prefixed by the upper-cased name of the list or member it sits in; lists of scalars as
/// `NAME\tvalue` lines.
enum TextFormat {
    static func render(_ value: AWSJSON) -> String {
        var lines: [String] = []
        write(value, identifier: nil, scalarKeys: nil, into: &lines)
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

/// The AWS CLI's table format, simplified: a titled box per object with its scalar members as key/value rows,
/// lists of objects as one row per item under a header of their scalar keys, nested members as titled
/// sub-tables.
enum TableFormat {
    static func render(_ value: AWSJSON, title: String) -> String {
        var blocks: [[String]] = []
        section(value, title: title, into: &blocks)
        let width = max(20, blocks.flatMap { $0 }.map(\.count).max() ?? 20)
        var lines: [String] = []
        for block in blocks {
            for line in block {
                if line.hasPrefix("\u{1}title:") {
                    let title = String(line.dropFirst("\u{1}title:".count))
                    let padding = max(0, width - title.count)
                    lines.append(String(repeating: "-", count: width + 4))
                    lines.append(
                        "| " + String(repeating: " ", count: padding / 2) + title
                            + String(repeating: " ", count: padding - padding / 2) + " |")
                    lines.append("+" + String(repeating: "-", count: width + 2) + "+")
                } else {
                    lines.append("| " + line + String(repeating: " ", count: max(0, width - line.count)) + " |")
                }
            }
        }
        if !lines.isEmpty { lines.append("+" + String(repeating: "-", count: width + 2) + "+") }
        return lines.joined(separator: "\n")
    }

    private static func section(_ value: AWSJSON, title: String?, into blocks: inout [[String]]) {
        switch value {
        case .object(let members):
            let scalars = members.filter { $0.value.isScalar }
            var block: [String] = title.map { ["\u{1}title:\($0)"] } ?? []
            let keyWidth = scalars.map(\.key.count).max() ?? 0
            for member in scalars {
                block.append(
                    member.key + String(repeating: " ", count: keyWidth - member.key.count) + " | "
                        + member.value.textValue)
            }
            if !block.isEmpty { blocks.append(block) }
            for member in members where !member.value.isScalar {
                section(member.value, title: member.key, into: &blocks)
            }
        case .array(let items):
            let objects = items.compactMap { item -> [AWSJSON.Member]? in
                if case .object(let members) = item { return members }
                return nil
            }
            if objects.count == items.count && !items.isEmpty {
                var keys: [String] = []
                for members in objects {
                    for member in members where member.value.isScalar && !keys.contains(member.key) {
                        keys.append(member.key)
                    }
                }
                let rows = objects.map { members in
                    keys.map { key in members.first { $0.key == key }?.value.textValue ?? "" }
                }
                let widths = keys.indices.map { column in
                    max(keys[column].count, rows.map { $0[column].count }.max() ?? 0)
                }
                func row(_ cells: [String]) -> String {
                    cells.enumerated().map { $1 + String(repeating: " ", count: widths[$0] - $1.count) }.joined(
                        separator: " | ")
                }
                var block: [String] = title.map { ["\u{1}title:\($0)"] } ?? []
                if !keys.isEmpty {
                    block.append(row(keys))
                    block.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-"))
                    block += rows.map(row)
                }
                blocks.append(block)
                for members in objects {
                    for member in members where !member.value.isScalar {
                        section(member.value, title: member.key, into: &blocks)
                    }
                }
            } else {
                var block: [String] = title.map { ["\u{1}title:\($0)"] } ?? []
                for item in items {
                    if item.isScalar { block.append(item.textValue) }
                }
                blocks.append(block)
                for item in items where !item.isScalar { section(item, title: nil, into: &blocks) }
            }
        default:
            blocks.append((title.map { ["\u{1}title:\($0)"] } ?? []) + [value.textValue])
        }
    }
}

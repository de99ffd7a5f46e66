#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The AWS CLI's table format, line for line (awscli's `TableFormatter` and `MultiTable`): a section per object
/// and per list, its scalar members as a header row over a value row (or one key/value row when it has just one),
/// lists of objects as rows under the union of their scalar keys, nested members as sections indented with
/// `|`; columns scaled to the widest section; and when that is wider than the terminal (80 columns when
/// standard output is not one), every one-row section turned into key/value rows.
enum TableFormat {
    /// The table for `value` under `title` (the operation's name); empty when there is nothing to show.
    static func render(_ value: AWSJSON, title: String, terminalWidth: Int) -> String {
        var table = MultiTable()
        guard table.build(title: title, value, indent: 0) else { return "" }
        return table.render(terminalWidth: terminalWidth)
    }

    /// Standard output's width in columns, or 80 when it is not a terminal (as the AWS CLI decides it).
    static func terminalWidth() -> Int {
        var size = winsize()
        #if canImport(Glibc)
            let request = UInt(TIOCGWINSZ)
        #else
            let request = TIOCGWINSZ
        #endif
        guard ioctl(STDOUT_FILENO, request, &size) == 0 else { return 80 }
        return Int(size.ws_col)
    }
}

/// One titled block: optional column headers and rows of cells.
private struct Section {
    var title = ""
    var headers: [String] = []
    var rows: [[String]] = []
    var indent = 0
    private var maxWidths: [Int] = []

    mutating func addHeaders(_ headers: [String]) {
        self.updateWidths(headers)
        self.headers = headers
    }

    mutating func addRow(_ row: [String]) {
        self.rows.append(row)
        self.updateWidths(row)
    }

    private mutating func updateWidths(_ row: [String]) {
        if self.maxWidths.isEmpty {
            self.maxWidths = row.map(\.count)
        } else {
            for (index, cell) in row.enumerated() where index < self.maxWidths.count {
                self.maxWidths[index] = max(self.maxWidths[index], cell.count)
            }
        }
    }

    /// Each column's width plus `padding`, scaled to add up to `maxWidth` when one is given (the remainder
    /// spread one column at a time, from the left when shrinking and from the right when growing).
    func columnWidths(padding: Int = 0, maxWidth: Int? = nil) -> [Int] {
        let unscaled = self.maxWidths.map { $0 + padding }
        guard let maxWidth, !unscaled.isEmpty else { return unscaled }
        let scale = Double(maxWidth) / Double(unscaled.reduce(0, +))
        // Python's round() rounds halves to even.
        var scaled = unscaled.map { Int((scale * Double($0)).rounded(.toNearestOrEven)) }
        var offBy = scaled.reduce(0, +) - maxWidth
        while offBy != 0 {
            let order: [Int] = offBy < 0 ? Array(scaled.indices.reversed()) : Array(scaled.indices)
            for index in order {
                if offBy > 0 {
                    scaled[index] -= 1
                    offBy -= 1
                } else {
                    scaled[index] += 1
                    offBy += 1
                }
                if offBy == 0 { break }
            }
        }
        return scaled
    }

    func totalWidth(padding: Int, outerPadding: Int) -> Int {
        let columns = self.columnWidths().reduce(0) { $0 + $1 + padding }
        return max(self.title.count + 2 + 2 * outerPadding, columns + 2 + 2 * outerPadding)
    }
}

private struct MultiTable {
    private var sections: [Section] = []

    private mutating func newSection(_ title: String, indent: Int) {
        var section = Section()
        section.title = title
        section.indent = indent
        self.sections.append(section)
    }

    private mutating func addHeaders(_ headers: [String]) { self.sections[self.sections.count - 1].addHeaders(headers) }
    private mutating func addRow(_ row: [String]) { self.sections[self.sections.count - 1].addRow(row) }

    /// Python's truthiness, which decides whether a value gets a section at all.
    private static func isEmpty(_ value: AWSJSON) -> Bool {
        switch value {
        case .null: true
        case .bool(let value): !value
        case .int(let value): value == 0
        case .double(let value): value == 0
        case .string(let value): value.isEmpty
        case .array(let items): items.isEmpty
        case .object(let members): members.isEmpty
        }
    }

    /// Scalar keys and the others, each sorted.
    private static func groupedKeys(_ members: [AWSJSON.Member]) -> (scalars: [String], others: [String]) {
        let scalars = members.filter(\.value.isScalar).map(\.key).sorted()
        let others = members.filter { !$0.value.isScalar }.map(\.key).sorted()
        return (scalars, others)
    }

    @discardableResult
    mutating func build(title: String?, _ value: AWSJSON, indent: Int) -> Bool {
        guard !Self.isEmpty(value) else { return false }
        if let title { self.newSection(title, indent: indent) }
        switch value {
        case .array(let items):
            if case .object = items[0] {
                self.buildFromList(items, indent: indent, title: title)
            } else {
                for item in items {
                    if item.isScalar {
                        self.addRow([item.textValue])
                    } else if case .array(let elements) = item, elements.allSatisfy(\.isScalar) {
                        self.addRow(elements.map(\.textValue))
                    } else {
                        self.build(title: nil, item, indent: 0)
                    }
                }
            }
        case .object(let members):
            self.buildFromObject(members, indent: indent)
        default:
            break
        }
        return true
    }

    private mutating func buildFromObject(_ members: [AWSJSON.Member], indent: Int) {
        let (headers, others) = Self.groupedKeys(members)
        func member(_ key: String) -> AWSJSON { members.first { $0.key == key }!.value }
        if headers.count == 1 {
            self.addRow([headers[0], member(headers[0]).textValue])
        } else if !headers.isEmpty {
            self.addHeaders(headers)
            self.addRow(headers.map { member($0).textValue })
        }
        for key in others {
            self.build(title: key, member(key), indent: indent + 1)
        }
    }

    private mutating func buildFromList(_ items: [AWSJSON], indent: Int, title: String?) {
        var headerSet: Set<String> = []
        var otherSet: Set<String> = []
        let objects: [[AWSJSON.Member]] = items.map { item in
            if case .object(let members) = item { return members }
            return []
        }
        for members in objects {
            let (scalars, others) = Self.groupedKeys(members)
            headerSet.formUnion(scalars)
            otherSet.formUnion(others)
        }
        let headers = headerSet.sorted()
        let others = otherSet.sorted()
        self.addHeaders(headers)
        for (index, members) in objects.enumerated() {
            if index > 0, !others.isEmpty {
                self.newSection(title ?? "", indent: indent)
                self.addHeaders(headers)
            }
            self.addRow(headers.map { key in members.first { $0.key == key }?.value.textValue ?? "" })
            for key in others {
                if let value = members.first(where: { $0.key == key })?.value {
                    self.build(title: key, value, indent: indent + 1)
                }
            }
        }
    }

    mutating func render(terminalWidth: Int) -> String {
        var maxWidth = self.maxWidth()
        if maxWidth > terminalWidth {
            // Too wide: every one-row section with headers becomes key/value rows.
            self.sections = self.sections.map { section in
                guard section.rows.count == 1, !section.headers.isEmpty else { return section }
                var vertical = Section()
                vertical.title = section.title
                vertical.indent = section.indent
                for (header, cell) in zip(section.headers, section.rows[0]) { vertical.addRow([header, cell]) }
                return vertical
            }
            maxWidth = self.maxWidth()
        }
        var lines = [String(repeating: "-", count: maxWidth)]
        for section in self.sections { Self.render(section, maxWidth: maxWidth, into: &lines) }
        return lines.joined(separator: "\n")
    }

    private func maxWidth() -> Int {
        self.sections.map { $0.totalWidth(padding: 4, outerPadding: $0.indent) }.max() ?? 0
    }

    private static func render(_ section: Section, maxWidth: Int, into lines: inout [String]) {
        let edge = String(repeating: "|", count: section.indent)
        func write(_ line: String) { lines.append(edge + line + edge) }
        let width = maxWidth - 2 * section.indent
        if !section.title.isEmpty {
            write(centered(section.title, width: width, left: "|"))
            if section.headers.isEmpty && section.rows.isEmpty {
                write("+" + String(repeating: "-", count: width - 2) + "+")
            }
        }
        if !section.headers.isEmpty {
            let widths = section.columnWidths(padding: 4, maxWidth: width)
            var line = ""
            for (index, (columnWidth, header)) in zip(widths, section.headers).enumerated() {
                line += centered(header, width: columnWidth, left: index == 0 ? "|" : "")
            }
            write(lineBreak(widths))
            write(line)
        }
        guard !section.rows.isEmpty else { return }
        let widths = section.columnWidths(padding: 4, maxWidth: width)
        guard !widths.isEmpty else { return }
        write(lineBreak(widths))
        for row in section.rows {
            var line = ""
            for (index, (columnWidth, cell)) in zip(widths, row).enumerated() {
                line += leftAligned(cell, width: columnWidth, left: index == 0 ? "|" : "")
            }
            write(line)
        }
        write(lineBreak(widths))
    }

    /// awscli's `center_text`, including its arithmetic when the text is wider than the column.
    private static func centered(_ text: String, width: Int, left: String) -> String {
        let start = width / 2 - text.count / 2 - 1
        let soFar = left.count + start + text.count
        let rightSpaces = width - 1 - soFar
        return left + String(repeating: " ", count: max(0, start)) + text
            + String(repeating: " ", count: max(0, rightSpaces)) + "|"
    }

    /// awscli's `align_left` with two spaces of padding when they fit.
    private static func leftAligned(_ text: String, width: Int, left: String) -> String {
        let padding = width - (text.count + 2 + left.count + 1) >= 0 ? 2 : 0
        let soFar = left.count + padding + text.count
        return left + String(repeating: " ", count: padding) + text
            + String(repeating: " ", count: max(0, width - soFar - 1)) + "|"
    }

    private static func lineBreak(_ widths: [Int]) -> String {
        var line = ""
        for (index, width) in widths.enumerated() {
            line +=
                index == 0
                ? "+" + String(repeating: "-", count: width - 2) + "+" : String(repeating: "-", count: width - 1) + "+"
        }
        return line
    }
}

/// The JMESPath forms `--query` is used with most, evaluated over ``AWSJSON``: `a.b`, `a[0]`, `a[-1]`,
/// `a[*].b`, `a[]`, `a[?b=='v']` (==, !=, <, <=, >, >=, `&&`, `||`, `!`), `a[*].[b, c]`, `a[*].{X: b}`,
/// `a | b`, `@`, raw strings `'x'`, JSON literals `` `1` ``, and the functions `length`, `sort_by`, `contains`,
/// `starts_with`, `keys`, `join`. Projections drop nulls, as JMESPath's do.
indirect enum JMESPath {
    case current
    case field(String)
    case index(Int)
    case literal(AWSJSON)
    case subexpression(JMESPath, JMESPath)
    case projection(JMESPath, JMESPath)
    case flatten(JMESPath)
    case filter(JMESPath, JMESPath, JMESPath)
    case multiList([JMESPath])
    case multiHash([(String, JMESPath)])
    case pipe(JMESPath, JMESPath)
    case compare(String, JMESPath, JMESPath)
    case and(JMESPath, JMESPath)
    case or(JMESPath, JMESPath)
    case not(JMESPath)
    case function(String, [JMESPath])

    static func parse(_ text: String) throws(InputError) -> JMESPath {
        var parser = Parser(characters: Array(text))
        let expression = try parser.expression()
        parser.skipSpaces()
        guard parser.index == parser.characters.count else { throw parser.error("unexpected text") }
        return expression
    }

    func evaluate(_ value: AWSJSON) throws(InputError) -> AWSJSON {
        switch self {
        case .current: return value
        case .field(let name): return value[name] ?? .null
        case .index(let index):
            guard case .array(let items) = value else { return .null }
            let position = index < 0 ? items.count + index : index
            return items.indices.contains(position) ? items[position] : .null
        case .literal(let literal): return literal
        case .subexpression(let left, let right):
            let base = try left.evaluate(value)
            if case .null = base { return .null }
            return try right.evaluate(base)
        case .projection(let left, let right):
            let base = try left.evaluate(value)
            let items: [AWSJSON]
            guard case .array(let array) = base else { return .null }
            items = array
            var results: [AWSJSON] = []
            for item in items {
                let result = try right.evaluate(item)
                if case .null = result { continue }
                results.append(result)
            }
            return .array(results)
        case .flatten(let inner):
            guard case .array(let items) = try inner.evaluate(value) else { return .null }
            return .array(
                items.flatMap { item -> [AWSJSON] in
                    if case .array(let nested) = item { return nested }
                    return [item]
                })
        case .filter(let left, let condition, let right):
            guard case .array(let items) = try left.evaluate(value) else { return .null }
            var results: [AWSJSON] = []
            for item in items where Self.isTruthy(try condition.evaluate(item)) {
                let result = try right.evaluate(item)
                if case .null = result { continue }
                results.append(result)
            }
            return .array(results)
        case .multiList(let expressions):
            if case .null = value { return .null }
            return .array(try expressions.map { e throws(InputError) in try e.evaluate(value) })
        case .multiHash(let pairs):
            if case .null = value { return .null }
            return .object(
                try pairs.map { pair throws(InputError) in .init(key: pair.0, value: try pair.1.evaluate(value)) })
        case .pipe(let left, let right):
            return try right.evaluate(try left.evaluate(value))
        case .compare(let op, let left, let right):
            return Self.compare(op, try left.evaluate(value), try right.evaluate(value))
        case .and(let left, let right):
            let first = try left.evaluate(value)
            return Self.isTruthy(first) ? try right.evaluate(value) : first
        case .or(let left, let right):
            let first = try left.evaluate(value)
            return Self.isTruthy(first) ? first : try right.evaluate(value)
        case .not(let inner):
            return .bool(!Self.isTruthy(try inner.evaluate(value)))
        case .function(let name, let arguments):
            return try Self.call(
                name, try arguments.map { a throws(InputError) in try a.evaluate(value) }, arguments, value)
        }
    }

    static func isTruthy(_ value: AWSJSON) -> Bool {
        switch value {
        case .null: false
        case .bool(let flag): flag
        case .string(let text): !text.isEmpty
        case .array(let items): !items.isEmpty
        case .object(let members): !members.isEmpty
        default: true
        }
    }

    private static func number(_ value: AWSJSON) -> Double? {
        switch value {
        case .int(let int): Double(int)
        case .double(let double): double
        default: nil
        }
    }

    private static func compare(_ op: String, _ left: AWSJSON, _ right: AWSJSON) -> AWSJSON {
        switch op {
        case "==": return .bool(equal(left, right))
        case "!=": return .bool(!equal(left, right))
        default:
            guard let l = number(left), let r = number(right) else {
                if case .string(let ls) = left, case .string(let rs) = right {
                    switch op {
                    case "<": return .bool(ls < rs)
                    case "<=": return .bool(ls <= rs)
                    case ">": return .bool(ls > rs)
                    default: return .bool(ls >= rs)
                    }
                }
                return .null
            }
            switch op {
            case "<": return .bool(l < r)
            case "<=": return .bool(l <= r)
            case ">": return .bool(l > r)
            default: return .bool(l >= r)
            }
        }
    }

    private static func equal(_ left: AWSJSON, _ right: AWSJSON) -> Bool {
        if let l = number(left), let r = number(right) { return l == r }
        return left == right
    }

    private static func call(_ name: String, _ values: [AWSJSON], _ expressions: [JMESPath], _ current: AWSJSON)
        throws(InputError) -> AWSJSON
    {
        func arity(_ count: Int) throws(InputError) {
            guard values.count == count else { throw InputError("\(name)() takes \(count) arguments") }
        }
        switch name {
        case "length":
            try arity(1)
            switch values[0] {
            case .string(let text): return .int(Int64(text.count))
            case .array(let items): return .int(Int64(items.count))
            case .object(let members): return .int(Int64(members.count))
            default: throw InputError("length() needs a string, list or object")
            }
        case "__values":
            guard case .object(let members) = values.first ?? .null else { return .null }
            return .array(members.map(\.value))
        case "keys":
            try arity(1)
            guard case .object(let members) = values[0] else { throw InputError("keys() needs an object") }
            return .array(members.map { .string($0.key) })
        case "contains":
            try arity(2)
            switch values[0] {
            case .array(let items): return .bool(items.contains { equal($0, values[1]) })
            case .string(let text):
                guard case .string(let part) = values[1] else { return .bool(false) }
                return .bool(text.contains(part))
            default: return .bool(false)
            }
        case "starts_with":
            try arity(2)
            guard case .string(let text) = values[0], case .string(let prefix) = values[1] else { return .bool(false) }
            return .bool(text.hasPrefix(prefix))
        case "join":
            try arity(2)
            guard case .string(let separator) = values[0], case .array(let items) = values[1] else {
                throw InputError("join() needs a string and a list of strings")
            }
            return .string(items.map(\.textValue).joined(separator: separator))
        case "sort_by":
            guard expressions.count == 2, case .array(let items) = values[0] else {
                throw InputError("sort_by() needs a list and an &expression")
            }
            let key = expressions[1]
            let keyed = try items.map { item throws(InputError) in (item, try key.evaluate(item)) }
            return .array(
                keyed.sorted { a, b in
                    if let l = number(a.1), let r = number(b.1) { return l < r }
                    return a.1.textValue < b.1.textValue
                }.map(\.0))
        default:
            throw InputError("unknown function \(name)()")
        }
    }

    /// The most parts (operands, operators and chain steps) an expression may have. Parsing, evaluating and
    /// freeing an expression recurse once per level of its tree, and its depth is at most its number of parts,
    /// so without a bound a long `--query` (`((((...` or `a.a.a...` many thousands deep) overflowed the stack
    /// instead of being a usage error. Real queries have tens of parts.
    static let maximumParts = 1_000

    private struct Parser {
        let characters: [Character]
        var index = 0
        var parts = 0

        /// Counts one more part, refusing an expression with more than ``JMESPath/maximumParts``.
        mutating func part() throws(InputError) {
            parts += 1
            guard parts <= JMESPath.maximumParts else {
                throw error("the expression has more than \(JMESPath.maximumParts) parts")
            }
        }

        func error(_ message: String) -> InputError {
            InputError("\(message) at position \(index)")
        }

        mutating func skipSpaces() {
            while index < characters.count && characters[index].isWhitespace { index += 1 }
        }

        mutating func peek(_ text: String) -> Bool {
            skipSpaces()
            let chars = Array(text)
            guard index + chars.count <= characters.count else { return false }
            return Array(characters[index..<index + chars.count]) == chars
        }

        mutating func eat(_ text: String) -> Bool {
            guard peek(text) else { return false }
            index += text.count
            return true
        }

        mutating func expect(_ text: String) throws(InputError) {
            guard eat(text) else { throw error("expected \(text)") }
        }

        mutating func expression() throws(InputError) -> JMESPath {
            try part()
            var left = try orExpression()
            while eat("|") {
                if peek("|") { throw error("unexpected |") }
                left = .pipe(left, try orExpression())
            }
            return left
        }

        mutating func orExpression() throws(InputError) -> JMESPath {
            var left = try andExpression()
            while eat("||") { left = .or(left, try andExpression()) }
            return left
        }

        mutating func andExpression() throws(InputError) -> JMESPath {
            var left = try comparison()
            while eat("&&") { left = .and(left, try comparison()) }
            return left
        }

        mutating func comparison() throws(InputError) -> JMESPath {
            let left = try unary()
            for op in ["==", "!=", "<=", ">=", "<", ">"] where eat(op) {
                return .compare(op, left, try unary())
            }
            return left
        }

        mutating func unary() throws(InputError) -> JMESPath {
            try part()
            if eat("!") { return .not(try unary()) }
            return try chain(try primary())
        }

        /// The `.x`, `[n]`, `[*]`, `[]`, `[?...]` that follow a primary; a projection takes the rest of the chain,
        /// except a `[]`, which flattens the whole projection before it (`a[*].b[].c`), as JMESPath's binds.
        mutating func chain(_ start: JMESPath, inProjection: Bool = false) throws(InputError) -> JMESPath {
            var node = start
            while true {
                try part()
                if peek(".") && !peek("..") {
                    index += 1
                    skipSpaces()
                    if eat("*") {
                        node = .projection(.function("__values", [node]), try chain(.current, inProjection: true))
                        continue
                    }
                    node = .subexpression(node, try afterDot())
                } else if inProjection && peek("[]") {
                    return node
                } else if eat("[?") {
                    let condition = try expression()
                    try expect("]")
                    node = .filter(node, condition, try chain(.current, inProjection: true))
                } else if eat("[*]") {
                    node = .projection(node, try chain(.current, inProjection: true))
                } else if eat("[]") {
                    node = .projection(.flatten(node), try chain(.current, inProjection: true))
                } else if peek("[") && isIndexAhead() {
                    index += 1
                    skipSpaces()
                    var digits = ""
                    if eat("-") { digits = "-" }
                    while index < characters.count && characters[index].isNumber {
                        digits.append(characters[index])
                        index += 1
                    }
                    guard let number = Int(digits) else { throw error("expected an index") }
                    try expect("]")
                    node = .subexpression(node, .index(number))
                } else {
                    return node
                }
            }
        }

        mutating func isIndexAhead() -> Bool {
            var probe = index + 1
            while probe < characters.count && characters[probe].isWhitespace { probe += 1 }
            return probe < characters.count && (characters[probe].isNumber || characters[probe] == "-")
        }

        mutating func afterDot() throws(InputError) -> JMESPath {
            if peek("[") {
                index += 1
                return .multiList(try list(closing: "]"))
            }
            if peek("{") { return try hash() }
            return try identifier()
        }

        mutating func list(closing: String) throws(InputError) -> [JMESPath] {
            var items = [try expression()]
            while eat(",") { items.append(try expression()) }
            try expect(closing)
            return items
        }

        mutating func hash() throws(InputError) -> JMESPath {
            try expect("{")
            var pairs: [(String, JMESPath)] = []
            repeat {
                guard case .field(let key) = try identifier() else { throw error("expected a key") }
                try expect(":")
                pairs.append((key, try expression()))
            } while eat(",")
            try expect("}")
            return .multiHash(pairs)
        }

        mutating func identifier() throws(InputError) -> JMESPath {
            skipSpaces()
            if eat("\"") {
                var name = ""
                while index < characters.count && characters[index] != "\"" {
                    name.append(characters[index])
                    index += 1
                }
                try expect("\"")
                return .field(name)
            }
            var name = ""
            while index < characters.count
                && (characters[index].isLetter || characters[index].isNumber || characters[index] == "_")
            {
                name.append(characters[index])
                index += 1
            }
            guard !name.isEmpty else { throw error("expected a name") }
            return .field(name)
        }

        /// The text between `quote` and the next one (raw strings and JSON literals).
        mutating func quoted(by quote: Character) throws(InputError) -> String {
            index += 1
            var text = ""
            while index < characters.count && characters[index] != quote {
                text.append(characters[index])
                index += 1
            }
            try expect(String(quote))
            return text
        }

        mutating func primary() throws(InputError) -> JMESPath {
            skipSpaces()
            if eat("@") { return .current }
            if eat("(") {
                let inner = try expression()
                try expect(")")
                return inner
            }
            if eat("&") { return try expression() }
            if eat("*") { return .projection(.function("__values", [.current]), try chain(.current)) }
            if peek("'") { return .literal(.string(try quoted(by: "'"))) }
            if peek("`") {
                let text = try quoted(by: "`")
                if let json = try? AWSJSON.parse(text) { return .literal(json) }
                return .literal(.string(text))
            }
            if peek("[") && isIndexAhead() { return .current }
            if peek("[") {
                index += 1
                if eat("*]") { return .projection(.current, try chain(.current)) }
                if eat("]") { return .projection(.flatten(.current), try chain(.current)) }
                if peek("?") {
                    index += 1
                    let condition = try expression()
                    try expect("]")
                    return .filter(.current, condition, try chain(.current))
                }
                return .multiList(try list(closing: "]"))
            }
            if peek("{") { return try hash() }
            let name = try identifier()
            if case .field(let function) = name, eat("(") {
                var arguments: [JMESPath] = []
                if !eat(")") {
                    arguments = try list(closing: ")")
                }
                return .function(function, arguments)
            }
            return name
        }
    }
}

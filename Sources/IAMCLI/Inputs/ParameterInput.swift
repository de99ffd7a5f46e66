import Foundation

/// What one flag of an operation command received, before it is read as its field's type.
enum ParameterInput: Sendable {
    /// The flag's values as typed (one for a single-valued flag; `--tags a b` gives two).
    case values([String])
    /// `--flag` (true) or `--no-flag` (false).
    case flag(Bool)

    init?(_ value: String?) {
        guard let value else { return nil }
        self = .values([value])
    }

    init?(_ values: [String]) {
        guard !values.isEmpty else { return nil }
        self = .values(values)
    }

    init?(_ value: Bool?) {
        guard let value else { return nil }
        self = .flag(value)
    }
}

/// Reads parameter values as the AWS CLI does: `file://PATH` is the file's text, `fileb://PATH` its bytes
/// (base64 for blob members), and `-` standard input; then shorthand or JSON for structures, lists and maps.
struct ParameterReader {
    let io: CommandIO
    static let maximumFileSize = 10 << 20

    /// The text a raw value stands for. `fileb://` is the file's bytes in base64 for a `blob` member, and its text
    /// for any other (as botocore sends the bytes it reads).
    func text(_ raw: String, flag: String, blob: Bool = false) throws(InputError) -> String {
        if raw == "-" { return try load("-", flag: flag, raw: raw) }
        if raw.hasPrefix("file://") { return try load(String(raw.dropFirst("file://".count)), flag: flag, raw: raw) }
        if raw.hasPrefix("fileb://") {
            let path = String(raw.dropFirst("fileb://".count))
            guard blob else { return try load(path, flag: flag, raw: raw) }
            return Data(try bytes(path, flag: flag, raw: raw)).base64EncodedString()
        }
        return raw
    }

    /// `path` with a leading `~` (`~/x`, or `~` alone) as the home folder, as the AWS CLI expands it in a paramfile.
    static func expandingHome(_ path: String, home: String? = ProcessInfo.processInfo.environment["HOME"]) -> String {
        guard let home, path == "~" || path.hasPrefix("~/") else { return path }
        return home + path.dropFirst()
    }

    private func bytes(_ path: String, flag: String, raw: String) throws(InputError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try io.read(path == "-" ? path : Self.expandingHome(path), limit: Self.maximumFileSize)
        } catch {
            throw InputError(
                "Error parsing parameter '--\(flag)': Unable to load paramfile \(raw): \(error.localizedDescription)")
        }
        guard bytes.count <= Self.maximumFileSize else {
            throw InputError("Error parsing parameter '--\(flag)': \(raw) is larger than 10 MiB")
        }
        return bytes
    }

    private func load(_ path: String, flag: String, raw: String) throws(InputError) -> String {
        let bytes = try bytes(path, flag: flag, raw: raw)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InputError("Error parsing parameter '--\(flag)': \(raw) is not UTF-8 text (use fileb:// for bytes)")
        }
        return text
    }

    /// The JSON value of `input` for `field`, typed by its shape.
    func value(_ input: ParameterInput, for field: FieldShape) throws(InputError) -> AWSJSON {
        let flag = CLINames.flag(field.name)
        switch input {
        case .flag(let value):
            return .bool(value)
        case .values(let raws):
            let blob: Bool = if case .scalar(.bytes) = field.kind { true } else { false }
            let texts = try raws.map { raw throws(InputError) in try text(raw, flag: flag, blob: blob) }
            do throws(InputError) {
                if case .map = field.kind { return try structured(texts.joined(separator: ","), kind: field.kind) }
                if field.label == .repeated {
                    if texts.count == 1, let only = texts.first,
                        only.trimmingCharacters(in: .whitespaces).hasPrefix("[")
                    {
                        return try AWSJSON.parse(only)
                    }
                    return .array(try texts.map { text throws(InputError) in try structured(text, kind: field.kind) })
                }
                guard texts.count == 1, let only = texts.first else {
                    throw InputError("expected one value, got \(texts.count)")
                }
                if field.isPolicyDocument { return .string(only) }
                return try structured(only, kind: field.kind)
            } catch {
                throw InputError("Error parsing parameter '--\(flag)': \(error.message)")
            }
        }
    }

    /// One value of `kind` from text: JSON for structures that start with `{`, else AWS shorthand.
    func structured(_ text: String, kind: FieldKind) throws(InputError) -> AWSJSON {
        switch kind {
        case .scalar(.string), .scalar(.bytes), .enumeration:
            return .string(text)
        case .scalar(.bool):
            switch text.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw InputError("expected true or false, got \"\(text)\"")
            }
        case .scalar(.double), .scalar(.float):
            guard let value = Double(text), value.isFinite else {
                throw InputError("expected a number, got \"\(text)\"")
            }
            return .double(value)
        case .scalar:
            guard let value = Int64(text) else { throw InputError("expected an integer, got \"\(text)\"") }
            return .int(value)
        case .message(let name):
            if text.trimmingCharacters(in: .whitespaces).hasPrefix("{") { return try AWSJSON.parse(text) }
            return try Shorthand.parse(text, as: Shapes.message(name))
        case .map:
            if text.trimmingCharacters(in: .whitespaces).hasPrefix("{") { return try AWSJSON.parse(text) }
            return .object(
                try Shorthand.pairs(text).map {
                    AWSJSON.Member(key: $0.key, value: .string($0.values.joined(separator: ",")))
                })
        }
    }
}

/// AWS CLI shorthand: `Key=team,Value=api`, `ContextKeyName=k,ContextKeyValues=v1,v2,ContextKeyType=stringList`,
/// `Values=[a,b]`; quoted values ("..." or '...') may hold commas and equals signs.
enum Shorthand {
    struct Pair {
        var key: String
        var values: [String]
    }

    /// The key=value pairs in order; a token without `=` continues the previous key's list.
    static func pairs(_ text: String) throws(InputError) -> [Pair] {
        var pairs: [Pair] = []
        for token in try tokens(text) {
            if let equals = token.firstUnquotedEquals {
                let key = String(token.text[..<equals]).trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { throw InputError("expected key=value, got \"\(String(token.text))\"") }
                var value = token.text[token.text.index(after: equals)...]
                if value.first == "[" && value.last == "]" && value.count >= 2 {
                    value = value.dropFirst().dropLast()
                    let items = value.isEmpty ? [] : try tokens(String(value)).map { unquote(String($0.text)) }
                    pairs.append(Pair(key: key, values: items))
                } else {
                    pairs.append(Pair(key: key, values: [unquote(String(value))]))
                }
            } else if !pairs.isEmpty {
                pairs[pairs.count - 1].values.append(unquote(String(token.text)))
            } else {
                throw InputError("expected key=value, got \"\(String(token.text))\"")
            }
        }
        return pairs
    }

    /// A structure of `shape` from shorthand, members typed by the shape.
    static func parse(_ text: String, as shape: MessageShape) throws(InputError) -> AWSJSON {
        var members: [AWSJSON.Member] = []
        for pair in try pairs(text) {
            guard let field = shape.field(awsName: pair.key) else {
                throw InputError(
                    "Unknown key \"\(pair.key)\", must be one of: \(shape.fields.map(\.awsName).joined(separator: ", "))"
                )
            }
            let reader = ParameterReader(io: .capturing())
            if field.label == .repeated {
                members.append(
                    .init(
                        key: field.awsName,
                        value: .array(
                            try pair.values.map { v throws(InputError) in try reader.structured(v, kind: field.kind) }))
                )
            } else {
                members.append(
                    .init(
                        key: field.awsName,
                        value: try reader.structured(pair.values.joined(separator: ","), kind: field.kind)))
            }
        }
        return .object(members)
    }

    /// Shorthand is read by Unicode scalars, as the AWS CLI reads it by code points: by Characters, a quote,
    /// comma or equals sign next to a combining mark or a prepended character (`"` + U+0301, U+0600 + `,`) joins
    /// it into one Character and stops being syntax.
    private struct Token {
        var text: Substring.UnicodeScalarView
        /// The first `=` outside quotes and brackets.
        var firstUnquotedEquals: String.UnicodeScalarView.Index?
    }

    /// Splits on commas outside quotes and brackets.
    private static func tokens(_ text: String) throws(InputError) -> [Token] {
        let scalars = text.unicodeScalars
        var tokens: [Token] = []
        var start = scalars.startIndex
        var equals: String.UnicodeScalarView.Index?
        var quote: Unicode.Scalar?
        var depth = 0
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            defer { index = scalars.index(after: index) }
            if let open = quote {
                if scalar == open { quote = nil }
                continue
            }
            switch scalar {
            case "\"", "'": quote = scalar
            case "[": depth += 1
            case "]": depth -= 1
            case "," where depth == 0:
                tokens.append(Token(text: scalars[start..<index], firstUnquotedEquals: equals))
                start = scalars.index(after: index)
                equals = nil
            case "=" where equals == nil && depth == 0:
                equals = index
            default: break
            }
        }
        guard quote == nil else { throw InputError("unterminated quote in \"\(text)\"") }
        guard depth == 0 else { throw InputError("unbalanced brackets in \"\(text)\"") }
        tokens.append(Token(text: scalars[start...], firstUnquotedEquals: equals))
        return tokens
    }

    private static func unquote(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces).unicodeScalars
        if trimmed.count >= 2, let first = trimmed.first, first == "\"" || first == "'", trimmed.last == first {
            return String(trimmed.dropFirst().dropLast())
        }
        return text
    }
}

/// The AWS CLI's spellings of IDL names.
enum CLINames {
    /// `user_name` -> `user-name`.
    static func flag(_ fieldName: String) -> String { fieldName.replacingOccurrences(of: "_", with: "-") }
}

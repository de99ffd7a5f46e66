import Foundation

/// Why a Query request's parameters were refused: AWS's code, status and message.
public struct QueryInputError: Error, Hashable, Sendable, CustomStringConvertible {
    /// AWS's error code.
    public let code: String
    /// The HTTP status.
    public let status: Int
    /// The message.
    public let message: String

    /// `code: message`.
    public var description: String { "\(self.code): \(self.message)" }

    init(code: String, status: Int = 400, _ message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    static func malformed(_ message: String) -> QueryInputError {
        QueryInputError(code: "MalformedQueryString", message)
    }

    static func validation(_ key: String, _ value: String, _ constraint: String) -> QueryInputError {
        QueryInputError(
            code: "ValidationError",
            "1 validation error detected: Value '\(value.prefix(256))' at '\(key)' failed to satisfy constraint: \(constraint)"
        )
    }
}

/// The parameters of a Query request (`Action`, `UserName`, `Tags.member.1.Key`, ...), and a view of them under
/// a prefix for nested structures and list members.
///
/// Decoding rules are botocore's `query` serializer read backwards: a list is `Name.member.N` (N from 1), an
/// empty list is `Name=` with no members, a structure's members are `Name.Member`, a map is
/// `Name.entry.N.key` / `.value`.
public struct QueryForm: Sendable {
    /// Limits that keep a hostile request from making the decoder do unbounded work.
    public enum Limits {
        /// Parameters per request.
        public static let maxParameters = 10_000
        /// Bytes in one parameter name (`A.member.1.B.member.2.C` nests deep only within this).
        public static let maxKeyLength = 256
        /// Highest list index accepted.
        public static let maxListIndex = 1_000
    }

    let parameters: [String: String]
    let prefix: String
    /// The parameter names, sorted once per request and shared by the nested views.
    private let shape: Shape

    init(parameters: [String: String], prefix: String = "") {
        self.init(parameters: parameters, prefix: prefix, shape: Shape(parameters.keys))
    }

    private init(parameters: [String: String], prefix: String, shape: Shape) {
        self.parameters = parameters
        self.prefix = prefix
        self.shape = shape
    }

    /// The parameter names in byte order, so that the names under a prefix (a list's `Name.member.`, a
    /// structure's `Name.`) are found by binary search: scanning every name per list made a request of many nested
    /// lists cost lists x parameters. Nothing beyond the names is stored, so a hostile request of many dotted
    /// names costs no more memory than its own parameters.
    private final class Shape: Sendable {
        let names: [[UInt8]]

        init(_ names: some Sequence<String>) {
            self.names = names.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        }

        /// The names that start with `prefix`, in byte order.
        func names(under prefix: String) -> ArraySlice<[UInt8]> {
            let prefix = Array(prefix.utf8)
            var low = 0
            var high = self.names.count
            while low < high {
                let middle = (low + high) / 2
                if self.names[middle].lexicographicallyPrecedes(prefix) { low = middle + 1 } else { high = middle }
            }
            var end = low
            while end < self.names.count, self.names[end].starts(with: prefix) { end += 1 }
            return self.names[low..<end]
        }
    }

    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string) into `into`, refusing
    /// malformed escapes, non-UTF-8 text, over-long names, too many parameters and repeated names.
    static func parse(_ bytes: some Collection<UInt8>, into parameters: inout [String: String]) throws(QueryInputError)
    {
        var start = bytes.startIndex
        while start != bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            let pair = bytes[start..<end]
            start = end == bytes.endIndex ? end : bytes.index(after: end)
            if pair.isEmpty { continue }
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            let rawKey = pair[pair.startIndex..<(equals ?? pair.endIndex)]
            let rawValue = equals.map { pair[pair.index(after: $0)...] } ?? pair[pair.endIndex...]
            guard rawKey.count <= Limits.maxKeyLength * 3 else {
                throw .malformed("Parameter name too long (\(rawKey.count) bytes; at most \(Limits.maxKeyLength)).")
            }
            let key = try Self.decodeComponent(rawKey)
            guard !key.isEmpty, key.utf8.count <= Limits.maxKeyLength else {
                throw .malformed("Parameter name empty or too long.")
            }
            let value = try Self.decodeComponent(rawValue)
            guard parameters.count < Limits.maxParameters else {
                throw .malformed("Too many parameters (at most \(Limits.maxParameters)).")
            }
            guard parameters.updateValue(value, forKey: key) == nil else {
                throw .malformed("The parameter \(key) is given more than once.")
            }
        }
    }

    /// `+` is a space, `%XX` a byte; the result must be UTF-8.
    static func decodeComponent(_ bytes: some Collection<UInt8>) throws(QueryInputError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index != bytes.endIndex, let high = Self.hexValue(bytes[index]) else {
                    throw .malformed("Malformed percent-encoding in the query string.")
                }
                index = bytes.index(after: index)
                guard index != bytes.endIndex, let low = Self.hexValue(bytes[index]) else {
                    throw .malformed("Malformed percent-encoding in the query string.")
                }
                index = bytes.index(after: index)
                out.append(high << 4 | low)
            default:
                out.append(byte)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw .malformed("The query string is not valid UTF-8.")
        }
        return text
    }

    /// A hex digit's value (either case); the SigV4 verifier's canonical-query decoding uses it too.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The top-level members whose smallest value AWS's model sets above what the wire protocol can tell from
    /// absence: an empty name or path, a MaxItems of 0. The RPC messages carry these as proto3 defaults (empty,
    /// zero), which mean "not given", so the front door refuses them here with AWS's ValidationError, in AWS's
    /// lower-camel member spelling.
    static let minimumLengths: [(member: String, field: String)] = [
        ("Path", "path"), ("PathPrefix", "pathPrefix"), ("UserName", "userName"), ("GroupName", "groupName"),
        ("RoleName", "roleName"), ("PolicyName", "policyName"), ("InstanceProfileName", "instanceProfileName"),
        ("Marker", "marker"),
    ]

    /// Refuses an empty top-level name, path or marker, and a MaxItems below 1, as AWS does.
    func checkTopLevelMinimums() throws(QueryInputError) {
        for (member, field) in Self.minimumLengths where self.parameters[member]?.isEmpty == true {
            throw .validation(field, "", "Member must have length greater than or equal to 1")
        }
        if let text = self.parameters["MaxItems"], let value = Int(text.trimmingCharacters(in: .whitespaces)),
            value < 1
        {
            throw .validation("maxItems", text, "Member must have value greater than or equal to 1")
        }
    }

    // MARK: Reading members (used by the generated decoders)

    /// The member's text, if given.
    func string(_ key: String) -> String? { self.parameters[self.prefix + key] }

    /// An integer member.
    func integer<T: FixedWidthInteger>(_ key: String, as type: T.Type) throws(QueryInputError) -> T? {
        guard let text = self.string(key) else { return nil }
        guard let value = T(text.trimmingCharacters(in: .whitespaces)) else {
            throw .validation(self.prefix + key, text, "Member must be an integer")
        }
        return value
    }

    /// A boolean member (`true` / `false`, any case).
    func boolean(_ key: String) throws(QueryInputError) -> Bool? {
        guard let text = self.string(key) else { return nil }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .validation(self.prefix + key, text, "Member must be a boolean (true or false)")
        }
    }

    /// A timestamp member (ISO 8601), as milliseconds since the epoch.
    func timestamp(_ key: String) throws(QueryInputError) -> Int64? {
        guard let text = self.string(key) else { return nil }
        var style = Date.ISO8601FormatStyle()
        style.timeZone = TimeZone(identifier: "UTC")!
        guard let date = try? style.parse(text) else {
            throw .validation(self.prefix + key, text, "Member must be an ISO 8601 timestamp")
        }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// An enum member, by AWS's value names.
    func enumeration<E>(_ key: String, _ values: KeyValuePairs<String, E>) throws(QueryInputError) -> E? {
        guard let text = self.string(key) else { return nil }
        guard let match = values.first(where: { $0.key == text }) else {
            throw .validation(
                self.prefix + key, text,
                "Member must satisfy enum value set: [\(values.map(\.key).joined(separator: ", "))]")
        }
        return match.value
    }

    /// A list of enum members.
    func enumerationList<E>(_ key: String, _ values: KeyValuePairs<String, E>) throws(QueryInputError) -> [E]? {
        guard let indices = try self.listIndices(key) else { return nil }
        var out: [E] = []
        for index in indices {
            if let value = try self.enumeration("\(key).member.\(index)", values) { out.append(value) }
        }
        return out
    }

    /// A list of strings: `Key.member.N`; `Key=` alone is the empty list.
    func stringList(_ key: String) throws(QueryInputError) -> [String]? {
        guard let indices = try self.listIndices(key) else { return nil }
        return indices.compactMap { self.string("\(key).member.\($0)") }
    }

    /// A list of structures: `Key.member.N.Member`.
    func structureList<T>(_ key: String, _ read: (QueryForm) throws(QueryInputError) -> T) throws(QueryInputError)
        -> [T]?
    {
        guard let indices = try self.listIndices(key) else { return nil }
        var out: [T] = []
        out.reserveCapacity(indices.count)
        for index in indices {
            out.append(
                try read(
                    QueryForm(
                        parameters: self.parameters, prefix: "\(self.prefix)\(key).member.\(index).", shape: self.shape)
                ))
        }
        return out
    }

    /// A structure: `Key.Member`; nil when none of its members is given.
    func structure<T>(_ key: String, _ read: (QueryForm) throws(QueryInputError) -> T) throws(QueryInputError) -> T? {
        let nested = self.prefix + key + "."
        guard !self.shape.names(under: nested).isEmpty else { return nil }
        return try read(QueryForm(parameters: self.parameters, prefix: nested, shape: self.shape))
    }

    /// The member indices of list `key`, in order; nil when the list is absent, [] for `Key=`.
    private func listIndices(_ key: String) throws(QueryInputError) -> [Int]? {
        let listPrefix = self.prefix + key + ".member."
        let names = self.shape.names(under: listPrefix)
        if names.isEmpty {
            return self.parameters[self.prefix + key] != nil ? [] : nil
        }
        let skip = listPrefix.utf8.count
        var indices: Set<Int> = []
        for name in names {
            let digits = name[skip...].prefix { $0 != UInt8(ascii: ".") }
            guard let index = Int(String(decoding: digits, as: UTF8.self)), index >= 1, index <= Limits.maxListIndex
            else {
                throw .malformed(
                    "Bad list index in parameter \(String(decoding: name, as: UTF8.self)) (1...\(Limits.maxListIndex))."
                )
            }
            indices.insert(index)
        }
        return indices.sorted()
    }
}

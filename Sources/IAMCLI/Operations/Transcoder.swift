import Foundation
import IAMWire
import NIOCore

/// A message the CLI holds as protobuf bytes: the run path sends and receives every operation through it, and
/// ``Transcoder`` turns the bytes into AWS's JSON shape and back using the generated ``Shapes``.
struct RawMessage: WireMessage {
    var bytes: [UInt8] = []

    init() {}
    init(bytes: [UInt8]) { self.bytes = bytes }

    func encode(into buffer: inout ByteBuffer) { buffer.writeBytes(bytes) }

    mutating func merge(from buffer: inout ByteBuffer) throws(WireError) {
        bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

/// Protobuf bytes <-> AWS JSON for any message of the IDL, driven by its ``MessageShape``.
///
/// Output follows what the AWS CLI prints: members in the model's order, AWS's member names and enum strings,
/// timestamps as ISO 8601, policy documents as JSON objects; unset optional members and empty nested lists are
/// left out, as AWS's XML leaves them out. The store `Revision` every write returns is this service's own
/// extension and not printed.
enum Transcoder {
    static let hiddenOutputFields: Set<String> = ["revision"]
    /// The entity field each GetAccountAuthorizationDetails detail message inlines, as AWS's shapes do.
    static let flattened: [String: String] = [
        "UserDetail": "user", "GroupDetail": "group", "RoleDetail": "role", "ManagedPolicyDetail": "policy",
    ]
    /// Members of the inlined entity that AWS's detail shape does not have.
    static let notInDetail: [String: Set<String>] = [
        "UserDetail": ["PasswordLastUsed"], "RoleDetail": ["Description", "MaxSessionDuration"],
        "ManagedPolicyDetail": ["Tags"],
    ]

    // MARK: Decoding (response -> JSON)

    static func decode(_ bytes: [UInt8], as messageName: String, topLevel: Bool = true) throws(InputError) -> AWSJSON {
        let shape = Shapes.message(messageName)
        var reader = ByteReader(bytes: bytes[...])
        var values: [Int: [AWSJSON]] = [:]
        while !reader.isAtEnd {
            let tag = try reader.varint()
            let number = Int(tag >> 3)
            let wireType = Int(tag & 7)
            guard let field = shape.fields.first(where: { $0.number == number }) else {
                try reader.skip(wireType: wireType)
                continue
            }
            values[number, default: []] += try decodeValues(field, wireType: wireType, from: &reader)
        }
        var members: [AWSJSON.Member] = []
        for field in shape.fields where !(topLevel && hiddenOutputFields.contains(field.name)) {
            let decoded = values[field.number] ?? []
            if case .map(_, let valueKind) = field.kind {
                var entries: [AWSJSON.Member] = []
                for entry in decoded {
                    if case .object(let pair) = entry, let key = pair.first?.value, let value = pair.last?.value {
                        entries.append(AWSJSON.Member(key: key.textValue, value: value))
                    }
                }
                if field.name.hasSuffix("_policy_list"), case .scalar(.string) = valueKind {
                    // AWS lists inline policies as {PolicyName, PolicyDocument} where the IDL keeps a map.
                    let list = entries.map { entry -> AWSJSON in
                        let document =
                            if case .string(let text) = entry.value, let parsed = try? AWSJSON.parse(policyText(text)) {
                                parsed
                            } else { entry.value }
                        return .object([
                            .init(key: "PolicyName", value: .string(entry.key)),
                            .init(key: "PolicyDocument", value: document),
                        ])
                    }
                    members.append(.init(key: field.awsName, value: .array(list)))
                    continue
                }
                if !entries.isEmpty || topLevel { members.append(.init(key: field.awsName, value: .object(entries))) }
                continue
            }
            if flattened[messageName] == field.name {
                // AWS's *Detail shapes carry the entity's members themselves, where the IDL nests the entity.
                if case .object(let inner)? = decoded.last {
                    members += inner.filter { !(notInDetail[messageName] ?? []).contains($0.key) }
                }
                continue
            }
            switch field.label {
            case .repeated:
                if !decoded.isEmpty || topLevel || listsPrintedWhenEmpty[messageName]?.contains(field.name) == true {
                    members.append(.init(key: field.awsName, value: .array(decoded)))
                }
            case .optional:
                if let last = decoded.last { members.append(.init(key: field.awsName, value: last)) }
            case .singular:
                if let last = decoded.last {
                    members.append(.init(key: field.awsName, value: last))
                } else if let implicit = implicitDefault(field) {
                    members.append(.init(key: field.awsName, value: implicit))
                }
            }
        }
        return .object(members)
    }

    /// What a proto3 field left at its default shows: booleans and counts (AWS prints `false` and `0`), and an
    /// enum's zero value when it has an AWS name; nothing for empty strings, unset timestamps, absent messages.
    private static func implicitDefault(_ field: FieldShape) -> AWSJSON? {
        switch field.kind {
        case .scalar(.bool): return .bool(false)
        case .scalar(.string), .scalar(.bytes), .message, .map: return nil
        case .enumeration(let name):
            guard let zero = Shapes.enums[name]?.values.first(where: { $0.number == 0 }),
                let aws = AWSNames.enumValue(zero.name, of: name)
            else { return nil }
            return .string(aws)
        case .scalar:
            return field.isTimestamp ? nil : .int(0)
        }
    }

    private static func decodeValues(_ field: FieldShape, wireType: Int, from reader: inout ByteReader)
        throws(InputError) -> [AWSJSON]
    {
        switch field.kind {
        case .scalar(let scalar):
            if wireType == 2 && scalar != .string && scalar != .bytes {
                // A packed run of numbers.
                var packed = ByteReader(bytes: try reader.delimited())
                var result: [AWSJSON] = []
                while !packed.isAtEnd { result.append(try decodeScalar(scalar, field, from: &packed)) }
                return result
            }
            return [try decodeScalar(scalar, field, from: &reader)]
        case .enumeration(let name):
            if wireType == 2 {
                var packed = ByteReader(bytes: try reader.delimited())
                var result: [AWSJSON] = []
                while !packed.isAtEnd { result.append(enumJSON(Int32(truncatingIfNeeded: try packed.varint()), name)) }
                return result
            }
            return [enumJSON(Int32(truncatingIfNeeded: try reader.varint()), name)]
        case .message(let name):
            return [try decode(Array(try reader.delimited()), as: name, topLevel: false)]
        case .map(let key, let value):
            var entry = ByteReader(bytes: try reader.delimited())
            var keyJSON: AWSJSON = .string("")
            var valueJSON: AWSJSON = .null
            let keyField = FieldShape(1, "key", .scalar(key), .singular, help: "")
            let valueField = FieldShape(2, field.name, value, .singular, help: "")
            while !entry.isAtEnd {
                let tag = try entry.varint()
                switch tag >> 3 {
                case 1: keyJSON = try decodeValues(keyField, wireType: Int(tag & 7), from: &entry).last ?? keyJSON
                case 2: valueJSON = try decodeValues(valueField, wireType: Int(tag & 7), from: &entry).last ?? valueJSON
                default: try entry.skip(wireType: Int(tag & 7))
                }
            }
            return [.object([.init(key: "key", value: keyJSON), .init(key: "value", value: valueJSON)])]
        }
    }

    private static func enumJSON(_ number: Int32, _ enumName: String) -> AWSJSON {
        guard let value = Shapes.enums[enumName]?.values.first(where: { $0.number == number }) else {
            return .int(Int64(number))
        }
        return .string(AWSNames.enumValue(value.name, of: enumName) ?? value.name)
    }

    private static func decodeScalar(_ scalar: ScalarKind, _ field: FieldShape, from reader: inout ByteReader)
        throws(InputError) -> AWSJSON
    {
        switch scalar {
        case .string:
            let text = String(decoding: try reader.delimited(), as: UTF8.self)
            // A document is shown as the JSON it holds, as the AWS CLI does, when that is an object or array: what
            // encoding takes back as a document. Other text (`null`, which would read as no document at all) stays
            // text; the service only ever returns objects.
            if field.isPolicyDocument, let document = try? AWSJSON.parse(policyText(text)) {
                switch document {
                case .object, .array: return document
                default: break
                }
            }
            return .string(text)
        case .bytes: return .string(Data(try reader.delimited()).base64EncodedString())
        case .bool: return .bool(try reader.varint() != 0)
        case .int32: return .int(Int64(Int32(truncatingIfNeeded: try reader.varint())))
        case .int64:
            let value = Int64(bitPattern: try reader.varint())
            return field.isTimestamp ? .string(timestamp(milliseconds: value)) : .int(value)
        case .uint32: return .int(Int64(UInt32(truncatingIfNeeded: try reader.varint())))
        case .uint64: return .int(Int64(bitPattern: try reader.varint()))
        case .sint32, .sint64:
            let raw = try reader.varint()
            return .int(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1))))
        case .fixed32: return .int(Int64(try reader.fixed(4)))
        case .sfixed32: return .int(Int64(Int32(truncatingIfNeeded: try reader.fixed(4))))
        case .fixed64, .sfixed64: return .int(Int64(bitPattern: try reader.fixed(8)))
        case .float: return .double(Double(Float(bitPattern: UInt32(truncatingIfNeeded: try reader.fixed(4)))))
        case .double: return .double(Double(bitPattern: try reader.fixed(8)))
        }
    }

    /// AWS's API URL-encodes policy documents; the CLI decodes them. Plain JSON passes through.
    private static func policyText(_ text: String) -> String {
        text.hasPrefix("%7B") ? (text.removingPercentEncoding ?? text) : text
    }

    /// `2026-12-01T22:27:28+00:00`, as the AWS CLI prints timestamps.
    static func timestamp(milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        let text = formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        return text.hasSuffix("Z") ? String(text.dropLast()) + "+00:00" : text
    }

    // MARK: Encoding (JSON -> request)

    /// Encodes `json` (an object with AWS member names) as the protobuf message `messageName`.
    static func encode(_ json: AWSJSON, as messageName: String, path: String = "") throws(InputError) -> [UInt8] {
        guard case .object(let members) = json else {
            throw InputError(
                "Invalid type for parameter \(path.isEmpty ? "input" : path), value: \(json.textValue), type: \(json.typeName), valid types: structure"
            )
        }
        let shape = Shapes.message(messageName)
        var writer = ByteWriter()
        for member in members {
            guard let field = shape.field(awsName: member.key) else {
                let valid = shape.fields.map(\.awsName).joined(separator: ", ")
                throw InputError(
                    "Unknown parameter in \(path.isEmpty ? "input" : path): \"\(member.key)\", must be one of: \(valid)"
                )
            }
            let memberPath = path.isEmpty ? member.key : "\(path).\(member.key)"
            if case .map(let keyKind, let valueKind) = field.kind {
                guard case .object(let entries) = member.value else {
                    throw InputError(
                        "Invalid type for parameter \(memberPath), value: \(member.value.textValue), type: \(member.value.typeName), valid types: map"
                    )
                }
                for entry in entries {
                    var pair = ByteWriter()
                    try encodeValue(
                        .string(entry.key), kind: .scalar(keyKind), number: 1, field: field, path: memberPath,
                        into: &pair)
                    try encodeValue(
                        entry.value, kind: valueKind, number: 2, field: field, path: memberPath, into: &pair)
                    writer.tag(field.number, 2)
                    writer.delimited(pair.bytes[...])
                }
            } else if field.label == .repeated {
                let elements: [AWSJSON]
                if case .array(let array) = member.value { elements = array } else { elements = [member.value] }
                for (index, element) in elements.enumerated() {
                    try encodeValue(
                        element, kind: field.kind, number: field.number, field: field, path: "\(memberPath)[\(index)]",
                        into: &writer)
                }
            } else {
                if case .null = member.value { continue }
                try encodeValue(
                    member.value, kind: field.kind, number: field.number, field: field, path: memberPath, into: &writer)
            }
        }
        return writer.bytes
    }

    private static func encodeValue(
        _ value: AWSJSON, kind: FieldKind, number: Int, field: FieldShape, path: String, into writer: inout ByteWriter
    ) throws(InputError) {
        func invalid(_ valid: String) -> InputError {
            InputError(
                "Invalid type for parameter \(path), value: \(value.textValue), type: \(value.typeName), valid types: \(valid)"
            )
        }
        switch kind {
        case .message(let name):
            let bytes = try encode(value, as: name, path: path)
            writer.tag(number, 2)
            writer.delimited(bytes[...])
        case .enumeration(let name):
            guard case .string(let text) = value else { throw invalid("string") }
            let values = Shapes.enums[name]?.values ?? []
            guard
                let match = values.first(where: {
                    AWSNames.enumValue($0.name, of: name) == text || $0.name == text
                })
            else {
                let valid = values.compactMap { AWSNames.enumValue($0.name, of: name) }.joined(separator: ", ")
                throw InputError("Invalid value for parameter \(path): \"\(text)\", valid values: \(valid)")
            }
            writer.tag(number, 0)
            writer.varint(UInt64(bitPattern: Int64(match.number)))
        case .map:
            throw invalid("map")
        case .scalar(let scalar):
            switch scalar {
            case .string:
                let text: String
                switch value {
                case .string(let string): text = string
                case .object where field.isPolicyDocument, .array where field.isPolicyDocument:
                    text = value.rendered(indent: nil)
                case .int, .double, .bool: text = value.textValue.lowercased()
                default: throw invalid("string")
                }
                writer.tag(number, 2)
                writer.delimited(Array(text.utf8)[...])
            case .bytes:
                guard case .string(let text) = value else { throw invalid("blob") }
                writer.tag(number, 2)
                writer.delimited((Data(base64Encoded: text).map(Array.init) ?? Array(text.utf8))[...])
            case .bool:
                let flag: Bool
                switch value {
                case .bool(let bool): flag = bool
                case .string("true"), .string("True"): flag = true
                case .string("false"), .string("False"): flag = false
                default: throw invalid("boolean")
                }
                writer.tag(number, 0)
                writer.varint(flag ? 1 : 0)
            case .double, .float:
                let number64: Double
                switch value {
                case .int(let int): number64 = Double(int)
                case .double(let double): number64 = double
                case .string(let text):
                    guard let parsed = Double(text) else { throw invalid("float") }
                    number64 = parsed
                default: throw invalid("float")
                }
                if scalar == .double {
                    writer.tag(number, 1)
                    writer.fixed(number64.bitPattern, bytes: 8)
                } else {
                    writer.tag(number, 5)
                    writer.fixed(UInt64(Float(number64).bitPattern), bytes: 4)
                }
            default:
                let integer: Int64
                switch value {
                case .int(let int): integer = int
                case .string(let text) where field.isTimestamp:
                    guard let date = ISO8601DateFormatter().date(from: text) else { throw invalid("timestamp") }
                    integer = Int64(date.timeIntervalSince1970 * 1000)
                case .string(let text):
                    guard let parsed = Int64(text) else { throw invalid("integer") }
                    integer = parsed
                default: throw invalid("integer")
                }
                let limits: ClosedRange<Int64> =
                    switch scalar {
                    case .int32, .sint32, .sfixed32: Int64(Int32.min)...Int64(Int32.max)
                    case .uint32, .fixed32: 0...Int64(UInt32.max)
                    case .uint64, .fixed64: 0...Int64.max
                    default: Int64.min...Int64.max
                    }
                guard limits.contains(integer) else {
                    throw InputError(
                        "Invalid value for parameter \(path): \(integer) is out of range \(limits.lowerBound)...\(limits.upperBound)"
                    )
                }
                switch scalar {
                case .sint32, .sint64:
                    writer.tag(number, 0)
                    writer.varint(UInt64(bitPattern: (integer << 1) ^ (integer >> 63)))
                case .fixed32, .sfixed32:
                    writer.tag(number, 5)
                    writer.fixed(UInt64(UInt32(truncatingIfNeeded: integer)), bytes: 4)
                case .fixed64, .sfixed64:
                    writer.tag(number, 1)
                    writer.fixed(UInt64(bitPattern: integer), bytes: 8)
                default:
                    writer.tag(number, 0)
                    writer.varint(UInt64(bitPattern: integer))
                }
            }
        }
    }
}

/// Reads protobuf's primitives from bytes, checking every length against what remains.
struct ByteReader {
    var bytes: ArraySlice<UInt8>

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func varint() throws(InputError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.popFirst() {
            guard shift < 64 else { break }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw InputError("the server's response is not valid protobuf (varint)")
    }

    mutating func fixed(_ count: Int) throws(InputError) -> UInt64 {
        guard bytes.count >= count else { throw InputError("the server's response is truncated") }
        var result: UInt64 = 0
        for (index, byte) in bytes.prefix(count).enumerated() { result |= UInt64(byte) << (8 * UInt64(index)) }
        bytes = bytes.dropFirst(count)
        return result
    }

    mutating func delimited() throws(InputError) -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(bytes.count) else { throw InputError("the server's response is truncated") }
        let slice = bytes.prefix(Int(length))
        bytes = bytes.dropFirst(Int(length))
        return slice
    }

    mutating func skip(wireType: Int) throws(InputError) {
        switch wireType {
        case 0: _ = try varint()
        case 1: _ = try fixed(8)
        case 2: _ = try delimited()
        case 5: _ = try fixed(4)
        default: throw InputError("the server's response has an unknown wire type \(wireType)")
        }
    }
}

/// Writes protobuf's primitives.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func tag(_ number: Int, _ wireType: Int) { varint(UInt64(number << 3 | wireType)) }

    mutating func fixed(_ value: UInt64, bytes count: Int) {
        for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    mutating func delimited(_ payload: ArraySlice<UInt8>) {
        varint(UInt64(payload.count))
        bytes += payload
    }
}

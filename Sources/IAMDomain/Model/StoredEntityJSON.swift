public import Foundation
import IAMPolicy

/// Stored user and group rows read without Foundation's `JSONDecoder`.
///
/// A store keeps each entity as the JSON `JSONEncoder` writes (sorted keys, `createDate` as seconds since the
/// reference date). Start-up reads every user and group, and `JSONDecoder`'s generic containers cost about
/// 8 µs a row, most of reading 100,000 users. This reader takes the same rows through the policy engine's
/// JSON parser and validates every identifier exactly as the `Codable` path does. It returns nil for any row
/// it does not take on (a missing, mistyped or unknown member); that row is then decoded with `JSONDecoder`,
/// which also names what is wrong. Public for ``decodeRows(_:_:minimum:)``, through which every store (the
/// PostgreSQL one is another package) reads its entity rows.
public enum StoredEntityJSON {
    /// From this many rows on (start-up reads every user), decoding is split across the cores.
    public static let parallelThreshold = 4096

    /// One decoder for every row of a small read: making a JSONDecoder per row was a measurable part of loading
    /// 100,000 entities. Decoding does not mutate it, and it is Sendable.
    private static let decoder = JSONDecoder()

    /// Stored rows (`JSONEncoder`'s form) decoded in order, users and groups by this reader, everything else by
    /// `JSONDecoder`; on all cores from `minimum` rows on. The first corrupt row fails the read with a
    /// `ServiceFailure` naming it. Every store's start-up reads its entity rows through this.
    public static func decodeRows<E: Decodable & Sendable>(
        _ type: E.Type, _ bodies: [Data], minimum: Int = parallelThreshold
    ) throws(IAMError) -> [E] {
        let fast = Self.knows(E.self)
        let decoded = Parallel.map(bodies.count, minimum: minimum) { range in
            // One chunk (a small read) uses the shared decoder; parallel chunks each make their own.
            let decoder = range.count == bodies.count ? Self.decoder : JSONDecoder()
            return range.map { index in
                Result { () throws(IAMError) in
                    if fast, let entity = Self.decode(E.self, [UInt8](bodies[index])) { return entity }
                    do {
                        return try decoder.decode(E.self, from: bodies[index])
                    } catch {
                        throw .serviceFailure("corrupt \(E.self) row: \(error)")
                    }
                }
            }
        }
        var out: [E] = []
        out.reserveCapacity(decoded.count)
        for row in decoded { out.append(try row.get()) }
        return out
    }

    /// The entity in `json` if `E` is one this reader knows and the row has the expected shape, else nil.
    package static func decode<E>(_ type: E.Type, _ json: [UInt8]) -> E? {
        if E.self == User.self { return Self.user(json) as? E }
        if E.self == Group.self { return Self.group(json) as? E }
        return nil
    }

    /// Whether ``decode(_:_:)`` knows `E` at all (other types skip the attempt).
    package static func knows<E>(_ type: E.Type) -> Bool { E.self == User.self || E.self == Group.self }

    /// The user in `json`, or nil (decode with `JSONDecoder` instead).
    package static func user(_ json: [UInt8]) -> User? {
        guard let object = Self.object(json),
            object.hasOnly(Self.userKeys),
            let id = object.string("id").flatMap({ try? UniqueID.validated($0) }),
            let name = object.string("name").flatMap({ try? EntityName.validated($0) }),
            let path = object.string("path").flatMap({ try? IAMPath.validated($0) }),
            let arn = object.string("arn").flatMap({ try? ARN(parsing: $0) }),
            let createDate = object.date("createDate"),
            let tags = object.tags("tags"),
            let boundary = object.optionalARN("permissionsBoundary")
        else { return nil }
        return User(
            id: id, name: name, path: path, arn: arn, createDate: createDate, permissionsBoundary: boundary,
            tags: tags)
    }

    /// The group in `json`, or nil (decode with `JSONDecoder` instead).
    package static func group(_ json: [UInt8]) -> Group? {
        guard let object = Self.object(json), object.hasOnly(Self.groupKeys),
            let id = object.string("id").flatMap({ try? UniqueID.validated($0) }),
            let name = object.string("name").flatMap({ try? EntityName.validated($0) }),
            let path = object.string("path").flatMap({ try? IAMPath.validated($0) }),
            let arn = object.string("arn").flatMap({ try? ARN(parsing: $0) }),
            let createDate = object.date("createDate")
        else { return nil }
        return Group(id: id, name: name, path: path, arn: arn, createDate: createDate)
    }

    private static let userKeys: Set = ["arn", "createDate", "id", "name", "path", "permissionsBoundary", "tags"]
    private static let groupKeys: Set = ["arn", "createDate", "id", "name", "path"]

    private static func object(_ json: [UInt8]) -> Members? {
        guard let node = try? JSONParser.parse(json), case .object(let members) = node.value else { return nil }
        return Members(members: members)
    }

    private struct Members {
        let members: [JSONMember]

        /// Whether every member is one of `keys`: a member this reader does not know (a field added later) sends
        /// the row to `JSONDecoder`, so nothing is dropped silently.
        func hasOnly(_ keys: Set<String>) -> Bool { self.members.allSatisfy { keys.contains($0.key) } }

        func value(_ key: String) -> JSONValue? { self.members.first { $0.key == key }?.value.value }

        func string(_ key: String) -> String? {
            guard case .string(let text) = self.value(key) else { return nil }
            return text
        }

        /// `JSONEncoder`'s default date form: seconds since 2001-01-01 as a number.
        func date(_ key: String) -> Date? {
            guard case .number(let text) = self.value(key), let seconds = Double(text), seconds.isFinite else {
                return nil
            }
            return Date(timeIntervalSinceReferenceDate: seconds)
        }

        /// `.some(nil)` when absent or null (an optional encodes as nothing), nil when not an ARN.
        func optionalARN(_ key: String) -> ARN?? {
            switch self.value(key) {
            case nil, .null?: .some(nil)
            case .string(let text)?: (try? ARN(parsing: text)).map { .some($0) }
            default: nil
            }
        }

        /// Tags as `Tag`'s `Codable` form stores them: `[{"key": ..., "value": ...}]`, not validated again (the
        /// `Codable` path does not validate them either).
        func tags(_ key: String) -> [Tag]? {
            guard case .array(let nodes) = self.value(key) else { return nil }
            var tags: [Tag] = []
            tags.reserveCapacity(nodes.count)
            for node in nodes {
                guard case .object(let members) = node.value, members.count == 2 else { return nil }
                let tag = Members(members: members)
                guard let key = tag.string("key"), let value = tag.string("value") else { return nil }
                tags.append(Tag(stored: key, value: value))
            }
            return tags
        }
    }
}

extension Tag {
    /// A tag as read back from a store, which validated it when it was written.
    init(stored key: String, value: String) {
        self.key = key
        self.value = value
    }
}

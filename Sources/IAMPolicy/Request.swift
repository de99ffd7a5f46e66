/// The caller of a request, as resource-based and trust policies see it.
///
/// The principal is used only for `Principal` / `NotPrincipal` matching and for deciding whether the request is
/// same-account or cross-account. Condition keys and policy variables (`${aws:username}`) are read from the
/// request context only; a caller that wants them must put them there.
public struct Principal: Sendable, Hashable {
    /// What kind of caller this is.
    public enum Kind: String, Sendable {
        /// An IAM user (`arn:aws:iam::acct:user/path/name`).
        case user
        /// A role session (`arn:aws:sts::acct:assumed-role/role/session`); `roleARN` names the role.
        case assumedRole = "assumed-role"
        /// An AWS service principal (`apigateway.amazonaws.com`).
        case service
    }

    /// The caller's ARN (for a service, its service principal name).
    public var arn: String
    /// The kind of caller.
    public var kind: Kind
    /// Friendly name (user name, session name or service name).
    public var name: String?
    /// Unique id (`AIDA...`, `AROA...:session`).
    public var id: String?
    /// 12-digit account id; derived from `arn` when nil.
    public var account: String?
    /// IAM path (`/division/`).
    public var path: String?
    /// For a role session, the role's ARN (`arn:aws:iam::acct:role/path/name`).
    public var roleARN: String?
    /// Principal tags (informational; conditions read `aws:PrincipalTag/...` from the context).
    public var tags: [String: String]

    /// Creates a principal.
    public init(
        arn: String,
        kind: Kind,
        name: String? = nil,
        id: String? = nil,
        account: String? = nil,
        path: String? = nil,
        roleARN: String? = nil,
        tags: [String: String] = [:]
    ) {
        self.arn = arn
        self.kind = kind
        self.name = name
        self.id = id
        self.account = account
        self.path = path
        self.roleARN = roleARN
        self.tags = tags
    }

    /// The account the principal belongs to: `account`, or the account segment of `arn`.
    public var effectiveAccount: String? {
        if let account, !account.isEmpty { return account }
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        if parts.count == 6, parts[0] == "arn", !parts[4].isEmpty { return String(parts[4]) }
        return nil
    }
}

/// The value of one request-context key: a single string, or a list for multivalued keys (`aws:TagKeys`).
///
/// An empty list is a key that is present with no values.
public enum ContextValue: Sendable, Hashable {
    /// A single-valued key.
    case string(String)
    /// A multivalued key (possibly empty).
    case list([String])
}

/// The request context: condition keys and policy-variable values.
///
/// Keys are case-insensitive (`aws:SourceIp` ≡ `AWS:SOURCEIP`); every derived form a condition may need
/// (lower-cased bytes, number, date, IP address) is computed once here so that checks allocate nothing.
public struct RequestContext: Sendable {
    let storage: Storage

    final class Storage: Sendable {
        let entries: [ContextEntry]
        /// A hash table over ``entries`` when there are more than ``linearLimit``; fewer are scanned, which is
        /// faster than building a table for the few keys a request adds.
        let table: ByteTable?
        /// Lower layers (``RequestContext/init(layers:)``), highest priority first, each consulted only for its
        /// own entries when this one lacks a key.
        let below: [Storage]

        /// One bit per key of every layer, chosen by the key's hash: a key whose bit is clear is in no layer, found
        /// so without a scan (`aws:ResourceAccount` for an ARN without an account, read by every such check, was a
        /// miss in each of a check's three layers).
        let keyMask: UInt64

        static let linearLimit = 8

        init(_ entries: [ContextEntry], below: [Storage] = []) {
            self.entries = entries
            self.table =
                entries.count > Self.linearLimit
                ? ByteTable(entries.enumerated().map { ($0.element.lowerKey, Int32($0.offset)) }) : nil
            self.below = below
            var mask: UInt64 = 0
            for entry in entries { mask |= Self.bit(entry.key.hash) }
            for layer in below { mask |= layer.keyMask }
            self.keyMask = mask
        }

        /// The bit of ``keyMask`` for a key whose (lower-cased text's) hash is `hash`.
        @inline(__always)
        static func bit(_ hash: UInt64) -> UInt64 { 1 &<< (hash >> 58) }

        var isEmpty: Bool { self.entries.isEmpty && self.below.isEmpty }

        /// This storage's own entry for `key`; the last of equal keys wins, as in the table.
        @inline(__always)
        func ownEntry(_ key: HashedKey) -> ContextEntry? {
            if let table {
                let index = table.find(key)
                return index < 0 ? nil : self.entries[Int(index)]
            }
            var index = self.entries.count - 1
            while index >= 0 {
                let entry = self.entries[index]
                if entry.key.hash == key.hash
                    && (entry.spelledLower ? entry.key.text == key.text : asciiEqualFolded(entry.key.text, key.text))
                {
                    return entry
                }
                index -= 1
            }
            return nil
        }

        @inline(__always)
        func entry(_ key: HashedKey) -> ContextEntry? {
            guard self.keyMask & Self.bit(key.hash) != 0 else { return nil }
            if let own = self.ownEntry(key) { return own }
            for layer in self.below {
                if let found = layer.ownEntry(key) { return found }
            }
            return nil
        }

        /// Every entry of every layer (keys may repeat across layers).
        var allEntries: [ContextEntry] { self.entries + self.below.flatMap(\.entries) }
    }

    /// Creates a context from key/value pairs. If two keys differ only in case, the lexically greater
    /// original spelling wins (deterministic).
    public init(_ values: [String: ContextValue]) {
        var entries: [ContextEntry] = []
        entries.reserveCapacity(values.count)
        for (key, value) in values {
            entries.append(ContextEntry(key: HashedKey(asciiLowercased(key)), spelling: key, value))
        }
        // Only keys that differ just in case need an order (the last of equal keys wins).
        if entries.count > 1 { entries.sort { $0.spelling < $1.spelling } }
        storage = Storage(entries)
    }

    /// Creates a context from key/value pairs in order: of keys equal but for case, the last wins. No dictionary
    /// and no sort, for a request's few keys as they come off the wire; their values are parsed as numbers or
    /// dates only when a condition compares them so, and a value that looks like an address as one at once
    /// (build a context that many checks share with ``init(_:)``, which parses once). With `parsingValuesOnce`,
    /// every value is parsed in every form now, for a context that many checks share (the checks of one batch
    /// that carry the same keys).
    public init(pairs: [(key: String, value: ContextValue)], parsingValuesOnce: Bool = false) {
        guard !pairs.isEmpty else {
            self.init()
            return
        }
        var entries: [ContextEntry] = []
        entries.reserveCapacity(pairs.count)
        for (key, value) in pairs {
            entries.append(ContextEntry(spelling: key, value, eager: parsingValuesOnce))
        }
        self.init(storage: Storage(entries))
    }

    /// An empty context (one shared instance: building an empty table per check is waste).
    public init() { self = Self.empty }

    private static let empty = RequestContext(storage: Storage([]))

    private init(storage: Storage) { self.storage = storage }

    /// One context made of `layers` in order: a key in a later layer replaces the same key (in any case) of an
    /// earlier one. The layers are shared, not copied (their derived forms were computed when each was built),
    /// so a server builds a principal's keys once, the clock's once a second, and per check only what the
    /// request adds; a lookup consults the layers from the last.
    public init(layers: [RequestContext]) {
        var count = 0
        for layer in layers { count += (layer.storage.entries.isEmpty ? 0 : 1) + layer.storage.below.count }
        var ordered: [Storage] = []
        ordered.reserveCapacity(count)
        for layer in layers.reversed() {
            if !layer.storage.entries.isEmpty { ordered.append(layer.storage) }
            // One at a time: appending an empty `below` through append(contentsOf:) cost more than the loop.
            for below in layer.storage.below { ordered.append(below) }
        }
        switch ordered.count {
        case 0: self.init()
        case 1: self.init(storage: ordered[0])
        default: self.init(storage: Storage([], below: ordered))
        }
    }

    /// The value of `key` (case-insensitive), as given.
    public subscript(key: String) -> ContextValue? {
        entry(HashedKey(asciiLowercased(key)))?.original
    }

    /// The keys present, lower-cased.
    public var keys: [String] { Array(Set(storage.allEntries.map(\.lowerKey.text))).sorted() }

    @inline(__always)
    func entry(_ lowerKey: HashedKey) -> ContextEntry? {
        storage.entry(lowerKey)
    }

    /// The value of a single-valued key (`lowerKey` already lower-cased); multivalued keys cannot be variables.
    @inline(__always)
    func singleValue(_ lowerKey: HashedKey) -> ContextScalar? {
        guard let entry = entry(lowerKey), !entry.isList else { return nil }
        return entry.values.first
    }

    /// Whether ``singleValue(_:)`` has a value for `lowerKey` (without copying it).
    @inline(__always)
    func hasSingleValue(_ lowerKey: HashedKey) -> Bool {
        guard let entry = entry(lowerKey) else { return false }
        return !entry.isList && !entry.values.isEmpty
    }
}

/// One question: may the principal do `action` on `resource` in `context`?
public struct AuthorizationRequest: Sendable {
    let storage: Storage

    /// Everything derived from the request once, behind one reference so that passing a request is one retain.
    final class Storage: Sendable {
        let action: String
        let resource: String
        let context: RequestContext
        /// Lower-cased action, the key of the exact-action tables; its text's bytes are matched against action
        /// patterns.
        let actionKey: HashedKey
        /// Lower-cased service prefix (`s3`), the key of the service index.
        let serviceKey: HashedKey
        /// Colon positions of the resource ARN, found once for every resource pattern to use.
        let resourceColons: (Int, Int, Int, Int, Int)?
        /// The account that owns the resource: the ARN's account segment, else `aws:ResourceAccount`.
        let resourceAccount: String?
        /// `sts:assumerole*`: trust policies decide.
        let isAssumeRole: Bool

        static let resourceAccountKey = HashedKey("aws:resourceaccount")

        init(action: PreparedAction, resource: String, context: RequestContext) {
            self.action = action.text
            // Contiguous, so checks read its bytes in place rather than from a copy.
            var resource = resource
            resource.makeContiguousUTF8()
            self.resource = resource
            self.context = context
            actionKey = action.key
            serviceKey = action.serviceKey
            isAssumeRole = action.isAssumeRole
            let colons = resource.withUTF8 { Glob.colons($0) }
            resourceColons = colons
            if let account = resource.withUTF8({ CompiledEngine.accountSegment($0, colons: colons) }) {
                resourceAccount = account
            } else if let value = context.singleValue(Self.resourceAccountKey) {
                resourceAccount = value.text
            } else {
                resourceAccount = nil
            }
        }
    }

    /// The action as given (`s3:GetObject`).
    public var action: String { storage.action }
    /// The resource ARN as given (or `*`).
    public var resource: String { storage.resource }
    /// The request context.
    public var context: RequestContext { storage.context }

    /// Creates a request; the action is lower-cased, hashed and the resource's account found here, once, so
    /// checks allocate nothing.
    public init(action: String, resource: String, context: RequestContext) {
        storage = Storage(action: PreparedAction(action), resource: resource, context: context)
    }

    /// A request for an action prepared once for many requests (the checks of a batch that ask about one action).
    public init(action: PreparedAction, resource: String, context: RequestContext) {
        storage = Storage(action: action, resource: resource, context: context)
    }

    /// Whether this request asks about `action` on `resource` in `context` itself (not an equal copy of it), so
    /// that a check asking the same may use it instead of building its own.
    public func asks(_ action: PreparedAction, on resource: String, in context: RequestContext) -> Bool {
        self.storage.context.storage === context.storage && self.storage.action == action.text
            && self.storage.resource == resource
    }
}

/// An action as checks match it: lower-cased, hashed, its service prefix found. Building a request prepares its
/// action; prepare one yourself to share it between requests. A class, so that sharing it is one retain (as a
/// struct of three strings, each copy retained and released all three: about 190 instructions a check that reuses
/// one, by callgrind).
public final class PreparedAction: Sendable {
    /// The action as given (`s3:GetObject`).
    public let text: String
    /// The action lower-cased, whose bytes checks match action patterns against.
    let key: HashedKey
    let serviceKey: HashedKey
    /// `sts:AssumeRole*` in any case: a role's trust policy decides.
    public let isAssumeRole: Bool

    /// Prepares `action`.
    public init(_ action: String) {
        self.text = action
        // One pass over contiguous bytes: the String views' per-element iteration cost more than the rest of
        // building a request. The lower-cased text is the only copy; checks read its bytes in place.
        var action = action
        let lower = action.withUTF8 { bytes in
            String(unsafeUninitializedCapacity: bytes.count) { buffer in
                for i in 0..<bytes.count { buffer[i] = lowerByte(bytes[i]) }
                return bytes.count
            }
        }
        self.key = HashedKey(lower)
        (self.serviceKey, self.isAssumeRole) = lower.withUTF8Bytes { bytes in
            let colon = bytes.firstIndex(of: UInt8(ascii: ":")) ?? bytes.count
            let service = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<colon]), as: UTF8.self)
            return (HashedKey(service), hasPrefix(bytes, "sts:assumerole"))
        }
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes, in place for a native string (a bridged one is made contiguous
    /// first). `withUTF8` on a copy is inlined; `utf8.withContiguousStorageIfAvailable` was a generic call that cost
    /// about 580 instructions a use in `callgrind-engine.sh`'s build.
    @inline(__always)
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var string = self
        return string.withUTF8(body)
    }
}

/// One context key's values with every derived form a condition may compare, computed once per request.
final class ContextEntry: Sendable {
    /// The key's hash is always of its lower-cased text; its text is lower-cased unless ``spelledLower`` is false,
    /// when it is the key as spelled and lookups compare it folded.
    let key: HashedKey
    let spelledLower: Bool
    let spelling: String
    let isList: Bool
    let values: [ContextScalar]

    /// The value as given.
    var original: ContextValue { isList ? .list(values.map(\.text)) : .string(values.first?.text ?? "") }

    /// The key lower-cased (copied only for a key spelled with upper-case letters).
    var lowerKey: HashedKey { spelledLower ? key : HashedKey(asciiLowercased(key.text)) }

    /// An entry built once for many checks: the key lower-cased, the values parsed in every form.
    convenience init(key: HashedKey, spelling: String, _ value: ContextValue) {
        self.init(key: key, spelledLower: true, spelling: spelling, value, eager: true)
    }

    /// An entry of one request: the key kept as spelled, the values parsed only when a condition asks (unless
    /// `eager`, for an entry many checks share).
    convenience init(spelling: String, _ value: ContextValue, eager: Bool = false) {
        let (key, hasUpper) = HashedKey.folding(spelling)
        // A shared entry keeps its key lower-cased too, and so does any short key (15 bytes or fewer live inline
        // in the String, so lowering costs no allocation): their lookups compare bytes rather than fold them.
        let lowered = hasUpper && (eager || spelling.utf8.count <= 15)
        self.init(
            key: lowered ? HashedKey(asciiLowercased(spelling)) : key, spelledLower: lowered || !hasUpper,
            spelling: spelling, value, eager: eager)
    }

    private init(key: HashedKey, spelledLower: Bool, spelling: String, _ value: ContextValue, eager: Bool) {
        self.key = key
        self.spelledLower = spelledLower
        self.spelling = spelling
        switch value {
        case .string(let s):
            isList = false
            values = [ContextScalar(s, eager: eager)]
        case .list(let l):
            isList = true
            values = l.map { ContextScalar($0, eager: eager) }
        }
    }
}

/// One context value in the forms conditions compare.
///
/// A context built once and used by many checks (a principal's keys, the clock's) parses every typed form a
/// condition may ask for when it is built (`eager`), so those checks allocate nothing. A request's own keys are
/// built per check and most are never compared as numbers, dates or addresses, so theirs are parsed only when a
/// condition asks (each parse is a scan of a few bytes; a condition asks once or twice per check).
struct ContextScalar: Sendable {
    let text: String
    /// The typed forms, when parsed at construction (shared: copying a scalar is two retains at most).
    private let forms: Forms?

    private final class Forms: Sendable {
        init(folded: [UInt8]?, number: Double?, date: Double?, ip: IPBlock?, bool: Bool?) {
            self.folded = folded
            self.number = number
            self.date = date
            self.ip = ip
            self.bool = bool
        }

        /// ASCII-lower-cased bytes, only when the text has upper-case letters.
        let folded: [UInt8]?
        let number: Double?
        let date: Double?
        let ip: IPBlock?
        let bool: Bool?
    }

    /// A lazily built scalar's address, parsed at construction when the text looks like one: every IpAddress
    /// condition of every statement a check considers reads it (several per check).
    private let address: IPBlock?
    private let addressParsed: Bool

    init(_ text: String, eager: Bool = true) {
        self.text = text
        guard eager else {
            self.forms = nil
            self.addressParsed = Self.couldBeAddress(text)
            // ip(_:)'s character scan would find nothing couldBeAddress did not: parse at once.
            self.address = self.addressParsed ? IPBlock(text) : nil
            return
        }
        self.address = nil
        self.addressParsed = false
        var hasUpper = false
        for b in text.utf8 where b >= 65 && b <= 90 {
            hasUpper = true
            break
        }
        self.forms = Forms(
            folded: hasUpper ? text.utf8.map(lowerByte) : nil, number: Self.number(text), date: Self.date(text),
            ip: Self.ip(text), bool: Self.bool(text))
    }

    var number: Double? { if let forms { forms.number } else { Self.number(text) } }
    var date: Double? { if let forms { forms.date } else { Self.date(text) } }
    var ip: IPBlock? {
        if let forms { forms.ip } else if addressParsed { address } else { Self.ip(text) }
    }
    var bool: Bool? { if let forms { forms.bool } else { Self.bool(text) } }

    // Each form is parsed only when a cheap scan says the text could be one.
    private static func number(_ text: String) -> Double? {
        guard !text.isEmpty else { return nil }
        for b in text.utf8
        where !((b >= 48 && b <= 57) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")) {
            return nil
        }
        return ValueParsers.number(text)
    }

    private static func date(_ text: String) -> Double? {
        guard !text.isEmpty else { return nil }
        for b in text.utf8 {
            let digit = b >= 48 && b <= 57
            let upper = b >= 65 && b <= 90
            if !(digit || upper || b == UInt8(ascii: "-") || b == UInt8(ascii: ":") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "z") || b == UInt8(ascii: "t")
                || b == UInt8(ascii: " "))
            {
                return nil
            }
        }
        return ValueParsers.date(text)
    }

    private static func ip(_ text: String) -> IPBlock? {
        guard !text.isEmpty else { return nil }
        for b in text.utf8 {
            let digit = b >= 48 && b <= 57
            let hexLetter = (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
            if !(digit || hexLetter || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") || b == UInt8(ascii: "/")) {
                return nil
            }
        }
        return IPBlock(text)
    }

    /// Whether `text` has only an address's characters and a `.` or `:` (a cheap scan, no parse).
    private static func couldBeAddress(_ text: String) -> Bool {
        let count = text.utf8.count
        guard count >= 3 && count <= 64 else { return false }
        // On the contiguous bytes: iterating the UTF-8 view of a small string costs several times more per byte.
        return text.withUTF8Bytes { bytes in
            var separator = false
            for b in bytes {
                let digit = b >= 48 && b <= 57
                let hexLetter = (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
                let punctuation = b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
                if !(digit || hexLetter || punctuation || b == UInt8(ascii: "/")) { return false }
                separator = separator || punctuation
            }
            return separator
        }
    }

    private static func bool(_ text: String) -> Bool? {
        let count = text.utf8.count
        return count == 4 || count == 5 ? ValueParsers.bool(text) : nil
    }

    /// Calls `body` with the value's UTF-8 bytes (no copy for native strings).
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        text.withUTF8Bytes(body)
    }

    /// Calls `body` with the value's ASCII-lower-cased UTF-8 bytes.
    @inline(__always)
    func withLowerBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let forms {
            if let folded = forms.folded { return folded.withUnsafeBufferPointer(body) }
            return withBytes(body)
        }
        return withBytes { bytes in
            guard bytes.contains(where: { $0 >= 65 && $0 <= 90 }) else { return body(bytes) }
            return bytes.map(lowerByte).withUnsafeBufferPointer(body)
        }
    }
}

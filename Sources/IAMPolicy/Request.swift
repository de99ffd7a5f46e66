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
        let table: ByteTable

        init(_ entries: [ContextEntry]) {
            self.entries = entries
            self.table = ByteTable(entries.enumerated().map { ($0.element.key, Int32($0.offset)) })
        }
    }

    /// Creates a context from key/value pairs. If two keys differ only in case, the lexically greater
    /// original spelling wins (deterministic).
    public init(_ values: [String: ContextValue]) {
        var entries: [ContextEntry] = []
        entries.reserveCapacity(values.count)
        for (key, value) in values {
            entries.append(ContextEntry(key: HashedKey(asciiLowercased(key)), spelling: key, value))
        }
        // Only keys that differ just in case need an order (the table keeps the last of equal keys).
        if entries.count > 1 { entries.sort { $0.spelling < $1.spelling } }
        storage = Storage(entries)
    }

    /// An empty context.
    public init() { storage = Storage([]) }

    private init(storage: Storage) { self.storage = storage }

    /// One context made of `layers` in order: a key in a later layer replaces the same key (in any case) of an
    /// earlier one. Each layer's derived forms were computed when it was built, so joining them only shares
    /// them: a server builds a principal's keys once, the clock's once a second, and per check only what the
    /// request adds.
    public init(layers: [RequestContext]) {
        var nonEmpty = layers.lazy.filter { !$0.storage.entries.isEmpty }.makeIterator()
        guard let first = nonEmpty.next() else {
            self.init()
            return
        }
        guard let second = nonEmpty.next() else {
            self = first
            return
        }
        var entries = first.storage.entries + second.storage.entries
        while let next = nonEmpty.next() { entries += next.storage.entries }
        // The table keeps the last of equal keys, so later layers win.
        self.init(storage: Storage(entries))
    }

    /// The value of `key` (case-insensitive), as given.
    public subscript(key: String) -> ContextValue? {
        entry(HashedKey(asciiLowercased(key)))?.original
    }

    /// The keys present, lower-cased.
    public var keys: [String] { Array(Set(storage.entries.map(\.key.text))).sorted() }

    @inline(__always)
    func entry(_ lowerKey: HashedKey) -> ContextEntry? {
        let index = storage.table.find(lowerKey)
        return index < 0 ? nil : storage.entries[Int(index)]
    }

    /// The value of a single-valued key (`lowerKey` already lower-cased); multivalued keys cannot be variables.
    @inline(__always)
    func singleValue(_ lowerKey: HashedKey) -> ContextScalar? {
        guard let entry = entry(lowerKey), !entry.isList else { return nil }
        return entry.values.first
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
        /// Lower-cased action, the key of the exact-action tables.
        let actionKey: HashedKey
        let actionBytes: [UInt8]
        /// Lower-cased service prefix (`s3`), the key of the service index.
        let serviceKey: HashedKey
        let resourceBytes: [UInt8]
        /// Colon positions of the resource ARN, found once for every resource pattern to use.
        let resourceColons: (Int, Int, Int, Int, Int)?
        /// The account that owns the resource: the ARN's account segment, else `aws:ResourceAccount`.
        let resourceAccount: String?
        /// `sts:assumerole*`: trust policies decide.
        let isAssumeRole: Bool

        init(action: String, resource: String, context: RequestContext) {
            self.action = action
            self.resource = resource
            self.context = context
            let lower = asciiLowercased(action)
            actionKey = HashedKey(lower)
            actionBytes = Array(lower.utf8)
            serviceKey = HashedKey(String(lower.prefix { $0 != ":" }))
            isAssumeRole = lower.hasPrefix("sts:assumerole")
            resourceBytes = Array(resource.utf8)
            resourceColons = resourceBytes.withUnsafeBufferPointer { Glob.colons($0) }
            if let account = CompiledEngine.accountSegment(resourceBytes) {
                resourceAccount = account
            } else if let value = context.singleValue(HashedKey("aws:resourceaccount")) {
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
        storage = Storage(action: action, resource: resource, context: context)
    }
}

/// One context key's values with every derived form a condition may compare, computed once per request.
final class ContextEntry: Sendable {
    let key: HashedKey
    let spelling: String
    let original: ContextValue
    let isList: Bool
    let values: [ContextScalar]

    init(key: HashedKey, spelling: String, _ value: ContextValue) {
        self.key = key
        self.spelling = spelling
        original = value
        switch value {
        case .string(let s):
            isList = false
            values = [ContextScalar(s)]
        case .list(let l):
            isList = true
            values = l.map(ContextScalar.init)
        }
    }
}

/// One context value in the forms conditions compare. Each typed form is parsed only when the text could be
/// one (a cheap scan first), so building a context stays a few allocations per key.
final class ContextScalar: Sendable {
    let text: String
    /// ASCII-lower-cased bytes, only when the text has upper-case letters.
    private let folded: [UInt8]?
    let number: Double?
    let date: Double?
    let ip: IPBlock?
    let bool: Bool?

    init(_ text: String) {
        self.text = text
        var hasUpper = false
        var numeric = !text.isEmpty
        var ipLike = !text.isEmpty
        var dateLike = !text.isEmpty
        for b in text.utf8 {
            let upper = b >= 65 && b <= 90
            if upper { hasUpper = true }
            let digit = b >= 48 && b <= 57
            if !(digit || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")) {
                numeric = false
            }
            let hexLetter = (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
            if !(digit || hexLetter || b == UInt8(ascii: ".") || b == UInt8(ascii: ":") || b == UInt8(ascii: "/")) {
                ipLike = false
            }
            if !(digit || upper || b == UInt8(ascii: "-") || b == UInt8(ascii: ":") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "z") || b == UInt8(ascii: "t")
                || b == UInt8(ascii: " "))
            {
                dateLike = false
            }
        }
        folded = hasUpper ? text.utf8.map(lowerByte) : nil
        number = numeric ? ValueParsers.number(text) : nil
        date = dateLike ? ValueParsers.date(text) : nil
        ip = ipLike ? IPBlock(text) : nil
        let count = text.utf8.count
        bool = count == 4 || count == 5 ? ValueParsers.bool(text) : nil
    }

    /// Calls `body` with the value's UTF-8 bytes (no copy for native strings).
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the value's ASCII-lower-cased UTF-8 bytes.
    @inline(__always)
    func withLowerBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let folded { return folded.withUnsafeBufferPointer(body) }
        return withBytes(body)
    }
}

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
        var byKey: [String: ContextEntry] = [:]
        byKey.reserveCapacity(values.count)
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            let lower = asciiLowercased(key)
            byKey[lower] = ContextEntry(key: HashedKey(lower), value)
        }
        storage = Storage(byKey.keys.sorted().map { byKey[$0]! })
    }

    /// An empty context.
    public init() { storage = Storage([]) }

    /// The value of `key` (case-insensitive), as given.
    public subscript(key: String) -> ContextValue? {
        entry(HashedKey(asciiLowercased(key)))?.original
    }

    /// The keys present (lower-cased).
    public var keys: [String] { storage.entries.map { String(decoding: $0.key.bytes, as: UTF8.self) } }

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
        /// Lower-cased service prefix (`s3`), the key of the service index.
        let serviceKey: HashedKey
        let resourceBytes: [UInt8]
        /// The account that owns the resource: the ARN's account segment, else `aws:ResourceAccount`.
        let resourceAccount: String?
        /// `sts:assumerole*`: trust policies decide.
        let isAssumeRole: Bool

        init(action: String, resource: String, context: RequestContext) {
            self.action = action
            self.resource = resource
            self.context = context
            let lower = Array(asciiLowercased(action).utf8)
            actionKey = HashedKey(lower)
            serviceKey = HashedKey(Array(lower.prefix { $0 != UInt8(ascii: ":") }))
            isAssumeRole = lower.starts(with: "sts:assumerole".utf8)
            resourceBytes = Array(resource.utf8)
            let parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            if parts.count == 6, parts[0] == "arn", !parts[4].isEmpty {
                resourceAccount = String(parts[4])
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
    let original: ContextValue
    let isList: Bool
    let values: [ContextScalar]

    init(key: HashedKey, _ value: ContextValue) {
        self.key = key
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

/// One context value in the forms conditions compare.
final class ContextScalar: Sendable {
    let text: String
    let bytes: [UInt8]
    let lower: [UInt8]
    let number: Double?
    let date: Double?
    let ip: IPBlock?
    let bool: Bool?
    let binary: [UInt8]?

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
        lower = bytes.map(lowerByte)
        number = ValueParsers.number(text)
        date = ValueParsers.date(text)
        ip = IPBlock(text)
        bool = ValueParsers.bool(text)
        binary = ValueParsers.base64(text)
    }
}

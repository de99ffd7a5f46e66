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
    var entries: [String: ContextEntry]

    /// Creates a context from key/value pairs. If two keys differ only in case, the lexically greater
    /// original spelling wins (deterministic).
    public init(_ values: [String: ContextValue]) {
        var entries: [String: ContextEntry] = [:]
        entries.reserveCapacity(values.count)
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            entries[asciiLowercased(key)] = ContextEntry(value)
        }
        self.entries = entries
    }

    /// An empty context.
    public init() { self.entries = [:] }

    /// The value of `key` (case-insensitive), as given.
    public subscript(key: String) -> ContextValue? {
        entries[asciiLowercased(key)]?.original
    }
}

/// One question: may the principal do `action` on `resource` in `context`?
public struct AuthorizationRequest: Sendable {
    /// The action as given (`s3:GetObject`).
    public let action: String
    /// The resource ARN as given (or `*`).
    public let resource: String
    /// The request context.
    public let context: RequestContext

    let actionLower: [UInt8]
    let servicePrefix: String
    let resourceARN: ParsedARN

    /// Creates a request; the action is lower-cased and the resource ARN split into segments here, once.
    public init(action: String, resource: String, context: RequestContext) {
        self.action = action
        self.resource = resource
        self.context = context
        let lower = asciiLowercasedBytes(action)
        self.actionLower = lower
        if let colon = lower.firstIndex(of: UInt8(ascii: ":")) {
            self.servicePrefix = String(decoding: lower[..<colon], as: UTF8.self)
        } else {
            self.servicePrefix = ""
        }
        self.resourceARN = ParsedARN(Array(resource.utf8))
    }
}

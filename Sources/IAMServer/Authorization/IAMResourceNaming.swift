public import IAMPolicy
import IAMWire
import IAMDomain

/// A request of a management rpc (services `IAM` and `STS`) that names the resource its call touches,
/// so the authorizer can evaluate `<service>:<Rpc>` on it as AWS does.
///
/// The code generator declares the conformance of every such request type
/// (`extension CreateUserRequest: IAMResourceNaming {}` in `Generated/`); the requirement is
/// implemented by hand next to this file, one per request, following AWS's Service Authorization
/// Reference for IAM and STS. An rpc added to the IDL without its implementation does not compile,
/// so no call can reach its handler with a forgotten check.
public protocol IAMResourceNaming: Sendable {
    /// The ARN of the resource the call touches, "*" for calls AWS authorizes on no resource type
    /// (ListUsers without a path prefix, GetAccountSummary, GetCallerIdentity, ...).
    func resource(in context: ResourceNamingContext) -> String

    /// The permissions the call needs besides its own action on `resource(in:)`, checked after that one and
    /// in this order, as AWS requires some calls to be allowed a second action (AddRoleToInstanceProfile:
    /// `iam:PassRole` on the role). Empty for almost every call, which the default implementation says.
    func additionalPermissions(in context: ResourceNamingContext) -> [RequiredPermission]

    /// The condition keys the request itself sets, as AWS's Service Authorization Reference for IAM lists them: the
    /// tags a call adds (`aws:RequestTag/<key>`, `aws:TagKeys`), the keys it removes (`aws:TagKeys`), the managed
    /// policy it attaches or detaches (`iam:PolicyARN`) and the boundary it sets (`iam:PermissionsBoundary`).
    /// Empty for almost every call, which the default implementation says.
    var requestConditionKeys: [(key: String, value: ContextValue)] { get }
}

extension IAMResourceNaming {
    /// None: the call's own action on its resource is all it needs.
    public func additionalPermissions(in context: ResourceNamingContext) -> [RequiredPermission] { [] }

    /// None.
    public var requestConditionKeys: [(key: String, value: ContextValue)] { [] }

    /// `request` as this type, when it is one: a cast between concrete types, no conformance search.
    fileprivate static func naming(_ request: some WireMessage) -> (any IAMResourceNaming)? { request as? Self }
}

/// The request types that name their resource, by type: the ones the generator declared conforming to
/// ``IAMResourceNaming``. The authorizer looks a request's type up here instead of casting the request to the
/// protocol, which searches the runtime's conformance records on every call, also for a request that does not
/// conform (every Authorize): about a thousand instructions a call, where this lookup hashes one pointer.
enum ResourceNamingTable {
    static let types: [ObjectIdentifier: any IAMResourceNaming.Type] = {
        let types = IAMService.resourceNamingTypes + STSService.resourceNamingTypes
        return Dictionary(uniqueKeysWithValues: types.map { (ObjectIdentifier($0), $0) })
    }()

    /// `request` as the resource-naming request it is, or nil when its type names no resource (the requests
    /// of Authorization and Health).
    static func naming<Request: WireMessage>(_ request: Request) -> (any IAMResourceNaming)? {
        Self.types[ObjectIdentifier(Request.self)]?.naming(request)
    }
}

/// An action a call must be allowed on a resource, besides its own.
public struct RequiredPermission: Sendable, Hashable {
    /// The action (`iam:PassRole`).
    public var action: String
    /// The ARN it must be allowed on.
    public var resource: String

    /// Creates a permission.
    public init(action: String, resource: String) {
        self.action = action
        self.resource = resource
    }
}

/// The kinds of entity a request names by name rather than by ARN.
public enum IAMEntityKind: Sendable, Hashable {
    /// `user/<path><name>`.
    case user
    /// `group/<path><name>`.
    case group
    /// `role/<path><name>`.
    case role
    /// `instance-profile/<path><name>`.
    case instanceProfile

    /// The ARN's resource-type segment.
    var resourceType: String {
        switch self {
        case .user: "user"
        case .group: "group"
        case .role: "role"
        case .instanceProfile: "instance-profile"
        }
    }
}

/// Looks up what a request cannot say itself: the path (and exact spelling) of an entity named by name,
/// and whose an access key is. The authorizer answers from its snapshot, without a thread hop.
public protocol IAMEntityDirectory: Sendable {
    /// The ARN of the existing entity `name` (names are case-insensitive), or nil when there is none.
    func arn(of kind: IAMEntityKind, named name: String) -> String?
    /// The ARN of the user owning access key `accessKeyID`, or nil when there is no such key.
    func ownerARN(ofAccessKey accessKeyID: String) -> String?
}

/// A directory that knows no entity (every name gets the default path "/"), for callers without a
/// snapshot, e.g. a policy tool naming the resources of requests offline.
public struct EmptyEntityDirectory: IAMEntityDirectory {
    /// Creates the empty directory.
    public init() {}
    /// Always nil.
    public func arn(of kind: IAMEntityKind, named name: String) -> String? { nil }
    /// Always nil.
    public func ownerARN(ofAccessKey accessKeyID: String) -> String? { nil }
}

/// What a request needs besides its own fields to name its resource.
public struct ResourceNamingContext: Sendable {
    /// The 12-digit account the call runs in.
    public var account: String
    /// The caller's ARN (`arn:aws:iam::<account>:user/...`, `...:root`, an assumed-role session): the
    /// resource of calls that default to the caller when they name no user (GetUser, CreateAccessKey, ...).
    public var callerARN: String
    /// Where names are resolved to the ARNs of existing entities.
    public var directory: any IAMEntityDirectory

    /// Creates a context.
    public init(account: String, callerARN: String, directory: any IAMEntityDirectory = EmptyEntityDirectory()) {
        self.account = account
        self.callerARN = callerARN
        self.directory = directory
    }

    /// `arn:aws:iam::<account>:<relative>`.
    func iam(_ relative: String) -> String { "arn:aws:iam::\(self.account):\(relative)" }

    /// The ARN of an entity created at `path` (AWS's default "/" when empty) under `name`.
    func arn(_ kind: IAMEntityKind, path: String, name: String) -> String {
        self.iam("\(kind.resourceType)\(path.isEmpty ? "/" : path)\(name)")
    }

    /// The ARN of the existing entity `name`, with its real path; `<type>/<name>` when there is none (the
    /// call then fails with NoSuchEntity if it is allowed at all, as in AWS).
    func arn(_ kind: IAMEntityKind, named name: String) -> String {
        self.directory.arn(of: kind, named: name) ?? self.arn(kind, path: "/", name: name)
    }

    /// The user `name`, or the caller when the request names none (AWS's implicit "the signing user").
    func userOrCaller(_ name: String) -> String {
        name.isEmpty ? self.callerARN : self.arn(.user, named: name)
    }

    /// A listing by path prefix: every entity of `kind` under the prefix; "*" without a prefix, because
    /// AWS authorizes unfiltered listings on no resource type.
    func listing(_ resourceType: String, pathPrefix: String) -> String {
        pathPrefix.isEmpty ? "*" : self.iam("\(resourceType)\(pathPrefix)*")
    }
}

/// The condition keys of requests that add tags, remove them, or name a policy (``IAMResourceNaming``).
enum RequestConditionKeys {
    /// `aws:RequestTag/<key>` for each tag and `aws:TagKeys` for all of them; nothing for no tags.
    static func tags(_ tags: [IAMWire.Tag]) -> [(key: String, value: ContextValue)] {
        guard !tags.isEmpty else { return [] }
        var keys: [(key: String, value: ContextValue)] = tags.map { ("aws:RequestTag/\($0.key)", .string($0.value)) }
        keys.append(("aws:TagKeys", .list(tags.map(\.key))))
        return keys
    }

    /// `aws:TagKeys` for the keys a call removes.
    static func tagKeys(_ keys: [String]) -> [(key: String, value: ContextValue)] {
        keys.isEmpty ? [] : [("aws:TagKeys", .list(keys))]
    }

    /// The tags of `resource` when it is an IAM user or role of `snapshot`, as `aws:ResourceTag/<key>` and
    /// `iam:ResourceTag/<key>`; when it is a customer managed policy or an instance profile, as
    /// `aws:ResourceTag/<key>`; nothing for any other resource (a test of the ARN's prefix first).
    static func resourceTags(of resource: String, in snapshot: AuthorizationSnapshot)
        -> [(key: String, value: ContextValue)]
    {
        guard Self.isIAMARN(resource) else { return [] }
        guard let target = snapshot.principal(arn: resource) else {
            // A customer managed policy or an instance profile has `aws:ResourceTag/*` only: `iam:ResourceTag/*` is
            // for identities (users and roles), as AWS's service authorization reference lists them.
            return snapshot.tags(ofPolicyOrInstanceProfile: resource).map {
                ("aws:ResourceTag/\($0.key)", .string($0.value))
            }
        }
        guard target.kind != .session else { return [] }
        var keys: [(key: String, value: ContextValue)] = []
        for tag in target.tags {
            keys.append(("aws:ResourceTag/\(tag.key)", .string(tag.value)))
            keys.append(("iam:ResourceTag/\(tag.key)", .string(tag.value)))
        }
        return keys
    }

    /// Whether `resource` starts with `arn:aws:iam::`, compared as bytes: most checks are on other services'
    /// resources, and `String.hasPrefix` (which compares characters) cost about 100 instructions a check by callgrind.
    static func isIAMARN(_ resource: String) -> Bool {
        let prefix: StaticString = "arn:aws:iam::"
        var resource = resource
        return resource.withUTF8 { bytes in
            bytes.count >= prefix.utf8CodeUnitCount
                && UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount).elementsEqual(
                    bytes.prefix(prefix.utf8CodeUnitCount))
        }
    }

    /// `iam:PolicyARN`.
    static func policy(_ arn: String) -> [(key: String, value: ContextValue)] {
        arn.isEmpty ? [] : [("iam:PolicyARN", .string(arn))]
    }

    /// `iam:PermissionsBoundary`.
    static func boundary(_ arn: String) -> [(key: String, value: ContextValue)] {
        arn.isEmpty ? [] : [("iam:PermissionsBoundary", .string(arn))]
    }
}

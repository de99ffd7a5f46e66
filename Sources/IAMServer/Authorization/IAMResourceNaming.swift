/// A request of a management rpc (services `IAM` and `STS`) that names the resource its call touches,
/// so the authorizer can evaluate `<service>:<Rpc>` on it as AWS does.
///
/// The code generator declares the conformance of every such request type
/// (`extension CreateUserRequest: IAMResourceNaming {}` in `Generated/`); the requirement is
/// implemented by hand next to this file, one per request, following AWS's Service Authorization
/// Reference for IAM and STS. An rpc added to the IDL without its implementation does not compile,
/// so no call can reach its handler with a forgotten check.
public protocol IAMResourceNaming {
    /// The ARN of the resource the call touches, "*" for calls AWS authorizes on no resource type
    /// (ListUsers without a path prefix, GetAccountSummary, GetCallerIdentity, ...).
    func resource(in context: ResourceNamingContext) -> String
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

import Foundation
public import IAMDomain
import IAMRPC
import IAMWire

/// What a successful write tells whoever follows the service's writes (the authorization snapshot, the audit
/// log): which call did it, for whom, and the revision and change-log entries it produced.
public struct IAMCommit: Sendable {
    /// The rpc's path (`/iam.v1.IAM/CreateUser`).
    public var method: String
    /// The call's request id.
    public var requestID: String
    /// The access key the call was made with.
    public var accessKeyID: String
    /// The store revision after the write (unchanged when the write was a no-op).
    public var revision: Revision
    /// The change-log entries the write appended (empty for a no-op, e.g. re-attaching an attached policy).
    public var changes: [Change]
    /// The caller's address, for the audit log.
    public var peer: String?
    /// Who made the write and what it acted on, named before it ran; empty when the service names nothing.
    public var subject = WriteSubject()
}

/// Who makes a write and what it acts on, by ARN, as the call was authorized: the caller
/// (`arn:aws:iam::<account>:user/...`, `...:root`, an assumed-role session) and the resource
/// (`arn:aws:iam::<account>:user/<path><name>` for CreateUser, the user's for CreateAccessKey).
public struct WriteSubject: Sendable, Hashable {
    /// The caller's ARN; nil when its key did not resolve.
    public var callerARN: String?
    /// The resource's ARN; nil when the request names none.
    public var resource: String?

    /// Creates a subject.
    public init(callerARN: String? = nil, resource: String? = nil) {
        self.callerARN = callerARN
        self.resource = resource
    }
}

/// The `iam.v1.IAM` service: users, groups, roles, managed and inline policies, attachments, access keys and
/// account reports, with AWS's semantics, names, codes and messages.
///
/// A handler validates the request into IAMDomain's identifier types (``Input``), runs one ``IAMDirectory``
/// operation (one store transaction), calls ``onCommit`` after every successful write, and maps the records
/// back to messages. Authorization already happened in the interceptor; handlers never check permissions.
/// Errors are ``IAMError``s, which cross the wire as their status, AWS code and message.
public struct IAMService: IAMServiceProtocol {
    /// IAM's rules over the store.
    public let directory: IAMDirectory
    /// Called after every successful write, on the handler's task, before the answer is sent: the server
    /// brings the authorization snapshot up to the write's revision here, so a check that starts after the
    /// answer sees the write.
    public let onCommit: @Sendable (IAMCommit) async -> Void
    /// Creates an access key's SCRAM verifier from its secret (PBKDF2; swappable so tests can go fast).
    let deriveVerifier: @Sendable (String) -> SCRAMVerifier
    /// Seals new secrets for SigV4 (the AWS front door); nil keeps only the verifier.
    var sealer: SecretSealer? = nil
    /// Names who makes a write and what it acts on (``IAMCommit/subject``), before it runs; nil names nothing.
    var nameSubject: (@Sendable (_ request: any WireMessage, _ context: ServerCallContext) -> WriteSubject)? = nil

    /// The account every entity belongs to.
    public var account: AccountID { self.directory.account }

    /// Creates the service over `store` for `account`.
    ///
    /// - Parameters:
    ///   - onCommit: told of every successful write (the lead's hook for the snapshot and the audit log).
    public init(
        store: any Store, account: AccountID, quotas: Quotas = Quotas(), sealer: SecretSealer? = nil,
        onCommit: @escaping @Sendable (IAMCommit) async -> Void = { _ in }
    ) {
        self.init(directory: IAMDirectory(store: store, account: account, quotas: quotas), onCommit: onCommit)
        self.sealer = sealer
    }

    /// Creates the service over an existing directory.
    public init(directory: IAMDirectory, onCommit: @escaping @Sendable (IAMCommit) async -> Void = { _ in }) {
        self.init(directory: directory, onCommit: onCommit) { secret in
            let credential = SCRAMCredential.derive(secret: secret)
            return SCRAMVerifier(
                salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                serverKey: credential.serverKey)
        }
    }

    init(
        directory: IAMDirectory, onCommit: @escaping @Sendable (IAMCommit) async -> Void,
        deriveVerifier: @escaping @Sendable (String) -> SCRAMVerifier
    ) {
        self.directory = directory
        self.onCommit = onCommit
        self.deriveVerifier = deriveVerifier
    }

    /// Runs a write, tells ``onCommit`` and returns its value with the revision for the response.
    func commit<T: Sendable>(
        _ context: ServerCallContext, _ request: some WireMessage, _ write: () async throws(IAMError) -> Committed<T>
    ) async throws(IAMError) -> (value: T, revision: UInt64) {
        let subject = self.nameSubject?(request, context) ?? WriteSubject()
        let committed = try await write()
        await self.onCommit(
            IAMCommit(
                method: context.method.fullName, requestID: context.requestID, accessKeyID: context.accessKeyID,
                revision: committed.revision, changes: committed.changes,
                peer: context.peerAddress.map { address in
                    address.ipAddress.map { ip in address.port.map { "\(ip):\($0)" } ?? ip } ?? "\(address)"
                }, subject: subject))
        return (committed.value, committed.revision.rawValue)
    }

    /// The user a call acts on: the one named, or the calling user when the request names none (AWS's rule for
    /// GetUser, ListAccessKeys, CreateAccessKey, ...). The root key and role sessions are not users, so they must
    /// name one (AWS: `ValidationError: Must specify userName when calling with non-User credentials`).
    func userName(_ requested: String, _ context: ServerCallContext) async throws(IAMError) -> EntityName {
        if !requested.isEmpty { return try Input.name(requested, .user) }
        switch try await self.directory.holder(ofAccessKey: context.accessKeyID) {
        case .user(let user): return user.name
        case .session, .root:
            throw IAMError(
                code: .validationError, message: "Must specify userName when calling with non-User credentials")
        }
    }

    /// The caller's ARN as AWS's messages name it.
    func callerARN(_ context: ServerCallContext) async -> String {
        switch try? await self.directory.holder(ofAccessKey: context.accessKeyID) {
        case .user(let user)?: user.arn.description
        case .session(let session)?: session.assumedRoleARN.description
        case .root?, nil: ARN.root(account: self.account).description
        }
    }

    /// Refuses a write to an AWS managed policy as AWS does (`AccessDenied`, the policy is account `aws`'s).
    func refuseIfAWSManaged(_ arn: ARN, action: String, _ context: ServerCallContext) async throws(IAMError) {
        guard arn.account == "aws" else { return }
        throw .awsManagedPolicyIsReadOnly(principal: await self.callerARN(context), action: action, policy: arn)
    }

    /// Refuses changes to a service-linked role (path `/aws-service-role/...`) as AWS does: `UnmodifiableEntity`.
    ///
    /// Checked before the write, not inside it: a role's path never changes and no rpc here can create a role
    /// under that path, so the role checked is the one the write finds. A missing role is the write's to report.
    func requireModifiableRole(_ name: EntityName) async throws(IAMError) {
        guard let role = try? await self.directory.role(named: name), Self.isServiceLinked(role.path) else { return }
        throw .unmodifiable(
            "Cannot perform the operation on the protected role '\(role.name)' - this role is only modifiable by AWS")
    }

    /// Whether `path` is where AWS keeps service-linked roles.
    static func isServiceLinked(_ path: IAMPath) -> Bool { path.rawValue.hasPrefix("/aws-service-role/") }
}

import Foundation
import IAMDomain
import IAMPolicy
public import IAMRPC
import IAMTLS
public import IAMWire

/// STS: `AssumeRole` hands out temporary credentials for a role whose trust policy (together with the
/// caller's own policies, as AWS evaluates them) allows the caller; `GetCallerIdentity` says who the caller
/// is and needs no permission.
///
/// A session's access key (`ASIA...`) and secret authenticate exactly like a long-term key (SCRAM; the
/// server keeps only the verifier). The session token is returned for compatibility with AWS's shape and
/// stored only as a hash: the secret is already unique to the session, so the wire protocol does not ask
/// for the token.
public struct STSService: STSServiceProtocol {
    let store: any Store
    let publisher: SnapshotPublisher
    let account: AccountID
    let rootKeys: RootKeys
    let audit: AuditLog?
    let sealer: SecretSealer?

    init(
        store: any Store, publisher: SnapshotPublisher, account: AccountID, rootKeys: RootKeys, audit: AuditLog?,
        sealer: SecretSealer? = nil
    ) {
        self.sealer = sealer
        self.store = store
        self.publisher = publisher
        self.account = account
        self.rootKeys = rootKeys
        self.audit = audit
    }

    /// The shortest session AWS allows, in seconds.
    static let minimumDuration = 900
    /// The session policy limit (AWS: the packed size of the inline policy and tags; plain characters here).
    static let maxSessionPolicyLength = 2048
    /// The most managed session policies one AssumeRole may pass (AWS: 10).
    static let maxSessionPolicyARNs = 10
    /// The longest session AWS allows, in seconds (a role's MaxSessionDuration is at most this).
    static let maximumDuration = 43_200
    /// The longest session a role session may start by assuming another role (role chaining), in seconds.
    static let chainedDuration = 3_600

    /// Refuses a session duration as AWS does: out of its range, longer than the role allows, or longer than an
    /// hour when a role session assumes a role.
    static func checkDuration(_ duration: Int, maximum: Int, chained: Bool) throws(RPCError) {
        if duration < Self.minimumDuration || duration > Self.maximumDuration {
            let bound =
                duration < Self.minimumDuration
                ? "greater than or equal to \(Self.minimumDuration)" : "less than or equal to \(Self.maximumDuration)"
            throw IAMError.validation(
                field: "durationSeconds", value: String(duration), constraint: "have value \(bound)"
            )
            .rpcError
        }
        if chained && duration > Self.chainedDuration {
            throw IAMError(
                code: .validationError,
                message:
                    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
            ).rpcError
        }
        if duration > maximum {
            throw IAMError(
                code: .validationError,
                message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            ).rpcError
        }
    }

    /// Assumes a role; see the type's documentation.
    public func assumeRole(_ request: AssumeRoleRequest, context: ServerCallContext) async throws -> AssumeRoleResponse
    {
        let snapshot = self.publisher.snapshot
        let caller = try Caller.resolve(
            context.accessKeyID, snapshot: snapshot, rootKeys: self.rootKeys, account: self.account
        ).get()
        let sessionName = try Self.sessionName(request.roleSessionName)
        let roleARN = try ARN(parsing: request.roleARN, field: "roleArn")
        if let externalID = request.externalID { try Self.checkExternalID(externalID) }
        let denied = RPCError(
            code: .permissionDenied,
            message: "User: \(caller.arn) is not authorized to perform: sts:AssumeRole on resource: \(request.roleARN)",
            iamErrorCode: "AccessDenied")
        guard case .principal(let principal) = caller.kind else {
            // AWS: "Roles may not be assumed by root accounts."
            throw RPCError(
                code: .permissionDenied, message: "Roles may not be assumed by root accounts.",
                iamErrorCode: "AccessDenied")
        }
        // A role that does not exist is refused like one that does not trust the caller, as AWS does.
        guard let role = snapshot.role(arn: roleARN), let trust = snapshot.trustPolicy(roleARN: request.roleARN) else {
            self.audit?.record(context: context, caller: caller, resource: request.roleARN, error: denied)
            throw denied
        }
        let duration = Int(request.durationSeconds ?? 3600)
        try Self.checkDuration(duration, maximum: role.maxSessionDuration, chained: caller.expiration != nil)
        guard request.policyARNs.count <= Self.maxSessionPolicyARNs else {
            throw IAMError.validation(
                field: "policyArns", value: "[\(request.policyARNs.map(\.arn).joined(separator: ", "))]",
                constraint: "have length less than or equal to \(Self.maxSessionPolicyARNs)"
            ).rpcError
        }
        var sessionPolicyARNs: [ARN] = []
        for descriptor in request.policyARNs {
            // A policy that does not exist allows nothing: the session then has no permissions.
            sessionPolicyARNs.append(try ARN(parsing: descriptor.arn, field: "policyArns.member.arn"))
        }
        var sessionPolicy: PolicyDocument?
        if let text = request.policy {
            guard text.utf8.count <= Self.maxSessionPolicyLength else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "Packed policy consumes more than \(Self.maxSessionPolicyLength) characters",
                    iamErrorCode: "PackedPolicyTooLarge")
            }
            do {
                sessionPolicy = try PolicyDocument.parse(text, kind: .inlineRole)
            } catch {
                // AWS's message as it is, without the field name a simulation's inputs need.
                throw RPCError(code: .invalidArgument, message: error.message, iamErrorCode: error.code)
            }
        }

        // Validated as IAM tags are: at most 50, keys unique case-insensitively.
        let sessionTags: [IAMDomain.Tag]
        do {
            sessionTags = try Tags.merge(
                try Input.tags(request.tags), into: [], caseInsensitiveKeys: true, limit: Input.maxTagsPerRequest)
        } catch {
            throw error.rpcError
        }

        var stsKeys: [(key: String, value: ContextValue)] = [("sts:RoleSessionName", .string(sessionName.rawValue))]
        if let externalID = request.externalID { stsKeys.append(("sts:ExternalId", .string(externalID))) }
        if let source = request.sourceIdentity { stsKeys.append(("sts:SourceIdentity", .string(source))) }
        let values = RequestContext(
            layers: [
                caller.requestContext(for: context, requestKeys: RequestConditionKeys.tags(request.tags)),
                RequestContext(pairs: stsKeys),
            ])
        let evaluator = CompiledPrincipal(
            principal: principal.policyPrincipal,
            policies: principal.policies + [PolicyInput(id: "TrustPolicy", role: .resource, document: trust)])
        let check = AuthorizationRequest(
            action: "sts:AssumeRole", resource: roleARN.description, context: values)
        guard evaluator.decide(check) == .allowed else {
            self.audit?.record(context: context, caller: caller, resource: request.roleARN, error: denied)
            throw denied
        }
        // Passing session tags needs sts:TagSession too, from the trust policy (and the caller's policies).
        if !sessionTags.isEmpty {
            let tagging = AuthorizationRequest(
                action: "sts:TagSession", resource: roleARN.description, context: values)
            guard evaluator.decide(tagging) == .allowed else {
                let error = RPCError(
                    code: .permissionDenied,
                    message:
                        "User: \(caller.arn) is not authorized to perform: sts:TagSession on resource: \(request.roleARN)",
                    iamErrorCode: "AccessDenied")
                self.audit?.record(context: context, caller: caller, resource: request.roleARN, error: error)
                throw error
            }
        }

        let secret = Self.randomSecret()
        let token = Self.randomToken()
        let now = Date()
        let keyID = AccessKeyID.generate(temporary: true)
        let credential = SCRAMCredential.derive(secret: secret)
        var session = SessionCredentials(
            accessKeyID: keyID,
            verifier: SCRAMVerifier(
                salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                serverKey: credential.serverKey),
            sessionTokenHash: Crypto.sha256(Array(token.utf8)), createDate: now,
            expiration: now.addingTimeInterval(TimeInterval(duration)), roleID: role.id, roleARN: role.arn,
            sessionName: sessionName,
            assumedRoleARN: ARN.assumedRole(account: self.account, roleName: role.name, sessionName: sessionName),
            sessionPolicy: sessionPolicy == nil ? nil : request.policy, sessionPolicyARNs: sessionPolicyARNs,
            sourceIdentity: request.sourceIdentity, tags: sessionTags.isEmpty ? nil : sessionTags)
        session.sealedSecret = self.sealer?.seal(secret, accessKeyID: keyID.rawValue, purpose: .session)
        let committed: Committed<SessionCredentials>
        do {
            // Fails NoSuchEntity if the role was deleted since the snapshot was read; records its last use.
            committed = try await IAMDirectory(store: self.store, account: self.account).createSession(session)
        } catch {
            throw error.rpcError
        }
        // The session authenticates as soon as the caller has the answer, on any connection.
        _ = try? await self.publisher.catchUp(atLeast: committed.revision)
        self.audit?.recordMutation(
            context: context, caller: caller.arn, resource: request.roleARN, revision: committed.revision.rawValue)

        var response = AssumeRoleResponse()
        response.credentials = Credentials(
            accessKeyID: keyID.rawValue, secretAccessKey: secret, sessionToken: token,
            expiration: Int64(session.expiration.timeIntervalSince1970 * 1000))
        response.assumedRoleUser = AssumedRoleUser(
            assumedRoleID: "\(role.id.rawValue):\(sessionName.rawValue)", arn: session.assumedRoleARN.description)
        // AWS reports it only when the request passed session policies (or tags): a percentage of the limit.
        if request.policy != nil || !sessionPolicyARNs.isEmpty || !sessionTags.isEmpty {
            let packed =
                (request.policy?.utf8.count ?? 0) + sessionPolicyARNs.reduce(0) { $0 + $1.description.utf8.count }
                + sessionTags.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
            response.packedPolicySize = Int32(min(100, packed * 100 / Self.maxSessionPolicyLength))
        }
        response.sourceIdentity = request.sourceIdentity ?? ""
        return response
    }

    /// Who the caller is: account, ARN and unique id. Needs no permission, as in AWS.
    public func getCallerIdentity(_ request: GetCallerIdentityRequest, context: ServerCallContext) async throws
        -> GetCallerIdentityResponse
    {
        let caller = try Caller.resolve(
            context.accessKeyID, snapshot: self.publisher.snapshot, rootKeys: self.rootKeys, account: self.account
        ).get()
        return GetCallerIdentityResponse(userID: caller.userID, account: self.account.rawValue, arn: caller.arn)
    }

    static func sessionName(_ text: String) throws(RPCError) -> EntityName {
        try Self.checkWord(text, field: "roleSessionName", lengths: 2...64, extra: "_+=,.@-", pattern: "[\\w+=,.@-]*")
        guard let name = try? EntityName(text, kind: .user) else {
            throw IAMError.validation(
                field: "roleSessionName", value: text, constraint: "satisfy regular expression pattern: [\\w+=,.@-]*"
            ).rpcError
        }
        return name
    }

    /// ExternalId: 2 to 1224 characters of `[\w+=,.@:\/-]` (AWS's API model).
    static func checkExternalID(_ text: String) throws(RPCError) {
        try Self.checkWord(
            text, field: "externalId", lengths: 2...1224, extra: "_+=,.@:/-", pattern: "[\\w+=,.@:\\/-]*")
    }

    /// A parameter of word characters (ASCII letters and digits) and `extra`, within `lengths`: the length is
    /// checked first and reported as AWS reports it (the model's pattern allows any length), then the characters.
    static func checkWord(_ text: String, field: String, lengths: ClosedRange<Int>, extra: String, pattern: String)
        throws(RPCError)
    {
        let count = text.utf8.count
        guard count >= lengths.lowerBound else {
            throw IAMError.validation(
                field: field, value: text, constraint: "have length greater than or equal to \(lengths.lowerBound)"
            ).rpcError
        }
        guard count <= lengths.upperBound else {
            throw IAMError.validation(
                field: field, value: text, constraint: "have length less than or equal to \(lengths.upperBound)"
            ).rpcError
        }
        let valid = text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || extra.utf8.contains(byte)
        }
        guard valid else {
            throw IAMError.validation(
                field: field, value: text, constraint: "satisfy regular expression pattern: \(pattern)"
            ).rpcError
        }
    }

    /// 40 characters of base64, like AWS's secrets.
    static func randomSecret() -> String {
        String(Data(Crypto.randomBytes(30)).base64EncodedString().prefix(40))
    }

    /// An opaque token (AWS's are several hundred characters of base64).
    static func randomToken() -> String {
        Data(Crypto.randomBytes(96)).base64EncodedString()
    }
}

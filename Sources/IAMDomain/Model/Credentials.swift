public import Foundation

/// What the server keeps of a secret: the SCRAM-SHA-256 verifier of WIRE.md §6.1 (never the secret).
///
/// IAMDomain has no cryptography; the server derives the verifier (IAMRPC's `SCRAMCredential.derive`) and
/// converts it field for field.
public struct SCRAMVerifier: Codable, Sendable, Hashable {
    /// The random salt (16 bytes).
    public var salt: [UInt8]
    /// PBKDF2 iterations (>= 4096).
    public var iterations: Int
    /// `SHA-256(ClientKey)`.
    public var storedKey: [UInt8]
    /// `HMAC-SHA-256(SaltedPassword, "Server Key")`.
    public var serverKey: [UInt8]

    /// Creates a verifier.
    public init(salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }
}

/// An access key's status (UpdateAccessKey).
public enum AccessKeyStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// Usable.
    case active = "Active"
    /// Refused at the next call.
    case inactive = "Inactive"
}

/// A long-term access key of a user: its id, status and verifier.
public struct AccessKey: Codable, Sendable, Hashable {
    /// `AKIA...`
    public var id: AccessKeyID
    /// The owning user's unique id (the key follows the user through renames).
    public var userID: UniqueID
    /// Active or Inactive.
    public var status: AccessKeyStatus
    /// When the key was created.
    public var createDate: Date
    /// The SCRAM verifier of the secret.
    public var verifier: SCRAMVerifier
    /// When the key last authenticated a connection, if ever (GetAccessKeyLastUsed).
    public var lastUsedDate: Date?
    /// The service of the last use (`iam`, `sts`).
    public var lastUsedService: String?
    /// The secret sealed under the server's key-encryption key (AES-256-GCM, opaque here), for SigV4; nil for
    /// keys created before the server sealed secrets, which then authenticate with SCRAM only.
    public var sealedSecret: [UInt8]?

    /// Creates a key record.
    public init(
        id: AccessKeyID, userID: UniqueID, status: AccessKeyStatus = .active, createDate: Date,
        verifier: SCRAMVerifier, lastUsedDate: Date? = nil, lastUsedService: String? = nil
    ) {
        self.id = id
        self.userID = userID
        self.status = status
        self.createDate = createDate
        self.verifier = verifier
        self.lastUsedDate = lastUsedDate
        self.lastUsedService = lastUsedService
    }

    /// Notes a use at `date` to `service` (GetAccessKeyLastUsed); false, and the key unchanged, when it holds a
    /// later use already: a last use never goes back.
    public mutating func noteUse(at date: Date, service: String) -> Bool {
        if let last = self.lastUsedDate, last >= date { return false }
        self.lastUsedDate = date
        self.lastUsedService = service
        return true
    }
}

/// Temporary credentials from STS AssumeRole: an `ASIA` key whose principal is the role session
/// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
public struct SessionCredentials: Codable, Sendable, Hashable {
    /// `ASIA...`
    public var accessKeyID: AccessKeyID
    /// The SCRAM verifier of the session's secret.
    public var verifier: SCRAMVerifier
    /// SHA-256 of the session token (the token itself is shown once).
    public var sessionTokenHash: [UInt8]
    /// When the session was created.
    public var createDate: Date
    /// When the credentials stop working.
    public var expiration: Date
    /// The assumed role's unique id (`AROA...`).
    public var roleID: UniqueID
    /// The assumed role's ARN at the time of AssumeRole.
    public var roleARN: ARN
    /// RoleSessionName.
    public var sessionName: EntityName
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    public var assumedRoleARN: ARN
    /// The inline session policy (AssumeRole `Policy`), intersected with the role's permissions.
    public var sessionPolicy: String?
    /// Managed session policies (AssumeRole `PolicyArns`).
    public var sessionPolicyARNs: [ARN]
    /// Who assumed the role (for audit).
    public var sourceIdentity: String?
    /// Session tags (AssumeRole `Tags`): the session's `aws:PrincipalTag/<key>`, over the role's tag of the same
    /// key. Nil in records written before sessions had tags.
    public var tags: [Tag]?
    /// The session's secret sealed under the server's key-encryption key, for SigV4 (see ``AccessKey``).
    public var sealedSecret: [UInt8]?

    /// Creates a session record.
    public init(
        accessKeyID: AccessKeyID, verifier: SCRAMVerifier, sessionTokenHash: [UInt8], createDate: Date,
        expiration: Date, roleID: UniqueID, roleARN: ARN, sessionName: EntityName, assumedRoleARN: ARN,
        sessionPolicy: String? = nil, sessionPolicyARNs: [ARN] = [], sourceIdentity: String? = nil,
        tags: [Tag]? = nil
    ) {
        self.accessKeyID = accessKeyID
        self.verifier = verifier
        self.sessionTokenHash = sessionTokenHash
        self.createDate = createDate
        self.expiration = expiration
        self.roleID = roleID
        self.roleARN = roleARN
        self.sessionName = sessionName
        self.assumedRoleARN = assumedRoleARN
        self.sessionPolicy = sessionPolicy
        self.sessionPolicyARNs = sessionPolicyARNs
        self.sourceIdentity = sourceIdentity
        self.tags = tags
    }

    /// The role session's `aws:userid`: `AROA...:<session name>`.
    public var userID: String { "\(self.roleID):\(self.sessionName)" }

    /// Whether the credentials have expired at `now`.
    public func isExpired(at now: Date) -> Bool { now >= self.expiration }
}

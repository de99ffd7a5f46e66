/// A failure of an IAM or STS operation, in AWS's terms: an error code (`NoSuchEntity`, ...), a message in
/// AWS's wording, who is at fault, and the canonical status the call ends with on our wire.
///
/// IAMDomain cannot see IAMWire, so the status travels as ``CanonicalStatus`` (gRPC's numbers, which
/// WIRE.md §7.3 uses); the server converts it with `StatusCode(rawValue: error.status.rawValue)`.
public struct IAMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which AWS error this is. A struct over a private enum, so new codes can be added without breaking
    /// exhaustive switches in callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: UInt8, Hashable, Sendable, CaseIterable {
            case noSuchEntity = 1
            case entityAlreadyExists
            case deleteConflict
            case limitExceeded
            case malformedPolicyDocument
            case invalidInput
            case validationError
            case unmodifiableEntity
            case policyNotAttachable
            case concurrentModification
            case entityTemporarilyUnmodifiable
            case accessDenied
            case expiredToken
            case invalidClientTokenID
            case packedPolicyTooLarge
            case policyEvaluation
            case serviceFailure
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// A referenced user, group, role, policy, version, inline policy or access key does not exist.
        public static let noSuchEntity = Code(.noSuchEntity)
        /// A name is already used (names are unique case-insensitively).
        public static let entityAlreadyExists = Code(.entityAlreadyExists)
        /// Deleting something that still has subordinates (keys, policies, members, versions, attachments).
        public static let deleteConflict = Code(.deleteConflict)
        /// A quota was crossed (versions, attachments, keys, groups per user, sizes, entity counts).
        public static let limitExceeded = Code(.limitExceeded)
        /// A policy document breaks the policy grammar.
        public static let malformedPolicyDocument = Code(.malformedPolicyDocument)
        /// A value that passes the model's constraints but is invalid (a bad ARN, duplicate tag keys, ...).
        public static let invalidInput = Code(.invalidInput)
        /// A parameter breaks the model's constraints (length, pattern, range): AWS's common error.
        public static let validationError = Code(.validationError)
        /// The entity is protected (an AWS managed policy, a service-linked role).
        public static let unmodifiableEntity = Code(.unmodifiableEntity)
        /// The policy cannot be attached to that entity.
        public static let policyNotAttachable = Code(.policyNotAttachable)
        /// Another write changed the entity concurrently; retry.
        public static let concurrentModification = Code(.concurrentModification)
        /// The entity was recently deleted and recreated and cannot be changed yet.
        public static let entityTemporarilyUnmodifiable = Code(.entityTemporarilyUnmodifiable)
        /// The caller is not authorized for the action (AWS's common error).
        public static let accessDenied = Code(.accessDenied)
        /// The temporary credentials have expired (STS).
        public static let expiredToken = Code(.expiredToken)
        /// The access key id or security token is not known (AWS's common error).
        public static let invalidClientTokenID = Code(.invalidClientTokenID)
        /// An AssumeRole session policy is too large (STS).
        public static let packedPolicyTooLarge = Code(.packedPolicyTooLarge)
        /// The simulator could not evaluate a provided policy.
        public static let policyEvaluation = Code(.policyEvaluation)
        /// An unexpected failure on the service's side.
        public static let serviceFailure = Code(.serviceFailure)

        /// Every code, for tests and tables.
        public static let all: [Code] = Value.allCases.map(Code.init)

        /// AWS's error code string, as it appears in `<Code>` of an AWS error response and in our CALL_END.
        public var awsCode: String {
            switch self.value {
            case .noSuchEntity: "NoSuchEntity"
            case .entityAlreadyExists: "EntityAlreadyExists"
            case .deleteConflict: "DeleteConflict"
            case .limitExceeded: "LimitExceeded"
            case .malformedPolicyDocument: "MalformedPolicyDocument"
            case .invalidInput: "InvalidInput"
            case .validationError: "ValidationError"
            case .unmodifiableEntity: "UnmodifiableEntity"
            case .policyNotAttachable: "PolicyNotAttachable"
            case .concurrentModification: "ConcurrentModification"
            case .entityTemporarilyUnmodifiable: "EntityTemporarilyUnmodifiable"
            case .accessDenied: "AccessDenied"
            // STS's model names the shape ExpiredTokenException; the Query API's <Code> is ExpiredToken.
            case .expiredToken: "ExpiredToken"
            case .invalidClientTokenID: "InvalidClientTokenId"
            case .packedPolicyTooLarge: "PackedPolicyTooLarge"
            case .policyEvaluation: "PolicyEvaluation"
            case .serviceFailure: "ServiceFailure"
            }
        }

        /// The code for an AWS error code string (`"NoSuchEntity"`), if it is one of ours.
        public init?(awsCode: String) {
            guard let code = Code.all.first(where: { $0.awsCode == awsCode }) else { return nil }
            self = code
        }

        /// The HTTP status AWS's Query API answers with (API model / CommonErrors page).
        public var httpStatus: Int {
            switch self.value {
            case .noSuchEntity: 404
            case .entityAlreadyExists, .deleteConflict, .limitExceeded, .concurrentModification,
                .entityTemporarilyUnmodifiable:
                409
            case .malformedPolicyDocument, .invalidInput, .validationError, .unmodifiableEntity,
                .policyNotAttachable, .expiredToken, .packedPolicyTooLarge:
                400
            case .accessDenied, .invalidClientTokenID: 403
            case .policyEvaluation, .serviceFailure: 500
            }
        }

        /// Who is at fault, as AWS's `<Type>` says: the caller (`Sender`) or the service (`Receiver`).
        public var fault: Fault { self.httpStatus >= 500 ? .receiver : .sender }

        /// The canonical status of a call failing with this code.
        ///
        /// WIRE.md §7.3 fixes NoSuchEntity → NOT_FOUND, EntityAlreadyExists → ALREADY_EXISTS,
        /// LimitExceeded → RESOURCE_EXHAUSTED, MalformedPolicyDocument / InvalidInput / ValidationError →
        /// INVALID_ARGUMENT, DeleteConflict → FAILED_PRECONDITION, AccessDenied → PERMISSION_DENIED,
        /// ConcurrentModification → ABORTED, ServiceFailure → INTERNAL. The others follow gRPC's guide:
        /// a refusal that depends on the entity's state is FAILED_PRECONDITION, a bad credential is
        /// UNAUTHENTICATED, "try again later" is UNAVAILABLE, a size quota is RESOURCE_EXHAUSTED.
        public var status: CanonicalStatus {
            switch self.value {
            case .noSuchEntity: .notFound
            case .entityAlreadyExists: .alreadyExists
            case .limitExceeded, .packedPolicyTooLarge: .resourceExhausted
            case .malformedPolicyDocument, .invalidInput, .validationError: .invalidArgument
            case .deleteConflict, .unmodifiableEntity, .policyNotAttachable: .failedPrecondition
            case .accessDenied: .permissionDenied
            case .concurrentModification: .aborted
            case .entityTemporarilyUnmodifiable: .unavailable
            case .expiredToken, .invalidClientTokenID: .unauthenticated
            case .policyEvaluation, .serviceFailure: .internalError
            }
        }

        /// The AWS code string.
        public var description: String { self.awsCode }
    }

    /// AWS's fault attribution (`<Type>Sender</Type>`).
    public enum Fault: String, Hashable, Sendable {
        /// The request was wrong.
        case sender = "Sender"
        /// The service failed.
        case receiver = "Receiver"
    }

    /// What kind of failure this is.
    public var code: Code
    /// AWS's message for people, e.g. `The user with name alice cannot be found.`
    public var message: String

    /// Creates an error with a code and a message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The canonical status (shorthand for `code.status`).
    public var status: CanonicalStatus { self.code.status }

    /// `Code: message`, the way AWS's CLI prints an error.
    public var description: String { "\(self.code.awsCode): \(self.message)" }
}

/// gRPC's canonical status codes, the numbers WIRE.md §7.3 puts in CALL_END.
public enum CanonicalStatus: UInt8, Hashable, Sendable, CaseIterable {
    /// 0
    case ok = 0
    /// 1
    case cancelled = 1
    /// 2
    case unknown = 2
    /// 3
    case invalidArgument = 3
    /// 4
    case deadlineExceeded = 4
    /// 5
    case notFound = 5
    /// 6
    case alreadyExists = 6
    /// 7
    case permissionDenied = 7
    /// 8
    case resourceExhausted = 8
    /// 9
    case failedPrecondition = 9
    /// 10
    case aborted = 10
    /// 11
    case outOfRange = 11
    /// 12
    case unimplemented = 12
    /// 13
    case internalError = 13
    /// 14
    case unavailable = 14
    /// 15
    case dataLoss = 15
    /// 16
    case unauthenticated = 16
}

// MARK: - Errors in AWS's words

extension IAMError {
    /// `NoSuchEntity`: `The user with name alice cannot be found.`
    public static func noSuchEntity(_ kind: EntityKind, name: String) -> IAMError {
        switch kind {
        case .instanceProfile:
            // AWS words instance profiles apart: `Instance Profile web cannot be found.`
            IAMError(code: .noSuchEntity, message: "Instance Profile \(name) cannot be found.")
        default:
            IAMError(code: .noSuchEntity, message: "The \(kind.noun) with name \(name) cannot be found.")
        }
    }

    /// `NoSuchEntity` for a managed policy: `Policy arn:... does not exist or is not attachable.`
    public static func noSuchPolicy(_ arn: ARN) -> IAMError {
        IAMError(code: .noSuchEntity, message: "Policy \(arn) does not exist or is not attachable.")
    }

    /// `NoSuchEntity` for a policy version.
    public static func noSuchPolicyVersion(_ arn: ARN, versionID: String) -> IAMError {
        IAMError(
            code: .noSuchEntity, message: "Policy \(arn) version \(versionID) does not exist or is not attachable.")
    }

    /// `NoSuchEntity` for an inline policy: `The user policy with name P cannot be found.`
    public static func noSuchInlinePolicy(owner: EntityKind, policyName: String) -> IAMError {
        IAMError(code: .noSuchEntity, message: "The \(owner.noun) policy with name \(policyName) cannot be found.")
    }

    /// `NoSuchEntity` for an access key: `The Access Key with id AKIA... cannot be found.`
    public static func noSuchAccessKey(_ id: AccessKeyID) -> IAMError {
        IAMError(code: .noSuchEntity, message: "The Access Key with id \(id) cannot be found.")
    }

    /// `NoSuchEntity` for a policy that is attached nowhere on the entity (DetachUserPolicy ...).
    public static func policyNotAttached(_ arn: ARN) -> IAMError {
        IAMError(code: .noSuchEntity, message: "Policy \(arn) was not found.")
    }

    /// `EntityAlreadyExists`: `User with name alice already exists.`
    public static func entityAlreadyExists(_ kind: EntityKind, name: String) -> IAMError {
        switch kind {
        case .policy:
            IAMError(
                code: .entityAlreadyExists,
                message: "A policy called \(name) already exists. Duplicate names are not allowed.")
        case .instanceProfile:
            IAMError(code: .entityAlreadyExists, message: "Instance Profile \(name) already exists.")
        default:
            IAMError(code: .entityAlreadyExists, message: "\(kind.capitalizedNoun) with name \(name) already exists.")
        }
    }

    /// `DeleteConflict` with AWS's message (`Cannot delete entity, must delete access keys first.`).
    public static func deleteConflict(_ message: String) -> IAMError {
        IAMError(code: .deleteConflict, message: message)
    }

    /// `LimitExceeded`: `Cannot exceed quota for AccessKeysPerUser: 2`.
    public static func quotaExceeded(_ quotaName: String, _ limit: Int) -> IAMError {
        IAMError(code: .limitExceeded, message: "Cannot exceed quota for \(quotaName): \(limit)")
    }

    /// `LimitExceeded` for a managed policy's sixth version, in AWS's words.
    public static func policyVersionsExceeded(_ limit: Int) -> IAMError {
        IAMError(
            code: .limitExceeded,
            message:
                "A managed policy can have up to \(limit) versions. Before you create a new version, you must delete an existing version."
        )
    }

    /// `LimitExceeded` for an entity's inline policies: `Maximum policy size of 2048 bytes exceeded for user alice`.
    public static func inlinePolicySizeExceeded(_ kind: EntityKind, name: String, limit: Int) -> IAMError {
        IAMError(
            code: .limitExceeded, message: "Maximum policy size of \(limit) bytes exceeded for \(kind.noun) \(name)")
    }

    /// `ValidationError` in AWS's shape: `1 validation error detected: Value 'x y' at 'userName' failed to
    /// satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`.
    public static func validation(field: String, value: String, constraint: String) -> IAMError {
        // The value is echoed, bounded so a megabyte of input does not come back in the message.
        let shown = value.count > 256 ? String(value.prefix(256)) + "..." : value
        return IAMError(
            code: .validationError,
            message: "1 validation error detected: Value '\(shown)' at '\(field)' failed to satisfy constraint: "
                + "Member must \(constraint)")
    }

    /// `InvalidInput` with a message.
    public static func invalidInput(_ message: String) -> IAMError {
        IAMError(code: .invalidInput, message: message)
    }

    /// `MalformedPolicyDocument` with a message.
    public static func malformedPolicy(_ message: String) -> IAMError {
        IAMError(code: .malformedPolicyDocument, message: message)
    }

    /// `UnmodifiableEntity` with a message.
    public static func unmodifiable(_ message: String) -> IAMError {
        IAMError(code: .unmodifiableEntity, message: message)
    }

    /// `PolicyNotAttachable` with a message.
    public static func policyNotAttachable(_ message: String) -> IAMError {
        IAMError(code: .policyNotAttachable, message: message)
    }

    /// `ConcurrentModification` with a message.
    public static func concurrentModification(_ message: String) -> IAMError {
        IAMError(code: .concurrentModification, message: message)
    }

    /// `ServiceFailure`: the message is for logs; callers see it only as an internal failure.
    public static func serviceFailure(_ message: String) -> IAMError {
        IAMError(code: .serviceFailure, message: message)
    }

    /// `ExpiredToken`: `The security token included in the request is expired`.
    public static let expiredToken = IAMError(
        code: .expiredToken, message: "The security token included in the request is expired")

    /// `InvalidClientTokenId`: `The security token included in the request is invalid.`
    public static let invalidClientTokenID = IAMError(
        code: .invalidClientTokenID, message: "The security token included in the request is invalid.")

    /// Why an ``accessDenied(principal:action:resource:reason:)`` call was refused, as AWS words it.
    public enum DenialReason: Hashable, Sendable {
        /// No identity-based policy allows the action (implicit deny).
        case noIdentityPolicyAllows
        /// A `Deny` in an identity-based policy matched.
        case explicitDenyInIdentityPolicy
        /// The permissions boundary does not allow the action.
        case noBoundaryAllows
        /// A `Deny` in the permissions boundary matched.
        case explicitDenyInBoundary
        /// The session policy does not allow the action.
        case noSessionPolicyAllows
        /// A `Deny` in a resource-based policy matched.
        case explicitDenyInResourcePolicy
    }

    /// `AccessDenied` in AWS's shape: `User: arn:... is not authorized to perform: iam:CreateUser on
    /// resource: arn:... because no identity-based policy allows the iam:CreateUser action`.
    public static func accessDenied(
        principal: String,
        action: String,
        resource: String,
        reason: DenialReason = .noIdentityPolicyAllows
    ) -> IAMError {
        let because =
            switch reason {
            case .noIdentityPolicyAllows: "because no identity-based policy allows the \(action) action"
            case .explicitDenyInIdentityPolicy: "with an explicit deny in an identity-based policy"
            case .noBoundaryAllows: "because no permissions boundary allows the \(action) action"
            case .explicitDenyInBoundary: "with an explicit deny in a permissions boundary"
            case .noSessionPolicyAllows: "because no session policy allows the \(action) action"
            case .explicitDenyInResourcePolicy: "with an explicit deny in a resource-based policy"
            }
        return IAMError(
            code: .accessDenied,
            message: "User: \(principal) is not authorized to perform: \(action) on resource: \(resource) \(because)")
    }
}

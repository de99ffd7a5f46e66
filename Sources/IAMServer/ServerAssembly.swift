import Foundation
public import IAMDomain
public import IAMRPC
import IAMWire

/// Everything a server over one store serves, assembled in one place: the services, the interceptor that
/// authorizes every call, and the credential lookup. The TLS listener (``Daemon``) and the in-process test
/// server (IAMTestSupport) run exactly this, so a test of dispatch and authorization tests what ships.
public struct ServerAssembly: Sendable {
    /// Every service, in registration order.
    public let services: [any RPCService]
    /// The interceptors every call passes, in order.
    public let interceptors: [any ServerInterceptor]
    /// SCRAM's credential lookup: root keys, then the snapshot's usable keys.
    public let credentialStore: any CredentialStore
    /// The authorization snapshot, updated by every committed write.
    public let publisher: SnapshotPublisher
    /// The store.
    public let store: any Store
    /// SigV4's secret lookup (the AWS front door's): sealed secrets from the snapshot and the root keys.
    public let signingSecrets: SigningSecrets
    /// Where the calls note the user keys they were made with (GetAccessKeyLastUsed).
    let keyUses: AccessKeyUses

    /// The calls that may run on another event loop than their connection's (``IAMRPC/CallOffload``): a batch
    /// of checks (100 cost about 250 µs of one core) and the simulations, once their request is 2 KiB or more
    /// (an AuthorizeBatch of about ten checks).
    public static let heavyCalls = CallOffload(
        methods: [
            IAMMethods.Authorization.authorizeBatch.fullName,
            IAMMethods.Authorization.simulatePrincipalPolicy.fullName,
            IAMMethods.Authorization.simulateCustomPolicy.fullName,
        ],
        minimumRequestBytes: 2048)

    /// Loads `store` into a first snapshot and assembles the services for `account`.
    ///
    /// - Parameters:
    ///   - root: Where the root keys' verifiers are (the daemon's credential file).
    ///   - rootKeyIDs: The root keys, which may do everything.
    ///   - auditLogPath: Where to append the audit log; nil keeps none.
    ///   - databaseRevision: A replica's view of the newest revision in its store, for Health's lag.
    public static func make(
        store: any Store, account: AccountID, root: any CredentialStore, rootKeyIDs: Set<String>,
        auditLogPath: String?, sealer: SecretSealer? = nil, rootSealedSecrets: [String: [UInt8]] = [:],
        databaseRevision: (@Sendable () -> UInt64?)? = nil
    ) async throws -> ServerAssembly {
        let publisher = try await SnapshotPublisher(store: store, account: account, catalog: AWSManagedPolicies.all)
        let audit = try auditLogPath.map { try AuditLog(path: $0) }
        let rootKeys = RootKeys(ids: rootKeyIDs)
        let keyUses = AccessKeyUses(store: store)
        let authorizer = Authorizer(
            publisher: publisher, account: account, rootKeys: rootKeys, audit: audit, keyUses: keyUses)
        let services: [any RPCService] =
            [
                HealthService(publisher: publisher, databaseRevision: databaseRevision),
                AuthorizationService(accountID: account.rawValue, publisher: publisher, keyUses: keyUses),
                STSService(
                    store: store, publisher: publisher, account: account, rootKeys: rootKeys, audit: audit,
                    sealer: sealer),
            ]
            + Self.managementServices(
                store: store, publisher: publisher, account: account, audit: audit, sealer: sealer,
                authorizer: authorizer)
        return ServerAssembly(
            services: services,
            interceptors: [authorizer],
            credentialStore: SnapshotCredentialStore(root: root, publisher: publisher),
            publisher: publisher,
            store: store,
            signingSecrets: SigningSecrets(sealer: sealer, rootSealed: rootSealedSecrets, publisher: publisher),
            keyUses: keyUses)
    }

    /// The IAM management service over `store`; every committed write updates the snapshot before the
    /// caller hears of it.
    static func managementServices(
        store: any Store, publisher: SnapshotPublisher, account: AccountID, audit: AuditLog?,
        sealer: SecretSealer? = nil, authorizer: Authorizer
    )
        -> [any RPCService]
    {
        var service = IAMService(store: store, account: account, sealer: sealer) { commit in
            guard !commit.changes.isEmpty else { return }
            // Before the caller hears of the write: a check that starts after the answer sees it.
            _ = try? await publisher.catchUp(atLeast: commit.revision)
            audit?.recordCommit(commit)
        }
        // The audit log names a write's caller and resource as the authorizer did.
        if audit != nil {
            service.nameSubject = { request, context in authorizer.subject(of: request, context: context) }
        }
        return [service]
    }
}

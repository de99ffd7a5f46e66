public import IAMRPC
public import IAMWire
import IAMDomain

extension IAMService {
    /// CreateAccessKey: the secret is in this answer only; the store keeps its SCRAM verifier.
    public func createAccessKey(_ request: CreateAccessKeyRequest, context: ServerCallContext) async throws
        -> CreateAccessKeyResponse
    {
        let name = try await userName(request.userName, context)
        let id = AccessKeyID.generate()
        let secret = SecretAccessKey.generate()
        let verifier = self.deriveVerifier(secret)
        let sealed = self.sealer?.seal(secret, accessKeyID: id.rawValue, purpose: .accessKey)
        let (key, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.createAccessKey(userName: name, id: id, verifier: verifier, sealedSecret: sealed)
        }
        let user = try await directory.user(named: name)
        var created = IAMWire.AccessKey()
        created.userName = user.name.rawValue
        created.accessKeyID = key.id.rawValue
        created.status = StatusType(key.status)
        created.secretAccessKey = secret
        created.createDate = key.createDate.epochMilliseconds
        return CreateAccessKeyResponse(accessKey: created, revision: revision)
    }

    /// ListAccessKeys: metadata only, never secrets.
    public func listAccessKeys(_ request: ListAccessKeysRequest, context: ServerCallContext) async throws
        -> ListAccessKeysResponse
    {
        let name = try await userName(request.userName, context)
        let (user, page) = try await directory.accessKeys(
            ofUser: name, page: try Input.page(marker: request.marker, maxItems: request.maxItems))
        return ListAccessKeysResponse(
            accessKeyMetadata: page.items.map { AccessKeyMetadata($0, userName: user.name) },
            isTruncated: page.isTruncated, marker: page.marker?.rawValue ?? "")
    }

    /// UpdateAccessKey: Active or Inactive (an inactive key is refused at its next call).
    public func updateAccessKey(_ request: UpdateAccessKeyRequest, context: ServerCallContext) async throws
        -> UpdateAccessKeyResponse
    {
        let id = try Input.accessKeyID(request.accessKeyID)
        let status: AccessKeyStatus
        switch request.status {
        case .active: status = .active
        case .inactive: status = .inactive
        case .unspecified: throw Input.missing("status")
        default:
            throw IAMError.validation(
                field: "status", value: request.status == .expired ? "Expired" : request.status.protoName,
                constraint: "satisfy enum value set: [Active, Inactive]")
        }
        let name = try await userName(request.userName, context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.updateAccessKey(userName: name, id: id, status: status)
        }
        return UpdateAccessKeyResponse(revision: revision)
    }

    /// DeleteAccessKey.
    public func deleteAccessKey(_ request: DeleteAccessKeyRequest, context: ServerCallContext) async throws
        -> DeleteAccessKeyResponse
    {
        let id = try Input.accessKeyID(request.accessKeyID)
        let name = try await userName(request.userName, context)
        let (_, revision) = try await commit(context, request) { () throws(IAMError) in
            try await directory.deleteAccessKey(userName: name, id: id)
        }
        return DeleteAccessKeyResponse(revision: revision)
    }

    /// GetAccessKeyLastUsed: `N/A` service and region for a key never used, as AWS answers.
    public func getAccessKeyLastUsed(_ request: GetAccessKeyLastUsedRequest, context: ServerCallContext) async throws
        -> GetAccessKeyLastUsedResponse
    {
        let (key, user) = try await directory.accessKeyWithOwner(try Input.accessKeyID(request.accessKeyID))
        var lastUsed = AccessKeyLastUsed()
        lastUsed.lastUsedDate = key.lastUsedDate?.epochMilliseconds
        lastUsed.serviceName = key.lastUsedService ?? "N/A"
        // IAM is global; AWS reports the signing region, which this service does not have.
        lastUsed.region = key.lastUsedDate == nil ? "N/A" : "us-east-1"
        return GetAccessKeyLastUsedResponse(userName: user.name.rawValue, accessKeyLastUsed: lastUsed)
    }
}

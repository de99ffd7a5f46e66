import Foundation

/// Who an authenticated access key belongs to, as the handlers need it to default `UserName` to the caller.
public enum KeyHolder: Sendable, Hashable {
    /// A user's long-term key.
    case user(User)
    /// An STS session's temporary key.
    case session(SessionCredentials)
    /// A key the store does not hold: the account root key, which the server keeps outside the store.
    case root
}

extension IAMDirectory {
    /// Who holds `accessKeyID`.
    public func holder(ofAccessKey accessKeyID: String) async throws(IAMError) -> KeyHolder {
        guard let id = try? AccessKeyID(accessKeyID) else { return .root }
        return try await store.read { tx throws(IAMError) in
            if id.isTemporary, let session = try tx.session(id: id) { return .session(session) }
            guard let key = try tx.accessKey(id: id), let user = try tx.entity(User.self, id: key.userID) else {
                return .root
            }
            return .user(user)
        }
    }

    /// ListAccessKeys: the user's keys, oldest first, with the user as stored.
    public func accessKeys(ofUser name: EntityName, page: PageRequest = .first) async throws(IAMError)
        -> (user: User, keys: Page<AccessKey>)
    {
        try await store.read { tx throws(IAMError) in
            let user = try Self.require(User.self, name, tx)
            return (user, Page(indexed: try tx.accessKeys(ofUser: user.id), request: page))
        }
    }

    /// GetAccessKeyLastUsed: the key and its user (`NoSuchEntity` for an unknown key, as AWS answers).
    public func accessKeyWithOwner(_ id: AccessKeyID) async throws(IAMError) -> (key: AccessKey, user: User) {
        try await store.read { tx throws(IAMError) in
            guard let key = try tx.accessKey(id: id), let user = try tx.entity(User.self, id: key.userID) else {
                throw .noSuchAccessKey(id)
            }
            return (key, user)
        }
    }
}

public import Foundation
import IAMPolicy

extension IAMDirectory {
    /// CreateRole: the trust policy is validated as a trust document, and one naming a user or role of this
    /// account that does not exist is refused (`MalformedPolicyDocument: Invalid principal in policy:
    /// "AWS":"arn:..."`) in the same transaction that inserts the role; MaxSessionDuration in 3,600..43,200;
    /// AWS managed boundaries are accepted.
    public func createRole(
        name: EntityName, path: IAMPath = .root, assumeRolePolicyDocument: String, description: String? = nil,
        maxSessionDuration: Int? = nil, permissionsBoundary: ARN? = nil, tags: [Tag] = [], now: Date = Date()
    ) async throws(IAMError) -> Committed<Role> {
        let duration = maxSessionDuration ?? quotas.maxSessionDurationRange.lowerBound
        try self.validateMaxSessionDuration(duration)
        if let description { try self.validateDescription(description) }
        let trust = try Self.parse(assumeRolePolicyDocument, kind: .trust)
        let tags = try Tags.merge(tags, into: [], caseInsensitiveKeys: true, limit: quotas.tagsPerEntity)
        let role = Role(
            id: .generate(.role), name: name, path: path, arn: .role(account: account, path: path, name: name),
            createDate: now, assumeRolePolicyDocument: assumeRolePolicyDocument, description: description,
            maxSessionDuration: duration, permissionsBoundary: permissionsBoundary, tags: tags)
        let quotas = self.quotas
        let account = self.account
        return try await store.write { tx throws(IAMError) in
            guard try tx.entity(Role.self, named: name) == nil else {
                throw .entityAlreadyExists(.role, name: name.rawValue)
            }
            guard try tx.count(Role.self) < quotas.rolesPerAccount else {
                throw .quotaExceeded("RolesPerAccount", quotas.rolesPerAccount)
            }
            if let permissionsBoundary { try Self.requireBoundary(permissionsBoundary, tx) }
            try Self.checkTrustPrincipals(trust, account: account, tx)
            try tx.insert(role)
            return role
        }
    }

    /// UpdateRole / UpdateRoleDescription: the description and/or MaxSessionDuration; returns the role after.
    public func updateRole(named name: EntityName, description: String?, maxSessionDuration: Int?)
        async throws(IAMError) -> Committed<Role>
    {
        if let description { try self.validateDescription(description) }
        if let maxSessionDuration { try self.validateMaxSessionDuration(maxSessionDuration) }
        return try await store.write { tx throws(IAMError) in
            var role = try Self.require(Role.self, name, tx)
            let before = role
            // AWS stores an empty description as none.
            if let description { role.description = description.isEmpty ? nil : description }
            if let maxSessionDuration { role.maxSessionDuration = maxSessionDuration }
            if role != before { try tx.update(role) }
            return role
        }
    }

    /// UpdateAssumeRolePolicy: validated as a trust policy whose named users and roles exist.
    public func updateAssumeRolePolicy(named name: EntityName, document: String) async throws(IAMError)
        -> Committed<Void>
    {
        let trust = try Self.parse(document, kind: .trust)
        let account = self.account
        return try await store.write { tx throws(IAMError) in
            var role = try Self.require(Role.self, name, tx)
            try Self.checkTrustPrincipals(trust, account: account, tx)
            guard role.assumeRolePolicyDocument != document else { return }
            role.assumeRolePolicyDocument = document
            try tx.update(role)
        }
    }

    /// Refuses a trust policy that names, as an `AWS` principal, a user or role of this account that does not
    /// exist (AWS resolves such principals to unique ids when it stores the policy, so it must find them), or a
    /// value that is neither `*`, an account id nor an ARN. Other accounts' principals cannot be checked here and
    /// are accepted.
    static func checkTrustPrincipals(_ trust: PolicyDocument, account: AccountID, _ tx: any StoreReader)
        throws(IAMError)
    {
        for statement in trust.statements {
            let set: PrincipalSet
            switch statement.principals {
            case .include(let principals)?, .exclude(let principals)?: set = principals
            case nil: continue
            }
            for entry in set.entries where entry.type == "AWS" && entry.value != "*" {
                guard try principalExists(entry.value, account: account, tx) else {
                    throw .malformedPolicy("Invalid principal in policy: \"AWS\":\"\(entry.value)\"")
                }
            }
        }
    }

    private static func principalExists(_ value: String, account: AccountID, _ tx: any StoreReader) throws(IAMError)
        -> Bool
    {
        if (try? AccountID(value)) != nil { return true }
        // A unique id stands where a deleted user or role was named (see `orphanTrustPrincipal`): it names
        // nobody who exists, so re-saving such a policy is allowed and trusts no one new.
        if (try? UniqueID(value)) != nil, value.hasPrefix("AIDA") || value.hasPrefix("AROA") { return true }
        guard let arn = try? ARN(parsing: value) else { return false }
        guard arn.account == account.rawValue else { return true }
        if arn.isRoot { return true }
        if let session = arn.assumedRole { return try tx.entity(Role.self, named: session.roleName) != nil }
        guard let entity = arn.iamEntity else { return false }
        switch entity.type {
        case .user: return try tx.entity(User.self, named: entity.name)?.arn == arn
        case .role: return try tx.entity(Role.self, named: entity.name)?.arn == arn
        default: return false
        }
    }

    func validateMaxSessionDuration(_ duration: Int) throws(IAMError) {
        guard quotas.maxSessionDurationRange.contains(duration) else {
            throw .validation(
                field: "maxSessionDuration", value: String(duration),
                constraint: "have value between \(quotas.maxSessionDurationRange.lowerBound) and "
                    + "\(quotas.maxSessionDurationRange.upperBound)")
        }
    }

    func validateDescription(_ description: String) throws(IAMError) {
        guard description.count <= quotas.descriptionLength else {
            throw .validation(
                field: "description", value: description,
                constraint: "have length less than or equal to \(quotas.descriptionLength)")
        }
    }

    /// AWS keeps a trust policy's principals by unique id: once a user or role that trust policies name is
    /// deleted, those policies show its unique id where its ARN was, and a new user or role of the same name is
    /// not trusted by them. Called in the transaction that deletes `arn`'s entity, so the rewrite commits with it.
    static func orphanTrustPrincipal(_ arn: ARN, id: UniqueID, _ tx: any StoreWriter) throws(IAMError) {
        try Self.replaceTrustPrincipal(arn, with: id.rawValue, tx)
    }

    /// A user renamed or moved to another path keeps the trust of the roles that name it, as AWS keeps it (their
    /// policies hold its unique id): the trust policies that name `old` name `new` instead. Called in the
    /// transaction that renames the user.
    static func renameTrustPrincipal(_ old: ARN, to new: ARN, _ tx: any StoreWriter) throws(IAMError) {
        try Self.replaceTrustPrincipal(old, with: new.description, tx)
    }

    /// Every stored trust policy with `arn` as an `AWS` principal, with `replacement` there instead.
    private static func replaceTrustPrincipal(_ arn: ARN, with replacement: String, _ tx: any StoreWriter)
        throws(IAMError)
    {
        let needle = arn.description
        var page = PageRequest.first
        page.maxItems = PageRequest.maxMaxItems
        while true {
            let roles = try tx.entities(Role.self, pathPrefix: .all, page: page)
            for var role in roles.items where role.assumeRolePolicyDocument.contains(needle) {
                guard
                    let rewritten = TrustPolicyText.replacingAWSPrincipal(
                        needle, with: replacement, in: role.assumeRolePolicyDocument)
                else { continue }
                role.assumeRolePolicyDocument = rewritten
                try tx.update(role)
            }
            guard roles.isTruncated, let marker = roles.marker else { return }
            page.marker = marker
        }
    }
}

/// Rewrites of a stored trust policy's text.
enum TrustPolicyText {
    /// `document` with every `AWS` principal equal to `value` replaced by `replacement`; nil when none is (the
    /// ARN appeared elsewhere, e.g. in a condition, which AWS leaves alone). The JSON is re-serialized.
    static func replacingAWSPrincipal(_ value: String, with replacement: String, in document: String) -> String? {
        guard let data = document.data(using: .utf8),
            var root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return nil }
        var changed = false
        func rewrite(_ statement: Any) -> Any {
            guard var statement = statement as? [String: Any], var principal = statement["Principal"] as? [String: Any]
            else { return statement }
            if let single = principal["AWS"] as? String, single == value {
                principal["AWS"] = replacement
                changed = true
            } else if let list = principal["AWS"] as? [Any] {
                principal["AWS"] = list.map { entry -> Any in
                    guard let text = entry as? String, text == value else { return entry }
                    changed = true
                    return replacement
                }
            }
            statement["Principal"] = principal
            return statement
        }
        if let list = root["Statement"] as? [Any] {
            root["Statement"] = list.map(rewrite)
        } else if let single = root["Statement"] {
            root["Statement"] = rewrite(single)
        }
        guard changed,
            let out = try? JSONSerialization.data(
                withJSONObject: root, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: out, as: UTF8.self)
    }
}

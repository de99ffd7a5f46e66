import Foundation
import GRDB
import IAMDomain

/// A ``StoreWriter`` over one GRDB connection inside a transaction (or a read-only snapshot).
final class SQLiteTransaction: StoreWriter {
    let db: Database
    let revision: Revision
    var pending: [(kind: Change.Kind, entity: ChangedEntity)] = []

    init(_ db: Database, revision: Revision? = nil) throws {
        self.db = db
        self.revision = try revision ?? Schema.revision(db)
    }

    private func record(_ kind: Change.Kind, _ entity: ChangedEntity) {
        self.pending.append((kind, entity))
    }

    /// Runs a GRDB call, turning its untyped errors into ``IAMError``.
    private func sql<T>(_ body: () throws -> T) throws(IAMError) -> T {
        do {
            return try body()
        } catch {
            throw SQLiteStore.map(error)
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private func encode<T: Encodable>(_ value: T) throws(IAMError) -> Data {
        do {
            return try Self.encoder.encode(value)
        } catch {
            throw .serviceFailure("cannot encode \(T.self): \(error)")
        }
    }

    /// One decoder for single rows (keys, sessions); entity rows go through ``StoredEntityJSON/decodeRows``.
    /// Decoding does not mutate it, and it is Sendable.
    private static let decoder = JSONDecoder()

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(IAMError) -> T {
        do {
            return try Self.decoder.decode(type, from: data)
        } catch {
            throw .serviceFailure("corrupt \(T.self) row: \(error)")
        }
    }

    private func bodies(_ sql: String, _ arguments: StatementArguments = []) throws(IAMError) -> [Data] {
        try self.sql { try Data.fetchAll(self.db.cachedStatement(sql: sql), arguments: arguments) }
    }

    private func entities<E: NamedEntity>(_ type: E.Type, _ sql: String, _ arguments: StatementArguments)
        throws(IAMError)
        -> [E]
    {
        try StoredEntityJSON.decodeRows(E.self, self.bodies(sql, arguments))
    }

    // MARK: Reads

    func entity<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> E? {
        try self.entities(E.self, "SELECT body FROM entity WHERE kind = ? AND id = ?", [E.kind.rawValue, id.rawValue])
            .first
    }

    func entity<E: NamedEntity>(_ type: E.Type, named name: EntityName) throws(IAMError) -> E? {
        try self.entities(
            E.self, "SELECT body FROM entity WHERE kind = ? AND name_folded = ?", [E.kind.rawValue, name.folded]
        ).first
    }

    func policy(arn: ARN) throws(IAMError) -> ManagedPolicy? {
        try self.entities(
            ManagedPolicy.self, "SELECT body FROM entity WHERE kind = 'policy' AND arn = ?", [arn.description]
        ).first
    }

    func entities<E: NamedEntity>(_ type: E.Type, pathPrefix: PathPrefix, page: PageRequest) throws(IAMError)
        -> Page<E>
    {
        // One row more than asked tells whether the list is truncated.
        let rows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(
                    sql: """
                        SELECT name_folded, body FROM entity
                        WHERE kind = ? AND substr(path, 1, length(?)) = ? AND name_folded > ?
                        ORDER BY name_folded LIMIT ?
                        """),
                arguments: [
                    E.kind.rawValue, pathPrefix.rawValue, pathPrefix.rawValue, page.marker?.key ?? "",
                    page.maxItems == Int.max ? Int.max : page.maxItems + 1,
                ])
        }
        var items: [E] = []
        for row in rows.prefix(page.maxItems) { items.append(try self.decode(E.self, row["body"])) }
        let truncated = rows.count > page.maxItems
        return Page(
            items: items, isTruncated: truncated,
            marker: truncated ? items.last.map { Marker(after: $0.name.folded) } : nil)
    }

    func count<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> Int {
        try self.sql {
            try Int.fetchOne(
                self.db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"),
                arguments: ["count:" + E.kind.rawValue])
                ?? 0
        }
    }

    private func adjustCount(_ kind: EntityKind, by delta: Int) throws(IAMError) {
        try self.sql {
            try self.db.cachedStatement(
                sql: """
                    INSERT INTO meta (key, value) VALUES (?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = value + excluded.value
                    """
            ).execute(arguments: ["count:" + kind.rawValue, delta])
        }
    }

    func inlinePolicies(of owner: OwnerRef) throws(IAMError) -> [InlinePolicy] {
        let rows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(
                    sql: "SELECT name, document FROM inline_policy WHERE owner_id = ? ORDER BY name"),
                arguments: [owner.id.rawValue])
        }
        var out: [InlinePolicy] = []
        for row in rows {
            let name = try self.entityName(row["name"], .inlinePolicy)
            out.append(InlinePolicy(owner: owner, name: name, document: row["document"]))
        }
        return out
    }

    func attachedPolicies(of owner: OwnerRef) throws(IAMError) -> [ARN] {
        let texts = try self.sql {
            try String.fetchAll(
                self.db.cachedStatement(sql: "SELECT policy_arn FROM attachment WHERE owner_id = ? ORDER BY seq"),
                arguments: [owner.id.rawValue])
        }
        var out: [ARN] = []
        for text in texts { out.append(try self.arn(text)) }
        return out
    }

    func attachments(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef] {
        let rows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(
                    sql: "SELECT owner_kind, owner_id FROM attachment WHERE policy_arn = ? ORDER BY seq"),
                arguments: [policy.description])
        }
        var out: [OwnerRef] = []
        for row in rows { out.append(try self.owner(row["owner_kind"], row["owner_id"])) }
        return out
    }

    func boundaryUses(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef] {
        let rows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(sql: "SELECT kind, id FROM entity WHERE boundary = ?"),
                arguments: [policy.description])
        }
        var out: [OwnerRef] = []
        for row in rows { out.append(try self.owner(row["kind"], row["id"])) }
        return out.sorted()
    }

    func groups(ofUser user: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids("SELECT group_id FROM membership WHERE user_id = ? ORDER BY group_id", user)
    }

    func members(ofGroup group: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids("SELECT user_id FROM membership WHERE group_id = ? ORDER BY user_id", group)
    }

    func roles(ofInstanceProfile instanceProfile: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids(
            "SELECT role_id FROM instance_profile_role WHERE instance_profile_id = ? ORDER BY role_id",
            instanceProfile)
    }

    func instanceProfiles(ofRole role: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids(
            "SELECT instance_profile_id FROM instance_profile_role WHERE role_id = ? ORDER BY instance_profile_id",
            role)
    }

    func accessKey(id: AccessKeyID) throws(IAMError) -> AccessKey? {
        guard
            let body = try self.sql({
                try Data.fetchOne(
                    self.db.cachedStatement(sql: "SELECT body FROM access_key WHERE id = ?"), arguments: [id.rawValue])
            })
        else {
            return nil
        }
        return try self.decode(AccessKey.self, body)
    }

    func accessKeys(ofUser user: UniqueID) throws(IAMError) -> [AccessKey] {
        let bodies = try self.bodies("SELECT body FROM access_key WHERE user_id = ?", [user.rawValue])
        var out: [AccessKey] = []
        for body in bodies { out.append(try self.decode(AccessKey.self, body)) }
        return out.sorted { ($0.createDate, $0.id) < ($1.createDate, $1.id) }
    }

    func session(id: AccessKeyID) throws(IAMError) -> SessionCredentials? {
        guard
            let body = try self.sql({
                try Data.fetchOne(
                    self.db.cachedStatement(sql: "SELECT body FROM session WHERE id = ?"), arguments: [id.rawValue])
            })
        else {
            return nil
        }
        return try self.decode(SessionCredentials.self, body)
    }

    func sessions(ofRole role: UniqueID) throws(IAMError) -> [SessionCredentials] {
        let bodies = try self.bodies("SELECT body FROM session WHERE role_id = ? ORDER BY id", [role.rawValue])
        var out: [SessionCredentials] = []
        for body in bodies { out.append(try self.decode(SessionCredentials.self, body)) }
        return out
    }

    func changes(after revision: Revision, limit: Int) throws(IAMError) -> [Change] {
        let rows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(
                    sql: """
                        SELECT revision, kind, entity_kind, entity_id FROM change_log
                        WHERE revision > ? ORDER BY revision, seq LIMIT ?
                        """),
                arguments: [revision.rawValue, max(0, limit)])
        }
        var out: [Change] = []
        for row in rows {
            guard let kind = Change.Kind(rawValue: row["kind"]),
                let entity = ChangedEntity(kind: row["entity_kind"], id: row["entity_id"])
            else { throw .serviceFailure("corrupt change_log row") }
            out.append(Change(revision: Revision(row["revision"]), kind: kind, entity: entity))
        }
        return out
    }

    func contents() throws(IAMError) -> StoreContents {
        func bodies<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> [Data] {
            try self.bodies("SELECT body FROM entity WHERE kind = ? ORDER BY name_folded", [E.kind.rawValue])
        }
        func all<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> [E] {
            try StoredEntityJSON.decodeRows(E.self, bodies(E.self))
        }
        // The entity rows most of the time goes to (every user, group and managed policy) are decoded on the other
        // cores while this thread reads the relation tables, which only this transaction's connection can read.
        let (userRows, groupRows, policyRows) = (
            try bodies(User.self), try bodies(Group.self), try bodies(ManagedPolicy.self)
        )
        let decoding = Background { () throws(IAMError) in
            (
                try StoredEntityJSON.decodeRows(User.self, userRows),
                try StoredEntityJSON.decodeRows(Group.self, groupRows),
                try StoredEntityJSON.decodeRows(ManagedPolicy.self, policyRows)
            )
        }
        let inlineRows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(sql: "SELECT owner_kind, owner_id, name, document FROM inline_policy"))
        }
        var inline: [InlinePolicy] = []
        for row in inlineRows {
            inline.append(
                InlinePolicy(
                    owner: try self.owner(row["owner_kind"], row["owner_id"]),
                    name: try self.entityName(row["name"], .inlinePolicy),
                    document: row["document"]))
        }
        inline.sort { ($0.owner, $0.name.rawValue) < ($1.owner, $1.name.rawValue) }
        // The relation tables are the largest (each user's groups and policies): rows are read through one
        // cursor by column index, and each id or ARN is parsed once and then shared by every row naming it, so
        // 100,000 users in 20,000 groups hold 20,000 group ids rather than one string per membership.
        var ids: [String: UniqueID] = [:]
        var arns: [String: ARN] = [:]
        func id(_ text: String) throws(IAMError) -> UniqueID { try Self.once(text, in: &ids, self.id) }
        var attachments: [Attachment] = []
        try self.sql {
            let rows = try Row.fetchCursor(
                self.db.cachedStatement(sql: "SELECT owner_kind, owner_id, policy_arn FROM attachment ORDER BY seq"))
            while let row = try rows.next() {
                let arn = try Self.once(row[2], in: &arns, self.arn)
                let kindText: String = row[0]
                guard let kind = EntityKind(rawValue: kindText) else {
                    throw IAMError.serviceFailure("corrupt owner kind \(kindText)")
                }
                attachments.append(Attachment(owner: OwnerRef(kind, try id(row[1])), policyARN: arn))
            }
        }
        var memberships: [Membership] = []
        try self.sql {
            let rows = try Row.fetchCursor(
                self.db.cachedStatement(sql: "SELECT user_id, group_id FROM membership ORDER BY user_id, group_id"))
            // In user order, a user's rows follow each other: the previous row's user is compared before hashing.
            var user: (text: String, id: UniqueID)?
            while let row = try rows.next() {
                let text: String = row[0]
                if user?.text != text { user = (text, try id(text)) }
                memberships.append(Membership(userID: user!.id, groupID: try id(row[1])))
            }
        }
        let keyBodies = try self.bodies("SELECT body FROM access_key ORDER BY id")
        var keys: [AccessKey] = []
        for body in keyBodies { keys.append(try self.decode(AccessKey.self, body)) }
        let sessionBodies = try self.bodies("SELECT body FROM session ORDER BY id")
        var sessions: [SessionCredentials] = []
        for body in sessionBodies { sessions.append(try self.decode(SessionCredentials.self, body)) }
        let profileRoleRows = try self.sql {
            try Row.fetchAll(
                self.db.cachedStatement(
                    sql: """
                        SELECT instance_profile_id, role_id FROM instance_profile_role
                        ORDER BY instance_profile_id, role_id
                        """))
        }
        var profileRoles: [InstanceProfileRole] = []
        for row in profileRoleRows {
            profileRoles.append(
                InstanceProfileRole(
                    instanceProfileID: try self.id(row["instance_profile_id"]), roleID: try self.id(row["role_id"])))
        }
        let (users, groups, policies) = try decoding.wait()
        return StoreContents(
            revision: self.revision, users: users, groups: groups, roles: try all(Role.self),
            policies: policies, inlinePolicies: inline, attachments: attachments,
            memberships: memberships, accessKeys: keys, sessions: sessions,
            instanceProfiles: try all(InstanceProfile.self), instanceProfileRoles: profileRoles)
    }

    // MARK: Writes

    func insert<E: NamedEntity>(_ entity: E) throws(IAMError) {
        let body = try self.encode(entity)
        do {
            try self.db.cachedStatement(
                sql: """
                    INSERT INTO entity (id, kind, name_folded, path, arn, boundary, body) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                entity.id.rawValue, E.kind.rawValue, entity.name.folded, entity.path.rawValue,
                entity.arn.description, entity.permissionsBoundary?.description, body,
            ])
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw .entityAlreadyExists(E.kind, name: entity.name.rawValue)
        } catch {
            throw SQLiteStore.map(error)
        }
        try self.adjustCount(E.kind, by: 1)
        self.record(.created, .of(entity))
    }

    func update<E: NamedEntity>(_ entity: E) throws(IAMError) {
        let body = try self.encode(entity)
        do {
            try self.db.cachedStatement(
                sql: """
                    UPDATE entity SET name_folded = ?, path = ?, arn = ?, boundary = ?, body = ?
                    WHERE kind = ? AND id = ?
                    """
            ).execute(arguments: [
                entity.name.folded, entity.path.rawValue, entity.arn.description,
                entity.permissionsBoundary?.description, body, E.kind.rawValue, entity.id.rawValue,
            ])
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw .entityAlreadyExists(E.kind, name: entity.name.rawValue)
        } catch {
            throw SQLiteStore.map(error)
        }
        guard self.db.changesCount > 0 else { throw .noSuchEntity(E.kind, name: entity.name.rawValue) }
        self.record(.updated, .of(entity))
    }

    @discardableResult
    func delete<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> Bool {
        guard let old = try self.entity(E.self, id: id) else { return false }
        try self.sql {
            try self.db.cachedStatement(sql: "DELETE FROM entity WHERE id = ?").execute(arguments: [id.rawValue])
        }
        try self.adjustCount(E.kind, by: -1)
        self.record(.deleted, .of(old))
        return true
    }

    func putInlinePolicy(_ policy: InlinePolicy) throws(IAMError) {
        try self.sql {
            try self.db.cachedStatement(
                sql: """
                    INSERT INTO inline_policy (owner_kind, owner_id, name, document) VALUES (?, ?, ?, ?)
                    ON CONFLICT (owner_id, name) DO UPDATE SET document = excluded.document
                    """
            ).execute(arguments: [
                policy.owner.kind.rawValue, policy.owner.id.rawValue, policy.name.rawValue, policy.document,
            ])
        }
        self.record(.updated, .of(policy.owner))
    }

    @discardableResult
    func deleteInlinePolicy(of owner: OwnerRef, named name: EntityName) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "DELETE FROM inline_policy WHERE owner_id = ? AND name = ?"
            ).execute(arguments: [owner.id.rawValue, name.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .of(owner))
        return true
    }

    @discardableResult
    func attach(_ attachment: Attachment) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "INSERT OR IGNORE INTO attachment (owner_kind, owner_id, policy_arn) VALUES (?, ?, ?)"
            ).execute(arguments: [
                attachment.owner.kind.rawValue, attachment.owner.id.rawValue, attachment.policyARN.description,
            ])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .of(attachment.owner))
        self.record(.updated, .policy(attachment.policyARN))
        return true
    }

    @discardableResult
    func detach(_ attachment: Attachment) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "DELETE FROM attachment WHERE owner_id = ? AND policy_arn = ?"
            ).execute(arguments: [attachment.owner.id.rawValue, attachment.policyARN.description])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .of(attachment.owner))
        self.record(.updated, .policy(attachment.policyARN))
        return true
    }

    @discardableResult
    func addMembership(_ membership: Membership) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "INSERT OR IGNORE INTO membership (user_id, group_id) VALUES (?, ?)"
            ).execute(arguments: [membership.userID.rawValue, membership.groupID.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .user(membership.userID))
        self.record(.updated, .group(membership.groupID))
        return true
    }

    @discardableResult
    func removeMembership(_ membership: Membership) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "DELETE FROM membership WHERE user_id = ? AND group_id = ?"
            ).execute(arguments: [membership.userID.rawValue, membership.groupID.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .user(membership.userID))
        self.record(.updated, .group(membership.groupID))
        return true
    }

    @discardableResult
    func addRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "INSERT OR IGNORE INTO instance_profile_role (instance_profile_id, role_id) VALUES (?, ?)"
            ).execute(arguments: [link.instanceProfileID.rawValue, link.roleID.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .instanceProfile(link.instanceProfileID))
        self.record(.updated, .role(link.roleID))
        return true
    }

    @discardableResult
    func removeRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(
                sql: "DELETE FROM instance_profile_role WHERE instance_profile_id = ? AND role_id = ?"
            ).execute(arguments: [link.instanceProfileID.rawValue, link.roleID.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.updated, .instanceProfile(link.instanceProfileID))
        self.record(.updated, .role(link.roleID))
        return true
    }

    func insertAccessKey(_ key: AccessKey) throws(IAMError) {
        let body = try self.encode(key)
        do {
            try self.db.cachedStatement(
                sql: "INSERT INTO access_key (id, user_id, body) VALUES (?, ?, ?)"
            ).execute(arguments: [key.id.rawValue, key.userID.rawValue, body])
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw IAMError(code: .entityAlreadyExists, message: "Access key \(key.id) already exists.")
        } catch {
            throw SQLiteStore.map(error)
        }
        self.record(.created, .accessKey(key.id))
    }

    func updateAccessKey(_ key: AccessKey) throws(IAMError) {
        let body = try self.encode(key)
        try self.sql {
            try self.db.cachedStatement(
                sql: "UPDATE access_key SET user_id = ?, body = ? WHERE id = ?"
            ).execute(arguments: [key.userID.rawValue, body, key.id.rawValue])
        }
        guard self.db.changesCount > 0 else { throw .noSuchAccessKey(key.id) }
        self.record(.updated, .accessKey(key.id))
    }

    @discardableResult
    func deleteAccessKey(id: AccessKeyID) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(sql: "DELETE FROM access_key WHERE id = ?").execute(arguments: [id.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.deleted, .accessKey(id))
        return true
    }

    /// Rewrites the key's row without a change-log entry; the store's write commits it at the same revision.
    @discardableResult
    func noteAccessKeyUse(id: AccessKeyID, date: Date, service: String) throws(IAMError) -> Bool {
        guard var key = try self.accessKey(id: id) else { return false }
        guard key.noteUse(at: date, service: service) else { return true }
        let body = try self.encode(key)
        try self.sql {
            try self.db.cachedStatement(sql: "UPDATE access_key SET body = ? WHERE id = ?")
                .execute(arguments: [body, id.rawValue])
        }
        return true
    }

    func insertSession(_ session: SessionCredentials) throws(IAMError) {
        let body = try self.encode(session)
        do {
            try self.db.cachedStatement(
                sql: "INSERT INTO session (id, role_id, body) VALUES (?, ?, ?)"
            ).execute(arguments: [session.accessKeyID.rawValue, session.roleID.rawValue, body])
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw IAMError(code: .entityAlreadyExists, message: "Session \(session.accessKeyID) already exists.")
        } catch {
            throw SQLiteStore.map(error)
        }
        self.record(.created, .session(session.accessKeyID))
    }

    @discardableResult
    func deleteSession(id: AccessKeyID) throws(IAMError) -> Bool {
        try self.sql {
            try self.db.cachedStatement(sql: "DELETE FROM session WHERE id = ?").execute(arguments: [id.rawValue])
        }
        guard self.db.changesCount > 0 else { return false }
        self.record(.deleted, .session(id))
        return true
    }

    // MARK: Column decoding

    private func ids(_ sql: String, _ id: UniqueID) throws(IAMError) -> [UniqueID] {
        let texts = try self.sql { try String.fetchAll(self.db.cachedStatement(sql: sql), arguments: [id.rawValue]) }
        var out: [UniqueID] = []
        for text in texts { out.append(try self.id(text)) }
        return out
    }

    /// `text` parsed by `parse`, or what an earlier call with the same text gave.
    private static func once<T>(_ text: String, in parsed: inout [String: T], _ parse: (String) throws(IAMError) -> T)
        throws(IAMError) -> T
    {
        if let known = parsed[text] { return known }
        let value = try parse(text)
        parsed[text] = value
        return value
    }

    private func id(_ text: String) throws(IAMError) -> UniqueID {
        do { return try UniqueID(text) } catch { throw .serviceFailure("corrupt id \(text)") }
    }

    private func arn(_ text: String) throws(IAMError) -> ARN {
        do { return try ARN(parsing: text) } catch { throw .serviceFailure("corrupt ARN \(text)") }
    }

    private func entityName(_ text: String, _ kind: EntityKind) throws(IAMError) -> EntityName {
        do { return try EntityName(text, kind: kind) } catch { throw .serviceFailure("corrupt name \(text)") }
    }

    private func owner(_ kind: String, _ id: String) throws(IAMError) -> OwnerRef {
        guard let kind = EntityKind(rawValue: kind) else { throw .serviceFailure("corrupt owner kind \(kind)") }
        return OwnerRef(kind, try self.id(id))
    }
}

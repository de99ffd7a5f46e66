import Foundation
import IAMDomain
import Logging
import NIOCore
import PostgresNIO

/// One value bound to a statement's `$n`.
enum SQLValue {
    case text(String)
    /// A `text[]`, for `= ANY($n)`.
    case texts([String])
    case int(Int64)
    case bytes(Data)
    case null

    static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
}

/// A connection lent to one blocking transaction body: runs statements and waits for their results.
///
/// It runs on a thread of the store's own pool, never on an event loop or the cooperative pool, so waiting
/// on postgres-nio's futures blocks only that thread (see ``PostgresStore``).
final class PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    /// Set when a statement failed because the connection broke (not because the server refused it): the
    /// connection is dropped, and a read may be retried on a new one.
    private(set) var connectionLost = false

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// The longest one statement may take, from sending it to its last row (loading 100,000 users is a few
    /// seconds).
    static let statementTimeout = TimeAmount.seconds(30)

    /// Statements sent without waiting for their answers, oldest first; the next ``run(_:_:)`` reports their
    /// failures.
    private var unanswered: [EventLoopFuture<PostgresQueryResult>] = []
    /// Statements sent but not yet handed to the connection: ``run(_:_:)`` hands them over with its own, and
    /// ``flush()`` without one, in one task on the connection's event loop. Each call into postgres-nio from
    /// this thread is a hop to the event loop (and a wake-up of it when idle), so a catch-up that sends four
    /// statements and waits for the last costs one hop, not four.
    private var queued: [(query: PostgresQuery, answer: EventLoopPromise<PostgresQueryResult>)] = []
    /// Set while the body of a read without a transaction runs (``PostgresStore/readChanges(after:_:)``): a
    /// statement of its own would see another snapshot than the one statement it was given, so ``send(_:_:)``
    /// and ``run(_:_:)`` refuse it and note that they did, and the read is done again in a transaction.
    var refusesStatements = false
    /// Whether a statement was refused while ``refusesStatements`` was set.
    private(set) var refusedStatement = false

    private func refuseIfAsked() throws(IAMError) {
        guard self.refusesStatements else { return }
        self.refusedStatement = true
        throw .serviceFailure("this read needs a transaction")
    }

    /// Sends `sql` without waiting for its answer: one thread hand-off and wake-up less than ``run(_:_:)``, for a
    /// statement whose result is not needed yet or at all (BEGIN, the change-log rows of a write, a read's
    /// COMMIT). postgres-nio runs a connection's statements in order, so it is answered before the next statement
    /// is; the next `run` throws its error, if it had one, after its own answer came. That matters: a transaction
    /// with a failed statement is aborted, and PostgreSQL answers its COMMIT with a rollback, not an error.
    /// Returns the answer, complete once a later `run` has returned.
    @discardableResult
    func send(_ sql: String, _ values: [SQLValue] = []) throws(IAMError) -> EventLoopFuture<PostgresQueryResult> {
        try self.refuseIfAsked()
        let query = PostgresQuery(unsafeSQL: sql, binds: try Self.bind(values))
        let answer = self.connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        self.queued.append((query, answer))
        self.unanswered.append(answer.futureResult)
        return answer.futureResult
    }

    /// Hands the sent statements to the connection without waiting for them; the session's owner calls it when
    /// the body is done, so a last `send` (a read's COMMIT) goes out.
    func flush() {
        guard !self.queued.isEmpty else { return }
        let (connection, logger, queued) = (self.connection, self.logger, self.queued)
        self.queued = []
        connection.eventLoop.execute {
            for (query, answer) in queued { connection.query(query, logger: logger).cascade(to: answer) }
        }
    }

    /// Drops the statements sent but not handed over (the body failed before a `run` took them), failing their
    /// answers: a BEGIN handed over after its transaction's body gave up would leave the connection inside it.
    func discard() {
        let queued = self.queued
        self.queued = []
        self.unanswered = []
        for (_, answer) in queued { answer.fail(StatementDiscarded()) }
    }

    private static func bind(_ values: [SQLValue]) throws(IAMError) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: values.count)
        do {
            for value in values {
                switch value {
                case .text(let text): bindings.append(text)
                case .texts(let texts): bindings.append(texts)
                case .int(let number): bindings.append(number)
                case .bytes(let data): try bindings.append(data)
                case .null: bindings.appendNull()
                }
            }
        } catch {
            throw .serviceFailure("cannot bind a statement's values: \(error)")
        }
        return bindings
    }

    /// Runs `sql` with `values` bound to `$1...` and returns every row and the command's row count.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue] = []) throws(IAMError) -> PostgresQueryResult {
        try self.refuseIfAsked()
        let bindings = try Self.bind(values)
        do {
            // Bounded: after PostgreSQL restarted under writes, a statement's answer sometimes never came (its
            // worker blocked in wait() with no error, and every later write queued behind it). Past the bound the
            // connection is closed and the statement fails as a lost connection, so the next transaction
            // reconnects. The statements sent before it, the statement and its bound go to the event loop in one
            // task, and the bound is cancelled there when the answer comes.
            let (connection, logger, queued) = (self.connection, self.logger, self.queued)
            self.queued = []
            let query = PostgresQuery(unsafeSQL: sql, binds: bindings)
            let answer = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
            connection.eventLoop.execute {
                for (query, earlier) in queued { connection.query(query, logger: logger).cascade(to: earlier) }
                connection.query(query, logger: logger).cascade(to: answer)
                let bound = connection.eventLoop.scheduleTask(in: Self.statementTimeout) {
                    answer.fail(StatementTimedOut(seconds: Self.statementTimeout.nanoseconds / 1_000_000_000))
                    connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
                }
                answer.futureResult.whenComplete { _ in bound.cancel() }
            }
            let result = Result { try answer.futureResult.wait() }
            // Answered in order: the statements sent before this one have their answers by now, and a failure of
            // theirs is the cause of any of this one's, so it is reported first.
            let earlier = self.unanswered
            self.unanswered = []
            for statement in earlier { _ = try statement.wait() }
            return try result.get()
        } catch {
            self.unanswered = []
            if PostgresStore.isConnectionFailure(error) || self.connection.isClosed { self.connectionLost = true }
            throw PostgresStore.map(error)
        }
    }

    /// The number of rows the statement touched.
    func affected(_ sql: String, _ values: [SQLValue] = []) throws(IAMError) -> Int {
        try self.run(sql, values).metadata.rows ?? 0
    }
}

/// The first page of changes after a revision and the rows of the users it names, read by a catch-up's first
/// statement (``PostgresStore/readChanges(after:_:)``), in a transaction or alone; ``PostgresTransaction`` answers
/// ``PostgresTransaction/changes(after:limit:)`` and ``PostgresTransaction/userStates(_:)`` from them when asked
/// for the same.
struct ChangePrefetch {
    let after: Revision
    let limit: Int
    let changes: [Change]
    /// Rows in the shape of ``PostgresTransaction/userStatesSQL(_:ordered:)``; rows with a negative tag are
    /// not a user's (the one-statement read carries its changes and revision in them) and are skipped.
    let users: PostgresQueryResult

    /// The changes after `after` (at most `limit`), the rows of the users they name, the revision and
    /// `compacted_through`, in one statement and so one snapshot, without a transaction. postgres-nio runs a
    /// connection's statements one after another, each waiting for the last one's answer, so BEGIN, the page,
    /// its users, the revision and COMMIT were five round trips between a replica and PostgreSQL per catch-up
    /// (five wake-ups of each side) even when sent together. Change rows have tag -1 (`owner` the entity id, `a`
    /// the change kind, `b` the entity kind, `ord` the revision), the two meta rows tag -2 (`owner` the key,
    /// `ord` the value). `$1` is the user kind, `$2` the revision after which, `$3` the most changes. Their text
    /// columns take the entity tables' collation, "C": a union of two collations cannot be ordered.
    static let oneStatementSQL = """
        WITH page AS (
            SELECT revision, seq, kind, entity_kind, entity_id FROM change_log
            WHERE revision > $2 ORDER BY revision, seq LIMIT $3),
        changed AS (SELECT DISTINCT entity_id AS id FROM page WHERE entity_kind = $1)
        SELECT tag, owner, a, b, body, ord FROM (
        """ + PostgresTransaction.userStatesSQL("IN (SELECT id FROM changed)", ordered: false) + """

                UNION ALL SELECT -1, entity_id COLLATE "C", kind COLLATE "C", entity_kind COLLATE "C", NULL,
                    revision, seq FROM page
                UNION ALL SELECT -2, key COLLATE "C", NULL, NULL, NULL, value, 0
                    FROM meta WHERE key IN ('revision', 'compacted_through')
            ) AS answer ORDER BY tag, ord, seq, owner, a
            """

    /// Reads ``oneStatementSQL``: the prefetch, the snapshot's revision and `compacted_through`. Ordered by
    /// `ord` before `owner`, a user's attachments still come in their `seq` order, and the changes in the change
    /// log's (revision, then `seq`).
    static func oneStatement(_ session: PostgresSession, after: Revision, limit: Int) throws(IAMError)
        -> (prefetch: ChangePrefetch, revision: Revision, compactedThrough: UInt64)
    {
        let rows = try session.run(
            Self.oneStatementSQL,
            [.text(EntityKind.user.rawValue), .int(Int64(after.rawValue)), .int(Int64(max(0, limit)))])
        var revision: Int64?
        var compacted: Int64 = 0
        var changes: [Change] = []
        for row in rows {
            let (tag, owner, a, b, _, ord) = try decodeRow(row, (Int32, String, String?, String?, Data?, Int64).self)
            if tag == -2 {
                if owner == "revision" { revision = ord } else if owner == "compacted_through" { compacted = ord }
            } else if tag == -1 {
                changes.append(try PostgresTransaction.change(revision: ord, kind: a, entityKind: b, entityID: owner))
            } else if tag >= 0 {
                break
            }
        }
        guard let revision else { throw .serviceFailure("database has no revision row") }
        return (
            ChangePrefetch(after: after, limit: limit, changes: changes, users: rows),
            Revision(UInt64(max(0, revision))), UInt64(max(0, compacted))
        )
    }
}

/// A statement sent in a transaction whose body failed before it went out.
struct StatementDiscarded: Error, CustomStringConvertible {
    var description: String { "the statement was not sent: its transaction failed first" }
}

/// A statement that got no answer within ``PostgresSession/statementTimeout``; its connection is closed, and the
/// store treats it as lost.
struct StatementTimedOut: Error, CustomStringConvertible {
    let seconds: Int64
    var description: String { "no answer from PostgreSQL within \(self.seconds) s; the connection was closed" }
}

/// Decodes a row's one column, turning postgres-nio's decoding errors into ``IAMError`` (a separate
/// overload because one-element packs do not decode; postgres-nio keeps one for the same reason).
func decodeRow<Column: PostgresDecodable>(_ row: PostgresRow, _ type: Column.Type) throws(IAMError) -> Column {
    do {
        return try row.decode(Column.self)
    } catch {
        throw .serviceFailure("corrupt row: \(error)")
    }
}

/// Decodes one row's columns, turning postgres-nio's decoding errors into ``IAMError``.
func decodeRow<each Column: PostgresDecodable>(_ row: PostgresRow, _ types: (repeat each Column).Type) throws(IAMError)
    -> (repeat each Column)
{
    do {
        return try row.decode(types)
    } catch {
        throw .serviceFailure("corrupt row: \(error)")
    }
}

/// A ``StoreWriter`` over one PostgreSQL connection inside a transaction (or a read-only snapshot).
///
/// Statements that may meet a duplicate use `ON CONFLICT DO NOTHING` and report by their row count, so an
/// expected refusal never aborts the PostgreSQL transaction (an aborted transaction refuses every later
/// statement until ROLLBACK, which would break a body that handles the refusal and goes on).
final class PostgresTransaction: StoreWriter {
    let session: PostgresSession
    let revision: Revision
    /// `compacted_through` as the snapshot began, when it was read with the revision (reads do, in one statement
    /// with it); nil reads it when ``changes(after:limit:)`` needs it.
    let compactedThrough: UInt64?
    var pending: [(kind: Change.Kind, entity: ChangedEntity)] = []
    /// Whether the body noted a key's use, the one write that commits without a change.
    var notedUse = false
    /// What a catch-up's first round trip brought (``PostgresStore/readChanges(after:_:)``).
    private let prefetched: ChangePrefetch?
    /// The users the prefetched changes name, once ``changes(after:limit:)`` answered from them: a
    /// ``userStates(_:)`` for some of them is answered from the prefetched rows.
    private var prefetchedUsers: Set<UniqueID>?

    init(
        _ session: PostgresSession, revision: Revision, compactedThrough: UInt64? = nil,
        prefetched: ChangePrefetch? = nil
    ) {
        self.session = session
        self.revision = revision
        self.compactedThrough = compactedThrough
        self.prefetched = prefetched
    }

    private func record(_ kind: Change.Kind, _ entity: ChangedEntity) {
        self.pending.append((kind, entity))
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

    /// For single rows (keys, sessions); entity rows go through ``StoredEntityJSON/decodeRows``, as in the SQLite
    /// store. Decoding does not mutate it, and one per row costs at start-up.
    private static let decoder = JSONDecoder()

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws(IAMError) -> T {
        do {
            return try Self.decoder.decode(type, from: data)
        } catch {
            throw .serviceFailure("corrupt \(T.self) row: \(error)")
        }
    }

    private func bodies(_ sql: String, _ values: [SQLValue]) throws(IAMError) -> [Data] {
        let rows = try self.session.run(sql, values)
        var out: [Data] = []
        out.reserveCapacity(rows.count)
        for row in rows { out.append(try decodeRow(row, Data.self)) }
        return out
    }

    private func entities<E: NamedEntity>(_ type: E.Type, _ sql: String, _ values: [SQLValue]) throws(IAMError)
        -> [E]
    {
        try StoredEntityJSON.decodeRows(E.self, self.bodies(sql, values))
    }

    private func texts(_ sql: String, _ values: [SQLValue]) throws(IAMError) -> [String] {
        var out: [String] = []
        for row in try self.session.run(sql, values) { out.append(try decodeRow(row, String.self)) }
        return out
    }

    // MARK: Reads

    func entity<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> E? {
        try self.entities(
            E.self, "SELECT body FROM entity WHERE kind = $1 AND id = $2", [.text(E.kind.rawValue), .text(id.rawValue)]
        ).first
    }

    func entity<E: NamedEntity>(_ type: E.Type, named name: EntityName) throws(IAMError) -> E? {
        try self.entities(
            E.self, "SELECT body FROM entity WHERE kind = $1 AND name_folded = $2",
            [.text(E.kind.rawValue), .text(name.folded)]
        ).first
    }

    func policy(arn: ARN) throws(IAMError) -> ManagedPolicy? {
        try self.entities(
            ManagedPolicy.self, "SELECT body FROM entity WHERE kind = $1 AND arn = $2",
            [.text(EntityKind.policy.rawValue), .text(arn.description)]
        ).first
    }

    func entities<E: NamedEntity>(_ type: E.Type, pathPrefix: PathPrefix, page: PageRequest) throws(IAMError)
        -> Page<E>
    {
        // One row more than asked tells whether the list is truncated.
        let limit = page.maxItems >= Int(Int64.max) ? Int64.max : Int64(page.maxItems + 1)
        let rows = try self.session.run(
            """
            SELECT body FROM entity
            WHERE kind = $1 AND left(path, char_length($2)) = $2 AND name_folded > $3
            ORDER BY name_folded LIMIT $4
            """,
            [.text(E.kind.rawValue), .text(pathPrefix.rawValue), .text(page.marker?.key ?? ""), .int(limit)])
        var items: [E] = []
        for row in rows.prefix(page.maxItems) { items.append(try self.decode(E.self, try decodeRow(row, Data.self))) }
        let truncated = rows.count > page.maxItems
        return Page(
            items: items, isTruncated: truncated,
            marker: truncated ? items.last.map { Marker(after: $0.name.folded) } : nil)
    }

    func count<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> Int {
        let rows = try self.session.run("SELECT value FROM meta WHERE key = $1", [.text("count:" + E.kind.rawValue)])
        guard let row = rows.first else { return 0 }
        return Int(try decodeRow(row, Int64.self))
    }

    private func adjustCount(_ kind: EntityKind, by delta: Int64) throws(IAMError) {
        try self.session.run(
            """
            INSERT INTO meta (key, value) VALUES ($1, $2)
            ON CONFLICT (key) DO UPDATE SET value = meta.value + excluded.value
            """,
            [.text("count:" + kind.rawValue), .int(delta)])
    }

    func inlinePolicies(of owner: OwnerRef) throws(IAMError) -> [InlinePolicy] {
        let rows = try self.session.run(
            "SELECT name, document FROM inline_policy WHERE owner_id = $1 ORDER BY name", [.text(owner.id.rawValue)])
        var out: [InlinePolicy] = []
        for row in rows {
            let (name, document) = try decodeRow(row, (String, String).self)
            out.append(InlinePolicy(owner: owner, name: try self.entityName(name, .inlinePolicy), document: document))
        }
        return out
    }

    func attachedPolicies(of owner: OwnerRef) throws(IAMError) -> [ARN] {
        var out: [ARN] = []
        for text in try self.texts(
            "SELECT policy_arn FROM attachment WHERE owner_id = $1 ORDER BY seq", [.text(owner.id.rawValue)])
        {
            out.append(try self.arn(text))
        }
        return out
    }

    func attachments(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef] {
        try self.owners(
            "SELECT owner_kind, owner_id FROM attachment WHERE policy_arn = $1 ORDER BY seq",
            [.text(policy.description)])
    }

    func boundaryUses(ofPolicy policy: ARN) throws(IAMError) -> [OwnerRef] {
        try self.owners("SELECT kind, id FROM entity WHERE boundary = $1", [.text(policy.description)]).sorted()
    }

    /// One statement for the whole batch, where the per-user reads take four per user: each statement is a round
    /// trip, a thread hand-off and a parse and plan in PostgreSQL, and a replica following 500 writes a second
    /// spent most of a core on them. The four relations come back as one result, told apart by `tag` and each in
    /// the order the per-user reads give (inline policies by name, attachments by `seq`, groups by id).
    func userStates(_ ids: [UniqueID]) throws(IAMError) -> [UniqueID: UserState] {
        var out: [UniqueID: UserState] = [:]
        for id in ids { out[id] = UserState(user: nil, inlinePolicies: [], attachedPolicies: [], groups: []) }
        let rows: PostgresQueryResult
        if let prefetched = self.prefetched, let covered = self.prefetchedUsers, ids.allSatisfy(covered.contains) {
            rows = prefetched.users
        } else {
            rows = try self.session.run(
                Self.userStatesSQL("= ANY($2)"), [.text(EntityKind.user.rawValue), .texts(ids.map(\.rawValue))])
        }
        // Users come first (tag 0): a relation's row counts only for a user that exists in this snapshot and was
        // asked for (prefetched rows may hold more users).
        var present = Set<UniqueID>()
        for row in rows {
            let (tag, owner, a, b, body, _) = try decodeRow(row, (Int32, String, String?, String?, Data?, Int64).self)
            if tag < 0 { continue }
            let id = try self.id(owner)
            if tag == 0 {
                guard out[id] != nil else { continue }
                guard let body else { throw .serviceFailure("corrupt row: user \(owner) without a body") }
                // The entity reader start-up uses (`JSONDecoder` here took about 7% of a follower's CPU).
                let user = try StoredEntityJSON.decodeRows(User.self, [body])[0]
                out[user.id]?.user = user
                present.insert(user.id)
                continue
            }
            guard present.contains(id), let a else { continue }
            switch tag {
            case 1:
                guard let b else { throw .serviceFailure("corrupt row: inline policy \(a) without a document") }
                out[id]?.inlinePolicies.append(
                    InlinePolicy(owner: OwnerRef(.user, id), name: try self.entityName(a, .inlinePolicy), document: b))
            case 2: out[id]?.attachedPolicies.append(try self.arn(a))
            case 3: out[id]?.groups.append(try self.id(a))
            default: throw .serviceFailure("corrupt row: unknown relation \(tag)")
            }
        }
        return out
    }

    func groups(ofUser user: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids("SELECT group_id FROM membership WHERE user_id = $1 ORDER BY group_id", user)
    }

    func members(ofGroup group: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids("SELECT user_id FROM membership WHERE group_id = $1 ORDER BY user_id", group)
    }

    func roles(ofInstanceProfile instanceProfile: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids(
            "SELECT role_id FROM instance_profile_role WHERE instance_profile_id = $1 ORDER BY role_id",
            instanceProfile)
    }

    func instanceProfiles(ofRole role: UniqueID) throws(IAMError) -> [UniqueID] {
        try self.ids(
            "SELECT instance_profile_id FROM instance_profile_role WHERE role_id = $1 ORDER BY instance_profile_id",
            role)
    }

    func accessKey(id: AccessKeyID) throws(IAMError) -> AccessKey? {
        guard let body = try self.bodies("SELECT body FROM access_key WHERE id = $1", [.text(id.rawValue)]).first
        else { return nil }
        return try self.decode(AccessKey.self, body)
    }

    func accessKeys(ofUser user: UniqueID) throws(IAMError) -> [AccessKey] {
        var out: [AccessKey] = []
        for body in try self.bodies("SELECT body FROM access_key WHERE user_id = $1", [.text(user.rawValue)]) {
            out.append(try self.decode(AccessKey.self, body))
        }
        return out.sorted { ($0.createDate, $0.id) < ($1.createDate, $1.id) }
    }

    func session(id: AccessKeyID) throws(IAMError) -> SessionCredentials? {
        guard let body = try self.bodies("SELECT body FROM session WHERE id = $1", [.text(id.rawValue)]).first
        else { return nil }
        return try self.decode(SessionCredentials.self, body)
    }

    func sessions(ofRole role: UniqueID) throws(IAMError) -> [SessionCredentials] {
        var out: [SessionCredentials] = []
        for body in try self.bodies(
            "SELECT body FROM session WHERE role_id = $1 ORDER BY id", [.text(role.rawValue)])
        {
            out.append(try self.decode(SessionCredentials.self, body))
        }
        return out
    }

    func changes(after revision: Revision, limit: Int) throws(IAMError) -> [Change] {
        // Entries up to `compacted_through` are gone: a reader that needs them must rebuild from the tables,
        // never skip them silently.
        let compacted: UInt64
        if let known = self.compactedThrough {
            compacted = known
        } else {
            compacted = try self.meta("compacted_through")
        }
        if revision.rawValue < compacted, revision < self.revision {
            throw PostgresStore.compactedError(after: revision, compactedThrough: Revision(compacted))
        }
        let out: [Change]
        let fromPrefetch = self.prefetched.map { $0.after == revision && $0.limit == limit } ?? false
        if fromPrefetch, let prefetched = self.prefetched {
            out = prefetched.changes
        } else {
            let rows = try self.session.run(
                Self.changesSQL, [.int(Int64(revision.rawValue)), .int(Int64(max(0, limit)))])
            out = try rows.map { row throws(IAMError) in
                let (number, kind, entityKind, entityID) = try decodeRow(row, (Int64, String, String, String).self)
                return try Self.change(revision: number, kind: kind, entityKind: entityKind, entityID: entityID)
            }
        }
        if fromPrefetch {
            self.prefetchedUsers = Set(out.lazy.compactMap { if case .user(let id) = $0.entity { id } else { nil } })
        }
        return out
    }

    /// One change-log row's change.
    static func change(revision: Int64, kind: String?, entityKind: String?, entityID: String) throws(IAMError)
        -> Change
    {
        guard let kind = kind.flatMap(Change.Kind.init(rawValue:)),
            let entity = entityKind.flatMap({ ChangedEntity(kind: $0, id: entityID) })
        else { throw .serviceFailure("corrupt change_log row") }
        return Change(revision: Revision(UInt64(max(0, revision))), kind: kind, entity: entity)
    }

    /// A page of the change log: `$1` the revision after which, `$2` the most entries.
    static let changesSQL = """
        SELECT revision, kind, entity_kind, entity_id FROM change_log
        WHERE revision > $1 ORDER BY revision, seq LIMIT $2
        """

    /// The rows of ``userStates(_:)`` for the users whose ids are `ids` (an SQL condition on an id column), `$1`
    /// being the user kind: the user, then its inline policies, attachments and groups, with a tag saying which.
    /// Unordered (`ordered: false`), with a seventh column `seq` (0), for a statement that adds rows of its own
    /// and orders them all.
    static func userStatesSQL(_ ids: String, ordered: Bool = true) -> String {
        let (seqColumn, seq) = ordered ? ("", "") : (", 0 AS seq", ", 0")
        return """
            SELECT 0 AS tag, id AS owner, NULL::text AS a, NULL::text AS b, body, 0::int8 AS ord\(seqColumn)
                FROM entity WHERE kind = $1 AND id \(ids)
            UNION ALL SELECT 1, owner_id, name, document, NULL, 0\(seq) FROM inline_policy WHERE owner_id \(ids)
            UNION ALL SELECT 2, owner_id, policy_arn, NULL, NULL, seq\(seq) FROM attachment WHERE owner_id \(ids)
            UNION ALL SELECT 3, user_id, group_id, NULL, NULL, 0\(seq) FROM membership WHERE user_id \(ids)
            """ + (ordered ? "\nORDER BY tag, owner, ord, a" : "")
    }

    func meta(_ key: String) throws(IAMError) -> UInt64 {
        guard let row = try self.session.run("SELECT value FROM meta WHERE key = $1", [.text(key)]).first else {
            return 0
        }
        return UInt64(max(0, try decodeRow(row, Int64.self)))
    }

    func contents() throws(IAMError) -> StoreContents {
        func all<E: NamedEntity>(_ type: E.Type) throws(IAMError) -> [E] {
            try self.entities(
                E.self, "SELECT body FROM entity WHERE kind = $1 ORDER BY name_folded", [.text(E.kind.rawValue)])
        }
        var inline: [InlinePolicy] = []
        for row in try self.session.run("SELECT owner_kind, owner_id, name, document FROM inline_policy") {
            let (kind, id, name, document) = try decodeRow(row, (String, String, String, String).self)
            inline.append(
                InlinePolicy(
                    owner: try self.owner(kind, id), name: try self.entityName(name, .inlinePolicy),
                    document: document))
        }
        inline.sort { ($0.owner, $0.name.rawValue) < ($1.owner, $1.name.rawValue) }
        var attachments: [Attachment] = []
        for row in try self.session.run("SELECT owner_kind, owner_id, policy_arn FROM attachment ORDER BY seq") {
            let (kind, id, arn) = try decodeRow(row, (String, String, String).self)
            attachments.append(Attachment(owner: try self.owner(kind, id), policyARN: try self.arn(arn)))
        }
        var memberships: [Membership] = []
        for row in try self.session.run("SELECT user_id, group_id FROM membership ORDER BY user_id, group_id") {
            let (user, group) = try decodeRow(row, (String, String).self)
            memberships.append(Membership(userID: try self.id(user), groupID: try self.id(group)))
        }
        var keys: [AccessKey] = []
        for body in try self.bodies("SELECT body FROM access_key ORDER BY id", []) {
            keys.append(try self.decode(AccessKey.self, body))
        }
        var sessions: [SessionCredentials] = []
        for body in try self.bodies("SELECT body FROM session ORDER BY id", []) {
            sessions.append(try self.decode(SessionCredentials.self, body))
        }
        var profileRoles: [InstanceProfileRole] = []
        for row in try self.session.run(
            "SELECT instance_profile_id, role_id FROM instance_profile_role ORDER BY instance_profile_id, role_id")
        {
            let (profile, role) = try decodeRow(row, (String, String).self)
            profileRoles.append(InstanceProfileRole(instanceProfileID: try self.id(profile), roleID: try self.id(role)))
        }
        return StoreContents(
            revision: self.revision, users: try all(User.self), groups: try all(Group.self), roles: try all(Role.self),
            policies: try all(ManagedPolicy.self), inlinePolicies: inline, attachments: attachments,
            memberships: memberships, accessKeys: keys, sessions: sessions,
            instanceProfiles: try all(InstanceProfile.self), instanceProfileRoles: profileRoles)
    }

    // MARK: Writes

    func insert<E: NamedEntity>(_ entity: E) throws(IAMError) {
        let body = try self.encode(entity)
        // The unique indexes on id, (kind, folded name) and ARN decide; a taken one inserts nothing.
        let inserted = try self.session.affected(
            """
            INSERT INTO entity (id, kind, name_folded, path, arn, boundary, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT DO NOTHING
            """,
            [
                .text(entity.id.rawValue), .text(E.kind.rawValue), .text(entity.name.folded),
                .text(entity.path.rawValue), .text(entity.arn.description),
                .text(entity.permissionsBoundary?.description), .bytes(body),
            ])
        guard inserted > 0 else { throw .entityAlreadyExists(E.kind, name: entity.name.rawValue) }
        try self.adjustCount(E.kind, by: 1)
        self.record(.created, .of(entity))
    }

    func update<E: NamedEntity>(_ entity: E) throws(IAMError) {
        let body = try self.encode(entity)
        // A rename onto a taken name is refused before the UPDATE so the unique index (still the backstop)
        // does not abort the transaction; writers hold the revision lock, so nothing can slip in between.
        let taken = try self.session.run(
            "SELECT 1 FROM entity WHERE id <> $1 AND ((kind = $2 AND name_folded = $3) OR arn = $4)",
            [
                .text(entity.id.rawValue), .text(E.kind.rawValue), .text(entity.name.folded),
                .text(entity.arn.description),
            ]
        )
        guard taken.isEmpty else { throw .entityAlreadyExists(E.kind, name: entity.name.rawValue) }
        let updated = try self.session.affected(
            """
            UPDATE entity SET name_folded = $1, path = $2, arn = $3, boundary = $4, body = $5
            WHERE kind = $6 AND id = $7
            """,
            [
                .text(entity.name.folded), .text(entity.path.rawValue), .text(entity.arn.description),
                .text(entity.permissionsBoundary?.description), .bytes(body), .text(E.kind.rawValue),
                .text(entity.id.rawValue),
            ])
        guard updated > 0 else { throw .noSuchEntity(E.kind, name: entity.name.rawValue) }
        self.record(.updated, .of(entity))
    }

    @discardableResult
    func delete<E: NamedEntity>(_ type: E.Type, id: UniqueID) throws(IAMError) -> Bool {
        guard let old = try self.entity(E.self, id: id) else { return false }
        try self.session.run("DELETE FROM entity WHERE id = $1", [.text(id.rawValue)])
        try self.adjustCount(E.kind, by: -1)
        self.record(.deleted, .of(old))
        return true
    }

    func putInlinePolicy(_ policy: InlinePolicy) throws(IAMError) {
        try self.session.run(
            """
            INSERT INTO inline_policy (owner_kind, owner_id, name, document) VALUES ($1, $2, $3, $4)
            ON CONFLICT (owner_id, name) DO UPDATE SET document = excluded.document
            """,
            [
                .text(policy.owner.kind.rawValue), .text(policy.owner.id.rawValue), .text(policy.name.rawValue),
                .text(policy.document),
            ])
        self.record(.updated, .of(policy.owner))
    }

    @discardableResult
    func deleteInlinePolicy(of owner: OwnerRef, named name: EntityName) throws(IAMError) -> Bool {
        let deleted = try self.session.affected(
            "DELETE FROM inline_policy WHERE owner_id = $1 AND name = $2",
            [.text(owner.id.rawValue), .text(name.rawValue)]
        )
        guard deleted > 0 else { return false }
        self.record(.updated, .of(owner))
        return true
    }

    @discardableResult
    func attach(_ attachment: Attachment) throws(IAMError) -> Bool {
        let inserted = try self.session.affected(
            "INSERT INTO attachment (owner_kind, owner_id, policy_arn) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [
                .text(attachment.owner.kind.rawValue), .text(attachment.owner.id.rawValue),
                .text(attachment.policyARN.description),
            ])
        guard inserted > 0 else { return false }
        self.record(.updated, .of(attachment.owner))
        self.record(.updated, .policy(attachment.policyARN))
        return true
    }

    @discardableResult
    func detach(_ attachment: Attachment) throws(IAMError) -> Bool {
        let deleted = try self.session.affected(
            "DELETE FROM attachment WHERE owner_id = $1 AND policy_arn = $2",
            [.text(attachment.owner.id.rawValue), .text(attachment.policyARN.description)])
        guard deleted > 0 else { return false }
        self.record(.updated, .of(attachment.owner))
        self.record(.updated, .policy(attachment.policyARN))
        return true
    }

    @discardableResult
    func addMembership(_ membership: Membership) throws(IAMError) -> Bool {
        let inserted = try self.session.affected(
            "INSERT INTO membership (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [.text(membership.userID.rawValue), .text(membership.groupID.rawValue)])
        guard inserted > 0 else { return false }
        self.record(.updated, .user(membership.userID))
        self.record(.updated, .group(membership.groupID))
        return true
    }

    @discardableResult
    func removeMembership(_ membership: Membership) throws(IAMError) -> Bool {
        let deleted = try self.session.affected(
            "DELETE FROM membership WHERE user_id = $1 AND group_id = $2",
            [.text(membership.userID.rawValue), .text(membership.groupID.rawValue)])
        guard deleted > 0 else { return false }
        self.record(.updated, .user(membership.userID))
        self.record(.updated, .group(membership.groupID))
        return true
    }

    @discardableResult
    func addRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool {
        let inserted = try self.session.affected(
            "INSERT INTO instance_profile_role (instance_profile_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [.text(link.instanceProfileID.rawValue), .text(link.roleID.rawValue)])
        guard inserted > 0 else { return false }
        self.record(.updated, .instanceProfile(link.instanceProfileID))
        self.record(.updated, .role(link.roleID))
        return true
    }

    @discardableResult
    func removeRole(_ link: InstanceProfileRole) throws(IAMError) -> Bool {
        let deleted = try self.session.affected(
            "DELETE FROM instance_profile_role WHERE instance_profile_id = $1 AND role_id = $2",
            [.text(link.instanceProfileID.rawValue), .text(link.roleID.rawValue)])
        guard deleted > 0 else { return false }
        self.record(.updated, .instanceProfile(link.instanceProfileID))
        self.record(.updated, .role(link.roleID))
        return true
    }

    func insertAccessKey(_ key: AccessKey) throws(IAMError) {
        let body = try self.encode(key)
        let inserted = try self.session.affected(
            "INSERT INTO access_key (id, user_id, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [.text(key.id.rawValue), .text(key.userID.rawValue), .bytes(body)])
        guard inserted > 0 else {
            throw IAMError(code: .entityAlreadyExists, message: "Access key \(key.id) already exists.")
        }
        self.record(.created, .accessKey(key.id))
    }

    func updateAccessKey(_ key: AccessKey) throws(IAMError) {
        let body = try self.encode(key)
        let updated = try self.session.affected(
            "UPDATE access_key SET user_id = $1, body = $2 WHERE id = $3",
            [.text(key.userID.rawValue), .bytes(body), .text(key.id.rawValue)])
        guard updated > 0 else { throw .noSuchAccessKey(key.id) }
        self.record(.updated, .accessKey(key.id))
    }

    @discardableResult
    func deleteAccessKey(id: AccessKeyID) throws(IAMError) -> Bool {
        guard try self.session.affected("DELETE FROM access_key WHERE id = $1", [.text(id.rawValue)]) > 0 else {
            return false
        }
        self.record(.deleted, .accessKey(id))
        return true
    }

    /// Rewrites the key's row without a change-log entry; the store's write commits it at the same revision.
    @discardableResult
    func noteAccessKeyUse(id: AccessKeyID, date: Date, service: String) throws(IAMError) -> Bool {
        guard var key = try self.accessKey(id: id) else { return false }
        guard key.noteUse(at: date, service: service) else { return true }
        let body = try self.encode(key)
        guard
            try self.session.affected(
                "UPDATE access_key SET body = $1 WHERE id = $2", [.bytes(body), .text(id.rawValue)]) > 0
        else { return false }
        self.notedUse = true
        return true
    }

    func insertSession(_ session: SessionCredentials) throws(IAMError) {
        let body = try self.encode(session)
        let inserted = try self.session.affected(
            "INSERT INTO session (id, role_id, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [.text(session.accessKeyID.rawValue), .text(session.roleID.rawValue), .bytes(body)])
        guard inserted > 0 else {
            throw IAMError(code: .entityAlreadyExists, message: "Session \(session.accessKeyID) already exists.")
        }
        self.record(.created, .session(session.accessKeyID))
    }

    @discardableResult
    func deleteSession(id: AccessKeyID) throws(IAMError) -> Bool {
        guard try self.session.affected("DELETE FROM session WHERE id = $1", [.text(id.rawValue)]) > 0 else {
            return false
        }
        self.record(.deleted, .session(id))
        return true
    }

    // MARK: Column decoding

    private func ids(_ sql: String, _ id: UniqueID) throws(IAMError) -> [UniqueID] {
        var out: [UniqueID] = []
        for text in try self.texts(sql, [.text(id.rawValue)]) { out.append(try self.id(text)) }
        return out
    }

    private func owners(_ sql: String, _ values: [SQLValue]) throws(IAMError) -> [OwnerRef] {
        var out: [OwnerRef] = []
        for row in try self.session.run(sql, values) {
            let (kind, id) = try decodeRow(row, (String, String).self)
            out.append(try self.owner(kind, id))
        }
        return out
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

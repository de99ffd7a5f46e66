import IAMDomain

/// The database schema and its migrations, in the same shape as the SQLite store's so one mental model (and
/// one ``StoreReader``/``StoreWriter`` mapping) covers both. Migrations only ever append; a shipped one is never
/// edited.
///
/// Every entity kind (user, group, role, managed policy, and any later ``NamedEntity``) is a row of `entity`
/// keyed by `kind`: a new kind needs no table, only rows. Text that lists are ordered or paged by is
/// `COLLATE "C"`, so order is by bytes whatever the database's locale, exactly as in SQLite.
enum PostgresSchema {
    /// One migration: a name recorded in `schema_migrations` and its statements, run in one transaction.
    struct Migration {
        var name: String
        var statements: [String]
    }

    /// The channel `pg_notify` wakes followers on; the payload is the committed revision.
    static let channel = "iam_changes"

    /// The key of `pg_advisory_xact_lock` that serializes migrations of replicas starting together.
    static let migrationLock: Int64 = 0x1A4D_5701

    static let migrations: [Migration] = [
        Migration(
            name: "v1",
            statements: [
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                // The global revision: writers lock this row first, so revisions commit in order.
                "INSERT INTO meta (key, value) VALUES ('revision', 0), ('compacted_through', 0)",
                """
                CREATE TABLE entity (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    kind TEXT COLLATE "C" NOT NULL,
                    name_folded TEXT COLLATE "C" NOT NULL,
                    path TEXT COLLATE "C" NOT NULL,
                    arn TEXT COLLATE "C" NOT NULL,
                    boundary TEXT COLLATE "C",
                    body BYTEA NOT NULL
                )
                """,
                // The database, not a check in a replica, keeps names unique per kind case-insensitively.
                "CREATE UNIQUE INDEX entity_name ON entity (kind, name_folded)",
                "CREATE UNIQUE INDEX entity_arn ON entity (arn)",
                "CREATE INDEX entity_boundary ON entity (boundary) WHERE boundary IS NOT NULL",
                """
                CREATE TABLE inline_policy (
                    owner_kind TEXT NOT NULL,
                    owner_id TEXT COLLATE "C" NOT NULL,
                    name TEXT COLLATE "C" NOT NULL,
                    document TEXT NOT NULL,
                    PRIMARY KEY (owner_id, name)
                )
                """,
                """
                CREATE TABLE attachment (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    owner_kind TEXT NOT NULL,
                    owner_id TEXT COLLATE "C" NOT NULL,
                    policy_arn TEXT COLLATE "C" NOT NULL,
                    UNIQUE (owner_id, policy_arn)
                )
                """,
                "CREATE INDEX attachment_policy ON attachment (policy_arn)",
                """
                CREATE TABLE membership (
                    user_id TEXT COLLATE "C" NOT NULL,
                    group_id TEXT COLLATE "C" NOT NULL,
                    PRIMARY KEY (user_id, group_id)
                )
                """,
                "CREATE INDEX membership_group ON membership (group_id, user_id)",
                """
                CREATE TABLE access_key (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    user_id TEXT COLLATE "C" NOT NULL,
                    body BYTEA NOT NULL
                )
                """,
                "CREATE INDEX access_key_user ON access_key (user_id)",
                """
                CREATE TABLE session (
                    id TEXT COLLATE "C" PRIMARY KEY,
                    role_id TEXT COLLATE "C" NOT NULL,
                    body BYTEA NOT NULL
                )
                """,
                "CREATE INDEX session_role ON session (role_id)",
                """
                CREATE TABLE change_log (
                    revision BIGINT NOT NULL,
                    seq INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    entity_kind TEXT NOT NULL,
                    entity_id TEXT NOT NULL,
                    PRIMARY KEY (revision, seq)
                )
                """,
            ]),
        // Instance profiles are rows of `entity` like every named kind; the roles each one holds are a
        // relation, indexed from both ends (DeleteRole and ListInstanceProfilesForRole ask by role), as in
        // SQLite's v3 migration.
        Migration(
            name: "v2-instance-profile-role",
            statements: [
                """
                CREATE TABLE instance_profile_role (
                    instance_profile_id TEXT COLLATE "C" NOT NULL,
                    role_id TEXT COLLATE "C" NOT NULL,
                    PRIMARY KEY (instance_profile_id, role_id)
                )
                """,
                "CREATE INDEX instance_profile_role_role ON instance_profile_role (role_id, instance_profile_id)",
            ]),
    ]
}

import GRDB
import IAMDomain

/// The database schema and its migrations. Migrations only ever append; a shipped one is never edited.
enum Schema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                    INSERT INTO meta (key, value) VALUES ('revision', 0);

                    CREATE TABLE entity (
                        id TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        name_folded TEXT NOT NULL,
                        path TEXT NOT NULL,
                        arn TEXT NOT NULL,
                        boundary TEXT,
                        body BLOB NOT NULL
                    );
                    CREATE UNIQUE INDEX entity_name ON entity (kind, name_folded);
                    CREATE UNIQUE INDEX entity_arn ON entity (arn);
                    CREATE INDEX entity_boundary ON entity (boundary) WHERE boundary IS NOT NULL;

                    CREATE TABLE inline_policy (
                        owner_kind TEXT NOT NULL,
                        owner_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        document TEXT NOT NULL,
                        PRIMARY KEY (owner_id, name)
                    );

                    CREATE TABLE attachment (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        owner_kind TEXT NOT NULL,
                        owner_id TEXT NOT NULL,
                        policy_arn TEXT NOT NULL,
                        UNIQUE (owner_id, policy_arn)
                    );
                    CREATE INDEX attachment_policy ON attachment (policy_arn);

                    CREATE TABLE membership (
                        user_id TEXT NOT NULL,
                        group_id TEXT NOT NULL,
                        PRIMARY KEY (user_id, group_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX membership_group ON membership (group_id, user_id);

                    CREATE TABLE access_key (
                        id TEXT PRIMARY KEY NOT NULL,
                        user_id TEXT NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX access_key_user ON access_key (user_id);

                    CREATE TABLE session (
                        id TEXT PRIMARY KEY NOT NULL,
                        role_id TEXT NOT NULL,
                        body BLOB NOT NULL
                    );
                    CREATE INDEX session_role ON session (role_id);

                    CREATE TABLE change_log (
                        revision INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        entity_kind TEXT NOT NULL,
                        entity_id TEXT NOT NULL,
                        PRIMARY KEY (revision, seq)
                    ) WITHOUT ROWID;
                    """)
        }
        // Entity counts kept by insert/delete, because quota checks run on every create and COUNT(*) over
        // 100,000 rows costs milliseconds.
        migrator.registerMigration("v2-entity-counts") { db in
            try db.execute(
                sql: """
                    INSERT INTO meta (key, value) SELECT 'count:' || kind, COUNT(*) FROM entity GROUP BY kind;
                    """)
        }
        // Instance profiles live in `entity` like every named kind; the role each one holds is a relation,
        // indexed from both ends (DeleteRole and ListInstanceProfilesForRole ask by role).
        migrator.registerMigration("v3-instance-profile-role") { db in
            try db.execute(
                sql: """
                    CREATE TABLE instance_profile_role (
                        instance_profile_id TEXT NOT NULL,
                        role_id TEXT NOT NULL,
                        PRIMARY KEY (instance_profile_id, role_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX instance_profile_role_role ON instance_profile_role (role_id, instance_profile_id);
                    """)
        }
        return migrator
    }()

    static func revision(_ db: Database) throws -> Revision {
        guard let value = try UInt64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'revision'") else {
            throw IAMError.serviceFailure("database has no revision row")
        }
        return Revision(value)
    }
}

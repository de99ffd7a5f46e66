import ArgumentParser
import Foundation
import IAMDaemon
import IAMDomain
import IAMStorePostgres
import Logging

/// `iamd-pg`: `iamd` that also serves `--store postgres://user@host:port/database`, one of several replicas
/// over one PostgreSQL database. Every other option and behaviour is iamd's (IAMDaemon).
@main
struct IAMDPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iamd-pg",
        abstract:
            "The swift-iam server, with PostgreSQL replicas: --store postgres://user@host:port/database (the password from PGPASSWORD or --store-password-file)."
    )

    @OptionGroup var options: DaemonOptions

    func run() async throws { try await DaemonMain.run(self.options, stores: [Self.postgres]) }

    /// The PostgreSQL store and, since the database is shared, the change-log follower of this replica.
    static let postgres = StoreBackend(schemes: ["postgres", "postgresql"]) { url, passwordFile, logger in
        let configuration = try PostgresStoreConfiguration(
            url: url, password: try IAMDPostgres.password(file: passwordFile))
        let store = try await PostgresStore.connect(configuration, logger: logger)
        logger.notice("store: PostgreSQL at \(configuration.redactedURL)")
        return OpenedStore(store: store) { publisher in
            let follower = PostgresChangeFollower(
                store: store, publisher: publisher, logger: logger, catchUpSpacing: configuration.followSpacing)
            return StoreFollower(
                run: { await follower.run() }, databaseRevision: { follower.databaseRevision.rawValue })
        }
    }

    /// The PostgreSQL password: the first line of --store-password-file, else PGPASSWORD, else none (never the
    /// URL or a flag, which end up in process listings).
    static func password(file: String?) throws -> String? {
        if let file {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment["PGPASSWORD"]
    }
}

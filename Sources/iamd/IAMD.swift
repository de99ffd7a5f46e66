import ArgumentParser
import IAMDaemon

/// `iamd`: the swift-iam server on its embedded SQLite store. Parses its options and hands over to
/// IAMDaemon (`iamd-pg` in `Packages/IAMPostgres` is the same with PostgreSQL replicas).
@main
struct IAMD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iamd",
        abstract: "The swift-iam server: AWS IAM's policy language over TLS."
    )

    @OptionGroup var options: DaemonOptions

    func run() async throws { try await DaemonMain.run(self.options) }
}

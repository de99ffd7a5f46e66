import ArgumentParser
import Foundation
import IAMClient

/// The AWS CLI's global options that apply to a call: where the server is, who calls, how long to wait, and
/// how to print. They may also come before the command (`iam --output text get-user ...`).
struct ConnectionOptions: ParsableArguments {
    @Option(help: "host:port of iamd (env IAM_ENDPOINT; default 127.0.0.1:7443; --endpoint-url https://host:port too).")
    var endpoint: String?

    @Option(
        help: "CA file that signs the server's certificate (env IAM_CA_FILE; default data/tls/ca.pem; or --ca-bundle).")
    var caFile: String?

    @Option(help: "Name the server's certificate must carry (default: the endpoint's host).")
    var serverName: String?

    @Option(help: "Profile in the credentials file (env IAM_PROFILE; default: default).")
    var profile: String?

    @Option(
        help:
            "Credentials file: INI with aws_access_key_id/aws_secret_access_key per profile, or JSON as iamd writes it (env IAM_CREDENTIALS_FILE; default ~/.iam/credentials)."
    )
    var credentialsFile: String?

    @Option(help: "Seconds a call may take, retries included (0: no limit; default 60).")
    var cliReadTimeout: Double = 60

    @Option(help: "Seconds connecting may take (default 10).")
    var cliConnectTimeout: Double = 10

    @Flag(help: "Print what is sent and received (endpoint, credentials source, payload bytes, timings) to stderr.")
    var debug = false

    // The AWS CLI's spellings, so that a command copied from a script for it runs here too (hidden from --help,
    // which --endpoint's and --ca-file's help mention).

    @Option(
        help: ArgumentHelp(
            "The AWS CLI's form of --endpoint: https://host:port (scheme and path are dropped).", visibility: .hidden))
    var endpointUrl: String?

    @Option(help: ArgumentHelp("The AWS CLI's name for --ca-file.", visibility: .hidden))
    var caBundle: String?

    @Option(help: ArgumentHelp("Accepted and ignored: IAM is global.", visibility: .hidden))
    var region: String?

    @Flag(help: ArgumentHelp("Accepted and ignored: iam never pages its output.", visibility: .hidden))
    var noCliPager = false

    @Option(help: ArgumentHelp("Accepted and ignored (on, off, auto): iam prints no color.", visibility: .hidden))
    var color: String?

    /// `https://host:port/path` as the `host:port` the client connects to.
    static func endpoint(ofURL url: String) -> String {
        var rest = Substring(url)
        for scheme in ["https://", "http://"] where rest.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
        }
        return String(rest.prefix { $0 != "/" })
    }

    /// The client configuration these options, the environment and the defaults describe.
    func clientConfiguration() throws(IAMClientError) -> IAMClientConfiguration {
        let credentials: IAMCredentialProvider =
            profile == nil && credentialsFile == nil ? .default : .profile(profile, file: credentialsFile)
        var configuration = try IAMClientConfiguration(
            endpoint: endpoint ?? endpointUrl.map(Self.endpoint(ofURL:)), caFile: caFile ?? caBundle,
            credentials: credentials)
        configuration.serverName = serverName
        // A year stands for "no limit": the wire's deadline needs a value.
        configuration.defaultTimeout =
            cliReadTimeout > 0 ? .milliseconds(Int64(cliReadTimeout * 1000)) : .seconds(31_536_000)
        configuration.connectTimeout = .milliseconds(Int64(max(0.1, cliConnectTimeout) * 1000))
        return configuration
    }
}

/// `--output`, `--query` and the input options every operation command has.
struct GlobalOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    @Option(help: "json (default), text or table.")
    var output: OutputFormat = .json

    @Option(
        help:
            "A JMESPath expression applied to the response (common forms: a.b, a[0], a[*].b, a[*].[b,c], {x: a}, a[?b=='v'])."
    )
    var query: String?

    @Option(help: "The whole input as JSON in AWS's shape (or file://PATH); flags given as well take precedence.")
    var cliInputJson: String?

    @Flag(help: "Print the input's JSON skeleton (for --cli-input-json) and exit without calling.")
    var generateCliSkeleton = false
}

/// The output formats of the AWS CLI.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case json, text, table
}

/// The AWS CLI's pagination options, on commands whose rpc pages with Marker.
struct PaginationOptions: ParsableArguments {
    @Option(help: "Stop after this many items in all and print a NextToken to continue from.")
    var maxItems: Int?

    @Option(help: "Continue from the NextToken (a Marker) of an earlier truncated output.")
    var startingToken: String?

    @Option(help: "Items per call (the service's MaxItems); does not change the output.")
    var pageSize: Int?

    @Flag(help: "Make one call and print its page as is, Marker and IsTruncated included.")
    var noPaginate = false
}

public import Foundation

/// An access key: what a connection authenticates with (SCRAM-SHA-256; the secret never crosses the wire).
public struct IAMCredentials: Hashable, Sendable, CustomStringConvertible {
    /// The access key id (`AKIA...` for a user's or root's key, `ASIA...` for a session's).
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// The session token AssumeRole returned with temporary credentials. Kept for compatibility with AWS's
    /// credential files; the wire protocol does not need it (a session's secret is already unique to it).
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Date?

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The key id only: a secret must not end up in a log line.
    public var description: String { "IAMCredentials(\(accessKeyID), secret redacted)" }
}

/// Where an ``IAMClient`` gets its credentials.
///
/// ``default`` is the chain the `iam` CLI and AWS's SDKs use, in this order:
/// 1. `IAM_ACCESS_KEY_ID` and `IAM_SECRET_ACCESS_KEY` (and `IAM_SESSION_TOKEN`) in the environment;
/// 2. a profile (`IAM_PROFILE`, else `default`) in the credentials file `IAM_CREDENTIALS_FILE` (default
///    `~/.iam/credentials`): INI with AWS's key names (`aws_access_key_id`, `aws_secret_access_key`,
///    `aws_session_token`), where a profile may instead name `role_arn` and `source_profile` to assume a
///    role, or a JSON object `{"accessKeyId": ..., "secretAccessKey": ...}` (what `iamd` writes to
///    `data/root-credentials.json`);
/// 3. `data/root-credentials.json` in the current directory (the key `iamd` made on first start).
public struct IAMCredentialProvider: Sendable, CustomStringConvertible {
    indirect enum Kind: Sendable {
        case fixed(IAMCredentials)
        case chain(profile: String?, file: String?)
        case assumeRole(roleARN: String, sessionName: String, durationSeconds: Int32?, source: Kind)
    }

    let kind: Kind

    /// These credentials, always.
    public static func fixed(_ credentials: IAMCredentials) -> IAMCredentialProvider {
        IAMCredentialProvider(kind: .fixed(credentials))
    }

    /// The environment, then the credentials file, then `data/root-credentials.json`.
    public static let `default` = IAMCredentialProvider(kind: .chain(profile: nil, file: nil))

    /// The default chain with a named profile and/or credentials file instead of the environment's.
    public static func profile(_ name: String?, file: String? = nil) -> IAMCredentialProvider {
        IAMCredentialProvider(kind: .chain(profile: name, file: file))
    }

    /// Temporary credentials from STS AssumeRole, obtained with `source`'s credentials and obtained again
    /// before they expire (the client reconnects with the new ones; calls in flight finish on the old
    /// connection).
    public static func assumeRole(
        _ roleARN: String,
        sessionName: String = "iam-client",
        durationSeconds: Int32? = nil,
        source: IAMCredentialProvider = .default
    ) -> IAMCredentialProvider {
        IAMCredentialProvider(
            kind: .assumeRole(
                roleARN: roleARN, sessionName: sessionName, durationSeconds: durationSeconds, source: source.kind))
    }

    /// Which provider this is, without secrets.
    public var description: String {
        switch kind {
        case .fixed(let credentials): "fixed \(credentials.accessKeyID)"
        case .chain(let profile, let file): "chain(profile: \(profile ?? "default"), file: \(file ?? "default"))"
        case .assumeRole(let role, _, _, _): "assume-role \(role)"
        }
    }
}

/// What a provider resolves to before any network call: a key, or a role to assume with a key.
enum ResolvedCredentialSource: Sendable, Equatable {
    case key(IAMCredentials, origin: String)
    case assumeRole(roleARN: String, sessionName: String, durationSeconds: Int32?, source: IAMCredentials)
}

/// Reads the chain (environment, files) without any network call; `environment` and `homeDirectory` are
/// parameters so tests pin the order without touching the process's own.
struct CredentialResolver: Sendable {
    var environment: [String: String]
    var homeDirectory: String
    var currentDirectory: String

    static let maximumFileSize = 1 << 20

    func resolve(_ kind: IAMCredentialProvider.Kind) throws(IAMClientError) -> ResolvedCredentialSource {
        switch kind {
        case .fixed(let credentials):
            return .key(credentials, origin: "explicit")
        case .chain(let profile, let file):
            return try chain(profile: profile, file: file)
        case .assumeRole(let role, let session, let duration, let source):
            guard case .key(let key, _) = try resolve(source) else {
                throw .credentials("assuming \(role) needs long-term credentials to call AssumeRole with")
            }
            return .assumeRole(roleARN: role, sessionName: session, durationSeconds: duration, source: key)
        }
    }

    private func chain(profile: String?, file: String?) throws(IAMClientError) -> ResolvedCredentialSource {
        // An explicit profile or file means the caller wants exactly that one, not the environment's key.
        if profile == nil && file == nil, let id = environment["IAM_ACCESS_KEY_ID"],
            let secret = environment["IAM_SECRET_ACCESS_KEY"], !id.isEmpty
        {
            let token = environment["IAM_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return .key(
                IAMCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token),
                origin: "environment (IAM_ACCESS_KEY_ID)")
        }
        let profileName = profile ?? environment["IAM_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        let explicitPath = file ?? environment["IAM_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicitPath ?? homeDirectory + "/.iam/credentials"
        if let bytes = try read(path, required: explicitPath != nil || profile != nil) {
            return try parse(bytes, path: path, profile: profileName)
        }
        let fallback = currentDirectory + "/data/root-credentials.json"
        if let bytes = try read(fallback, required: false) {
            return try parse(bytes, path: fallback, profile: profileName)
        }
        throw .credentials(
            "no credentials: set IAM_ACCESS_KEY_ID and IAM_SECRET_ACCESS_KEY, or write a profile to \(path) "
                + "(IAM_CREDENTIALS_FILE), or run where data/root-credentials.json is")
    }

    private func read(_ path: String, required: Bool) throws(IAMClientError) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            if required { throw .credentials("cannot read the credentials file \(path)") }
            return nil
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: Self.maximumFileSize + 1)) ?? Data()
        guard data.count <= Self.maximumFileSize else {
            throw .credentials("the credentials file \(path) is larger than 1 MiB")
        }
        return Array(data)
    }

    private func parse(_ bytes: [UInt8], path: String, profile: String) throws(IAMClientError)
        -> ResolvedCredentialSource
    {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .credentials("the credentials file \(path) is not UTF-8 text")
        }
        if text.first(where: { !$0.isWhitespace }) == "{" {
            struct File: Decodable {
                var accessKeyId: String
                var secretAccessKey: String
                var sessionToken: String?
            }
            guard let file = try? JSONDecoder().decode(File.self, from: Data(bytes)) else {
                throw .credentials("\(path): expected a JSON object with accessKeyId and secretAccessKey")
            }
            return .key(
                IAMCredentials(
                    accessKeyID: file.accessKeyId, secretAccessKey: file.secretAccessKey,
                    sessionToken: file.sessionToken),
                origin: path)
        }
        let profiles = INIFile.parse(text)
        return try profileSource(profile, in: profiles, path: path, seen: [])
    }

    private func profileSource(_ name: String, in profiles: [String: [String: String]], path: String, seen: Set<String>)
        throws(IAMClientError) -> ResolvedCredentialSource
    {
        guard let values = profiles[name] ?? profiles["profile " + name] else {
            throw .credentials("\(path) has no profile [\(name)]")
        }
        if let role = values["role_arn"] {
            guard let sourceName = values["source_profile"] else {
                throw .credentials("\(path) [\(name)]: role_arn needs source_profile")
            }
            guard !seen.contains(sourceName), sourceName != name else {
                throw .credentials("\(path) [\(name)]: source_profile \(sourceName) loops")
            }
            guard
                case .key(let key, _) = try profileSource(
                    sourceName, in: profiles, path: path, seen: seen.union([name]))
            else { throw .credentials("\(path) [\(name)]: source_profile \(sourceName) must hold a key") }
            let duration = values["duration_seconds"].flatMap { Int32($0) }
            return .assumeRole(
                roleARN: role, sessionName: values["role_session_name"] ?? "iam-client", durationSeconds: duration,
                source: key)
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw .credentials("\(path) [\(name)] needs aws_access_key_id and aws_secret_access_key")
        }
        return .key(
            IAMCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"]),
            origin: "\(path) [\(name)]")
    }
}

/// The INI dialect of AWS's credentials files: `[section]` headers, `key = value` lines, `#` and `;` comments.
enum INIFile {
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section, default: [:]][key] = value
        }
        return sections
    }
}

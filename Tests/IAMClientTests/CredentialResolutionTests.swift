import Foundation
import Testing

import IAMWire

@testable import IAMClient

/// The credential chain's order and the credentials file formats, read from a temporary home and folder.
@Suite("credential resolution")
struct CredentialResolutionTests {
    let home: URL
    let work: URL

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("iam-client-\(UUID().uuidString)")
        home = base.appendingPathComponent("home")
        work = base.appendingPathComponent("work")
        try FileManager.default.createDirectory(
            at: home.appendingPathComponent(".iam"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: work.appendingPathComponent("data"), withIntermediateDirectories: true)
    }

    static let ini = """
        # comment
        [default]
        aws_access_key_id = AKIAFROMPROFILE00001
        aws_secret_access_key = profile-secret

        [ci]
        aws_access_key_id=AKIAFROMCIPROFILE001
        aws_secret_access_key=ci-secret
        aws_session_token = token-1

        [profile deploy]
        role_arn = arn:aws:iam::123456789012:role/deployer
        source_profile = ci
        role_session_name = release
        duration_seconds = 1200

        [loop]
        role_arn = arn:aws:iam::123456789012:role/x
        source_profile = loop
        """

    func write(_ text: String, to url: URL) throws { try Data(text.utf8).write(to: url) }

    func resolve(
        _ provider: IAMCredentialProvider = .default, environment: [String: String] = [:]
    ) throws(IAMClientError) -> ResolvedCredentialSource {
        try CredentialResolver(environment: environment, homeDirectory: home.path, currentDirectory: work.path)
            .resolve(provider.kind)
    }

    func keyID(_ source: ResolvedCredentialSource) -> String? {
        if case .key(let key, _) = source { return key.accessKeyID }
        return nil
    }

    @Test("explicit, then environment, then the profile file, then data/root-credentials.json")
    func order() throws {
        try write(Self.ini, to: home.appendingPathComponent(".iam/credentials"))
        try write(
            #"{"accessKeyId":"AKIAROOTFILE00000001","secretAccessKey":"root-secret"}"#,
            to: work.appendingPathComponent("data/root-credentials.json"))
        let environment = ["IAM_ACCESS_KEY_ID": "AKIAFROMENV000000001", "IAM_SECRET_ACCESS_KEY": "env-secret"]

        let explicit = IAMCredentials(accessKeyID: "AKIAEXPLICIT00000001", secretAccessKey: "s")
        #expect(try keyID(resolve(.fixed(explicit), environment: environment)) == "AKIAEXPLICIT00000001")
        #expect(try keyID(resolve(environment: environment)) == "AKIAFROMENV000000001")
        #expect(try keyID(resolve()) == "AKIAFROMPROFILE00001")
        #expect(try keyID(resolve(environment: ["IAM_PROFILE": "ci"])) == "AKIAFROMCIPROFILE001")
        // A profile named explicitly wins over the environment's key.
        #expect(try keyID(resolve(.profile("ci"), environment: environment)) == "AKIAFROMCIPROFILE001")

        try FileManager.default.removeItem(at: home.appendingPathComponent(".iam/credentials"))
        #expect(try keyID(resolve()) == "AKIAROOTFILE00000001")
        try FileManager.default.removeItem(at: work.appendingPathComponent("data/root-credentials.json"))
        let error = #expect(throws: IAMClientError.self) { try resolve() }
        #expect(error?.status == .unauthenticated)
        #expect(error?.message.contains("IAM_ACCESS_KEY_ID") == true)
    }

    @Test("the session token comes from the environment and from the profile")
    func sessionToken() throws {
        let fromEnvironment = try resolve(environment: [
            "IAM_ACCESS_KEY_ID": "ASIAEXAMPLE", "IAM_SECRET_ACCESS_KEY": "s", "IAM_SESSION_TOKEN": "tok",
        ])
        guard case .key(let key, _) = fromEnvironment else {
            Issue.record("expected a key")
            return
        }
        #expect(key.sessionToken == "tok")
        let file = work.appendingPathComponent("creds.ini")
        try write(Self.ini, to: file)
        guard case .key(let ci, _) = try resolve(.profile("ci", file: file.path)) else {
            Issue.record("expected a key")
            return
        }
        #expect(ci.sessionToken == "token-1")
    }

    @Test("IAM_CREDENTIALS_FILE may be today's JSON root-credentials file")
    func jsonFile() throws {
        let file = work.appendingPathComponent("root.json")
        try write(#"{"accessKeyId":"AKIAJSON000000000001","secretAccessKey":"json-secret"}"#, to: file)
        #expect(try keyID(resolve(environment: ["IAM_CREDENTIALS_FILE": file.path])) == "AKIAJSON000000000001")
    }

    @Test("a profile with role_arn and source_profile assumes the role with the source's key")
    func roleProfile() throws {
        try write(Self.ini, to: home.appendingPathComponent(".iam/credentials"))
        let source = try resolve(.profile("deploy"))
        #expect(
            source
                == .assumeRole(
                    roleARN: "arn:aws:iam::123456789012:role/deployer", sessionName: "release", durationSeconds: 1200,
                    source: IAMCredentials(
                        accessKeyID: "AKIAFROMCIPROFILE001", secretAccessKey: "ci-secret", sessionToken: "token-1")))
        let loop = #expect(throws: IAMClientError.self) { try resolve(.profile("loop")) }
        #expect(loop?.message.contains("loops") == true)
    }

    @Test(
        "bad credentials files are refused with a message naming the file",
        arguments: [
            ("[default]\naws_access_key_id = AKIA\n", "needs aws_access_key_id and aws_secret_access_key"),
            ("[other]\naws_access_key_id = a\naws_secret_access_key = b\n", "has no profile [default]"),
            (#"{"accessKeyId": 1}"#, "expected a JSON object"),
        ])
    func badFiles(text: String, message: String) throws {
        let file = work.appendingPathComponent("bad")
        try write(text, to: file)
        let error = #expect(throws: IAMClientError.self) { try resolve(.profile(nil, file: file.path)) }
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
        #expect(error?.message.contains(file.path) == true)
    }

    @Test("a named credentials file that does not exist is an error, not a fall-through")
    func missingNamedFile() {
        let error = #expect(throws: IAMClientError.self) {
            try resolve(environment: ["IAM_CREDENTIALS_FILE": "/nonexistent/credentials"])
        }
        #expect(error?.message.contains("/nonexistent/credentials") == true)
    }

    @Test("backoff grows exponentially up to its cap, with jitter in the upper half")
    func backoff() {
        let policy = IAMRetryPolicy(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1), multiplier: 2)
        #expect(policy.backoff(after: 1, unit: 0) == .milliseconds(50))
        #expect(policy.backoff(after: 1, unit: 1) == .milliseconds(100))
        #expect(policy.backoff(after: 3, unit: 1) == .milliseconds(400))
        #expect(policy.backoff(after: 10, unit: 1) == .seconds(1))
        #expect(policy.backoff(after: 10, unit: 0) == .milliseconds(500))
        #expect(IAMRetryPolicy.isRetryable(.unavailable, idempotent: true))
        #expect(!IAMRetryPolicy.isRetryable(.unavailable, idempotent: false))
        #expect(!IAMRetryPolicy.isRetryable(.notFound, idempotent: true))
        #expect(IAMClient.isIdempotent(IAMMethods.IAM.getUser))
        #expect(IAMClient.isIdempotent(IAMMethods.Authorization.authorize))
        #expect(!IAMClient.isIdempotent(IAMMethods.IAM.createUser))
        #expect(!IAMClient.isIdempotent(IAMMethods.STS.assumeRole))
    }
}

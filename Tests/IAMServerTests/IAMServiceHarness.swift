import Foundation
import IAMDomain
import IAMRPC
import IAMStoreSQLite
import IAMWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import IAMServer

/// The stores every service suite runs against: the in-memory one and a real SQLite file in a temp folder.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { self.rawValue }
}

/// An ``IAMService`` over a fresh store, with the commits it reported and contexts for chosen callers.
final class ServiceHarness: Sendable {
    static let account = try! AccountID("123456789012")
    /// A key the store does not hold: the account root's, as iamd keeps it outside the store.
    static let rootKey = "AKIAROOTROOTROOTROOT"

    let service: IAMService
    let store: any Store
    let commits = CommitLog()
    private let folder: URL?

    init(_ backend: Backend) throws {
        switch backend {
        case .memory:
            self.store = InMemoryStore()
            self.folder = nil
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "iam-service-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            self.store = try SQLiteStore(path: folder.appendingPathComponent("iam.sqlite").path)
            self.folder = folder
        }
        let commits = self.commits
        // A cheap verifier: PBKDF2 at 4096 rounds per key adds nothing to what these tests pin.
        self.service = IAMService(
            directory: IAMDirectory(store: self.store, account: Self.account),
            onCommit: { commit in commits.append(commit) },
            deriveVerifier: { _ in SCRAMVerifier(salt: [1], iterations: 4096, storedKey: [2], serverKey: [3]) })
    }

    deinit {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    /// A call context for rpc `method`, made with access key `key` (the root key by default).
    func context(_ method: String = "Test", key: String = ServiceHarness.rootKey) -> ServerCallContext {
        ServerCallContext(
            eventLoop: MultiThreadedEventLoopGroup.singleton.any(),
            method: MethodDescriptor(service: "iam.v1.IAM", method: method), requestID: UUID().uuidString,
            metadata: Metadata(), deadline: nil, accessKeyID: key)
    }

    var root: ServerCallContext { self.context() }
}

/// What ``IAMService/onCommit`` reported, in order.
final class CommitLog: Sendable {
    private let commits = Mutex<[IAMCommit]>([])

    func append(_ commit: IAMCommit) { self.commits.withLock { $0.append(commit) } }

    /// The latest commit.
    var last: IAMCommit? { self.commits.withLock { $0.last } }
}

/// Expects `body` to fail with the IAM error `code` (and its wire status), its message containing `text`.
func expectIAMError<T>(
    _ code: IAMError.Code, _ text: String = "", sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as IAMError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(text.isEmpty || error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        let wire = error.rpcError
        #expect(wire.iamErrorCode == code.awsCode, sourceLocation: sourceLocation)
        #expect(wire.code.rawValue == code.status.rawValue, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected IAMError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Documents the suites share.
enum Docs {
    static func allow(_ action: String, _ resource: String = "*", sid: String = "S") -> String {
        #"{"Version":"2012-10-17","Statement":[{"Sid":"\#(sid)","Effect":"Allow","Action":"\#(action)","Resource":"\#(resource)"}]}"#
    }

    static let apiGateway = """
        {"Version":"2012-10-17","Statement":[\
        {"Effect":"Allow","Action":["apigateway:GET","apigateway:POST"],\
        "Resource":"arn:aws:apigateway:us-east-1::/restapis/*"},\
        {"Effect":"Allow","Action":"execute-api:Invoke",\
        "Resource":"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets"}]}
        """

    static let apiGatewayTrust =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#

    static func trust(aws principal: String) -> String {
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\#(principal)"},"Action":"sts:AssumeRole"}]}"#
    }

    static let pushToCloudWatch = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    static let administrator = "arn:aws:iam::aws:policy/AdministratorAccess"
}

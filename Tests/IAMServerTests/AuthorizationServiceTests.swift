import Foundation
import IAMRPC
import IAMWire
import Testing

@testable import IAMServer

/// SimulateCustomPolicy and GetContextKeysForCustomPolicy as the service computes them (the wire and the
/// binaries around them are covered by EndToEndTests).
@Suite("Authorization service: custom-policy simulation")
struct AuthorizationServiceTests {
    let service = AuthorizationService(accountID: "123456789012")

    static let readPhotos =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::photos/*"}]}"#
    static let denyAll =
        #"{"Version":"2012-10-17","Statement":[{"Sid":"Off","Effect":"Deny","Action":"*","Resource":"*"}]}"#
    static let onlyList =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*"}]}"#

    func request(_ policies: [String], actions: [String], resources: [String] = []) -> SimulateCustomPolicyRequest {
        var request = SimulateCustomPolicyRequest()
        request.policyInputList = policies
        request.actionNames = actions
        request.resourceARNs = resources
        return request
    }

    func expectError(
        _ request: SimulateCustomPolicyRequest,
        code: StatusCode,
        iam: String?,
        containing text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: RPCError.self, sourceLocation: sourceLocation) { try service.simulate(request) }
        #expect(error?.code == code, sourceLocation: sourceLocation)
        #expect(error?.iamErrorCode == iam, sourceLocation: sourceLocation)
        #expect(error?.message.contains(text) == true, "\(error?.message ?? "")", sourceLocation: sourceLocation)
    }

    @Test("one result per action x resource, with AWS's policy ids")
    func decisions() throws {
        var req = request(
            [Self.readPhotos],
            actions: ["s3:GetObject", "s3:PutObject"],
            resources: ["arn:aws:s3:::photos/a", "arn:aws:s3:::other/b"]
        )
        let response = try service.simulate(req)
        #expect(
            response.evaluationResults.map(\.evalDecision) == [.allowed, .implicitDeny, .implicitDeny, .implicitDeny])
        #expect(response.evaluationResults[0].matchedStatements.map(\.sourcePolicyID) == ["PolicyInputList.1"])
        #expect(response.evaluationResults[0].matchedStatements.first?.sid == "Read")
        #expect(response.evaluationResults[0].matchedStatements.first?.sourcePolicyType == .input)
        // The statement's braces in its text (the policy is on one line).
        #expect(response.evaluationResults[0].matchedStatements.first?.startPosition == Position(line: 1, column: 38))
        #expect(response.evaluationResults[0].matchedStatements.first?.endPosition == Position(line: 1, column: 122))

        // A boundary never grants; a second identity policy's Deny wins.
        req.permissionsBoundaryPolicyInputList = [Self.onlyList]
        #expect(try service.simulate(req).evaluationResults[0].evalDecision == .implicitDeny)
        req.permissionsBoundaryPolicyInputList = []
        req.policyInputList.append(Self.denyAll)
        let denied = try service.simulate(req).evaluationResults[0]
        #expect(denied.evalDecision == .explicitDeny)
        #expect(denied.matchedStatements.map(\.sourcePolicyID) == ["PolicyInputList.2"])
    }

    @Test("a permissions boundary's part is reported as AWS's PermissionsBoundaryDecisionDetail")
    func boundaryDecisionDetail() throws {
        var req = request([Self.readPhotos], actions: ["s3:GetObject", "s3:ListBucket"])
        // No boundary: no detail.
        #expect(try service.simulate(req).evaluationResults.allSatisfy { $0.permissionsBoundaryDecisionDetail == nil })

        // The boundary allows List only: GetObject is allowed by the identity policy but not by the boundary,
        // ListBucket by the boundary but not by the identity policy.
        req.permissionsBoundaryPolicyInputList = [Self.onlyList]
        let bounded = try service.simulate(req).evaluationResults
        #expect(bounded.map(\.evalDecision) == [.implicitDeny, .implicitDeny])
        #expect(
            bounded.map { $0.permissionsBoundaryDecisionDetail?.allowedByPermissionsBoundary } == [false, true])

        // A boundary whose Deny matches does not allow, even beside its own Allow.
        let allowThenDeny =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#
        req.permissionsBoundaryPolicyInputList = [allowThenDeny]
        let denied = try service.simulate(req).evaluationResults
        #expect(denied.map(\.evalDecision) == [.explicitDeny, .implicitDeny])
        #expect(
            denied.map { $0.permissionsBoundaryDecisionDetail?.allowedByPermissionsBoundary } == [false, true])
    }

    @Test("no resource means \"*\"; pages follow marker and max_items")
    func paging() throws {
        var req = request([Self.onlyList], actions: ["s3:ListBucket", "s3:ListAllMyBuckets", "s3:GetObject"])
        req.maxItems = 2
        let first = try service.simulate(req)
        #expect(first.evaluationResults.map(\.evalResourceName) == ["*", "*"])
        #expect(first.isTruncated && first.marker == "2")
        req.marker = first.marker
        let second = try service.simulate(req)
        #expect(second.evaluationResults.map(\.evalActionName) == ["s3:GetObject"])
        #expect(!second.isTruncated && second.marker.isEmpty)
    }

    @Test("invalid input is refused with InvalidInput or the engine's code")
    func invalidInput() {
        expectError(
            request([], actions: ["s3:GetObject"]), code: .invalidArgument, iam: "InvalidInput",
            containing: "PolicyInputList")
        expectError(
            request([Self.readPhotos], actions: []), code: .invalidArgument, iam: "InvalidInput",
            containing: "ActionNames")
        expectError(
            request([Self.readPhotos], actions: ["s3:GetObject"], resources: [String(repeating: "a", count: 2049)]),
            code: .invalidArgument, iam: "InvalidInput", containing: "2048"
        )
        expectError(
            request([Self.readPhotos], actions: [String(repeating: "s", count: 129)]),
            code: .invalidArgument, iam: "InvalidInput", containing: "3 to 128"
        )
        for pattern in ["s3:Get*", "s3:GetObjec?", "s3:*"] {
            expectError(
                request([Self.readPhotos], actions: [pattern]), code: .invalidArgument, iam: "InvalidInput",
                containing: "may not contain wildcards")
        }
        expectError(
            request(
                [Self.readPhotos], actions: (0..<40).map { "s3:A\($0)" },
                resources: (0..<26).map { "arn:aws:s3:::b/\($0)" }),
            code: .invalidArgument, iam: "InvalidInput", containing: "1000"
        )
        expectError(
            request(
                [
                    #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"a:b":"c"}}}}"#
                ], actions: ["s3:GetObject"]),
            code: .invalidArgument, iam: "MalformedPolicyDocument", containing: "PolicyInputList.1: Statement"
        )
        var withResourcePolicy = request([Self.readPhotos], actions: ["s3:GetObject"])
        withResourcePolicy.resourcePolicy =
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#
        expectError(withResourcePolicy, code: .invalidArgument, iam: "InvalidInput", containing: "CallerArn")
        var twoValues = request([Self.readPhotos], actions: ["s3:GetObject"])
        twoValues.contextEntries = [
            ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["1.2.3.4", "5.6.7.8"], contextKeyType: .ip)
        ]
        expectError(twoValues, code: .invalidArgument, iam: "InvalidInput", containing: "single-value type")
    }

    @Test("context entries reach the conditions; absent keys are reported missing")
    func context() throws {
        let policy =
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}}}"#
        var req = request([policy], actions: ["s3:GetObject"])
        #expect(
            try service.simulate(req).evaluationResults[0].missingContextValues.sorted() == [
                "aws:SourceIp", "aws:TagKeys",
            ])
        req.contextEntries = [
            ContextEntry(contextKeyName: "aws:SourceIp", contextKeyValues: ["10.1.2.3"], contextKeyType: .ip),
            ContextEntry(
                contextKeyName: "aws:TagKeys", contextKeyValues: ["owner", "team"], contextKeyType: .stringList),
        ]
        #expect(try service.simulate(req).evaluationResults[0].evalDecision == .allowed)
        req.contextEntries[0].contextKeyValues = ["192.168.0.1"]
        #expect(try service.simulate(req).evaluationResults[0].evalDecision == .implicitDeny)
    }

    @Test("a resource policy naming the caller grants on its own")
    func resourcePolicy() throws {
        var req = request([Self.onlyList], actions: ["s3:GetObject"], resources: ["arn:aws:s3:::photos/a"])
        req.callerARN = "arn:aws:iam::123456789012:user/alice"
        req.resourcePolicy =
            #"{"Version":"2012-10-17","Statement":{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}"#
        let result = try service.simulate(req).evaluationResults[0]
        #expect(result.evalDecision == .allowed)
        #expect(result.matchedStatements.map(\.sourcePolicyType) == [.resource])
    }

    @Test("the calls that need stored principals say so")
    func unimplemented() {
        #expect(AuthorizationService.needsStore("Authorize").code == .unimplemented)
    }
}

@Suite("File credential store")
struct FileCredentialStoreTests {
    @Test("bootstrap once: a verifier file without the secret, the secret in a 0600 file; reload finds the key")
    func bootstrap() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iam-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let (store, created) = try FileCredentialStore.bootstrap(in: dir)
        let key = try #require(created)
        #expect(store.accessKeyIDs == [key.accessKeyID])
        let verifiers = try String(contentsOf: dir.appendingPathComponent("credentials.json"), encoding: .utf8)
        #expect(!verifiers.contains(key.secretAccessKey))
        for name in ["credentials.json", "root-credentials.json"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)
            #expect(attributes[.posixPermissions] as? Int == 0o600)
        }

        let (again, createdAgain) = try FileCredentialStore.bootstrap(in: dir)
        #expect(createdAgain == nil)
        let credential = try #require(try await again.credential(forAccessKeyID: key.accessKeyID))
        let derived = SCRAMCredential.derive(
            secret: key.secretAccessKey, salt: credential.salt, iterations: credential.iterations)
        #expect(derived == credential)
        #expect(try await again.credential(forAccessKeyID: "AKIAUNKNOWNUNKNOWN00") == nil)
    }

    @Test("an Authorize action is service:Action of 3 to 128 bytes without wildcards")
    func authorizeActionShape() {
        for valid in ["s3:GetObject", "a:b", "execute-api:Invoke", "s3:" + String(repeating: "A", count: 125)] {
            #expect(AuthorizationService.actionShape(valid) == .valid, "\(valid)")
        }
        for malformed in ["", "s3", "s:", "GetObject", "s3*", "s3:" + String(repeating: "A", count: 126)] {
            #expect(AuthorizationService.actionShape(malformed) == .malformed, "\(malformed)")
        }
        for pattern in ["s3:*", "s3:Get*", "s3:GetObjec?", "*:GetObject", "?3:GetObject"] {
            #expect(AuthorizationService.actionShape(pattern) == .pattern, "\(pattern)")
        }
    }

    @Test("root-credentials.json holds the secret as it is, so copying it by hand works: no JSON `\\/` for a `/`")
    func rootSecretIsWrittenVerbatim() throws {
        // About half of all secrets contain a `/`; bootstrap until one does (each try is a fresh folder).
        for _ in 0..<60 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iam-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let (_, created) = try FileCredentialStore.bootstrap(in: dir)
            let key = try #require(created)
            guard key.secretAccessKey.contains("/") else { continue }
            let text = try String(contentsOf: dir.appendingPathComponent("root-credentials.json"), encoding: .utf8)
            #expect(text.contains(key.secretAccessKey))
            #expect(!text.contains("\\/"))
            return
        }
        Issue.record("no secret with a / in 60 bootstraps")
    }

    @Test("access keys have AWS's shapes and differ every time")
    func keyShapes() {
        let keys = (0..<50).map { _ in FileCredentialStore.makeAccessKey() }
        for key in keys {
            #expect(key.accessKeyID.count == 20 && key.accessKeyID.hasPrefix("AKIA"))
            #expect(key.accessKeyID.dropFirst(4).allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
            #expect(key.secretAccessKey.count == 40)
        }
        #expect(Set(keys.map(\.accessKeyID)).count == 50)
    }

    @Test("a malformed credential file is refused with the file's name")
    func malformed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("iam-creds-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(
            #"{"keys":[{"accessKeyId":"AKIAX","salt":"!!","iterations":4096,"storedKey":"","serverKey":""}]}"#.utf8
        )
        .write(to: file)
        let error = #expect(throws: DaemonError.self) { try FileCredentialStore(contentsOf: file) }
        #expect(error?.description.contains(file.path) == true)
    }
}

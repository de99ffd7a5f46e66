import Foundation
import IAMDomain
import IAMRPC
import IAMServer
import IAMTestSupport
import IAMTLS
import NIOCore
import NIOPosix
import Testing

@testable import IAMQueryAPI

/// `iamd --test-mode` on the front door: moto's fixed key signs as root and `POST /moto-api/reset` empties the
/// account; without the mode neither exists (the reset path is an ordinary unsigned request, refused).
@Suite("Query front door: test mode")
struct TestModeTests {
    /// The in-process front door as iamd assembles it, with or without the test mode.
    static func frontDoor(testMode: Bool) async throws -> (QueryFrontDoor, any EventLoop) {
        let sealer = SecretSealer(kek: Crypto.randomBytes(32), account: "123456789012")
        var rootIDs: Set<String> = [FrontDoorHarness.rootID]
        var sealed = [
            FrontDoorHarness.rootID: sealer.seal(
                FrontDoorHarness.rootSecret, accessKeyID: FrontDoorHarness.rootID, purpose: .root)
        ]
        if testMode {
            rootIDs.insert(TestMode.accessKeyID)
            sealed[TestMode.accessKeyID] = sealer.seal(
                TestMode.secretAccessKey, accessKeyID: TestMode.accessKeyID, purpose: .root)
        }
        let assembly = try await ServerAssembly.make(
            store: InMemoryStore(), account: try AccountID("123456789012"),
            root: InMemoryCredentialStore(secrets: [:], iterations: 4096), rootKeyIDs: rootIDs, auditLogPath: nil,
            sealer: sealer, rootSealedSecrets: sealed)
        let frontDoor = QueryFrontDoor(
            assembly: assembly, testControl: testMode ? TestModeControl(assembly: assembly) : nil)
        return (frontDoor, MultiThreadedEventLoopGroup.singleton.next())
    }

    static func send(_ request: QueryHTTPRequest, to frontDoor: QueryFrontDoor, on loop: any EventLoop) async throws
        -> Answer
    {
        let response = try await loop.flatSubmit { frontDoor.handle(request, on: loop) }.get()
        return Answer(
            status: response.status, xml: String(decoding: response.body, as: UTF8.self),
            requestID: response.headers.first { $0.name == "x-amzn-RequestId" }?.value)
    }

    static let reset = QueryHTTPRequest(
        method: "POST", uri: "/moto-api/reset", headers: [("Host", "127.0.0.1:7444")], body: ByteBuffer(), peer: nil)

    @Test("moto's key signs as root; the reset deletes every entity and the old keys stop working at once")
    func resetAndFixedKey() async throws {
        let (frontDoor, loop) = try await Self.frontDoor(testMode: true)
        let moto = TestSigner(accessKeyID: TestMode.accessKeyID, secret: TestMode.secretAccessKey)
        let who = try await Self.send(
            moto.request("Action=GetCallerIdentity&Version=2011-06-15", service: "sts"), to: frontDoor, on: loop)
        #expect(who.value("Arn") == "arn:aws:iam::123456789012:root", "\(who.xml)")
        #expect(who.value("Account") == "123456789012")
        for form in [
            "Action=CreateUser&Version=2010-05-08&UserName=alice",
            "Action=CreateGroup&Version=2010-05-08&GroupName=g",
            "Action=AddUserToGroup&Version=2010-05-08&GroupName=g&UserName=alice",
            "Action=PutUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D",
        ] {
            let answer = try await Self.send(moto.request(form), to: frontDoor, on: loop)
            #expect(answer.status == 200, "\(form): \(answer.xml)")
        }
        let key = try await Self.send(
            moto.request("Action=CreateAccessKey&Version=2010-05-08&UserName=alice"), to: frontDoor, on: loop)
        let alice = TestSigner(
            accessKeyID: try #require(key.value("AccessKeyId")), secret: try #require(key.value("SecretAccessKey")))
        let before = try await Self.send(alice.request("Action=ListUsers&Version=2010-05-08"), to: frontDoor, on: loop)
        #expect(before.status == 200, "\(before.xml)")

        let reset = try await Self.send(Self.reset, to: frontDoor, on: loop)
        #expect(reset.status == 200)
        #expect(reset.xml == #"{"status": "ok"}"#)

        let after = try await Self.send(alice.request("Action=ListUsers&Version=2010-05-08"), to: frontDoor, on: loop)
        #expect(after.status == 403)
        #expect(after.value("Code") == "InvalidClientTokenId", "a deleted user's key must stop working: \(after.xml)")
        let users = try await Self.send(moto.request("Action=ListUsers&Version=2010-05-08"), to: frontDoor, on: loop)
        #expect(users.status == 200)
        #expect(!users.xml.contains("<member>"), "\(users.xml)")
        let again = try await Self.send(
            moto.request("Action=CreateUser&Version=2010-05-08&UserName=alice"), to: frontDoor, on: loop)
        #expect(again.status == 200, "the name is free again: \(again.xml)")
        // The root key of the data folder still works: the reset empties the account, not the root.
        let root = try await Self.send(
            TestSigner(accessKeyID: FrontDoorHarness.rootID, secret: FrontDoorHarness.rootSecret).request(
                "Action=GetUser&Version=2010-05-08&UserName=alice"), to: frontDoor, on: loop)
        #expect(root.status == 200, "\(root.xml)")
    }

    @Test("without the test mode: no reset (an unsigned request, refused) and moto's key is unknown")
    func absentWithoutTheFlag() async throws {
        let (frontDoor, loop) = try await Self.frontDoor(testMode: false)
        let root = TestSigner(accessKeyID: FrontDoorHarness.rootID, secret: FrontDoorHarness.rootSecret)
        let created = try await Self.send(
            root.request("Action=CreateUser&Version=2010-05-08&UserName=alice"), to: frontDoor, on: loop)
        #expect(created.status == 200)

        let reset = try await Self.send(Self.reset, to: frontDoor, on: loop)
        #expect(reset.status == 403)
        #expect(reset.value("Code") == "MissingAuthenticationToken", "\(reset.xml)")
        let user = try await Self.send(
            root.request("Action=GetUser&Version=2010-05-08&UserName=alice"), to: frontDoor, on: loop)
        #expect(user.status == 200, "nothing was deleted: \(user.xml)")

        let moto = TestSigner(accessKeyID: TestMode.accessKeyID, secret: TestMode.secretAccessKey)
        let refused = try await Self.send(
            moto.request("Action=GetCallerIdentity&Version=2011-06-15", service: "sts"), to: frontDoor, on: loop)
        #expect(refused.status == 403)
        #expect(refused.value("Code") == "InvalidClientTokenId")
    }

    @Test(
        "loopback hosts only",
        arguments: [
            ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("LOCALHOST", true), ("::1", true),
            ("[::1]", true), ("0.0.0.0", false), ("10.0.0.1", false), ("::", false), ("127.0.0.256", false),
            ("127.0.0", false), ("127.0.0.1.example.com", false), ("", false), ("example.com", false),
        ])
    func loopback(_ host: String, _ expected: Bool) {
        #expect(TestMode.isLoopback(host) == expected, "\(host)")
    }
}

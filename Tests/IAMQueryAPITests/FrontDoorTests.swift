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

/// Signs Query requests the way botocore does (checked against botocore's vectors in SigV4Tests).
struct TestSigner {
    var accessKeyID: String
    var secret: String
    var sessionToken: String?

    func request(_ form: String, service: String = "iam", date: Date = Date(), mutateBody: Bool = false)
        -> QueryHTTPRequest
    {
        let amzDate = SigV4Verifier.formatAmzDate(date)
        var headers: [(name: String, value: String)] = [
            ("Host", "127.0.0.1:7444"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("X-Amz-Date", amzDate),
        ]
        if let token = self.sessionToken { headers.append(("X-Amz-Security-Token", token)) }
        let signedNames = headers.map { $0.name.lowercased() }.sorted()
        let hash = SigV4Verifier.hex(Crypto.sha256(Array(form.utf8)))
        let canonical = SigV4Verifier.canonicalRequest(
            SigV4Request(method: "POST", path: "/", query: "", headers: headers, payloadHash: hash),
            signedHeaders: signedNames, presigned: false)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/us-east-1/\(service)/aws4_request"
        let toSign =
            "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope)\n\(SigV4Verifier.hex(Crypto.sha256(Array(canonical.utf8))))"
        let key = SigV4Verifier.deriveSigningKey(
            secret: Array(self.secret.utf8), date: day, region: "us-east-1", service: service)
        let signature = SigV4Verifier.hex(Crypto.hmacSHA256(key: key, data: Array(toSign.utf8)))
        headers.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(self.accessKeyID)/\(scope), SignedHeaders=\(signedNames.joined(separator: ";")), Signature=\(signature)"
            ))
        let body = mutateBody ? form + "&MaxItems=5" : form
        return QueryHTTPRequest(
            method: "POST", uri: "/", headers: headers, body: ByteBuffer(string: body), peer: nil)
    }
}

struct Answer {
    var status: Int
    var xml: String
    var requestID: String?

    /// The text of the first `<tag>`.
    func value(_ tag: String) -> String? {
        guard let open = self.xml.range(of: "<\(tag)>"),
            let close = self.xml.range(of: "</\(tag)>", range: open.upperBound..<self.xml.endIndex)
        else { return nil }
        return String(self.xml[open.upperBound..<close.lowerBound])
    }
}

/// The front door over an assembled in-memory server: dispatch through the real interceptors and handlers.
struct FrontDoorHarness {
    static let rootID = "AKIAROOTROOTROOTROOT"
    static let rootSecret = "rootsecretrootsecretrootsecretrootsecret"
    let frontDoor: QueryFrontDoor
    let loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    let root = TestSigner(accessKeyID: Self.rootID, secret: Self.rootSecret)

    init() async throws {
        let sealer = SecretSealer(kek: Crypto.randomBytes(32), account: "123456789012")
        let assembly = try await ServerAssembly.make(
            store: InMemoryStore(), account: try AccountID("123456789012"),
            root: InMemoryCredentialStore(secrets: [:], iterations: 4096), rootKeyIDs: [Self.rootID],
            auditLogPath: nil, sealer: sealer,
            rootSealedSecrets: [Self.rootID: sealer.seal(Self.rootSecret, accessKeyID: Self.rootID, purpose: .root)])
        self.frontDoor = QueryFrontDoor(assembly: assembly)
    }

    func send(_ request: QueryHTTPRequest) async throws -> Answer {
        let frontDoor = self.frontDoor
        let loop = self.loop
        let response = try await loop.flatSubmit { frontDoor.handle(request, on: loop) }.get()
        return Answer(
            status: response.status, xml: String(decoding: response.body, as: UTF8.self),
            requestID: response.headers.first { $0.name == "x-amzn-RequestId" }?.value)
    }

    func call(_ form: String, as signer: TestSigner? = nil, service: String = "iam") async throws -> Answer {
        try await self.send((signer ?? self.root).request(form, service: service))
    }
}

@Suite("Query front door (in process)")
struct FrontDoorTests {
    @Test("users, access keys, the caller's identity and authorization through the same interceptor")
    func dispatch() async throws {
        let harness = try await FrontDoorHarness()
        let created = try await harness.call("Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fteam%2F")
        #expect(created.status == 200, "\(created.xml)")
        #expect(
            created.xml.hasPrefix(
                "<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User><Path>/team/</Path><UserName>alice</UserName><UserId>"
            ))
        #expect(created.value("Arn") == "arn:aws:iam::123456789012:user/team/alice")
        #expect(created.value("RequestId") == created.requestID)
        #expect(created.value("CreateDate")?.hasSuffix("Z") == true)

        let key = try await harness.call("Action=CreateAccessKey&Version=2010-05-08&UserName=alice")
        #expect(key.status == 200, "\(key.xml)")
        let alice = TestSigner(
            accessKeyID: try #require(key.value("AccessKeyId")), secret: try #require(key.value("SecretAccessKey")))
        #expect(key.value("Status") == "Active")

        // GetCallerIdentity needs no permission; alice has no policy, so GetUser is refused by the authorizer.
        let identity = try await harness.call("Action=GetCallerIdentity&Version=2011-06-15", as: alice, service: "sts")
        #expect(identity.status == 200, "\(identity.xml)")
        #expect(identity.value("Arn") == "arn:aws:iam::123456789012:user/team/alice")
        #expect(identity.xml.contains("xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""))
        let refused = try await harness.call("Action=GetUser&Version=2010-05-08", as: alice)
        #expect(refused.status == 403)
        #expect(refused.value("Code") == "AccessDenied")
        #expect(refused.value("Type") == "Sender")
        #expect(
            refused.value("Message")?.hasPrefix(
                "User: arn:aws:iam::123456789012:user/team/alice is not authorized to perform: iam:GetUser") == true)

        // A policy with `+` comes back URL-encoded with %2B; the caller default (no UserName) is the service's.
        let policy =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:username":"a+b"}}}]}"#
        let encoded = policy.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let put = try await harness.call(
            "Action=PutUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=p&PolicyDocument=\(encoded)")
        #expect(put.status == 200, "\(put.xml)")
        let got = try await harness.call("Action=GetUserPolicy&Version=2010-05-08&UserName=alice&PolicyName=p")
        #expect(got.value("PolicyDocument") == SigV4Verifier.uriEncode(policy))
        #expect(got.value("PolicyDocument")?.contains("%2B") == true)

        let listed = try await harness.call("Action=ListUsers&Version=2010-05-08")
        #expect(listed.xml.contains("<Users><member><Path>/team/</Path><UserName>alice</UserName>"))
        #expect(listed.value("IsTruncated") == "false")
    }

    @Test("errors: modelled statuses, unknown actions, wrong scope, bad signatures")
    func errors() async throws {
        let harness = try await FrontDoorHarness()
        let missing = try await harness.call("Action=GetUser&Version=2010-05-08&UserName=nobody")
        #expect(missing.status == 404)
        #expect(missing.value("Code") == "NoSuchEntity")
        #expect(missing.xml.hasPrefix("<ErrorResponse"))
        #expect(missing.xml.contains("xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\""))
        // An STS operation's error is in STS's namespace, as its answers are.
        let badSession = try await harness.call(
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/x&RoleSessionName=a",
            service: "sts")
        #expect(badSession.status == 400)
        #expect(badSession.value("Code") == "ValidationError")
        #expect(badSession.xml.contains("xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""))
        let unknown = try await harness.call("Action=CreateSAMLProvider&Version=2010-05-08")
        #expect(unknown.status == 400)
        #expect(unknown.value("Code") == "InvalidAction")
        let wrongVersion = try await harness.call("Action=GetUser&Version=2011-06-15")
        #expect(wrongVersion.value("Code") == "InvalidAction")
        let scope = try await harness.call("Action=GetCallerIdentity&Version=2011-06-15", service: "iam")
        #expect(scope.status == 403)
        #expect(scope.value("Code") == "SignatureDoesNotMatch")
        let mutated = try await harness.send(
            harness.root.request("Action=ListUsers&Version=2010-05-08", mutateBody: true))
        #expect(mutated.status == 403)
        #expect(mutated.value("Code") == "SignatureDoesNotMatch")
        let late = try await harness.send(
            harness.root.request("Action=ListUsers&Version=2010-05-08", date: Date().addingTimeInterval(16 * 60)))
        #expect(late.value("Code") == "SignatureDoesNotMatch")
        #expect(late.value("Message")?.hasPrefix("Signature expired") == true)
        let stranger = TestSigner(accessKeyID: "AKIAUNKNOWNUNKNOWNXX", secret: "x")
        let unknownKey = try await harness.call("Action=ListUsers&Version=2010-05-08", as: stranger)
        #expect(unknownKey.status == 403)
        #expect(unknownKey.value("Code") == "InvalidClientTokenId")
        let unsigned = try await harness.send(
            QueryHTTPRequest(
                method: "POST", uri: "/", headers: [], body: ByteBuffer(string: "Action=ListUsers"), peer: nil))
        #expect(unsigned.value("Code") == "MissingAuthenticationToken")
        let invalid = try await harness.call("Action=ListUsers&Version=2010-05-08&MaxItems=ten")
        #expect(invalid.status == 400)
        #expect(invalid.value("Code") == "ValidationError")
        // Values the RPC messages cannot tell from absence are refused at the door, as AWS's model says.
        for (query, message) in [
            (
                "Action=ListUsers&Version=2010-05-08&MaxItems=0",
                "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ),
            (
                "Action=ListUsers&Version=2010-05-08&PathPrefix=",
                "1 validation error detected: Value '' at 'pathPrefix' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ),
            (
                "Action=GetUser&Version=2010-05-08&UserName=",
                "1 validation error detected: Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ),
            (
                "Action=CreateUser&Version=2010-05-08&UserName=x&Path=",
                "1 validation error detected: Value '' at 'path' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ),
        ] {
            let refused = try await harness.call(query)
            #expect(refused.status == 400, "\(query)")
            #expect(refused.value("Code") == "ValidationError", "\(query)")
            #expect(refused.value("Message") == message, "\(query)")
        }
        #expect(try await harness.call("Action=ListUsers&Version=2010-05-08&MaxItems=1").status == 200)
    }

    @Test("AssumeRole's temporary credentials sign requests; a foreign token is refused")
    func sessions() async throws {
        let harness = try await FrontDoorHarness()
        _ = try await harness.call("Action=CreateUser&Version=2010-05-08&UserName=bob")
        let key = try await harness.call("Action=CreateAccessKey&Version=2010-05-08&UserName=bob")
        let bob = TestSigner(accessKeyID: key.value("AccessKeyId")!, secret: key.value("SecretAccessKey")!)
        let allow =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#
        _ = try await harness.call(
            "Action=PutUserPolicy&Version=2010-05-08&UserName=bob&PolicyName=assume&PolicyDocument=\(allow.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
        )
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"sts:AssumeRole"}]}"#
        let role = try await harness.call(
            "Action=CreateRole&Version=2010-05-08&RoleName=deployer&AssumeRolePolicyDocument=\(trust.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
        )
        #expect(role.status == 200, "\(role.xml)")
        let assumed = try await harness.call(
            "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeployer&RoleSessionName=s1",
            as: bob, service: "sts")
        #expect(assumed.status == 200, "\(assumed.xml)")
        let token: String = try #require(assumed.value("SessionToken"))
        let session = TestSigner(
            accessKeyID: try #require(assumed.value("AccessKeyId")),
            secret: try #require(assumed.value("SecretAccessKey")),
            sessionToken: token)
        let who = try await harness.call("Action=GetCallerIdentity&Version=2011-06-15", as: session, service: "sts")
        #expect(who.status == 200, "\(who.xml)")
        #expect(who.value("Arn") == "arn:aws:sts::123456789012:assumed-role/deployer/s1")
        var foreign = session
        foreign.sessionToken = "not-the-token"
        let refused = try await harness.call("Action=GetCallerIdentity&Version=2011-06-15", as: foreign, service: "sts")
        #expect(refused.value("Code") == "InvalidClientTokenId")
        var missing = session
        missing.sessionToken = nil
        let noToken = try await harness.call("Action=GetCallerIdentity&Version=2011-06-15", as: missing, service: "sts")
        #expect(noToken.value("Code") == "InvalidClientTokenId")
    }
}

@Suite("Query form decoding")
struct QueryFormTests {
    func parse(_ text: String) throws(QueryInputError) -> [String: String] {
        var out: [String: String] = [:]
        try QueryForm.parse(Array(text.utf8), into: &out)
        return out
    }

    @Test("serialization rules: +, %XX, lists, empty lists, nested structures")
    func rules() throws {
        let form = QueryForm(
            parameters: try parse(
                "A=x+y%2Bz&L.member.2=b&L.member.1=a&E=&T.member.1.Key=k1&T.member.1.Value=v1&T.member.2.Key=k2&S.Inner=i"
            ))
        #expect(form.string("A") == "x y+z")
        #expect(try form.stringList("L") == ["a", "b"])
        #expect(try form.stringList("E") == [])
        #expect(try form.stringList("Absent") == nil)
        let tags = try form.structureList("T") { f throws(QueryInputError) in (f.string("Key"), f.string("Value")) }
        #expect(tags?.count == 2)
        #expect(tags?[1].0 == "k2" && tags?[1].1 == nil)
        #expect(try form.structure("S") { f throws(QueryInputError) in f.string("Inner") } == "i")
    }

    @Test("lists inside list members, and names that only share a prefix with a list or structure")
    func nested() throws {
        let form = QueryForm(
            parameters: try parse(
                "C.member.2.Values.member.1=z&C.member.1.Values.member.2=y&C.member.1.Values.member.1=x"
                    + "&C.member.1.Name=a&C.member.2.Name=b&CX.member.9=q&SX.Inner=i&S2=j&Cmember.1=r"))
        let entries = try form.structureList("C") { f throws(QueryInputError) in
            (f.string("Name"), try f.stringList("Values"))
        }
        #expect(entries?.map(\.0) == ["a", "b"])
        #expect(entries?.map(\.1) == [["x", "y"], ["z"]])
        #expect(try form.structure("S") { f throws(QueryInputError) in f.string("Inner") } == nil)
        #expect(try form.stringList("CX") == ["q"])
        #expect(try form.stringList("Cmember") == nil)
        #expect(throws: QueryInputError.self) {
            _ = try QueryForm(parameters: try parse("L.member.1=a&L.member.1x=b")).stringList("L")
        }
    }

    @Test(
        "bad input is refused with a clear error",
        arguments: ["A=%zz", "A=%4", "A=%FF%FE", "A=1&A=2", "L.member.0=x", "L.member.99999=x", "L.member.x=y"])
    func bad(_ text: String) {
        #expect(throws: QueryInputError.self) {
            var out: [String: String] = [:]
            try QueryForm.parse(Array(text.utf8), into: &out)
            _ = try QueryForm(parameters: out).stringList("L")
        }
    }

    @Test("deep nesting and long names are bounded")
    func bounds() {
        let deep = String(repeating: "A.member.1.", count: 40) + "B=x"
        #expect(throws: QueryInputError.self) {
            var out: [String: String] = [:]
            try QueryForm.parse(Array(deep.utf8), into: &out)
        }
    }

    @Test("AES-256-GCM sealing binds account, key id and purpose")
    func sealing() {
        let sealer = SecretSealer(kek: Crypto.randomBytes(32), account: "123456789012")
        let sealed = sealer.seal("secret", accessKeyID: "AKIAA", purpose: .accessKey)
        #expect(sealer.unseal(sealed, accessKeyID: "AKIAA", purpose: .accessKey) == Array("secret".utf8))
        #expect(sealer.unseal(sealed, accessKeyID: "AKIAB", purpose: .accessKey) == nil)
        #expect(sealer.unseal(sealed, accessKeyID: "AKIAA", purpose: .session) == nil)
        #expect(
            SecretSealer(kek: Crypto.randomBytes(32), account: "123456789012").unseal(
                sealed, accessKeyID: "AKIAA", purpose: .accessKey) == nil)
        #expect(
            SecretSealer(kek: Array(repeating: 1, count: 32), account: "999999999999").unseal(
                sealed, accessKeyID: "AKIAA", purpose: .accessKey) == nil)
        var flipped = sealed
        flipped[flipped.count / 2] ^= 1
        #expect(sealer.unseal(flipped, accessKeyID: "AKIAA", purpose: .accessKey) == nil)
    }
}

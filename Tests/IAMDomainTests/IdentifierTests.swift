import Foundation
import IAMDomain
import Testing

@Suite struct IdentifierTests {
    @Test func userARNRoundTripsWithPath() throws {
        let arn = try ARN(parsing: "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/JaneDoe")
        #expect(arn.partition == "aws")
        #expect(arn.service == "iam")
        #expect(arn.region == "")
        #expect(arn.account == "123456789012")
        let entity = try #require(arn.iamEntity)
        #expect(entity.type == .user)
        #expect(entity.path.rawValue == "/division_abc/subdivision_xyz/")
        #expect(entity.name.rawValue == "JaneDoe")
        let account = try AccountID("123456789012")
        #expect(ARN.user(account: account, path: entity.path, name: entity.name) == arn)
        #expect(arn.description == "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/JaneDoe")
    }

    @Test func rootPathHasNoSlashInARN() throws {
        let account = try AccountID("123456789012")
        let arn = ARN.role(account: account, name: try EntityName("Admin", kind: .role))
        #expect(arn.description == "arn:aws:iam::123456789012:role/Admin")
        #expect(arn.iamEntity?.path == .root)
        #expect(ARN.root(account: account).isRoot)
        #expect(!arn.isRoot)
    }

    @Test func awsManagedPolicyAndAssumedRole() throws {
        let policy = try ARN(parsing: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        #expect(policy.isAWSManagedPolicy)
        #expect(policy.iamEntity?.path.rawValue == "/service-role/")
        let session = try ARN(parsing: "arn:aws:sts::123456789012:assumed-role/deployer/ci-run")
        #expect(session.assumedRole?.roleName.rawValue == "deployer")
        #expect(session.assumedRole?.sessionName.rawValue == "ci-run")
        #expect(session.iamEntity == nil)
        let made = ARN.assumedRole(
            account: try AccountID("123456789012"), roleName: try EntityName("deployer", kind: .role),
            sessionName: try EntityName("ci-run", kind: .roleSession))
        #expect(made == session)
    }

    @Test(arguments: [
        "", "arn", "arn:aws:iam", "arn:aws:iam::123", "arn::iam::123456789012:user/a", "arn:aws::::x",
        "arn:aws:iam::123456789012:", "ARN:aws:iam::123456789012:user/a", "arn:aws:i am::123456789012:user/a",
    ])
    func malformedARNsAreInvalidInput(text: String) {
        #expect(throws: IAMError.self) { try ARN(parsing: text) }
        do {
            _ = try ARN(parsing: text)
        } catch {
            #expect(error.code == .invalidInput)
        }
    }

    @Test func overlongARNIsValidationError() {
        let text = "arn:aws:iam::123456789012:user/" + String(repeating: "a", count: 2048)
        #expect(throws: IAMError.self) { try ARN(parsing: text) }
        do { _ = try ARN(parsing: text) } catch { #expect(error.code == .validationError) }
    }

    @Test func parseIAMChecksTheType() throws {
        let (_, entity) = try ARN.parseIAM("arn:aws:iam::123456789012:group/admins", type: .group)
        #expect(entity.name.rawValue == "admins")
        #expect(throws: IAMError.self) { try ARN.parseIAM("arn:aws:iam::123456789012:group/admins", type: .user) }
        #expect(throws: IAMError.self) { try ARN.parseIAM("arn:aws:s3:::bucket/admins", type: .user) }
        #expect(throws: IAMError.self) { try ARN.parseIAM("arn:aws:iam::123456789012:user/bad name", type: .user) }
    }

    @Test func entityNamesFollowAWSRules() throws {
        #expect(try EntityName("alice+ops=x,y.z@example-1_", kind: .user).rawValue == "alice+ops=x,y.z@example-1_")
        #expect(try EntityName(String(repeating: "u", count: 64), kind: .user).rawValue.count == 64)
        #expect(try EntityName(String(repeating: "g", count: 128), kind: .group).rawValue.count == 128)
        #expect(try EntityName(String(repeating: "p", count: 128), kind: .policy).rawValue.count == 128)
        for (text, kind) in [
            (String(repeating: "u", count: 65), EntityKind.user), (String(repeating: "r", count: 65), .role),
            (String(repeating: "g", count: 129), .group), ("", .user), ("bad name", .user), ("a/b", .group),
            ("é", .user), ("x", .roleSession), ("a*", .policy),
        ] {
            #expect(throws: IAMError.self, "\(text) as \(kind)") { try EntityName(text, kind: kind) }
        }
    }

    @Test func validationErrorsUseAWSWording() {
        do {
            _ = try EntityName("bad name", kind: .user)
            Issue.record("accepted")
        } catch {
            #expect(error.code == .validationError)
            #expect(
                error.message
                    == "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: "
                    + "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
        }
        do {
            _ = try EntityName(String(repeating: "a", count: 65), kind: .role)
            Issue.record("accepted")
        } catch {
            #expect(
                error.message.hasSuffix(
                    "at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"))
        }
    }

    @Test func foldingIsASCIILowercase() throws {
        #expect(try EntityName("ADMINS", kind: .group).folded == "admins")
        #expect(try EntityName("Alice@Example.COM", kind: .user).folded == "alice@example.com")
        #expect(try EntityName("ADMINS", kind: .group) != EntityName("admins", kind: .group))
    }

    @Test func paths() throws {
        #expect(try IAMPath("/").rawValue == "/")
        #expect(try IAMPath("/division/sub-division/").arnComponent == "division/sub-division/")
        #expect(try IAMPath("/a*b/").rawValue == "/a*b/")
        // `/` is a character the pattern allows between the outer slashes: `///` fits it, `//` does not.
        #expect(try IAMPath("///").rawValue == "///")
        for bad in ["", "a/", "/a", "//", "/a b/", "/é/", "/" + String(repeating: "a", count: 511) + "/"] {
            #expect(throws: IAMError.self, "\(bad)") { try IAMPath(bad) }
        }
        #expect(try IAMPath("/service-role/", forPolicy: true).rawValue == "/service-role/")
        for bad in ["/a*b/", "//", "/a//b/", "/a b/"] {
            #expect(throws: IAMError.self, "\(bad)") { try IAMPath(bad, forPolicy: true) }
        }
        let prefix = try PathPrefix("/div")
        #expect(try IAMPath("/division/").hasPrefix(prefix))
        #expect(try !IAMPath("/Division/").hasPrefix(prefix))
        #expect(throws: IAMError.self) { try PathPrefix("div") }
    }

    @Test func accountIDs() throws {
        #expect(try AccountID("123456789012").rawValue == "123456789012")
        for bad in ["12345678901", "1234567890123", "12345678901a", "aws", ""] {
            #expect(throws: IAMError.self) { try AccountID(bad) }
        }
    }

    @Test func uniqueIDsHaveAWSPrefixesAndShape() throws {
        for prefix in UniqueID.Prefix.allCases {
            let id = UniqueID.generate(prefix)
            #expect(id.rawValue.count == 21)
            #expect(id.rawValue.hasPrefix(prefix.rawValue))
            #expect(id.prefix == prefix)
            #expect(id.rawValue.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 50 && $0 <= 55) })
            #expect(try UniqueID(id.rawValue) == id)
        }
        let many = Set((0..<1000).map { _ in UniqueID.generate(.user) })
        #expect(many.count == 1000)
        #expect(throws: IAMError.self) { try UniqueID("AIDA") }
        #expect(throws: IAMError.self) { try UniqueID("AIDA-not-a-word-id") }
    }

    @Test func accessKeyIDs() throws {
        let key = AccessKeyID.generate()
        #expect(key.rawValue.count == 20)
        #expect(key.rawValue.hasPrefix("AKIA"))
        #expect(!key.isTemporary)
        let temporary = AccessKeyID.generate(temporary: true)
        #expect(temporary.rawValue.hasPrefix("ASIA"))
        #expect(temporary.isTemporary)
        #expect(try AccessKeyID(key.rawValue) == key)
        #expect(throws: IAMError.self) { try AccessKeyID("AKIASHORT") }
        #expect(throws: IAMError.self) { try AccessKeyID("AKIA-0123456789ABCDEF") }
        let secret = SecretAccessKey.generate()
        #expect(secret.count == 40)
        #expect(secret != SecretAccessKey.generate())
    }

    @Test func identifiersEncodeAsStringsAndValidateOnDecode() throws {
        let name = try EntityName("alice", kind: .user)
        let data = try JSONEncoder().encode([name])
        #expect(String(decoding: data, as: UTF8.self) == "[\"alice\"]")
        #expect(try JSONDecoder().decode([EntityName].self, from: data) == [name])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([EntityName].self, from: Data("[\"bad name\"]".utf8))
        }
        let arn = try ARN(parsing: "arn:aws:iam::123456789012:user/alice")
        #expect(try JSONDecoder().decode([ARN].self, from: JSONEncoder().encode([arn])) == [arn])
    }
}

import Foundation
import IAMDomain
import IAMRPC
import IAMTestSupport
import IAMWire
import NIOCore
import Testing

@testable import IAMServer

/// Dispatch and authorization through the assembled services and interceptors, in process, over an
/// in-memory store: the same method table and Authorizer iamd runs, without sockets.
@Suite struct InProcessAuthorizationTests {
    static let account = try! AccountID("123456789012")
    static let rootKey = "AKIAROOTROOTROOTROOT"

    struct Root: CredentialStore {
        func credential(forAccessKeyID accessKeyID: String) async throws -> SCRAMCredential? { nil }
        func immediateCredential(forAccessKeyID accessKeyID: String) -> ImmediateCredentialLookup { .notFound }
    }

    static func server(_ store: InMemoryStore) async throws -> (InProcessServer, ServerAssembly) {
        let assembly = try await ServerAssembly.make(
            store: store, account: account, root: Root(), rootKeyIDs: [rootKey], auditLogPath: nil)
        return (InProcessServer(services: assembly.services, interceptors: assembly.interceptors), assembly)
    }

    static func userWithKey(_ name: String, policy: String?, in store: InMemoryStore) async throws -> String {
        let directory = IAMDirectory(store: store, account: account)
        _ = try await directory.createUser(name: EntityName(name, kind: .user))
        if let policy {
            let created = try await directory.createPolicy(
                name: EntityName("\(name)-policy", kind: .policy), document: policy)
            _ = try await directory.attachPolicy(created.value.arn, to: .user, named: EntityName(name, kind: .user))
        }
        let id = AccessKeyID.generate()
        let credential = SCRAMCredential.derive(secret: "s-\(name)")
        _ = try await directory.createAccessKey(
            userName: EntityName(name, kind: .user), id: id,
            verifier: SCRAMVerifier(
                salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                serverKey: credential.serverKey))
        return id.rawValue
    }

    static let mayAuthorize =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Authorize","Resource":"*"}]}"#

    /// A caller's context entry with one value.
    static func entry(_ key: String, _ value: String, _ type: ContextKeyType) -> ContextEntry {
        ContextEntry(contextKeyName: key, contextKeyValues: [value], contextKeyType: type)
    }

    /// A backend's caller in the office network, in us-east-1.
    static let office = [entry("aws:SourceIp", "203.0.113.7", .ip), entry("aws:RequestedRegion", "us-east-1", .string)]

    static func check(_ principal: String) -> AuthorizeRequest {
        var request = AuthorizeRequest()
        request.principalARN = principal
        request.action = "s3:GetObject"
        request.resource = "arn:aws:s3:::photos/cat.jpg"
        return request
    }

    @Test func keysAreCheckedAtEveryCallAndActionsAuthorized() async throws {
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        let nobody = try await Self.userWithKey("nobody", policy: nil, in: store)
        let (server, assembly) = try await Self.server(store)

        let answer: AuthorizeResponse = try await server.call(
            IAMMethods.Authorization.authorize, Self.check("arn:aws:iam::123456789012:user/nobody"), as: checker)
        #expect(answer.decision == .implicitDeny)
        do {
            let _: AuthorizeResponse = try await server.call(
                IAMMethods.Authorization.authorize, Self.check("arn:aws:iam::123456789012:user/checker"), as: nobody)
            Issue.record("nobody may not call Authorize")
        } catch {
            #expect(error.code == .permissionDenied)
            #expect(error.iamErrorCode == "AccessDenied")
        }
        // The root key may do everything; an unknown key nothing, not even Health.
        let _: AuthorizeResponse = try await server.call(
            IAMMethods.Authorization.authorize, Self.check("arn:aws:iam::123456789012:user/checker"), as: Self.rootKey)
        do {
            let _: PingResponse = try await server.call(
                IAMMethods.Health.ping, PingRequest(), as: "AKIAUNKNOWNUNKNOWN00")
            Issue.record("an unknown key is refused")
        } catch {
            #expect(error.code == .unauthenticated)
            #expect(error.iamErrorCode == "InvalidClientTokenId")
        }

        // Deactivating the checker's key stops it at its next call, with no reconnect involved.
        let directory = IAMDirectory(store: store, account: Self.account)
        let committed = try await directory.updateAccessKey(
            userName: EntityName("checker", kind: .user), id: AccessKeyID(checker), status: .inactive)
        try await assembly.publisher.catchUp(atLeast: committed.revision)
        do {
            let _: AuthorizeResponse = try await server.call(
                IAMMethods.Authorization.authorize, Self.check("arn:aws:iam::123456789012:user/nobody"), as: checker)
            Issue.record("an inactive key is refused")
        } catch {
            #expect(error.code == .unauthenticated)
        }
        // So is a deleted one.
        let deleted = try await directory.deleteAccessKey(
            userName: EntityName("nobody", kind: .user), id: AccessKeyID(nobody))
        try await assembly.publisher.catchUp(atLeast: deleted.revision)
        do {
            let _: PingResponse = try await server.call(IAMMethods.Health.ping, PingRequest(), as: nobody)
            Issue.record("a deleted key is refused")
        } catch {
            #expect(error.iamErrorCode == "InvalidClientTokenId")
        }
    }

    /// A role `r` trusting the account, and a session of it named `sessionName` that ends at `expiration`.
    static func session(
        _ sessionName: String, expiring expiration: Date, in store: InMemoryStore
    ) async throws -> AccessKeyID {
        let directory = IAMDirectory(store: store, account: account)
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#
        let role = try await directory.createRole(name: EntityName("r", kind: .role), assumeRolePolicyDocument: trust)
            .value
        let credential = SCRAMCredential.derive(secret: "session-secret")
        let id = AccessKeyID.generate(temporary: true)
        let name = try EntityName(sessionName, kind: .user)
        _ = try await directory.createSession(
            SessionCredentials(
                accessKeyID: id,
                verifier: SCRAMVerifier(
                    salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                    serverKey: credential.serverKey),
                sessionTokenHash: [], createDate: expiration.addingTimeInterval(-1000), expiration: expiration,
                roleID: role.id, roleARN: role.arn, sessionName: name,
                assumedRoleARN: ARN.assumedRole(account: account, roleName: role.name, sessionName: name)))
        return id
    }

    @Test func accessDeniedNamesThePolicyKindWhoseAllowIsMissing() async throws {
        let store = InMemoryStore()
        let directory = IAMDirectory(store: store, account: Self.account)
        let reads =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
        let nobody = try await Self.userWithKey("nobody", policy: nil, in: store)
        let bounded = try await Self.userWithKey("bounded", policy: Self.mayAuthorize, in: store)
        let boundary = try await directory.createPolicy(name: EntityName("reads", kind: .policy), document: reads)
        _ = try await directory.setPermissionsBoundary(
            User.self, named: EntityName("bounded", kind: .user), to: boundary.value.arn)
        // A session of a role that may call Authorize, whose session policy allows only reads.
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#
        let role = try await directory.createRole(name: EntityName("r", kind: .role), assumeRolePolicyDocument: trust)
            .value
        _ = try await directory.putInlinePolicy(
            EntityName("checks", kind: .inlinePolicy), document: Self.mayAuthorize, on: .role,
            named: EntityName("r", kind: .role))
        let credential = SCRAMCredential.derive(secret: "session-secret")
        let sessionKey = AccessKeyID.generate(temporary: true)
        let name = try EntityName("s", kind: .user)
        _ = try await directory.createSession(
            SessionCredentials(
                accessKeyID: sessionKey,
                verifier: SCRAMVerifier(
                    salt: credential.salt, iterations: credential.iterations, storedKey: credential.storedKey,
                    serverKey: credential.serverKey),
                sessionTokenHash: [], createDate: Date(), expiration: Date().addingTimeInterval(900),
                roleID: role.id, roleARN: role.arn, sessionName: name,
                assumedRoleARN: ARN.assumedRole(account: Self.account, roleName: role.name, sessionName: name),
                sessionPolicy: reads))
        let (server, _) = try await Self.server(store)

        for (key, caller, reason) in [
            (nobody, "arn:aws:iam::123456789012:user/nobody", "no identity-based policy"),
            (bounded, "arn:aws:iam::123456789012:user/bounded", "no permissions boundary"),
            (sessionKey.rawValue, "arn:aws:sts::123456789012:assumed-role/r/s", "no session policy"),
        ] {
            do {
                let _: AuthorizeResponse = try await server.call(
                    IAMMethods.Authorization.authorize, Self.check("arn:aws:iam::123456789012:user/nobody"), as: key)
                Issue.record("\(caller) may not call Authorize")
            } catch {
                #expect(error.iamErrorCode == "AccessDenied")
                #expect(
                    error.message
                        == "User: \(caller) is not authorized to perform: iam:Authorize on resource: * because \(reason) allows the iam:Authorize action"
                )
            }
        }
    }

    @Test func callsFillTheirOwnConditionKeys() async throws {
        // A management call's context carries the tags it sets (aws:RequestTag, aws:TagKeys), the policy it attaches
        // (iam:PolicyARN), its resource's tags (aws:ResourceTag, iam:ResourceTag) and the region (us-east-1).
        let store = InMemoryStore()
        let policy = #"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["iam:CreateUser","iam:TagUser"],"Resource":"*",
               "Condition":{"StringEquals":{"aws:RequestTag/team":"eng"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}},
              {"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"eng"}}},
              {"Effect":"Allow","Action":"iam:ListUserTags","Resource":"*","Condition":{"StringEquals":{"iam:ResourceTag/team":"eng"}}},
              {"Effect":"Allow","Action":"iam:AttachUserPolicy","Resource":"*",
               "Condition":{"ArnEquals":{"iam:PolicyARN":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
              {"Effect":"Allow","Action":"iam:ListGroups","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}]}
            """#
        let key = try await Self.userWithKey("tagger", policy: policy, in: store)
        let (server, _) = try await Self.server(store)
        func allowed<Request: WireMessage, Response: WireMessage>(
            _ method: MethodDescriptor, _ request: Request, _ response: Response.Type, as caller: String? = nil
        ) async -> Bool {
            do {
                _ = try await server.call(method, request, as: caller ?? key, responseType: response)
                return true
            } catch {
                #expect(error.iamErrorCode == "AccessDenied", "\(error)")
                return false
            }
        }
        let eng = [IAMWire.Tag(key: "team", value: "eng")]
        #expect(
            await allowed(
                IAMMethods.IAM.createUser, CreateUserRequest(userName: "bob", tags: eng), CreateUserResponse.self))
        #expect(
            !(await allowed(IAMMethods.IAM.createUser, CreateUserRequest(userName: "carl"), CreateUserResponse.self)))
        #expect(
            !(await allowed(
                IAMMethods.IAM.createUser,
                CreateUserRequest(userName: "carl", tags: eng + [IAMWire.Tag(key: "cost", value: "1")]),
                CreateUserResponse.self)))
        #expect(
            !(await allowed(
                IAMMethods.IAM.tagUser, TagUserRequest(userName: "bob", tags: [IAMWire.Tag(key: "team", value: "ops")]),
                TagUserResponse.self)))
        #expect(await allowed(IAMMethods.IAM.getUser, GetUserRequest(userName: "bob"), GetUserResponse.self))
        #expect(
            await allowed(IAMMethods.IAM.listUserTags, ListUserTagsRequest(userName: "bob"), ListUserTagsResponse.self))
        // Untagged by the root: the next call, within the same second, no longer matches.
        #expect(
            await allowed(
                IAMMethods.IAM.untagUser, UntagUserRequest(userName: "bob", tagKeys: ["team"]), UntagUserResponse.self,
                as: Self.rootKey))
        #expect(!(await allowed(IAMMethods.IAM.getUser, GetUserRequest(userName: "bob"), GetUserResponse.self)))
        #expect(
            await allowed(
                IAMMethods.IAM.attachUserPolicy,
                AttachUserPolicyRequest(userName: "bob", policyARN: "arn:aws:iam::aws:policy/ReadOnlyAccess"),
                AttachUserPolicyResponse.self))
        #expect(
            !(await allowed(
                IAMMethods.IAM.attachUserPolicy,
                AttachUserPolicyRequest(userName: "bob", policyARN: "arn:aws:iam::aws:policy/AdministratorAccess"),
                AttachUserPolicyResponse.self)))
        #expect(await allowed(IAMMethods.IAM.listGroups, ListGroupsRequest(), ListGroupsResponse.self))
    }

    @Test func callsOnPoliciesAndInstanceProfilesCarryTheirTags() async throws {
        // A customer managed policy's or instance profile's tags are its aws:ResourceTag/* (not iam:ResourceTag/*,
        // which is for users and roles), as of the call: tagging it changes the next call's answer.
        let store = InMemoryStore()
        let policy = #"""
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":["iam:GetPolicy","iam:GetInstanceProfile"],"Resource":"*",
               "Condition":{"StringEquals":{"aws:ResourceTag/team":"eng"}}},
              {"Effect":"Deny","Action":["iam:GetPolicy","iam:GetInstanceProfile"],"Resource":"*",
               "Condition":{"StringEquals":{"iam:ResourceTag/team":"eng"}}},
              {"Effect":"Allow","Action":"iam:Authorize","Resource":"*"}]}
            """#
        let key = try await Self.userWithKey("reader", policy: policy, in: store)
        let (server, _) = try await Self.server(store)
        let eng = [IAMWire.Tag(key: "team", value: "eng")]
        let document =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
        for (name, tags) in [("tagged", eng), ("plain", [])] {
            let _: CreatePolicyResponse = try await server.call(
                IAMMethods.IAM.createPolicy,
                CreatePolicyRequest(policyName: name, path: "/team/", policyDocument: document, tags: tags),
                as: Self.rootKey)
            let _: CreateInstanceProfileResponse = try await server.call(
                IAMMethods.IAM.createInstanceProfile,
                CreateInstanceProfileRequest(instanceProfileName: "\(name)-profile", tags: tags), as: Self.rootKey)
        }
        func mayRead(_ name: String) async -> (policy: Bool, profile: Bool) {
            func allowed<Request: WireMessage, Response: WireMessage>(
                _ method: MethodDescriptor, _ request: Request, _ response: Response.Type
            ) async -> Bool {
                do {
                    _ = try await server.call(method, request, as: key, responseType: response)
                    return true
                } catch {
                    #expect(error.iamErrorCode == "AccessDenied", "\(error)")
                    return false
                }
            }
            let arn = "arn:aws:iam::123456789012:policy/team/\(name)"
            return (
                await allowed(IAMMethods.IAM.getPolicy, GetPolicyRequest(policyARN: arn), GetPolicyResponse.self),
                await allowed(
                    IAMMethods.IAM.getInstanceProfile,
                    GetInstanceProfileRequest(instanceProfileName: "\(name)-profile"),
                    GetInstanceProfileResponse.self)
            )
        }
        #expect(await mayRead("tagged") == (true, true))
        #expect(await mayRead("plain") == (false, false))
        let _: TagPolicyResponse = try await server.call(
            IAMMethods.IAM.tagPolicy,
            TagPolicyRequest(policyARN: "arn:aws:iam::123456789012:policy/team/plain", tags: eng), as: Self.rootKey)
        #expect(await mayRead("plain") == (true, false))
        let _: TagInstanceProfileResponse = try await server.call(
            IAMMethods.IAM.tagInstanceProfile,
            TagInstanceProfileRequest(instanceProfileName: "plain-profile", tags: eng),
            as: Self.rootKey)
        #expect(await mayRead("plain") == (true, true))
        // The whole ARN must match: the policy under another path is not this one.
        var check = Self.check("arn:aws:iam::123456789012:user/reader")
        check.action = "iam:GetPolicy"
        for (arn, decision) in [
            ("arn:aws:iam::123456789012:policy/team/tagged", PolicyEvaluationDecisionType.allowed),
            ("arn:aws:iam::123456789012:policy/tagged", .implicitDeny),
        ] {
            check.resource = arn
            let answer: AuthorizeResponse = try await server.call(IAMMethods.Authorization.authorize, check, as: key)
            #expect(answer.decision == decision, "\(arn)")
        }
    }

    @Test func sessionTagsNeedTagSessionAndWinOverTheRolesTags() async throws {
        let store = InMemoryStore()
        let alice = try await Self.userWithKey("alice", policy: nil, in: store)
        let directory = IAMDirectory(store: store, account: Self.account)
        func role(_ name: String, actions: String) async throws {
            let trust =
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":\#(actions)}]}"#
            _ = try await directory.createRole(
                name: EntityName(name, kind: .role), assumeRolePolicyDocument: trust,
                tags: [try IAMDomain.Tag(key: "proj", value: "green")])
            _ = try await directory.putInlinePolicy(
                EntityName("blue", kind: .inlinePolicy),
                document:
                    #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListGroups","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/proj":"blue"}}}]}"#,
                on: .role, named: EntityName(name, kind: .role))
        }
        try await role("tagging", actions: #"["sts:AssumeRole","sts:TagSession"]"#)
        try await role("plain", actions: #""sts:AssumeRole""#)
        let (server, _) = try await Self.server(store)
        func assume(_ role: String, tags: [IAMWire.Tag]) async throws(RPCError) -> String {
            var request = AssumeRoleRequest()
            request.roleARN = "arn:aws:iam::123456789012:role/\(role)"
            request.roleSessionName = "s1"
            request.tags = tags
            let answer: AssumeRoleResponse = try await server.call(IAMMethods.STS.assumeRole, request, as: alice)
            return answer.credentials?.accessKeyID ?? ""
        }
        func mayListGroups(_ key: String) async -> Bool {
            do {
                let _: ListGroupsResponse = try await server.call(
                    IAMMethods.IAM.listGroups, ListGroupsRequest(), as: key)
                return true
            } catch {
                return false
            }
        }
        let blue = [IAMWire.Tag(key: "Proj", value: "blue")]
        // The session tag (keys compare case-insensitively) replaces the role's proj=green.
        let tagged = try await assume("tagging", tags: blue)
        #expect(await mayListGroups(tagged))
        // Without session tags the session has the role's tags.
        #expect(!(await mayListGroups(try await assume("tagging", tags: []))))
        // A trust policy without sts:TagSession refuses tags, and only tags.
        do {
            _ = try await assume("plain", tags: blue)
            Issue.record("tags need sts:TagSession")
        } catch {
            #expect(error.iamErrorCode == "AccessDenied")
            #expect(error.message.contains("sts:TagSession on resource: arn:aws:iam::123456789012:role/plain"))
        }
        _ = try await assume("plain", tags: [])
        // Tags are validated as IAM tags are.
        for bad in [
            [IAMWire.Tag(key: "aws:x", value: "1")],
            [IAMWire.Tag(key: "a", value: "1"), IAMWire.Tag(key: "A", value: "2")],
            (0...50).map { IAMWire.Tag(key: "k\($0)", value: "v") },
        ] {
            await #expect(throws: RPCError.self) { _ = try await assume("tagging", tags: bad) }
        }
    }

    @Test func authorizeTakesTheCallersTimeAndTransportButNotItsIdentity() async throws {
        // The clock's and transport keys are defaults a backend's own values replace; the principal's keys are not.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        let policy = #"""
            {"Version":"2012-10-17","Statement":[
              {"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
              {"Sid":"Plain","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
              {"Sid":"Late","Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}},
              {"Sid":"Me","Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:username":"erin"}}},
              {"Sid":"Human","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:PrincipalIsAWSService":"true"}}},
              {"Sid":"Direct","Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:ViaAWSService":"true"}}}]}
            """#
        _ = try await Self.userWithKey("erin", policy: policy, in: store)
        let (server, _) = try await Self.server(store)
        func answer(_ entries: [(String, String, ContextKeyType)], action: String = "s3:GetObject")
            async throws(RPCError)
            -> AuthorizeResponse
        {
            var check = Self.check("arn:aws:iam::123456789012:user/erin")
            check.action = action
            check.contextEntries = entries.map {
                ContextEntry(contextKeyName: $0.0, contextKeyValues: [$0.1], contextKeyType: $0.2)
            }
            return try await server.call(IAMMethods.Authorization.authorize, check, as: checker)
        }
        #expect(try await answer([]).decision == .allowed)
        let plain = try await answer([("aws:SecureTransport", "false", .boolean)])
        #expect(plain.decision == .explicitDeny)
        #expect(plain.matchedStatements.map(\.sid).contains("Plain"))
        let late = try await answer([("aws:CurrentTime", "2031-01-01T00:00:00Z", .date)])
        #expect(late.decision == .explicitDeny)
        #expect(late.matchedStatements.map(\.sid).contains("Late"))
        #expect(try await answer([("aws:username", "mallory", .string)]).decision == .allowed)
        #expect(try await answer([("aws:PrincipalIsAWSService", "true", .boolean)]).decision == .allowed)
        // A check asks about an action, not a pattern.
        for pattern in ["s3:*", "s3:Get?bject"] {
            do {
                _ = try await answer([], action: pattern)
                Issue.record("\(pattern) is a pattern")
            } catch {
                #expect(error.iamErrorCode == "InvalidInput")
            }
        }
        // A check on a tagged IAM user carries its tags, as the IAM API's calls do.
        let directory = IAMDirectory(store: store, account: Self.account)
        _ = try await directory.createUser(
            name: EntityName("target", kind: .user), tags: [try IAMDomain.Tag(key: "team", value: "eng")])
        _ = try await Self.userWithKey(
            "reader",
            policy:
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"eng"}}}]}"#,
            in: store)
        let (tagServer, _) = try await Self.server(store)
        for (user, decision) in [("target", PolicyEvaluationDecisionType.allowed), ("erin", .implicitDeny)] {
            var onUser = Self.check("arn:aws:iam::123456789012:user/reader")
            onUser.action = "iam:GetUser"
            onUser.resource = "arn:aws:iam::123456789012:user/\(user)"
            let answer: AuthorizeResponse = try await tagServer.call(
                IAMMethods.Authorization.authorize, onUser, as: checker)
            #expect(answer.decision == decision, "\(user)")
        }

        // A service principal is an AWS service.
        var service = Self.check("apigateway.amazonaws.com")
        service.resourcePolicy =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"s3:GetObject","Resource":"*","Condition":{"Bool":{"aws:PrincipalIsAWSService":"true"}}}]}"#
        let byService: AuthorizeResponse = try await server.call(
            IAMMethods.Authorization.authorize, service, as: checker)
        #expect(byService.decision == .allowed)
    }

    @Test func expiredSessionIsRefused() async throws {
        let store = InMemoryStore()
        let id = try await Self.session("old", expiring: Date().addingTimeInterval(-1), in: store)
        let (server, assembly) = try await Self.server(store)
        // SCRAM refuses it at the handshake...
        #expect(try await assembly.credentialStore.credential(forAccessKeyID: id.rawValue) == nil)
        // ...and a connection that authenticated before the expiry is refused at its next call.
        do {
            let _: GetCallerIdentityResponse = try await server.call(
                IAMMethods.STS.getCallerIdentity, GetCallerIdentityRequest(), as: id.rawValue)
            Issue.record("an expired session is refused")
        } catch {
            #expect(error.code == .unauthenticated)
            #expect(error.iamErrorCode == "ExpiredToken")
        }
    }

    @Test func simulatePrincipalPolicyTakesAGroupARN() async throws {
        let store = InMemoryStore()
        let directory = IAMDirectory(store: store, account: Self.account)
        let group = try await directory.createGroup(
            name: EntityName("readers", kind: .group), path: try IAMPath("/eng/")
        )
        .value
        _ = try await directory.putInlinePolicy(
            EntityName("photos", kind: .policy),
            document:
                #"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            on: .group, named: group.name)
        let (server, _) = try await Self.server(store)

        var simulate = SimulatePrincipalPolicyRequest()
        simulate.policySourceARN = group.arn.description
        simulate.actionNames = ["s3:GetObject", "s3:PutObject"]
        let answer: SimulatePolicyResponse = try await server.call(
            IAMMethods.Authorization.simulatePrincipalPolicy, simulate, as: Self.rootKey)
        #expect(answer.evaluationResults.map(\.evalDecision) == [.allowed, .implicitDeny])
        let matched = try #require(answer.evaluationResults.first?.matchedStatements.first)
        #expect(matched.sourcePolicyID == "photos")
        #expect(matched.sourcePolicyType == .group)

        // The ARN must be the group's whole ARN, path included, as AWS compares them.
        simulate.policySourceARN = "arn:aws:iam::123456789012:group/readers"
        do {
            let _: SimulatePolicyResponse = try await server.call(
                IAMMethods.Authorization.simulatePrincipalPolicy, simulate, as: Self.rootKey)
            Issue.record("a group ARN without its path is not the group")
        } catch {
            #expect(error.iamErrorCode == "NoSuchEntity")
        }
    }

    @Test func aBatchAnswersEachCheckAsAuthorizeDoes() async throws {
        // A batch shares the caller's context between checks that carry the same keys, and remembers each
        // principal's conditions from its second check on: neither may change an answer.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey(
            "checker",
            policy:
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Authorize","iam:AuthorizeBatch"],"Resource":"*"}]}"#,
            in: store)
        let conditional =
            #"{"Version":"2012-10-17","Statement":[{"Sid":"Office","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}},{"Sid":"Home","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::home/${aws:username}/*"},{"Sid":"Region","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}]}"#
        _ = try await Self.userWithKey("ann", policy: conditional, in: store)
        _ = try await Self.userWithKey("ben", policy: conditional, in: store)
        let (server, _) = try await Self.server(store)

        let office = Self.office
        let away = [
            Self.entry("AWS:SOURCEIP", "198.51.100.7", .ip), Self.entry("aws:RequestedRegion", "eu-west-1", .string),
        ]
        var checks: [AuthorizeRequest] = []
        for context in [office, office, away, [], office] {
            for user in ["ann", "ben", "ann"] {
                for (action, resource) in [
                    ("s3:GetObject", "arn:aws:s3:::reports/q3.csv"), ("s3:PutObject", "arn:aws:s3:::home/\(user)/a"),
                    ("s3:PutObject", "arn:aws:s3:::home/other/a"),
                ] {
                    var check = AuthorizeRequest()
                    check.principalARN = "arn:aws:iam::123456789012:user/\(user)"
                    check.action = action
                    check.resource = resource
                    check.contextEntries = context
                    checks.append(check)
                }
            }
        }
        var batch = AuthorizeBatchRequest()
        batch.requests = checks
        let answers: AuthorizeBatchResponse = try await server.call(
            IAMMethods.Authorization.authorizeBatch, batch, as: checker)
        #expect(answers.results.count == checks.count)
        var decisions: [PolicyEvaluationDecisionType: Int] = [:]
        for (check, answer) in zip(checks, answers.results) {
            let alone: AuthorizeResponse = try await server.call(
                IAMMethods.Authorization.authorize, check, as: checker)
            #expect(answer.decision == alone.decision, "\(check)")
            #expect(answer.matchedStatements == alone.matchedStatements, "\(check)")
            #expect(answer.missingContextValues == alone.missingContextValues, "\(check)")
            decisions[answer.decision, default: 0] += 1
        }
        // Every kind of answer occurs, so the comparisons cover allows, denies and missing keys.
        #expect(decisions[.allowed, default: 0] > 0)
        #expect(decisions[.explicitDeny, default: 0] > 0)
        #expect(decisions[.implicitDeny, default: 0] > 0)
        #expect(answers.results.contains { !$0.missingContextValues.isEmpty })

        // A check with bad context keys still fails the batch, even after checks that shared a context.
        var bad = checks[0]
        bad.contextEntries = [ContextEntry(contextKeyName: "", contextKeyValues: ["x"], contextKeyType: .string)]
        batch.requests = [checks[0], checks[1], bad]
        do {
            let _: AuthorizeBatchResponse = try await server.call(
                IAMMethods.Authorization.authorizeBatch, batch, as: checker)
            Issue.record("a context entry without a name must be refused")
        } catch {
            #expect(error.iamErrorCode == "InvalidInput")
        }
    }

    @Test func aPrincipalsChecksInARowAnswerEachByItsOwnActionAndResource() async throws {
        // A principal's check that asks what its last one asked reuses that request, and one that matches the
        // statements its last one matched reuses those answer statements: a check that asks about another action or
        // resource, or matches other statements, must still get its own answer, also when it asks the same again.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey(
            "checker",
            policy:
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:AuthorizeBatch","Resource":"*"}]}"#,
            in: store)
        let policy =
            #"{"Version":"2012-10-17","Statement":[{"Sid":"Reports","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::reports/*"},{"Sid":"Home","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::reports/secret/*"}]}"#
        _ = try await Self.userWithKey("ann", policy: policy, in: store)
        _ = try await Self.userWithKey("ben", policy: policy, in: store)
        let (server, _) = try await Self.server(store)

        let expected: [(user: String, action: String, resource: String, PolicyEvaluationDecisionType, [String])] = [
            ("ann", "s3:GetObject", "reports/q3.csv", .allowed, ["Reports"]),
            ("ann", "s3:GetObject", "reports/q3.csv", .allowed, ["Reports"]),
            ("ann", "s3:GetObject", "reports/q4.csv", .allowed, ["Reports"]),
            ("ann", "s3:GetObject", "home/ann/notes", .allowed, ["Home"]),
            ("ann", "s3:GetObject", "home/ann/notes", .allowed, ["Home"]),
            ("ann", "s3:PutObject", "home/ann/notes", .allowed, ["Home"]),
            ("ann", "s3:PutObject", "reports/q3.csv", .implicitDeny, []),
            ("ann", "s3:GetObject", "home/ben/notes", .implicitDeny, []),
            ("ben", "s3:GetObject", "home/ben/notes", .allowed, ["Home"]),
            ("ann", "s3:GetObject", "home/ben/notes", .implicitDeny, []),
            ("ann", "s3:GetObject", "reports/secret/plan", .explicitDeny, ["NoSecrets"]),
            ("ann", "s3:GetObject", "reports/secret/plan", .explicitDeny, ["NoSecrets"]),
            ("ann", "s3:GetObject", "reports/q3.csv", .allowed, ["Reports"]),
            ("ben", "s3:GetObject", "reports/q3.csv", .allowed, ["Reports"]),
            ("ben", "s3:GetObject", "home/ben/notes", .allowed, ["Home"]),
        ]
        var batch = AuthorizeBatchRequest()
        batch.requests = expected.map { check in
            var request = AuthorizeRequest()
            request.principalARN = "arn:aws:iam::123456789012:user/\(check.user)"
            request.action = check.action
            request.resource = "arn:aws:s3:::\(check.resource)"
            request.contextEntries = Self.office
            return request
        }
        // Twice: the second batch starts with what the first one's checks left behind.
        for _ in 0..<2 {
            let answers: AuthorizeBatchResponse = try await server.call(
                IAMMethods.Authorization.authorizeBatch, batch, as: checker)
            #expect(answers.results.count == expected.count)
            for (answer, check) in zip(answers.results, expected) {
                let what = "\(check.user) \(check.action) \(check.resource)"
                #expect(answer.decision == check.3, "\(what)")
                #expect(answer.matchedStatements.map(\.sid) == check.4, "\(what)")
                #expect(
                    answer.matchedStatements.allSatisfy { $0.sourcePolicyID.hasSuffix(":policy/\(check.user)-policy") },
                    "\(what)")
            }
        }
    }

    @Test func authorizeNamesEachMatchedPolicysType() async throws {
        // As SimulatePrincipalPolicy names them: the user's inline policy, a customer managed one, a group's inline
        // policy, the boundary.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        func allow(_ sid: String) -> String {
            #"{"Version":"2012-10-17","Statement":[{"Sid":"\#(sid)","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#
        }
        _ = try await Self.userWithKey("ann", policy: allow("Managed"), in: store)
        let directory = IAMDirectory(store: store, account: Self.account)
        let ann = try EntityName("ann", kind: .user)
        let readers = try EntityName("readers", kind: .group)
        _ = try await directory.putInlinePolicy(
            EntityName("own", kind: .inlinePolicy), document: allow("Own"), on: .user, named: ann)
        _ = try await directory.createGroup(name: readers)
        _ = try await directory.addUser(ann, toGroup: readers)
        _ = try await directory.putInlinePolicy(
            EntityName("team", kind: .inlinePolicy), document: allow("Team"), on: .group, named: readers)
        let edge = try await directory.createPolicy(name: EntityName("edge", kind: .policy), document: allow("Edge"))
        _ = try await directory.setPermissionsBoundary(User.self, named: ann, to: edge.value.arn)
        let (server, _) = try await Self.server(store)

        // Twice: the second answer's statements are the ones the first one left with the principal.
        for _ in 0..<2 {
            let answer: AuthorizeResponse = try await server.call(
                IAMMethods.Authorization.authorize, Self.check("arn:aws:iam::123456789012:user/ann"), as: checker)
            #expect(answer.decision == .allowed)
            var types: [String: PolicySourceType] = [:]
            for statement in answer.matchedStatements { types[statement.sid] = statement.sourcePolicyType }
            #expect(types == ["Managed": .userManaged, "Own": .user, "Team": .group, "Edge": .permissionsBoundary])
        }
    }

    @Test func authorizeCallsThatShareContextsAnswerEachByItsOwn() async throws {
        // Consecutive Authorize calls on a thread share their caller context and each principal's layered context
        // and condition memo while they repeat their entries: a call with other entries, about another principal,
        // or after a write that changed the principal must still get its own answer.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        let conditional =
            #"{"Version":"2012-10-17","Statement":[{"Sid":"Office","Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}},{"Sid":"Region","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}]}"#
        _ = try await Self.userWithKey("ann", policy: conditional, in: store)
        _ = try await Self.userWithKey("ben", policy: nil, in: store)
        let (server, assembly) = try await Self.server(store)

        let office = Self.office
        let home = [
            Self.entry("aws:SourceIp", "198.51.100.7", .ip), Self.entry("aws:RequestedRegion", "us-east-1", .string),
        ]
        let abroad = [
            Self.entry("aws:SourceIp", "203.0.113.7", .ip), Self.entry("aws:RequestedRegion", "eu-west-1", .string),
        ]
        func decide(_ user: String, _ entries: [ContextEntry]) async throws -> (PolicyEvaluationDecisionType, [String])
        {
            var check = Self.check("arn:aws:iam::123456789012:user/\(user)")
            check.contextEntries = entries
            let answer: AuthorizeResponse = try await server.call(
                IAMMethods.Authorization.authorize, check, as: checker)
            return (answer.decision, answer.matchedStatements.map(\.sid))
        }
        let expected: [(String, [ContextEntry], PolicyEvaluationDecisionType, [String])] = [
            ("ann", office, .allowed, ["Office"]), ("ann", office, .allowed, ["Office"]),
            ("ben", office, .implicitDeny, []), ("ann", office, .allowed, ["Office"]),
            ("ann", home, .implicitDeny, []), ("ann", home, .implicitDeny, []),
            ("ann", abroad, .explicitDeny, ["Region"]), ("ann", office, .allowed, ["Office"]),
            ("ben", office, .implicitDeny, []), ("ann", office, .allowed, ["Office"]),
        ]
        for (user, entries, decision, sids) in expected {
            let answer = try await decide(user, entries)
            #expect(answer.0 == decision, "\(user) \(entries.map(\.contextKeyValues))")
            #expect(answer.1 == sids, "\(user) \(entries.map(\.contextKeyValues))")
        }

        // A write that changes ann's policies makes her a new principal: the next call, with the same entries and
        // most likely within the same second, is answered by her new policies.
        let directory = IAMDirectory(store: store, account: Self.account)
        let written = try await directory.putInlinePolicy(
            EntityName("no-reads", kind: .inlinePolicy),
            document:
                #"{"Version":"2012-10-17","Statement":[{"Sid":"NoReads","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#,
            on: .user, named: EntityName("ann", kind: .user))
        try await assembly.publisher.catchUp(atLeast: written.revision)
        let after = try await decide("ann", office)
        #expect(after.0 == .explicitDeny)
        #expect(after.1.contains("NoReads"))
    }

    @Test func anActionIsValidatedWhateverTheCallsBeforeItAskedAbout() async throws {
        // Consecutive calls about one action share its preparation and validation: a malformed or wildcard action
        // after a valid one is still refused, and a valid one after a refused one still answered.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        _ = try await Self.userWithKey(
            "ann",
            policy: #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}"#,
            in: store)
        let (server, _) = try await Self.server(store)
        for action in ["s3:GetObject", "s3:Get*", "s3:GetObject", "s3", "s3:GetObject", "s3:GetObject", "s3:?"] {
            var check = Self.check("arn:aws:iam::123456789012:user/ann")
            check.action = action
            let outcome: Result<AuthorizeResponse, RPCError>
            do {
                outcome = .success(try await server.call(IAMMethods.Authorization.authorize, check, as: checker))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let answer):
                #expect(action == "s3:GetObject", "\(action) was answered")
                #expect(answer.decision == .allowed)
            case .failure(let error):
                #expect(action != "s3:GetObject", "\(action): \(error)")
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains(action.contains(":") ? "wildcards" : "service:Action"))
            }
        }
    }

    @Test func authorizeSeesAWriteToThePrincipalItAskedAboutAtOnce() async throws {
        // Authorize calls of one thread share the principals they looked up lately; a write that changes or removes
        // one must show in the next call, within the same second.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        let erinsKey = try await Self.userWithKey(
            "erin",
            policy:
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            in: store)
        let (server, assembly) = try await Self.server(store)
        let erin = Self.check("arn:aws:iam::123456789012:user/erin")
        func decision() async throws(RPCError) -> PolicyEvaluationDecisionType {
            let answer: AuthorizeResponse = try await server.call(IAMMethods.Authorization.authorize, erin, as: checker)
            return answer.decision
        }
        for _ in 0..<3 { #expect(try await decision() == .allowed) }
        let directory = IAMDirectory(store: store, account: Self.account)
        let detached = try await directory.detachPolicy(
            try ARN(parsing: "arn:aws:iam::123456789012:policy/erin-policy"), from: .user,
            named: EntityName("erin", kind: .user))
        try await assembly.publisher.catchUp(atLeast: detached.revision)
        #expect(try await decision() == .implicitDeny)
        _ = try await directory.deleteAccessKey(userName: EntityName("erin", kind: .user), id: AccessKeyID(erinsKey))
        let deleted = try await directory.deleteUser(named: EntityName("erin", kind: .user))
        try await assembly.publisher.catchUp(atLeast: deleted.revision)
        do {
            _ = try await decision()
            Issue.record("a deleted principal was still found")
        } catch {
            #expect(error.iamErrorCode == "NoSuchEntity")
        }
    }

    @Test func twoServersOnOneThreadAnswerFromTheirOwnSnapshots() async throws {
        // A thread's shared check contexts serve every server in the process (tests run several on one event loop
        // group). Two stores with the same user at the same revision must not answer for each other.
        var services: [AuthorizationService] = []
        for policy in [
            #"{"Version":"2012-10-17","Statement":[{"Sid":"Yes","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            #"{"Version":"2012-10-17","Statement":[{"Sid":"No","Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#,
        ] {
            let store = InMemoryStore()
            _ = try await Self.userWithKey("erin", policy: policy, in: store)
            let (_, assembly) = try await Self.server(store)
            services.append(AuthorizationService(accountID: Self.account.rawValue, publisher: assembly.publisher))
        }
        #expect(services[0].publisher!.revision == services[1].publisher!.revision)
        let check = Self.check("arn:aws:iam::123456789012:user/erin")
        for _ in 0..<3 {
            let answers = try services.map { try $0.decide(check, snapshot: $0.publisher!.snapshot) }
            #expect(answers.map(\.decision) == [.allowed, .explicitDeny])
            #expect(answers.map { $0.matchedStatements.map(\.sid) } == [["Yes"], ["No"]])
        }
    }

    @Test func aDetachedPolicyStopsTheNextCallEvenWithinTheSameSecond() async throws {
        // The Authorizer reuses a principal's allow within one second; a write that changes the principal's
        // policies must end that at once.
        let store = InMemoryStore()
        let checker = try await Self.userWithKey("checker", policy: Self.mayAuthorize, in: store)
        let (server, assembly) = try await Self.server(store)
        let target = Self.check("arn:aws:iam::123456789012:user/checker")
        for _ in 0..<3 {
            let _: AuthorizeResponse = try await server.call(IAMMethods.Authorization.authorize, target, as: checker)
        }
        let directory = IAMDirectory(store: store, account: Self.account)
        let policy = try ARN(parsing: "arn:aws:iam::123456789012:policy/checker-policy")
        let detached = try await directory.detachPolicy(policy, from: .user, named: EntityName("checker", kind: .user))
        try await assembly.publisher.catchUp(atLeast: detached.revision)
        do {
            let _: AuthorizeResponse = try await server.call(IAMMethods.Authorization.authorize, target, as: checker)
            Issue.record("the allow outlived the policy")
        } catch {
            #expect(error.iamErrorCode == "AccessDenied")
        }
    }

    @Test func allowedVerdictsAreKeptPerSecondPrincipalAndPeer() async throws {
        let store = InMemoryStore()
        _ = try await Self.userWithKey("u", policy: nil, in: store)
        let (_, assembly) = try await Self.server(store)
        let principal = try #require(assembly.publisher.snapshot.principal(arn: "arn:aws:iam::123456789012:user/u"))
        let verdicts = AllowedVerdicts()
        let here = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
        let there = try SocketAddress(ipAddress: "127.0.0.2", port: 1)
        #expect(!verdicts.allows(principal, action: "iam:Authorize", resource: "*", peer: here, second: 10))
        verdicts.remember(principal, action: "iam:Authorize", resource: "*", peer: here, second: 10)
        #expect(verdicts.allows(principal, action: "iam:Authorize", resource: "*", peer: here, second: 10))
        #expect(!verdicts.allows(principal, action: "iam:Authorize", resource: "*", peer: there, second: 10))
        #expect(!verdicts.allows(principal, action: "iam:GetUser", resource: "*", peer: here, second: 10))
        #expect(!verdicts.allows(principal, action: "iam:Authorize", resource: "arn:x", peer: here, second: 10))
        #expect(!verdicts.allows(principal, action: "iam:Authorize", resource: "*", peer: here, second: 11))
        // A second allow of the same second: the last one and the earlier one are both still allowed.
        verdicts.remember(principal, action: "iam:GetUser", resource: "*", peer: here, second: 10)
        #expect(verdicts.allows(principal, action: "iam:GetUser", resource: "*", peer: here, second: 10))
        #expect(verdicts.allows(principal, action: "iam:Authorize", resource: "*", peer: here, second: 10))
        #expect(verdicts.allows(principal, action: "iam:GetUser", resource: "*", peer: here, second: 10))
        // Each thread learns for itself: another thread has not seen this second's allows.
        let elsewhere = await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(
                    returning: verdicts.allows(
                        principal, action: "iam:Authorize", resource: "*", peer: here, second: 10))
            }.start()
        }
        #expect(!elsewhere)
        // A new second forgets the old one's, the last one too.
        verdicts.remember(principal, action: "iam:Authorize", resource: "*", peer: here, second: 12)
        #expect(!verdicts.allows(principal, action: "iam:GetUser", resource: "*", peer: here, second: 12))
        #expect(verdicts.allows(principal, action: "iam:Authorize", resource: "*", peer: here, second: 12))
        // Another instance (another server in the process) on this thread does not see them.
        #expect(!AllowedVerdicts().allows(principal, action: "iam:Authorize", resource: "*", peer: here, second: 12))
    }
}

import Foundation
import IAMPolicy
import Testing

@testable import IAMDomain

/// The IAMDirectory operations the service added (IAMDirectory+*.swift), on the in-memory store; the service
/// suites run them again on SQLite through the handlers.
@Suite("IAMDirectory: users, roles, policies, attachments, account")
struct IAMDirectoryExtensionTests {
    let account = try! AccountID("123456789012")
    let directory: IAMDirectory

    init() {
        self.directory = IAMDirectory(store: InMemoryStore(), account: try! AccountID("123456789012"))
    }

    func name(_ text: String, _ kind: EntityKind = .user) throws -> EntityName { try EntityName(text, kind: kind) }

    static let trust =
        #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
    static let allow = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#

    @Test("updateUser renames and moves, keeping id and relations; a rename onto another name is refused")
    func updateUser() async throws {
        let created = try await directory.createUser(name: try name("a"))
        _ = try await directory.createUser(name: try name("b"))
        let path = try IAMPath("/x/")
        let renamed = try await directory.updateUser(named: try name("A"), newPath: path, newName: try name("c"))
        #expect(renamed.revision > created.revision)
        let user = try await directory.user(named: try name("C"))
        #expect(user.id == created.value.id && user.arn.description == "arn:aws:iam::123456789012:user/x/c")
        await #expect(throws: IAMError.entityAlreadyExists(.user, name: "B")) {
            try await directory.updateUser(named: try name("c"), newPath: nil, newName: try name("B"))
        }
        let noop = try await directory.updateUser(named: try name("c"), newPath: path, newName: nil)
        #expect(noop.changes.isEmpty && noop.revision == renamed.revision)
    }

    @Test("createRole refuses trust policies naming missing users or roles of the account")
    func trustPrincipals() async throws {
        func trust(_ principal: String) -> String {
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"\#(principal)"},"Action":"sts:AssumeRole"}]}"#
        }
        let missing = "arn:aws:iam::123456789012:user/ghost"
        await #expect(throws: IAMError.malformedPolicy("Invalid principal in policy: \"AWS\":\"\(missing)\"")) {
            try await directory.createRole(name: try name("r", .role), assumeRolePolicyDocument: trust(missing))
        }
        _ = try await directory.createUser(name: try name("ghost"), path: try IAMPath("/p/"))
        // The user exists, but under another path: the ARN names nobody.
        await #expect(throws: IAMError.self) {
            try await directory.createRole(name: try name("r", .role), assumeRolePolicyDocument: trust(missing))
        }
        _ = try await directory.createRole(
            name: try name("r", .role), assumeRolePolicyDocument: trust("arn:aws:iam::123456789012:user/p/ghost"))
        _ = try await directory.updateAssumeRolePolicy(named: try name("r", .role), document: Self.trust)
        #expect(try await directory.role(named: try name("R", .role)).assumeRolePolicyDocument == Self.trust)
    }

    @Test("deleting a user or role a trust policy names leaves its unique id there; a namesake is not trusted")
    func deletedTrustPrincipalBecomesUniqueID() async throws {
        let alice = try await directory.createUser(name: try name("alice")).value
        let helper = try await directory.createRole(
            name: try name("helper", .role), assumeRolePolicyDocument: Self.trust
        )
        .value
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:role/helper"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice"}}}]}"#
        _ = try await directory.createRole(name: try name("target", .role), assumeRolePolicyDocument: trust)
        _ = try await directory.deleteUser(named: try name("alice"))
        _ = try await directory.deleteRole(named: try name("helper", .role))

        let stored = try await directory.role(named: try name("target", .role)).assumeRolePolicyDocument
        let document = try IAMDirectory.parse(stored, kind: .trust)
        let principals: [String]
        switch document.statements[0].principals {
        case .include(let set)?: principals = set.entries.map(\.value)
        default: principals = []
        }
        #expect(principals == [alice.id.rawValue, helper.id.rawValue])
        // Only the Principal element changes, as in AWS; the condition keeps the ARN text.
        #expect(stored.contains(#""aws:PrincipalArn":"arn:aws:iam::123456789012:user/alice""#))

        // A new alice is another principal: the policy does not trust her.
        let namesake = try await directory.createUser(name: try name("alice")).value
        #expect(namesake.id != alice.id)
        let target = try await directory.role(named: try name("target", .role))
        func decision(for id: UniqueID) -> Decision {
            let principal = Principal(
                arn: namesake.arn.description, kind: .user, name: "alice", id: id.rawValue, account: account.rawValue)
            let compiled = CompiledPrincipal(
                principal: principal, policies: [PolicyInput(id: "trust", role: .resource, document: document)])
            return compiled.decide(
                AuthorizationRequest(
                    action: "sts:AssumeRole", resource: target.arn.description,
                    context: RequestContext(["aws:PrincipalArn": .string(namesake.arn.description)])))
        }
        #expect(decision(for: namesake.id) == .implicitDeny)
        #expect(decision(for: alice.id) == .allowed, "the policy still names the deleted alice by her id")
        // Re-saving the policy with the unique ids is accepted (they name nobody, and nobody new).
        _ = try await directory.updateAssumeRolePolicy(named: try name("target", .role), document: stored)
    }

    @Test("renaming or moving a user a trust policy names renames it there too (only in Principal), as in AWS")
    func renamedTrustPrincipalFollows() async throws {
        _ = try await directory.createUser(name: try name("p3"))
        _ = try await directory.createUser(name: try name("other"))
        let trust =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/p3","arn:aws:iam::123456789012:user/other"]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/p3"}}}]}"#
        _ = try await directory.createRole(name: try name("app", .role), assumeRolePolicyDocument: trust)
        func principals() async throws -> [String] {
            let stored = try await directory.role(named: try name("app", .role)).assumeRolePolicyDocument
            switch try IAMDirectory.parse(stored, kind: .trust).statements[0].principals {
            case .include(let set)?: return set.entries.map(\.value)
            default: return []
            }
        }
        _ = try await directory.updateUser(named: try name("p3"), newPath: nil, newName: try name("p3x"))
        #expect(
            try await principals() == [
                "arn:aws:iam::123456789012:user/p3x", "arn:aws:iam::123456789012:user/other",
            ])
        _ = try await directory.updateUser(named: try name("p3x"), newPath: try IAMPath("/eng/"), newName: nil)
        #expect(
            try await principals() == [
                "arn:aws:iam::123456789012:user/eng/p3x", "arn:aws:iam::123456789012:user/other",
            ])
        // The condition is not a principal: AWS leaves its text alone.
        let stored = try await directory.role(named: try name("app", .role)).assumeRolePolicyDocument
        #expect(stored.contains(#""aws:PrincipalArn":"arn:aws:iam::123456789012:user/p3""#))
    }

    @Test("listPolicies merges AWS and customer managed policies; entitiesForPolicy; attach AWS managed")
    func policies() async throws {
        let mine = try await directory.createPolicy(name: try name("Zeta", .policy), document: Self.allow).value
        let all = try await directory.listPolicies()
        #expect(all.items.count == AWSManagedPolicies.all.count + 1)
        #expect(all.items.last?.policy.arn == mine.arn)
        #expect(try await directory.listPolicies(scope: .local).items.map(\.policy.arn) == [mine.arn])
        #expect(try await directory.listPolicies(onlyAttached: true).items.isEmpty)

        let admin = try ARN(parsing: "arn:aws:iam::aws:policy/AdministratorAccess")
        _ = try await directory.createUser(name: try name("u"))
        _ = try await directory.attachManagedPolicy(admin, to: .user, named: try name("u"))
        let again = try await directory.attachManagedPolicy(admin, to: .user, named: try name("U"))
        #expect(again.changes.isEmpty)
        #expect(try await directory.policyUsage(arn: admin).attachmentCount == 1)
        #expect(try await directory.listPolicies(onlyAttached: true).items.map(\.policy.arn) == [admin])
        let entities = try await directory.entitiesForPolicy(arn: admin)
        #expect(entities.items.map(\.name.rawValue) == ["u"])
        #expect(try await directory.attachedPolicies(of: .user, named: try name("u")).items.map(\.arn) == [admin])
        await #expect(throws: IAMError.noSuchPolicy(try ARN(parsing: "arn:aws:iam::aws:policy/Missing"))) {
            try await directory.attachManagedPolicy(
                try ARN(parsing: "arn:aws:iam::aws:policy/Missing"), to: .user, named: try name("u"))
        }
    }

    @Test("authorizationDetails pages across kinds; accountSummary counts")
    func account() async throws {
        _ = try await directory.createUser(name: try name("u"))
        _ = try await directory.createGroup(name: try name("g", .group))
        _ = try await directory.createRole(name: try name("r", .role), assumeRolePolicyDocument: Self.trust)
        _ = try await directory.createPolicy(name: try name("p", .policy), document: Self.allow)
        var seen: [AuthorizationDetail] = []
        var page = PageRequest(unchecked: nil, maxItems: 1)
        while true {
            let result = try await directory.authorizationDetails(page: page)
            seen += result.items
            guard let marker = result.marker else { break }
            page = PageRequest(unchecked: marker, maxItems: 1)
        }
        #expect(seen.count == 4)
        let summary = try await directory.accountSummary()
        #expect(summary["Users"] == 1 && summary["Groups"] == 1 && summary["Roles"] == 1 && summary["Policies"] == 1)
    }
}

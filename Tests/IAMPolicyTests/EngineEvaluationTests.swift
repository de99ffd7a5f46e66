import IAMPolicy
import Testing

/// One identity-policy case: statements, request, expected decision.
struct EngineCase: CustomTestStringConvertible, Sendable {
    let name: String
    let statements: String
    let action: String
    let resource: String
    let context: [String: ContextValue]
    let expected: Decision
    var testDescription: String { name }

    init(
        _ name: String,
        _ statements: String,
        _ action: String,
        _ resource: String = "arn:aws:s3:::bucket/key",
        _ context: [String: ContextValue] = [:],
        expected: Decision
    ) {
        self.name = name
        self.statements = statements
        self.action = action
        self.resource = resource
        self.context = context
        self.expected = expected
    }
}

@Suite("Engine: actions, resources and evaluation order")
struct EngineEvaluationTests {
    typealias F = EngineFixtures

    static func allow(_ action: String, _ resource: String = #""*""#) -> String {
        #"{"Effect":"Allow","Action":\#(action),"Resource":\#(resource)}"#
    }
    static func deny(_ action: String, _ resource: String = #""*""#) -> String {
        #"{"Effect":"Deny","Action":\#(action),"Resource":\#(resource)}"#
    }

    static let actionCases: [EngineCase] = [
        EngineCase("exact action", allow(#""s3:GetObject""#), "s3:GetObject", expected: .allowed),
        EngineCase("action case-insensitive", allow(#""S3:getobject""#), "s3:GetObject", expected: .allowed),
        EngineCase(
            "request case-insensitive", allow(#""iam:ListAccessKeys""#), "IAM:listaccesskeys", expected: .allowed),
        EngineCase("other action", allow(#""s3:GetObject""#), "s3:PutObject", expected: .implicitDeny),
        EngineCase("service star", allow(#""s3:*""#), "s3:PutObject", expected: .allowed),
        EngineCase("s3:* not s3express", allow(#""s3:*""#), "s3express:CreateSession", expected: .implicitDeny),
        EngineCase("infix glob", allow(#""iam:*AccessKey*""#), "iam:ListAccessKeys", "*", expected: .allowed),
        EngineCase("suffix anchored", allow(#""s3:*Object""#), "s3:GetObjectAcl", expected: .implicitDeny),
        EngineCase("global star", allow(#""*""#), "ec2:RunInstances", "*", expected: .allowed),
        EngineCase(
            "service wildcard", allow(#""code*:List*""#), "codecommit:ListRepositories", "*", expected: .allowed),
        EngineCase("service wildcard miss", allow(#""code*:List*""#), "s3:ListBucket", "*", expected: .implicitDeny),
        EngineCase("question mark", allow(#""s3:Get?bject""#), "s3:GetObject", expected: .allowed),
        EngineCase("list of actions", allow(#"["ec2:*","s3:GetObject"]"#), "s3:GetObject", expected: .allowed),
        EngineCase("dot is literal", allow(#""s3:Get.bject""#), "s3:GetObject", expected: .implicitDeny),
        EngineCase(
            "notaction allow grants others", #"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#, "s3:GetObject",
            expected: .allowed),
        EngineCase(
            "notaction allow excludes listed", #"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#,
            "iam:CreateUser", "*", expected: .implicitDeny),
        EngineCase(
            "notaction restricted by resource", #"{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::*"}"#,
            "ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", expected: .implicitDeny),
        EngineCase(
            "notaction star grants nothing", #"{"Effect":"Allow","NotAction":"*","Resource":"*"}"#, "s3:GetObject",
            expected: .implicitDeny),
        EngineCase(
            "notaction deny denies others",
            allow(#""*""#) + "," + #"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#, "ec2:RunInstances", "*",
            expected: .explicitDeny),
        EngineCase(
            "notaction deny spares listed",
            allow(#""*""#) + "," + #"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#, "s3:GetObject",
            expected: .allowed),
        EngineCase(
            "notaction deny grants nothing", #"{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}"#, "s3:GetObject",
            expected: .implicitDeny),
    ]

    static let resourceCases: [EngineCase] = [
        EngineCase(
            "resource exact", allow(#""s3:*""#, #""arn:aws:s3:::bucket/key""#), "s3:GetObject", expected: .allowed),
        EngineCase(
            "resource case-sensitive", allow(#""s3:*""#, #""arn:aws:s3:::Bucket/key""#), "s3:GetObject",
            expected: .implicitDeny),
        EngineCase(
            "no implicit prefix", allow(#""s3:*""#, #""arn:aws:s3:::bucket""#), "s3:GetObject", expected: .implicitDeny),
        EngineCase(
            "bucket/* not bucket", allow(#""s3:*""#, #""arn:aws:s3:::bucket/*""#), "s3:ListBucket",
            "arn:aws:s3:::bucket", expected: .implicitDeny),
        EngineCase(
            "star crosses slash", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b/1/2/test/3/object.jpg", expected: .allowed),
        EngineCase(
            "star crosses empty segments", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b/1///test///object.jpg", expected: .allowed),
        EngineCase(
            "star empty", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b//test/object.jpg", expected: .allowed),
        EngineCase(
            "star trailing slash", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b/1/test/", expected: .allowed),
        EngineCase(
            "not 1-test", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b/1-test/object.jpg", expected: .implicitDeny),
        EngineCase(
            "not test at root", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b/test/object.jpg", expected: .implicitDeny),
        EngineCase(
            "not test.jpg", allow(#""s3:*""#, #""arn:aws:s3:::b/*/test/*""#), "s3:GetObject",
            "arn:aws:s3:::b/1/2/test.jpg", expected: .implicitDeny),
        EngineCase(
            "trailing star crosses colon",
            allow(#""logs:*""#, #""arn:aws:logs:us-east-1:123456789012:log-group:app-*""#), "logs:PutLogEvents",
            "arn:aws:logs:us-east-1:123456789012:log-group:app-web:log-stream:i-0123", expected: .allowed),
        EngineCase(
            "region star", allow(#""sqs:*""#, #""arn:aws:sqs:*:123456789012:q""#), "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:123456789012:q", expected: .allowed),
        EngineCase(
            "account segment isolated", allow(#""sqs:*""#, #""arn:aws:sqs:*:1234567890:q""#), "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:123456789012:q", expected: .implicitDeny),
        EngineCase(
            "cross-account resource needs its own policy", allow(#""sqs:*""#, #""arn:aws:sqs:*:111122223333:q""#),
            "sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:q", expected: .implicitDeny),
        EngineCase(
            "segment star does not cross colon", allow(#""sqs:*""#, #""arn:aws:sqs:*:*:q/*""#), "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:123456789012:q", expected: .implicitDeny),
        EngineCase(
            "segment star stays in segment", allow(#""sqs:*""#, #""arn:aws:sqs:*:*:q/*""#), "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:1:2:q/x", expected: .implicitDeny),
        EngineCase(
            "question one char", allow(#""s3:*""#, #""arn:aws:s3:::b/?""#), "s3:GetObject", "arn:aws:s3:::b/x",
            expected: .allowed),
        EngineCase(
            "question not zero chars", allow(#""s3:*""#, #""arn:aws:s3:::b/?""#), "s3:GetObject", "arn:aws:s3:::b/",
            expected: .implicitDeny),
        EngineCase(
            "question not two chars", allow(#""s3:*""#, #""arn:aws:s3:::b/?""#), "s3:GetObject", "arn:aws:s3:::b/xy",
            expected: .implicitDeny),
        EngineCase(
            "regex chars literal", allow(#""s3:*""#, #""arn:aws:s3:::b/a.c+(d)$""#), "s3:GetObject",
            "arn:aws:s3:::b/a.c+(d)$", expected: .allowed),
        EngineCase(
            "dot not any char", allow(#""s3:*""#, #""arn:aws:s3:::b/a.c""#), "s3:GetObject", "arn:aws:s3:::b/abc",
            expected: .implicitDeny),
        EngineCase(
            "execute-api shorthand", allow(#""execute-api:Invoke""#, #""arn:aws:execute-api:*:*:*""#),
            "execute-api:Invoke", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/pets", expected: .allowed),
        EngineCase(
            "api path star", allow(#""execute-api:Invoke""#, #""arn:aws:execute-api:*:*:api/*/GET/pets""#),
            "execute-api:Invoke", "arn:aws:execute-api:us-east-1:123456789012:api/prod/v2/GET/pets", expected: .allowed),
        EngineCase(
            "apigateway no account", allow(#""apigateway:*""#, #""arn:aws:apigateway:*::/*""#), "apigateway:GET",
            "arn:aws:apigateway:us-east-1::/restapis/abc", expected: .allowed),
        EngineCase(
            "notresource allow", #"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}"#,
            "s3:GetObject", expected: .allowed),
        EngineCase(
            "notresource allow excludes", #"{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}"#,
            "s3:GetObject", "arn:aws:s3:::secret/x", expected: .implicitDeny),
        EngineCase(
            "notresource star never matches", #"{"Effect":"Allow","Action":"s3:*","NotResource":"*"}"#, "s3:GetObject",
            expected: .implicitDeny),
        EngineCase(
            "deny notresource denies others",
            allow(#""s3:*""#) + "," + #"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::ok/*"}"#,
            "s3:GetObject", expected: .explicitDeny),
        EngineCase(
            "deny notresource spares listed",
            allow(#""s3:*""#) + "," + #"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::ok/*"}"#,
            "s3:GetObject", "arn:aws:s3:::ok/1", expected: .allowed),
        EngineCase(
            "deny notresource only for its actions",
            allow(#""*""#) + "," + #"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::ok/*"}"#,
            "ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-1", expected: .allowed),
    ]

    static let orderCases: [EngineCase] = [
        EngineCase("nothing allows", allow(#""ec2:*""#), "s3:GetObject", expected: .implicitDeny),
        EngineCase(
            "deny beats allow", allow(#""s3:*""#) + "," + deny(#""s3:GetObject""#), "s3:GetObject",
            expected: .explicitDeny),
        EngineCase(
            "deny first still wins", deny(#""s3:Get*""#) + "," + allow(#""*""#), "s3:GetObject", expected: .explicitDeny
        ),
        EngineCase(
            "deny elsewhere does not matter", allow(#""s3:*""#) + "," + deny(#""s3:Put*""#), "s3:GetObject",
            expected: .allowed),
        EngineCase(
            "statements independent",
            allow(#""s3:GetObject""#, #""arn:aws:s3:::a/*""#) + ","
                + allow(#""s3:PutObject""#, #""arn:aws:s3:::bucket/*""#), "s3:GetObject", expected: .implicitDeny),
    ]

    @Test(arguments: actionCases + resourceCases + orderCases)
    func identityDecision(_ c: EngineCase) throws {
        #expect(try F.decision(c.statements, c.action, c.resource, c.context) == c.expected)
    }

    @Test func unionAcrossPoliciesAndDiagnostics() throws {
        let compiled = try F.compile(identity: [
            F.doc(#"{"Sid":"ReadA","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"}"#),
            F.doc(
                #"{"Sid":"Other","Effect":"Allow","Action":"ec2:*","Resource":"*"},"#
                    + #"{"Sid":"ReadB","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}"#
            ),
        ])
        let r = F.request("s3:GetObject", "arn:aws:s3:::b/1")
        let result = compiled.evaluate(r)
        #expect(result.decision == .allowed)
        #expect(result.matched == [MatchedStatement(policyID: "id1", role: .identity, index: 1, sid: "ReadB")])
        #expect(result.missingContextKeys == [])
    }

    @Test func denyMatchesListOnlyDenies() throws {
        let compiled = try F.compile(identity: [
            F.doc(#"{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"}"#),
            F.doc(
                #"{"Sid":"D1","Effect":"Deny","Action":"s3:*","Resource":"*"},"#
                    + #"{"Effect":"Deny","NotAction":"ec2:*","Resource":"*"}"#
            ),
        ])
        let result = compiled.evaluate(F.request("s3:DeleteObject"))
        #expect(result.decision == .explicitDeny)
        #expect(
            result.matched == [
                MatchedStatement(policyID: "id1", role: .identity, index: 0, sid: "D1"),
                MatchedStatement(policyID: "id1", role: .identity, index: 1, sid: nil),
            ]
        )
    }

    @Test func boundaryLimitsButNeverGrants() throws {
        let identity = F.doc(#"{"Effect":"Allow","Action":["s3:*","ec2:*"],"Resource":"*"}"#)
        let boundary = F.doc(#"{"Effect":"Allow","Action":["s3:*","iam:*"],"Resource":"*"}"#)
        let compiled = try F.compile(identity: [identity], boundary: boundary)
        #expect(compiled.decide(F.request("s3:GetObject")) == .allowed)
        #expect(compiled.decide(F.request("ec2:RunInstances", "*")) == .implicitDeny)
        #expect(compiled.decide(F.request("iam:CreateUser", "*")) == .implicitDeny)
        let boundaryDeny = F.doc(
            #"{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoDelete","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#
        )
        let withDeny = try F.compile(
            identity: [F.doc(#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)], boundary: boundaryDeny)
        let result = withDeny.evaluate(F.request("s3:DeleteObject"))
        #expect(result.decision == .explicitDeny)
        #expect(result.matched == [MatchedStatement(policyID: "boundary", role: .boundary, index: 1, sid: "NoDelete")])
        // A boundary whose condition is false is an implicit deny.
        let conditional = F.doc(
            #"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}}"#
        )
        let c = try F.compile(identity: [identity], boundary: conditional)
        #expect(
            c.decide(F.request("s3:GetObject", "arn:aws:s3:::b/k", ["aws:RequestedRegion": .string("eu-west-1")]))
                == .implicitDeny)
        #expect(
            c.decide(F.request("s3:GetObject", "arn:aws:s3:::b/k", ["aws:RequestedRegion": .string("us-east-1")]))
                == .allowed)
    }

    static func bucketPolicy(_ principal: String, effect: String = "Allow") -> String {
        F.doc(
            #"{"Sid":"R","Effect":"\#(effect)","Principal":\#(principal),"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}"#
        )
    }

    struct ResourceCase: CustomTestStringConvertible, Sendable {
        let name: String
        let principal: Principal
        let principalJSON: String
        let identityAllows: Bool
        let boundary: Bool
        let expected: Decision
        var testDescription: String { name }
    }

    static let resourceTable: [ResourceCase] = [
        ResourceCase(
            name: "user ARN grants alone", principal: F.alice,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#, identityAllows: false, boundary: false,
            expected: .allowed),
        ResourceCase(
            name: "user ARN bypasses boundary", principal: F.alice,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#, identityAllows: false, boundary: true,
            expected: .allowed),
        ResourceCase(
            name: "other user not named", principal: F.alice,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:user/bob"}"#, identityAllows: false, boundary: false,
            expected: .implicitDeny),
        ResourceCase(
            name: "account delegates to identity (no)", principal: F.alice, principalJSON: #"{"AWS":"123456789012"}"#,
            identityAllows: false, boundary: false, expected: .implicitDeny),
        ResourceCase(
            name: "account delegates to identity (yes)", principal: F.alice,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:root"}"#, identityAllows: true, boundary: false,
            expected: .allowed),
        ResourceCase(
            name: "role ARN needs no identity", principal: F.session,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:role/app"}"#, identityAllows: false, boundary: false,
            expected: .allowed),
        ResourceCase(
            name: "role ARN limited by boundary", principal: F.session,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:role/app"}"#, identityAllows: false, boundary: true,
            expected: .implicitDeny),
        ResourceCase(
            name: "session ARN bypasses boundary", principal: F.session,
            principalJSON: #"{"AWS":"arn:aws:sts::123456789012:assumed-role/app/s1"}"#, identityAllows: false,
            boundary: true, expected: .allowed),
        ResourceCase(
            name: "star grants same account", principal: F.alice, principalJSON: #""*""#, identityAllows: false,
            boundary: false, expected: .allowed),
        ResourceCase(
            name: "cross account needs identity", principal: F.outsider,
            principalJSON: #"{"AWS":"arn:aws:iam::999999999999:user/bob"}"#, identityAllows: false, boundary: false,
            expected: .implicitDeny),
        ResourceCase(
            name: "cross account both allow", principal: F.outsider, principalJSON: #"{"AWS":"999999999999"}"#,
            identityAllows: true, boundary: false, expected: .allowed),
        ResourceCase(
            name: "cross account identity alone", principal: F.outsider,
            principalJSON: #"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#, identityAllows: true, boundary: false,
            expected: .implicitDeny),
        ResourceCase(
            name: "service principal", principal: F.apigateway,
            principalJSON: #"{"Service":"apigateway.amazonaws.com"}"#, identityAllows: false, boundary: false,
            expected: .allowed),
        ResourceCase(
            name: "resource deny wins", principal: F.alice, principalJSON: #""*""#, identityAllows: true,
            boundary: false, expected: .explicitDeny),
    ]

    @Test(arguments: resourceTable)
    func resourceBasedPolicies(_ c: ResourceCase) throws {
        var identity: [String] = []
        if c.identityAllows { identity.append(F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#)) }
        let boundary = c.boundary ? F.doc(#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#) : nil
        let effect = c.name.contains("deny") ? "Deny" : "Allow"
        // The cross-account resource lives in account 123456789012 (named by the ARN's account segment).
        let compiled = try F.compile(
            c.principal,
            identity: identity,
            boundary: boundary,
            resource: [(Self.bucketPolicy(c.principalJSON, effect: effect), .resource)]
        )
        let r = F.request(
            "s3:GetObject",
            "arn:aws:s3:::shared/k",
            ["aws:ResourceAccount": .string("123456789012")]
        )
        #expect(compiled.decide(r) == c.expected)
        #expect(compiled.evaluate(r).decision == c.expected)
    }

    @Test func notPrincipalDenyExcludesOnlyFullyListedChain() throws {
        let allowAll = F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#)
        func policy(_ entries: String) -> String {
            F.doc(#"{"Effect":"Deny","NotPrincipal":{"AWS":[\#(entries)]},"Action":"s3:*","Resource":"*"}"#)
        }
        let both = try F.compile(
            identity: [allowAll],
            resource: [(policy(#""arn:aws:iam::123456789012:user/alice","123456789012""#), .resource)]
        )
        #expect(both.decide(F.request("s3:GetObject")) == .allowed)
        let userOnly = try F.compile(
            identity: [allowAll],
            resource: [(policy(#""arn:aws:iam::123456789012:user/alice""#), .resource)]
        )
        #expect(userOnly.decide(F.request("s3:GetObject")) == .explicitDeny)
        let other = try F.compile(
            F.outsider,
            identity: [allowAll],
            resource: [(policy(#""arn:aws:iam::123456789012:user/alice","123456789012""#), .resource)]
        )
        #expect(other.decide(F.request("s3:GetObject")) == .explicitDeny)
    }

    @Test func trustPolicies() throws {
        let roleARN = "arn:aws:iam::123456789012:role/target"
        let assume = F.request("sts:AssumeRole", roleARN)
        let identity = F.doc(#"{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"\#(roleARN)"}"#)
        func trust(_ principal: String) -> (String, PolicyDocumentKind) {
            (F.doc(#"{"Effect":"Allow","Principal":\#(principal),"Action":"sts:AssumeRole"}"#), .trust)
        }
        // Named directly: no identity permission needed.
        let direct = try F.compile(resource: [trust(#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#)])
        #expect(direct.decide(assume) == .allowed)
        // Account trusted: the identity policy must allow sts:AssumeRole.
        let account = try F.compile(resource: [trust(#"{"AWS":"123456789012"}"#)])
        #expect(account.decide(assume) == .implicitDeny)
        let accountAndIdentity = try F.compile(identity: [identity], resource: [trust(#"{"AWS":"123456789012"}"#)])
        #expect(accountAndIdentity.decide(assume) == .allowed)
        // Trust does not name the caller: identity permission alone is not enough.
        let notNamed = try F.compile(
            identity: [identity], resource: [trust(#"{"AWS":"arn:aws:iam::123456789012:user/bob"}"#)])
        #expect(notNamed.decide(assume) == .implicitDeny)
        // Service principal.
        let service = try F.compile(F.apigateway, resource: [trust(#"{"Service":"apigateway.amazonaws.com"}"#)])
        let result = service.evaluate(assume)
        #expect(result.decision == .allowed)
        #expect(result.matched == [MatchedStatement(policyID: "res0", role: .resource, index: 0, sid: nil)])
        // Other actions are not granted by the trust policy.
        #expect(service.decide(F.request("sts:AssumeRoleWithSAML", roleARN)) == .implicitDeny)
    }

    @Test func manyPoliciesIndexedByService() throws {
        var docs: [String] = []
        for i in 0..<100 {
            docs.append(
                F.doc(
                    #"{"Effect":"Allow","Action":["svc\#(i):Get*","svc\#(i):Put"],"Resource":"arn:aws:svc\#(i):::r/*"},"#
                        + #"{"Effect":"Deny","Action":"svc\#(i):Delete","Resource":"*"}"#
                )
            )
        }
        let compiled = try F.compile(identity: docs)
        #expect(compiled.decide(F.request("svc42:GetThing", "arn:aws:svc42:::r/1")) == .allowed)
        #expect(compiled.decide(F.request("svc42:Put", "arn:aws:svc42:::r/1")) == .allowed)
        #expect(compiled.decide(F.request("svc42:GetThing", "arn:aws:svc41:::r/1")) == .implicitDeny)
        #expect(compiled.decide(F.request("svc42:Delete", "arn:aws:svc42:::r/1")) == .explicitDeny)
        #expect(compiled.decide(F.request("svc420:GetThing", "arn:aws:svc420:::r/1")) == .implicitDeny)
    }
}

@Suite("Engine: API details")
struct EngineAPITests {
    typealias F = EngineFixtures

    @Test func contextKeysListsConditionsAndVariables() throws {
        let d = try F.parse(
            F.doc(
                #"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*","#
                    + #""Condition":{"StringLike":{"s3:prefix":"${aws:PrincipalTag/team, 'x'}/*"},"#
                    + #""IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Null":{"AWS:SOURCEIP":"false"}}}"#
            )
        )
        #expect(d.contextKeys == ["aws:PrincipalTag/team", "aws:SourceIp", "aws:username", "s3:prefix"])
    }

    @Test func requestContextIsCaseInsensitive() {
        let ctx = RequestContext(["AWS:SourceIP": .string("10.0.0.1"), "aws:TagKeys": .list([])])
        #expect(ctx["aws:sourceip"] == .string("10.0.0.1"))
        #expect(ctx["AWS:TAGKEYS"] == .list([]))
        #expect(ctx["aws:username"] == nil)
        let r = AuthorizationRequest(action: "S3:GetObject", resource: "arn:aws:s3:::b/k", context: ctx)
        #expect(r.action == "S3:GetObject")
        #expect(r.resource == "arn:aws:s3:::b/k")
        #expect(r.context["aws:SourceIp"] == .string("10.0.0.1"))
    }

    @Test func principalAccountComesFromARNWhenAbsent() {
        #expect(Principal(arn: "arn:aws:iam::111122223333:user/x", kind: .user).effectiveAccount == "111122223333")
        #expect(Principal(arn: "apigateway.amazonaws.com", kind: .service).effectiveAccount == nil)
        #expect(Principal(arn: "arn:aws:iam::1:user/x", kind: .user, account: "2").effectiveAccount == "2")
    }

    /// The matched statements come from the exact-action list, the service's glob groups and the every-service groups,
    /// in that order, and past the eight ids a check keeps in place; they are reported in policy and statement order.
    @Test(arguments: ["Allow", "Deny"])
    func manyMatchesAreReportedInStatementOrder(effect: String) throws {
        let forms = [#""*""#, #""s3:GetObject""#, #""s3:Get*""#, #"["ec2:*","s3:GetObject"]"#, #""s3:*""#]
        let statements = (0..<13).map { index in
            #"{"Sid":"S\#(index)","Effect":"\#(effect)","Action":\#(forms[index % forms.count]),"Resource":"*"}"#
        }
        let compiled = try F.compile(identity: [
            F.doc(statements[0..<6].joined(separator: ",")), F.doc(statements[6...].joined(separator: ",")),
        ])
        let result = compiled.evaluate(F.request("s3:GetObject"))
        #expect(result.decision == (effect == "Allow" ? .allowed : .explicitDeny))
        let expected = (0..<13).map { index in
            MatchedStatement(
                policyID: index < 6 ? "id0" : "id1", role: .identity, index: index < 6 ? index : index - 6,
                sid: "S\(index)")
        }
        #expect(result.matched == expected)
    }

    @Test func implicitDenyListsTheAllowsThatMatched() throws {
        // The identity policy allows but the boundary does not: implicitDeny, and the identity allow is shown.
        let compiled = try F.compile(
            identity: [F.doc(#"{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}"#)],
            boundary: F.doc(#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#)
        )
        let result = compiled.evaluate(F.request("s3:GetObject"))
        #expect(result.decision == .implicitDeny)
        #expect(result.matched == [MatchedStatement(policyID: "id0", role: .identity, index: 0, sid: "S3")])
    }

    @Test(arguments: PolicyDocumentKind.allCases)
    func kindsHaveLimitsAndRawValues(kind: PolicyDocumentKind) {
        #expect(PolicyDocumentKind(rawValue: kind.rawValue) == kind)
        #expect(kind.characterLimit >= 2_048)
    }

    @Test func errorsDescribeThemselves() {
        let e = PolicyError(code: "MalformedPolicyDocument", message: "Statement[0].Effect: x")
        #expect(e.description == "MalformedPolicyDocument: Statement[0].Effect: x")
    }
}

@Suite("Engine: compiled index at scale")
struct EngineScaleTests {
    typealias F = EngineFixtures

    /// 1,000 statements over 250 services: every exact action, glob and deny is still found through the index.
    @Test func thousandStatementsAcrossServices() throws {
        var docs: [String] = []
        for i in 0..<250 {
            docs.append(
                F.doc(
                    #"{"Effect":"Allow","Action":["svc\#(i):GetA","svc\#(i):GetB"],"Resource":"arn:aws:svc\#(i):::x"},"#
                        + #"{"Effect":"Allow","Action":"svc\#(i):List*","Resource":"*"},"#
                        + #"{"Effect":"Allow","Action":"svc\#(i):Tag","Resource":"*","Condition":{"StringEquals":{"aws:username":"alice"}}},"#
                        + #"{"Effect":"Deny","Action":"svc\#(i):Get*","Resource":"arn:aws:svc\#(i):::secret"}"#
                )
            )
        }
        let compiled = try F.compile(identity: docs)
        for i in stride(from: 0, to: 250, by: 7) {
            #expect(compiled.decide(F.request("svc\(i):GetA", "arn:aws:svc\(i):::x")) == .allowed)
            #expect(compiled.decide(F.request("SVC\(i):getb", "arn:aws:svc\(i):::x")) == .allowed)
            #expect(compiled.decide(F.request("svc\(i):GetA", "arn:aws:svc\(i):::y")) == .implicitDeny)
            #expect(compiled.decide(F.request("svc\(i):GetA", "arn:aws:svc\(i):::secret")) == .explicitDeny)
            #expect(compiled.decide(F.request("svc\(i):ListAll", "arn:aws:svc\(i):::z")) == .allowed)
            #expect(compiled.decide(F.request("svc\(i):Tag", "*", ["aws:username": .string("alice")])) == .allowed)
            #expect(compiled.decide(F.request("svc\(i):Tag", "*", ["aws:username": .string("bob")])) == .implicitDeny)
            #expect(compiled.decide(F.request("svc\(i)x:GetA", "arn:aws:svc\(i)x:::x")) == .implicitDeny)
        }
        let result = compiled.evaluate(F.request("svc42:GetA", "arn:aws:svc42:::secret"))
        #expect(result.matched == [MatchedStatement(policyID: "id42", role: .identity, index: 3, sid: nil)])
    }

    @Test func keysDifferingOnlyInCaseResolveDeterministically() throws {
        let ctx: [String: ContextValue] = ["aws:username": .string("a"), "AWS:USERNAME": .string("b")]
        let first = RequestContext(ctx)["aws:UserName"]
        for _ in 0..<20 { #expect(RequestContext(ctx)["aws:username"] == first) }
        // The lexically greatest original spelling wins ("aws:username" > "AWS:USERNAME").
        #expect(first == .string("a"))
    }

    /// A context knows, by one bit per key, which keys none of its layers has: every key present (in any case, in any
    /// layer, in small and in hashed layers) is still found, and keys absent are not, past 64 keys (every bit set).
    @Test func everyKeyOfEveryLayerIsFoundAndNoOther() {
        let small = RequestContext(["aws:SourceIp": .string("10.0.0.1"), "Team": .string("eng")])
        let large = RequestContext(
            Dictionary(uniqueKeysWithValues: (0..<40).map { ("app:Key\($0)", ContextValue.string("v\($0)")) }))
        let more = RequestContext(
            Dictionary(uniqueKeysWithValues: (0..<40).map { ("other:key\($0)", ContextValue.string("w\($0)")) }))
        let joined = RequestContext(layers: [small, large, more])
        #expect(joined["AWS:SOURCEIP"] == .string("10.0.0.1"))
        #expect(joined["team"] == .string("eng"))
        for i in 0..<40 {
            #expect(joined["APP:key\(i)"] == .string("v\(i)"))
            #expect(joined["other:KEY\(i)"] == .string("w\(i)"))
            #expect(large["app:key\(i)"] == .string("v\(i)"))
            #expect(joined["app:key\(i + 40)"] == nil)
        }
        for absent in ["aws:ResourceAccount", "aws:username", "team2", "other:key"] {
            #expect(small[absent] == nil)
            #expect(joined[absent] == nil)
        }
    }

    @Test func layeredContextsLetLaterLayersWin() throws {
        let compiled = try F.compile(identity: [
            F.doc(
                #"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"NumericLessThan":{"s3:max-keys":"10"}}}"#
            )
        ])
        // A caller's claimed aws:username (any case) is overridden by the principal's layer.
        let caller = RequestContext(["AWS:UserName": .string("bob"), "s3:max-keys": .string("5")])
        let principal = RequestContext(["aws:username": .string("alice")])
        let request = RequestContext(["aws:SourceIp": .string("10.1.2.3")])
        let joined = RequestContext(layers: [caller, principal, request])
        #expect(joined["aws:USERNAME"] == .string("alice"))
        #expect(joined["s3:max-keys"] == .string("5"))
        #expect(Set(joined.keys) == ["aws:username", "s3:max-keys", "aws:sourceip"])
        func decide(_ context: RequestContext, _ resource: String) -> Decision {
            compiled.decide(AuthorizationRequest(action: "s3:GetObject", resource: resource, context: context))
        }
        #expect(decide(joined, "arn:aws:s3:::b/alice/1") == .allowed)
        #expect(decide(joined, "arn:aws:s3:::b/bob/1") == .implicitDeny)
        // Typed forms (IP, number) come through the layers; empty layers are skipped.
        let outside = RequestContext(layers: [
            RequestContext(), caller, principal, RequestContext(["aws:SourceIp": .string("192.168.0.1")]),
        ])
        #expect(decide(outside, "arn:aws:s3:::b/alice/1") == .implicitDeny)
        #expect(RequestContext(layers: []).keys.isEmpty)
        // Pairs keep their order: of keys equal but for case the last wins, scanned (few keys) or hashed (many).
        for count in [2, 8, 9, 40] {
            var pairs: [(key: String, value: ContextValue)] = (0..<count - 2).map { ("k:\($0)", .string("v\($0)")) }
            pairs.append(("aws:UserName", .string("first")))
            pairs.append(("AWS:USERNAME", .string("last")))
            let context = RequestContext(pairs: pairs)
            #expect(context["aws:username"] == .string("last"), "\(count) pairs")
            #expect(context["K:0"] == (count > 2 ? .string("v0") : nil))
            #expect(context["missing"] == nil)
            // Layered over a big context, the small layer still wins.
            let over = RequestContext(layers: [context, RequestContext(pairs: [("aws:username", .string("top"))])])
            #expect(over["AWS:UserName"] == .string("top"))
            #expect(over["k:0"] == (count > 2 ? .string("v0") : nil))
        }
        #expect(RequestContext(layers: [principal])["aws:username"] == .string("alice"))
    }

    @Test func concurrentChecksAgree() async throws {
        let compiled = try F.compile(identity: [
            F.doc(#"{"Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/${aws:username}/*"}"#)
        ])
        let allowed = F.request("s3:GetObject", "arn:aws:s3:::b/alice/1", ["aws:username": .string("alice")])
        let denied = F.request("s3:GetObject", "arn:aws:s3:::b/bob/1", ["aws:username": .string("alice")])
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var bad = 0
                    for _ in 0..<2_000 {
                        if compiled.decide(allowed) != .allowed { bad += 1 }
                        if compiled.decide(denied) != .implicitDeny { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }
}

@Suite("Engine: session policies")
struct EngineSessionTests {
    typealias F = EngineFixtures

    static func compile(identity: String, session: String, resource: String? = nil) throws -> CompiledPrincipal {
        var inputs = [
            PolicyInput(id: "role", role: .identity, document: try F.parse(F.doc(identity))),
            PolicyInput(id: "session", role: .session, document: try F.parse(F.doc(session), .inlineRole)),
        ]
        if let resource {
            inputs.append(PolicyInput(id: "bucket", role: .resource, document: try F.parse(F.doc(resource), .resource)))
        }
        return CompiledPrincipal(principal: F.session, policies: inputs)
    }

    @Test func sessionPolicyIntersectsRolePermissions() throws {
        let compiled = try Self.compile(
            identity: #"{"Effect":"Allow","Action":["s3:*","ec2:*"],"Resource":"*"}"#,
            session: #"{"Effect":"Allow","Action":["s3:*","sqs:*"],"Resource":"*"}"#
        )
        #expect(compiled.decide(F.request("s3:GetObject")) == .allowed)
        #expect(compiled.decide(F.request("ec2:RunInstances", "*")) == .implicitDeny)
        #expect(compiled.decide(F.request("sqs:SendMessage", "*")) == .implicitDeny)
    }

    @Test func sessionPolicyDenyDenies() throws {
        let compiled = try Self.compile(
            identity: #"{"Effect":"Allow","Action":"*","Resource":"*"}"#,
            session:
                #"{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"No","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#
        )
        let result = compiled.evaluate(F.request("s3:DeleteObject"))
        #expect(result.decision == .explicitDeny)
        #expect(result.matched == [MatchedStatement(policyID: "session", role: .session, index: 1, sid: "No")])
    }

    /// A resource policy naming the role is limited by the session policy; naming the session is not
    /// (D:reference_policies_evaluation-logic.html, same-account table).
    @Test(arguments: [
        ("arn:aws:iam::123456789012:role/app", Decision.implicitDeny),
        ("arn:aws:sts::123456789012:assumed-role/app/s1", Decision.allowed),
    ])
    func resourcePolicyAndSessionPolicy(named: String, expected: Decision) throws {
        let compiled = try Self.compile(
            identity: #"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#,
            session: #"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#,
            resource:
                #"{"Effect":"Allow","Principal":{"AWS":"\#(named)"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#
        )
        #expect(compiled.decide(F.request("s3:GetObject", "arn:aws:s3:::b/k")) == expected)
    }
}

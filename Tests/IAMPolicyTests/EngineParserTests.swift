import IAMPolicy
import Testing

@Suite("Engine: parsing and validation")
struct EngineParserTests {
    typealias F = EngineFixtures

    @Test func parsesTypedModel() throws {
        let d = try F.parse(
            #"""
            {"Version":"2012-10-17","Id":"p1","Statement":[
              {"Sid":"A1","Effect":"Allow","Action":["s3:GetObject","s3:List*"],"Resource":"arn:aws:s3:::b/*",
               "Condition":{"StringEquals":{"aws:username":["alice","bob"]},"Bool":{"aws:SecureTransport":true},
                            "NumericLessThan":{"s3:max-keys":10}}},
              {"Effect":"Deny","NotAction":"iam:*","NotResource":["arn:aws:iam::123456789012:user/x"]}
            ]}
            """#
        )
        #expect(d.version == "2012-10-17")
        #expect(d.id == "p1")
        #expect(d.statements.count == 2)
        let s0 = d.statements[0]
        #expect(s0.sid == "A1")
        #expect(s0.effect == .allow)
        #expect(s0.actions == .include(["s3:GetObject", "s3:List*"]))
        #expect(s0.resources == .include(["arn:aws:s3:::b/*"]))
        #expect(s0.conditions.count == 3)
        #expect(s0.conditions[0].op.base == .stringEquals)
        #expect(s0.conditions[0].values == ["alice", "bob"])
        #expect(s0.conditions[1].values == ["true"])
        #expect(s0.conditions[2].values == ["10"])
        let s1 = d.statements[1]
        #expect(s1.effect == .deny)
        #expect(s1.actions == .exclude(["iam:*"]))
        #expect(s1.resources == .exclude(["arn:aws:iam::123456789012:user/x"]))
    }

    @Test func statementsKnowWhereTheyAreInTheirText() throws {
        // Lines and columns from 1, of each statement's opening and closing brace.
        let text =
            "{\"Version\":\"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\":\"Cafe\",\"Effect\":\"Allow\",\n"
            + "     \"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::caf\u{E9}\"},  {\"Effect\":\"Deny\",\"Action\":\"s3:Delete*\",\"Resource\":\"*\"}\n  ]\n}"
        let d = try PolicyDocument.parse(text, kind: .identity)
        #expect(
            d.statements.map(\.span) == [
                SourceSpan(start: TextPosition(line: 3, column: 5), end: TextPosition(line: 4, column: 52)),
                SourceSpan(start: TextPosition(line: 4, column: 56), end: TextPosition(line: 4, column: 109)),
            ])
        // A single statement object has its span too.
        let single = try F.parse(
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
        #expect(
            single.statements[0].span
                == SourceSpan(start: TextPosition(line: 1, column: 37), end: TextPosition(line: 1, column: 82)))
        // Where a statement sits is not part of what it says: the same policy laid out otherwise is equal.
        let compact = try PolicyDocument.parse(
            #"{"Version":"2012-10-17","Statement":[{"Sid":"Cafe","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::caf\#u{E9}"},{"Effect":"Deny","Action":"s3:Delete*","Resource":"*"}]}"#,
            kind: .identity)
        #expect(compact.statements == d.statements)
        // Columns count characters: the é (two bytes) before the first statement's end counts one.
        #expect(
            compact.statements.map(\.span) == [
                SourceSpan(start: TextPosition(line: 1, column: 38), end: TextPosition(line: 1, column: 115)),
                SourceSpan(start: TextPosition(line: 1, column: 117), end: TextPosition(line: 1, column: 170)),
            ])
    }

    @Test func singleStatementObjectAndPrincipalForms() throws {
        let d = try F.parse(
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root"],"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
            .trust
        )
        #expect(d.statements.count == 1)
        guard case .include(let set)? = d.statements[0].principals else {
            Issue.record("expected Principal")
            return
        }
        #expect(set.entries.map(\.type) == ["AWS", "AWS", "Service"])
        #expect(d.statements[0].resources == nil)
        let star = try F.parse(
            #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            .resource
        )
        #expect(star.statements[0].principals == .include(PrincipalSet(isWildcard: true, entries: [])))
    }

    @Test(arguments: ConditionOperator.Base.allCases)
    func operatorNamesRoundTrip(base: ConditionOperator.Base) {
        for qualifier in [nil, ConditionOperator.SetQualifier.forAllValues, .forAnyValue] {
            for ifExists in [false, true] where !(base == .null && ifExists) {
                let op = ConditionOperator(base: base, ifExists: ifExists, qualifier: qualifier)
                #expect(ConditionOperator(op.description) == op)
            }
        }
        #expect(ConditionOperator("NullIfExists") == nil)
        #expect(ConditionOperator("stringequals") == nil)
    }

    @Test func versionRules() throws {
        // Inline and resource policies may omit Version (2008-10-17 semantics: variables are literal text).
        let inline = try F.parse(#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#, .inlineUser)
        #expect(inline.version == nil)
        #expect(!inline.supportsVariables)
        let old = try F.parse(
            #"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            .inlineRole
        )
        #expect(old.version == "2008-10-17")
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        let name: String
        let kind: PolicyDocumentKind
        let text: String
        let code: String
        let fragment: String
        var testDescription: String { name }
        init(
            _ name: String,
            _ kind: PolicyDocumentKind = .identity,
            _ text: String,
            _ fragment: String,
            code: String = "MalformedPolicyDocument"
        ) {
            self.name = name
            self.kind = kind
            self.text = text
            self.code = code
            self.fragment = fragment
        }
    }

    static let ok = #""Effect":"Allow","Action":"s3:GetObject","Resource":"*""#

    static let invalid: [Invalid] = [
        Invalid("not JSON", .identity, "{", "Invalid JSON at line 1"),
        Invalid("trailing garbage", .identity, F.doc("{\(ok)}") + "x", "unexpected text after the end"),
        Invalid("array document", .identity, "[]", "must be a JSON object"),
        Invalid("missing version managed", .identity, #"{"Statement":{\#(ok)}}"#, "must be version 2012-10-17"),
        Invalid(
            "old version managed",
            .identity,
            #"{"Version":"2008-10-17","Statement":{\#(ok)}}"#,
            "must be version 2012-10-17"
        ),
        Invalid(
            "old version boundary",
            .boundary,
            #"{"Version":"2008-10-17","Statement":{\#(ok)}}"#,
            "must be version 2012-10-17"
        ),
        Invalid(
            "bad version",
            .inlineUser,
            #"{"Version":"2012-10-18","Statement":{\#(ok)}}"#,
            #"Version: Syntax errors in policy. Version "2012-10-18""#
        ),
        Invalid("numeric version", .inlineUser, #"{"Version":2012,"Statement":{\#(ok)}}"#, "Version must be a string"),
        Invalid("no statement", .identity, #"{"Version":"2012-10-17"}"#, "Missing required element Statement"),
        Invalid("empty statement list", .identity, #"{"Version":"2012-10-17","Statement":[]}"#, "empty list"),
        Invalid("statement string", .identity, #"{"Version":"2012-10-17","Statement":"x"}"#, "object or a list"),
        Invalid("statement element not object", .identity, F.doc(#"{\#(ok)},1"#), "Statement[1]: Syntax errors"),
        Invalid("unknown top element", .identity, #"{"Version":"2012-10-17","Foo":1,"Statement":{\#(ok)}}"#, "Foo"),
        Invalid("unknown statement element", .identity, F.doc(#"{\#(ok),"Actions":"x"}"#), "Statement[0].Actions"),
        Invalid(
            "duplicate Statement key", .identity,
            #"{"Version":"2012-10-17","Statement":{\#(ok)},"Statement":{\#(ok)}}"#, #"Duplicate key "Statement""#),
        Invalid(
            "duplicate Effect", .identity, F.doc(#"{\#(ok),"Effect":"Deny"}"#),
            #"Statement[0]: Syntax errors in policy. Duplicate key "Effect""#),
        Invalid(
            "missing effect", .identity, F.doc(#"{"Action":"s3:*","Resource":"*"}"#), "Missing required element Effect"),
        Invalid(
            "lowercase effect", .identity, F.doc(#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#),
            "failed legacy parsing"),
        Invalid(
            "other effect", .identity, F.doc(#"{"Effect":"Permit","Action":"s3:*","Resource":"*"}"#),
            #"Statement[0].Effect: Syntax errors in policy. Effect "Permit""#),
        Invalid(
            "missing action", .identity, F.doc(#"{"Effect":"Allow","Resource":"*"}"#),
            "Policy statement must contain actions."),
        Invalid(
            "empty action list", .identity, F.doc(#"{"Effect":"Allow","Action":[],"Resource":"*"}"#),
            "Statement[0].Action: Policy statement must contain actions."),
        Invalid(
            "action and notaction", .identity,
            F.doc(#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#),
            "either Action or NotAction"),
        Invalid(
            "action without vendor", .identity, F.doc(#"{"Effect":"Allow","Action":"invalid","Resource":"*"}"#),
            "must be prefaced by a vendor"),
        Invalid(
            "action two colons", .identity, F.doc(#"{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"*"}"#),
            "can contain only one colon"),
        Invalid(
            "bad vendor", .identity, F.doc(#"{"Effect":"Allow","Action":"a a:Get","Resource":"*"}"#),
            "Vendor a a is not valid"),
        Invalid(
            "action number", .identity, F.doc(#"{"Effect":"Allow","Action":[1],"Resource":"*"}"#),
            "Statement[0].Action[0]: Syntax errors in policy. Expected a string, not number"),
        Invalid("action object", .identity, F.doc(#"{"Effect":"Allow","Action":{},"Resource":"*"}"#), "not object"),
        Invalid(
            "second action bad", .identity, F.doc(#"{"Effect":"Allow","Action":["s3:Get","bad"],"Resource":"*"}"#),
            "Statement[0].Action[1]"),
        Invalid(
            "missing resource", .identity, F.doc(#"{"Effect":"Allow","Action":"s3:*"}"#),
            "Policy statement must contain resources."),
        Invalid(
            "empty resource list", .inlineUser, F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":[]}"#),
            "must contain resources"),
        Invalid(
            "resource and notresource", .identity,
            F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}"#),
            "either Resource or NotResource"),
        Invalid(
            "resource not arn", .identity, F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"x"}"#),
            #"Resource x must be in ARN format or "*"."#),
        Invalid(
            "resource bad partition", .identity,
            F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:error:s3:::example_bucket"}"#),
            #"Partition "error" is not valid"#),
        Invalid(
            "resource wildcard service", .identity,
            F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:*:::b"}"#),
            "Resource vendor must be fully qualified and cannot contain regexes."),
        Invalid(
            "iam resource region", .identity,
            F.doc(#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam:us-east-1:123456789012:user/x"}"#),
            "IAM resource arn:aws:iam:us-east-1:123456789012:user/x cannot contain region information."),
        Invalid(
            "s3 resource region", .identity,
            F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:us-east-1::b"}"#), "can not contain region"
        ),
        Invalid(
            "iam resource type", .identity,
            F.doc(#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::123456789012:usr/x"}"#),
            #"IAM resource path must either be "*" or start with user/"#),
        Invalid(
            "principal in identity", .identity, F.doc(#"{\#(ok),"Principal":"*"}"#),
            "Policy document should not specify a principal."),
        Invalid(
            "notprincipal in inline", .inlineGroup, F.doc(#"{\#(ok),"NotPrincipal":{"AWS":"*"}}"#),
            "should not specify a principal"),
        Invalid(
            "principal in boundary", .boundary, F.doc(#"{\#(ok),"Principal":"*"}"#), "should not specify a principal"),
        Invalid(
            "trust without principal", .trust, F.doc(#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#),
            "statement with no principals!"),
        Invalid(
            "trust with resource", .trust,
            F.doc(#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}"#),
            "Has prohibited field Resource"),
        Invalid(
            "trust with notprincipal", .trust,
            F.doc(#"{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"sts:AssumeRole"}"#),
            "NotPrincipal is not allowed in a role trust policy"),
        Invalid("resource policy without principal", .resource, F.doc(ok.isEmpty ? "" : "{\(ok)}"), "no principals"),
        Invalid(
            "principal and notprincipal", .resource, F.doc(#"{\#(ok),"Principal":"*","NotPrincipal":"*"}"#),
            "either Principal or NotPrincipal"),
        Invalid(
            "principal string not star", .resource, F.doc(#"{\#(ok),"Principal":"alice"}"#),
            "Invalid principal in policy"),
        Invalid(
            "principal unknown type", .resource, F.doc(#"{\#(ok),"Principal":{"User":"x"}}"#),
            #"unknown principal type "User""#),
        Invalid(
            "principal partial wildcard", .trust,
            F.doc(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:role/x"},"Action":"sts:AssumeRole"}"#),
            "partial wildcard"),
        Invalid(
            "principal not arn", .trust,
            F.doc(#"{"Effect":"Allow","Principal":{"AWS":"alice"},"Action":"sts:AssumeRole"}"#), #""AWS":"alice""#),
        Invalid("principal empty object", .resource, F.doc(#"{\#(ok),"Principal":{}}"#), "no principals"),
        Invalid("sid with space", .identity, F.doc(#"{"Sid":"a b",\#(ok)}"#), "must be alpha-numeric"),
        Invalid("sid not string", .identity, F.doc(#"{"Sid":1,\#(ok)}"#), "Sid must be a string"),
        Invalid(
            "duplicate sid", .identity, F.doc(#"{"Sid":"A",\#(ok)},{"Sid":"A",\#(ok)}"#),
            "Statement[1].Sid: Statement IDs (SID) in a single policy must be unique."),
        Invalid("condition not object", .identity, F.doc(#"{\#(ok),"Condition":[]}"#), "Condition must be an object"),
        Invalid(
            "unknown operator", .identity,
            F.doc(#"{\#(ok)},{\#(ok)},{\#(ok),"Condition":{"StringEqual":{"aws:username":"x"}}}"#),
            #"Statement[2].Condition: Syntax errors in policy. Unknown condition operator "StringEqual""#),
        Invalid(
            "NullIfExists", .identity, F.doc(#"{\#(ok),"Condition":{"NullIfExists":{"aws:username":"true"}}}"#),
            "Unknown condition operator"),
        Invalid(
            "operator body not object", .identity, F.doc(#"{\#(ok),"Condition":{"StringEquals":"x"}}"#),
            "Statement[0].Condition.StringEquals"),
        Invalid(
            "condition null value", .identity, F.doc(#"{\#(ok),"Condition":{"StringEquals":{"aws:username":null}}}"#),
            "not null"),
        Invalid(
            "condition nested array", .identity,
            F.doc(#"{\#(ok),"Condition":{"StringEquals":{"aws:username":[["a"]]}}}"#), "aws:username[0]"),
        Invalid(
            "bad number", .identity, F.doc(#"{\#(ok),"Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}"#),
            #""ten" is not a number"#),
        Invalid(
            "absurd number", .identity, F.doc(#"{\#(ok),"Condition":{"NumericLessThan":{"s3:max-keys":1e999}}}"#),
            "is not a number"),
        Invalid(
            "huge digits", .identity,
            F.doc(#"{\#(ok),"Condition":{"NumericEquals":{"s3:max-keys":"\#(String(repeating: "9", count: 400))"}}}"#),
            "is not a number"),
        Invalid(
            "bad date", .identity, F.doc(#"{\#(ok),"Condition":{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}}"#),
            "failed legacy parsing"),
        Invalid(
            "absurd epoch", .identity,
            F.doc(#"{\#(ok),"Condition":{"DateLessThan":{"aws:EpochTime":"99999999999999999999"}}}"#), "is not a date"),
        Invalid(
            "bad cidr prefix", .identity, F.doc(#"{\#(ok),"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}"#),
            "not an IPv4 or IPv6"),
        Invalid(
            "bad ipv4 octet", .identity, F.doc(#"{\#(ok),"Condition":{"IpAddress":{"aws:SourceIp":"256.0.0.1"}}}"#),
            "not an IPv4 or IPv6"),
        Invalid(
            "bad ipv6", .identity, F.doc(#"{\#(ok),"Condition":{"NotIpAddress":{"aws:SourceIp":"2001:db8::1::2"}}}"#),
            "not an IPv4 or IPv6"),
        Invalid(
            "absurd cidr", .identity,
            F.doc(#"{\#(ok),"Condition":{"IpAddress":{"aws:SourceIp":"::/99999999999999999999"}}}"#),
            "not an IPv4 or IPv6"),
        Invalid(
            "bad bool", .identity, F.doc(#"{\#(ok),"Condition":{"Bool":{"aws:SecureTransport":"yes"}}}"#),
            "not a boolean"),
        Invalid(
            "bad null", .identity, F.doc(#"{\#(ok),"Condition":{"Null":{"aws:username":"maybe"}}}"#), "not a boolean"),
        Invalid(
            "bad base64", .identity, F.doc(#"{\#(ok),"Condition":{"BinaryEquals":{"aws:x":"!!"}}}"#), "not base-64"),
        Invalid("non latin-1 character", .identity, F.doc(#"{"Sid":"\#u{4E2D}",\#(ok)}"#), "U+4E2D"),
        Invalid("control character raw", .identity, F.doc("{\"Sid\":\"a\u{01}\",\(ok)}"), "U+1"),
        Invalid(
            "managed too large", .identity, bigPolicy(6_145), "Cannot exceed quota for PolicySize: 6144",
            code: "LimitExceeded"),
        Invalid(
            "inline user too large", .inlineUser, bigPolicy(2_049), "2048 bytes exceeded for user",
            code: "LimitExceeded"),
        Invalid(
            "inline group too large", .inlineGroup, bigPolicy(5_121), "5120 bytes exceeded for group",
            code: "LimitExceeded"),
        Invalid(
            "inline role too large", .inlineRole, bigPolicy(10_241), "10240 bytes exceeded for role",
            code: "LimitExceeded"),
        Invalid("trust too large", .trust, bigTrust(2_049), "ACLSizePerRole: 2048", code: "LimitExceeded"),
    ]

    /// A valid identity policy of exactly `count` AWS characters (padded with whitespace that does not count).
    static func bigPolicy(_ count: Int) -> String {
        let head = #"{"Version":"2012-10-17","Statement":{"Sid":""#
        let tail = #"","Effect":"Allow","Action":"s3:*","Resource":"*"}}"#
        let sid = String(repeating: "A", count: count - head.count - tail.count)
        return head + sid + tail + String(repeating: " \n", count: 500)
    }

    static func bigTrust(_ count: Int) -> String {
        let head = #"{"Version":"2012-10-17","Statement":{"Sid":""#
        let tail = #"","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#
        return head + String(repeating: "A", count: count - head.count - tail.count) + tail
    }

    @Test(arguments: invalid)
    func rejects(_ c: Invalid) {
        do {
            let d = try PolicyDocument.parse(c.text, kind: c.kind)
            Issue.record("accepted: \(d)")
        } catch {
            #expect(error.code == c.code)
            #expect(error.message.contains(c.fragment), "message was: \(error.message)")
        }
    }

    struct Valid: CustomTestStringConvertible, Sendable {
        let name: String
        let kind: PolicyDocumentKind
        let text: String
        var testDescription: String { name }
    }

    static let valid: [Valid] = [
        Valid(
            name: "s3 wildcard region",
            kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:*:*:bucket/*"}"#)
        ),
        Valid(name: "at managed limit", kind: .identity, text: bigPolicy(6_144)),
        Valid(name: "at inline user limit", kind: .inlineUser, text: bigPolicy(2_048)),
        Valid(name: "at trust limit", kind: .trust, text: bigTrust(2_048)),
        Valid(
            name: "empty sid", kind: .trust,
            text:
                #"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        ),
        Valid(
            name: "resource policy sid with spaces", kind: .resource,
            text: F.doc(#"{"Sid":"Allow read",\#(ok),"Principal":"*"}"#)),
        Valid(name: "empty condition", kind: .identity, text: F.doc(#"{\#(ok),"Condition":{}}"#)),
        Valid(
            name: "unknown operator with empty map", kind: .identity,
            text: F.doc(#"{\#(ok),"Condition":{"StringEqual":{}}}"#)),
        Valid(
            name: "unquoted numbers and booleans", kind: .identity,
            text: F.doc(
                #"{\#(ok),"Condition":{"NumericLessThan":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":false}}}"#)),
        Valid(
            name: "Id in identity policy", kind: .identity,
            text: #"{"Version":"2012-10-17","Id":"x","Statement":{\#(ok)}}"#),
        Valid(name: "unicode escapes", kind: .identity, text: F.doc(#"{"Sid":"\u0041B",\#(ok)}"#)),
        Valid(
            name: "latin-1 characters", kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/caf\#u{E9}"}"#)),
        Valid(name: "action star", kind: .identity, text: F.doc(#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)),
        Valid(
            name: "service wildcard action", kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"code*:List*","Resource":"*"}"#)),
        Valid(
            name: "iam resource with variable", kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:username}"}"#)),
        Valid(
            name: "ipv6 cidr and epoch date", kind: .identity,
            text: F.doc(
                #"{\#(ok),"Condition":{"IpAddress":{"aws:SourceIp":["2001:DB8:1234:5678::/64","10.0.0.0/8","203.0.113.7"]},"DateGreaterThan":{"aws:EpochTime":"1700000000"}}}"#
            )),
        Valid(
            name: "account principal", kind: .trust,
            text: F.doc(#"{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}"#)),
        Valid(name: "no version inline", kind: .inlineGroup, text: #"{"Statement":{\#(ok)}}"#),
        // AWS accepts these (getmoto/moto's corpus, recorded against AWS).
        Valid(
            name: "condition key without vendor", kind: .identity,
            text: F.doc(#"{\#(ok),"Condition":{"StringEquals":{"username":"x"}}}"#)),
        Valid(
            name: "condition empty value list", kind: .identity,
            text: F.doc(#"{\#(ok),"Condition":{"StringEquals":{"aws:username":[]}}}"#)),
        Valid(
            name: "action name with spaces", kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"iam: asdf safdsf af ","Resource":"*"}"#)),
        Valid(
            name: "vendor with a dot", kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"s3.s:ListBucket","Resource":"*"}"#)),
        Valid(
            name: "s3 access point with region and account", kind: .identity,
            text: F.doc(
                #"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:us-west-2:123456789012:accesspoint/ap"}"#)),
        Valid(
            name: "null in a resource list", kind: .identity,
            text: F.doc(#"{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::b",null]}"#)),
    ]

    @Test(arguments: valid)
    func accepts(_ c: Valid) throws {
        _ = try PolicyDocument.parse(c.text, kind: c.kind)
    }

    @Test func characterCountIgnoresWhitespaceOutsideStrings() {
        #expect(PolicyDocument.awsCharacterCount(#"{ "a" : "b c" }"#) == 11)
        #expect(PolicyDocument.awsCharacterCount("\t\n{}\r\n") == 2)
        #expect(PolicyDocument.awsCharacterCount(#"{"a\" ":1}"#) == 10)
    }

    @Test func bytesAndStringParseAgree() throws {
        let text = F.doc("{\(Self.ok)}")
        let a = try PolicyDocument.parse(text, kind: .identity)
        let b = try PolicyDocument.parse(bytes: Array(text.utf8), kind: .identity)
        #expect(a == b)
    }
}

import IAMPolicy
import Testing

/// One condition case: a Condition block, a request context, whether the statement applies.
struct ConditionCase: CustomTestStringConvertible, Sendable {
    let name: String
    let condition: String
    let context: [String: ContextValue]
    let applies: Bool
    var testDescription: String { name }

    init(_ name: String, _ condition: String, _ context: [String: ContextValue], _ applies: Bool) {
        self.name = name
        self.condition = condition
        self.context = context
        self.applies = applies
    }
}

@Suite("Engine: condition operators and policy variables")
struct EngineConditionTests {
    typealias F = EngineFixtures

    static func s(_ v: String) -> ContextValue { .string(v) }
    static func l(_ v: String...) -> ContextValue { .list(v) }

    static let strings: [ConditionCase] = [
        ConditionCase(
            "StringEquals match", #"{"StringEquals":{"aws:username":"alice"}}"#, ["aws:username": s("alice")], true),
        ConditionCase(
            "StringEquals case-sensitive", #"{"StringEquals":{"aws:username":"alice"}}"#, ["aws:username": s("Alice")],
            false),
        ConditionCase(
            "StringEquals no glob", #"{"StringEquals":{"aws:username":"a*"}}"#, ["aws:username": s("alice")], false),
        ConditionCase(
            "StringEquals values ORed", #"{"StringEquals":{"aws:username":["bob","alice"]}}"#,
            ["aws:username": s("alice")], true),
        ConditionCase("StringEquals missing key", #"{"StringEquals":{"aws:username":"alice"}}"#, [:], false),
        ConditionCase(
            "key name case-insensitive", #"{"StringEquals":{"AWS:USERNAME":"alice"}}"#, ["aws:UserName": s("alice")],
            true),
        ConditionCase(
            "StringNotEquals differs", #"{"StringNotEquals":{"aws:username":"bob"}}"#, ["aws:username": s("alice")],
            true),
        ConditionCase(
            "StringNotEquals NOR", #"{"StringNotEquals":{"aws:username":["bob","alice"]}}"#,
            ["aws:username": s("alice")], false),
        ConditionCase("StringNotEquals missing key true", #"{"StringNotEquals":{"aws:username":"bob"}}"#, [:], true),
        ConditionCase(
            "IgnoreCase", #"{"StringEqualsIgnoreCase":{"aws:username":"ALICE"}}"#, ["aws:username": s("alice")], true),
        ConditionCase(
            "NotEqualsIgnoreCase", #"{"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}}"#,
            ["aws:username": s("Alice")], false),
        ConditionCase(
            "StringLike star", #"{"StringLike":{"s3:prefix":"home/*"}}"#, ["s3:prefix": s("home/alice/x")], true),
        ConditionCase(
            "StringLike anchored", #"{"StringLike":{"s3:prefix":"home/*"}}"#, ["s3:prefix": s("x/home/a")], false),
        ConditionCase("StringLike question", #"{"StringLike":{"s3:prefix":"a?c"}}"#, ["s3:prefix": s("abc")], true),
        ConditionCase(
            "StringLike case-sensitive", #"{"StringLike":{"s3:prefix":"A*"}}"#, ["s3:prefix": s("abc")], false),
        ConditionCase(
            "StringLike star crosses colon", #"{"StringLike":{"aws:SourceArn":"arn:aws:*"}}"#,
            ["aws:SourceArn": s("arn:aws:s3:::b")], true),
        ConditionCase(
            "StringNotLike", #"{"StringNotLike":{"s3:prefix":["home/*","tmp/*"]}}"#, ["s3:prefix": s("etc/x")], true),
        ConditionCase(
            "StringNotLike NOR", #"{"StringNotLike":{"s3:prefix":["home/*","tmp/*"]}}"#, ["s3:prefix": s("tmp/x")],
            false),
        ConditionCase(
            "keys ANDed", #"{"StringEquals":{"aws:username":"alice","aws:RequestedRegion":"us-east-1"}}"#,
            ["aws:username": s("alice"), "aws:RequestedRegion": s("eu-west-1")], false),
        ConditionCase(
            "operators ANDed", #"{"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}}"#,
            ["aws:username": s("alice"), "aws:SecureTransport": s("false")], false),
        ConditionCase(
            "operators ANDed both true",
            #"{"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}}"#,
            ["aws:username": s("alice"), "aws:SecureTransport": s("true")], true),
    ]

    static let numbersDatesBools: [ConditionCase] = [
        ConditionCase(
            "NumericEquals decimals", #"{"NumericEquals":{"s3:max-keys":"10"}}"#, ["s3:max-keys": s("10.0")], true),
        ConditionCase("NumericLessThan", #"{"NumericLessThan":{"s3:max-keys":10}}"#, ["s3:max-keys": s("2.5")], true),
        ConditionCase(
            "NumericLessThan equal", #"{"NumericLessThan":{"s3:max-keys":10}}"#, ["s3:max-keys": s("10")], false),
        ConditionCase(
            "NumericLessThanEquals", #"{"NumericLessThanEquals":{"s3:max-keys":10}}"#, ["s3:max-keys": s("10")], true),
        ConditionCase(
            "NumericGreaterThan", #"{"NumericGreaterThan":{"s3:max-keys":"-1"}}"#, ["s3:max-keys": s("0")], true),
        ConditionCase(
            "NumericGreaterThanEquals", #"{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":"3600"}}"#,
            ["aws:MultiFactorAuthAge": s("3599")], false),
        ConditionCase(
            "NumericNotEquals", #"{"NumericNotEquals":{"s3:max-keys":["1","2"]}}"#, ["s3:max-keys": s("3")], true),
        ConditionCase(
            "Numeric non-number request", #"{"NumericLessThan":{"s3:max-keys":"10"}}"#, ["s3:max-keys": s("ten")], false
        ),
        ConditionCase("Numeric missing", #"{"NumericLessThan":{"s3:max-keys":"10"}}"#, [:], false),
        ConditionCase(
            "DateGreaterThan ISO", #"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            ["aws:CurrentTime": s("2024-06-01T12:00:00Z")], true),
        ConditionCase(
            "DateLessThan ISO", #"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            ["aws:CurrentTime": s("2024-06-01T12:00:00Z")], false),
        ConditionCase(
            "Date epoch vs ISO", #"{"DateEquals":{"aws:CurrentTime":"1577836800"}}"#,
            ["aws:CurrentTime": s("2020-01-01T00:00:00Z")], true),
        ConditionCase(
            "Date offset", #"{"DateEquals":{"aws:CurrentTime":"2020-01-01T02:00:00+02:00"}}"#,
            ["aws:CurrentTime": s("2020-01-01T00:00:00Z")], true),
        ConditionCase(
            "Date fractional", #"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00.5Z"}}"#,
            ["aws:CurrentTime": s("2020-01-01T00:00:00Z")], true),
        ConditionCase(
            "Date only", #"{"DateGreaterThanEquals":{"aws:CurrentTime":"2020-01-01"}}"#,
            ["aws:CurrentTime": s("2020-01-01T00:00:00Z")], true),
        ConditionCase(
            "DateNotEquals", #"{"DateNotEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            ["aws:CurrentTime": s("2020-01-02T00:00:00Z")], true),
        ConditionCase(
            "DateLessThanEquals", #"{"DateLessThanEquals":{"aws:EpochTime":"100"}}"#, ["aws:EpochTime": s("100")], true),
        ConditionCase(
            "Date unparsable request", #"{"DateLessThan":{"aws:CurrentTime":"2020-01-01"}}"#,
            ["aws:CurrentTime": s("soon")], false),
        ConditionCase(
            "Bool true", #"{"Bool":{"aws:SecureTransport":"true"}}"#, ["aws:SecureTransport": s("true")], true),
        ConditionCase(
            "Bool unquoted", #"{"Bool":{"aws:SecureTransport":true}}"#, ["aws:SecureTransport": s("TRUE")], true),
        ConditionCase(
            "Bool false vs true", #"{"Bool":{"aws:SecureTransport":"false"}}"#, ["aws:SecureTransport": s("true")],
            false),
        ConditionCase("Bool missing", #"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#, [:], false),
        ConditionCase("BoolIfExists missing", #"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#, [:], true),
        ConditionCase(
            "BoolIfExists present", #"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
            ["aws:MultiFactorAuthPresent": s("true")], false),
        ConditionCase(
            "BinaryEquals", #"{"BinaryEquals":{"aws:x":"QmluYXJ5VmFsdWU="}}"#, ["aws:x": s("QmluYXJ5VmFsdWU=")], true),
        ConditionCase(
            "BinaryEquals differs", #"{"BinaryEquals":{"aws:x":"QmluYXJ5VmFsdWU="}}"#, ["aws:x": s("QQ==")], false),
    ]

    static let ipArnNull: [ConditionCase] = [
        ConditionCase(
            "IpAddress in v4", #"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, ["aws:SourceIp": s("10.1.2.3")], true),
        ConditionCase(
            "IpAddress out v4", #"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, ["aws:SourceIp": s("11.1.2.3")], false),
        ConditionCase(
            "IpAddress bare is /32", #"{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}"#,
            ["aws:SourceIp": s("203.0.113.7")], true),
        ConditionCase(
            "IpAddress bare other", #"{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}"#,
            ["aws:SourceIp": s("203.0.113.8")], false),
        ConditionCase(
            "IpAddress /0", #"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#, ["aws:SourceIp": s("8.8.8.8")], true),
        ConditionCase(
            "IpAddress v6", #"{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}"#,
            ["aws:SourceIp": s("2001:db8:1234:5678:abcd::1")], true),
        ConditionCase(
            "IpAddress v6 out", #"{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}"#,
            ["aws:SourceIp": s("2001:db8:1234:5679::1")], false),
        ConditionCase(
            "IpAddress v6 /127", #"{"IpAddress":{"aws:SourceIp":"2001:db8::/127"}}"#,
            ["aws:SourceIp": s("2001:db8::1")], true),
        ConditionCase(
            "IpAddress mixed list", #"{"IpAddress":{"aws:SourceIp":["2001:DB8::/32","192.0.2.0/24"]}}"#,
            ["aws:SourceIp": s("192.0.2.9")], true),
        ConditionCase(
            "IpAddress v4 vs v6 block", #"{"IpAddress":{"aws:SourceIp":"::/0"}}"#, ["aws:SourceIp": s("10.0.0.1")],
            false),
        ConditionCase(
            "IpAddress junk request", #"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, ["aws:SourceIp": s("not-an-ip")],
            false),
        ConditionCase(
            "NotIpAddress outside", #"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#,
            ["aws:SourceIp": s("8.8.8.8")], true),
        ConditionCase(
            "NotIpAddress inside", #"{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#,
            ["aws:SourceIp": s("192.168.1.1")], false),
        ConditionCase("NotIpAddress missing key", #"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, [:], true),
        ConditionCase(
            "ArnLike segments", #"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::bucket-*"}}"#,
            ["aws:SourceArn": s("arn:aws:s3:::bucket-1")], true),
        ConditionCase(
            "ArnLike segment mismatch", #"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}"#,
            ["aws:SourceArn": s("arn:aws:sns:us-east-1:999999999999:t")], false),
        ConditionCase(
            "ArnLike star stays in segment", #"{"ArnLike":{"aws:SourceArn":"arn:aws:*:123456789012:t"}}"#,
            ["aws:SourceArn": s("arn:aws:sns:us-east-1:123456789012:t")], false),
        ConditionCase(
            "ArnEquals like ArnLike", #"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}"#,
            ["aws:SourceArn": s("arn:aws:sns:us-east-1:123456789012:t")], true),
        ConditionCase(
            "ArnNotEquals", #"{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}"#,
            ["aws:SourceArn": s("arn:aws:sns:us-east-1:123456789012:t")], false),
        ConditionCase("ArnNotLike missing", #"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}"#, [:], true),
        ConditionCase(
            "ArnLike case-sensitive", #"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::Bucket"}}"#,
            ["aws:SourceArn": s("arn:aws:s3:::bucket")], false),
        ConditionCase("Null true absent", #"{"Null":{"aws:TokenIssueTime":"true"}}"#, [:], true),
        ConditionCase(
            "Null true present", #"{"Null":{"aws:TokenIssueTime":"true"}}"#,
            ["aws:TokenIssueTime": s("2020-01-01T00:00:00Z")], false),
        ConditionCase(
            "Null false present", #"{"Null":{"aws:TokenIssueTime":false}}"#, ["aws:TokenIssueTime": s("x")], true),
        ConditionCase("Null false absent", #"{"Null":{"aws:TokenIssueTime":"false"}}"#, [:], false),
        ConditionCase("Null empty list is null", #"{"Null":{"aws:TagKeys":"true"}}"#, ["aws:TagKeys": l()], true),
        ConditionCase(
            "StringEqualsIfExists missing", #"{"StringEqualsIfExists":{"ec2:InstanceType":"t2.micro"}}"#, [:], true),
        ConditionCase(
            "StringEqualsIfExists present", #"{"StringEqualsIfExists":{"ec2:InstanceType":"t2.micro"}}"#,
            ["ec2:InstanceType": s("m5.large")], false),
        ConditionCase(
            "NumericLessThanIfExists missing", #"{"NumericLessThanIfExists":{"s3:max-keys":"1"}}"#, [:], true),
        ConditionCase("IpAddressIfExists missing", #"{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#, [:], true),
    ]

    /// The documented ForAllValues / ForAnyValue tables
    /// (D:reference_policies_condition-single-vs-multi-valued-context-keys.html).
    static let sets: [ConditionCase] = [
        ConditionCase(
            "ForAllValues subset", #"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#, ["aws:TagKeys": l("a")],
            true),
        ConditionCase(
            "ForAllValues not subset", #"{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}"#,
            ["aws:TagKeys": l("a", "c")], false),
        ConditionCase(
            "ForAllValues missing is true", #"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}"#, [:], true),
        ConditionCase(
            "ForAllValues empty is true", #"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}"#, ["aws:TagKeys": l()],
            true),
        ConditionCase(
            "ForAnyValue overlap", #"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#,
            ["aws:TagKeys": l("c", "b")], true),
        ConditionCase(
            "ForAnyValue none", #"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}"#, ["aws:TagKeys": l("c")],
            false),
        ConditionCase(
            "ForAnyValue missing is false", #"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}"#, [:], false),
        ConditionCase(
            "ForAnyValue empty is false", #"{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}"#, ["aws:TagKeys": l()],
            false),
        ConditionCase(
            "ForAllValues:StringNotLike none match", #"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#,
            ["aws:TagKeys": l("x", "y")], true),
        ConditionCase(
            "ForAllValues:StringNotLike one matches", #"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#,
            ["aws:TagKeys": l("x", "key1a")], false),
        ConditionCase(
            "ForAllValues:StringNotLike empty", #"{"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}}"#, [:], true),
        ConditionCase(
            "ForAnyValue:StringNotLike one differs", #"{"ForAnyValue:StringNotLike":{"aws:TagKeys":"key1*"}}"#,
            ["aws:TagKeys": l("key1a", "x")], true),
        ConditionCase(
            "ForAnyValue:StringNotLike all match", #"{"ForAnyValue:StringNotLike":{"aws:TagKeys":"key1*"}}"#,
            ["aws:TagKeys": l("key1a", "key1b")], false),
        ConditionCase(
            "ForAllValues:StringLike", #"{"ForAllValues:StringLike":{"aws:TagKeys":["env*","team"]}}"#,
            ["aws:TagKeys": l("env-x", "team")], true),
        ConditionCase(
            "ForAnyValue:StringEqualsIgnoreCase", #"{"ForAnyValue:StringEqualsIgnoreCase":{"aws:TagKeys":"ENV"}}"#,
            ["aws:TagKeys": l("env")], true),
        ConditionCase(
            "ForAllValues with Null guard",
            #"{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]},"Null":{"aws:TagKeys":"false"}}"#, [:], false),
        ConditionCase(
            "plain operator on list: any value", #"{"StringEquals":{"aws:TagKeys":"a"}}"#, ["aws:TagKeys": l("b", "a")],
            true),
        ConditionCase(
            "negated operator on list: none", #"{"StringNotEquals":{"aws:TagKeys":"a"}}"#, ["aws:TagKeys": l("b", "a")],
            false),
    ]

    static let setsWithIfExists: [ConditionCase] = [
        ConditionCase(
            "ForAnyValue IfExists missing is true", #"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}"#, [:],
            true
        ),
        ConditionCase(
            "ForAnyValue IfExists present", #"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}"#,
            ["aws:TagKeys": l("b")], false
        ),
        ConditionCase(
            "ForAnyValue IfExists empty is false", #"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"a"}}"#,
            ["aws:TagKeys": l()], false
        ),
    ]

    static let variables: [ConditionCase] = [
        ConditionCase(
            "variable in value", #"{"StringEquals":{"s3:prefix":"home/${aws:username}"}}"#,
            ["s3:prefix": s("home/alice"), "aws:username": s("alice")], true),
        ConditionCase(
            "variable name case-insensitive", #"{"StringEquals":{"s3:prefix":"${AWS:UserName}"}}"#,
            ["s3:prefix": s("alice"), "aws:username": s("alice")], true),
        ConditionCase(
            "variable other user", #"{"StringEquals":{"s3:prefix":"home/${aws:username}"}}"#,
            ["s3:prefix": s("home/bob"), "aws:username": s("alice")], false),
        ConditionCase(
            "variable missing: positive false",
            #"{"StringEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}"#,
            ["s3:ExistingObjectTag/Team": s("red")], false),
        ConditionCase(
            "variable missing: negated true",
            #"{"StringNotEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}"#,
            ["s3:ExistingObjectTag/Team": s("red")], true),
        ConditionCase(
            "principal tag key case-insensitive",
            #"{"StringEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/team}"}}"#,
            ["s3:ExistingObjectTag/Team": s("red"), "aws:PrincipalTag/TEAM": s("red")], true),
        ConditionCase(
            "default used", #"{"StringEquals":{"s3:x":"${aws:PrincipalTag/team, 'company-wide'}"}}"#,
            ["s3:x": s("company-wide")], true),
        ConditionCase(
            "default ignored when present", #"{"StringEquals":{"s3:x":"${aws:PrincipalTag/team, 'company-wide'}"}}"#,
            ["s3:x": s("company-wide"), "aws:PrincipalTag/team": s("red")], false),
        ConditionCase("${*} is literal in Like", #"{"StringLike":{"s3:x":"a${*}"}}"#, ["s3:x": s("abc")], false),
        ConditionCase("${*} matches star", #"{"StringLike":{"s3:x":"a${*}"}}"#, ["s3:x": s("a*")], true),
        ConditionCase("${?} and ${$}", #"{"StringEquals":{"s3:x":"${?}${$}"}}"#, ["s3:x": s("?$")], true),
        ConditionCase(
            "value with star is literal", #"{"StringLike":{"s3:x":"${aws:username}"}}"#,
            ["s3:x": s("anything"), "aws:username": s("*")], false),
        ConditionCase(
            "Like with variable and glob", #"{"StringLike":{"s3:prefix":"home/${aws:username}/*"}}"#,
            ["s3:prefix": s("home/alice/docs/1"), "aws:username": s("alice")], true),
        ConditionCase(
            "IgnoreCase variable", #"{"StringEqualsIgnoreCase":{"s3:x":"${aws:username}"}}"#,
            ["s3:x": s("ALICE"), "aws:username": s("alice")], true),
        ConditionCase(
            "Arn variable", #"{"ArnLike":{"aws:SourceArn":"arn:aws:iam::*:user/${aws:username}"}}"#,
            ["aws:SourceArn": s("arn:aws:iam::1:user/alice"), "aws:username": s("alice")], true),
        ConditionCase(
            "multivalued key not a variable", #"{"StringEquals":{"s3:x":"${aws:TagKeys}"}}"#,
            ["s3:x": s("a"), "aws:TagKeys": l("a")], false),
        ConditionCase(
            "variables not in Numeric", #"{"NumericEquals":{"s3:max-keys":"5"}}"#, ["s3:max-keys": s("5")], true),
    ]

    @Test(arguments: strings + numbersDatesBools + ipArnNull + sets + setsWithIfExists + variables)
    func condition(_ c: ConditionCase) throws {
        let statement = #"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":\#(c.condition)}"#
        let d = try F.decision(statement, "s3:GetObject", "arn:aws:s3:::b/k", c.context)
        #expect(d == (c.applies ? .allowed : .implicitDeny))
        // The same condition on a Deny denies exactly when it applies.
        let denied = try F.decision(
            #"{"Effect":"Allow","Action":"*","Resource":"*"},"# + statement.replacingAllow(),
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            c.context
        )
        #expect(denied == (c.applies ? .explicitDeny : .allowed))
    }

    @Test func denyNotIpAddressWithoutSourceIpDenies() throws {
        let statements =
            #"{"Effect":"Allow","Action":"*","Resource":"*"},"#
            + #"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}"#
        #expect(try F.decision(statements, "s3:GetObject") == .explicitDeny)
        // IfExists makes a missing key evaluate to true, so a Deny with it still denies
        // (D:reference_policies_elements_condition_operators.html "...IfExists condition operators").
        let ifExists = statements.replacingOccurrences("NotIpAddress", "NotIpAddressIfExists")
        #expect(try F.decision(ifExists, "s3:GetObject") == .explicitDeny)
        #expect(try F.decision(statements, "s3:GetObject", "*", ["aws:SourceIp": .string("192.0.2.1")]) == .allowed)
    }

    @Test func variablesInResources() throws {
        let statement =
            #"{"Effect":"Allow","Action":"iam:*","Resource":["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:user/*/${aws:username}"]}"#
        let ctx: [String: ContextValue] = ["aws:username": .string("alice")]
        #expect(
            try F.decision(statement, "iam:ChangePassword", "arn:aws:iam::123456789012:user/alice", ctx) == .allowed)
        #expect(
            try F.decision(statement, "iam:ChangePassword", "arn:aws:iam::123456789012:user/div/alice", ctx) == .allowed
        )
        #expect(
            try F.decision(statement, "iam:ChangePassword", "arn:aws:iam::123456789012:user/bob", ctx) == .implicitDeny)
        // No value: the entry matches nothing (not even a user literally named "${aws:username}").
        #expect(
            try F.decision(statement, "iam:ChangePassword", "arn:aws:iam::123456789012:user/${aws:username}")
                == .implicitDeny)
        // Without Version 2012-10-17 the text is literal.
        let literalDoc = try PolicyDocument.parse(
            #"{"Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::*:user/${aws:username}"}}"#,
            kind: .inlineUser
        )
        let compiled = CompiledPrincipal(
            principal: F.alice,
            policies: [PolicyInput(id: "old", role: .identity, document: literalDoc)]
        )
        #expect(compiled.decide(F.request("iam:GetUser", "arn:aws:iam::123456789012:user/alice", ctx)) == .implicitDeny)
        #expect(
            compiled.decide(F.request("iam:GetUser", "arn:aws:iam::123456789012:user/${aws:username}", ctx)) == .allowed
        )
    }

    @Test func missingContextKeysAreReported() throws {
        let compiled = try F.compile(identity: [
            F.doc(
                #"{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/Dept}/*","#
                    + #""Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Null":{"aws:TokenIssueTime":"true"},"#
                    + #""StringEquals":{"s3:x":"${aws:username, 'none'}","aws:RequestedRegion":"us-east-1"}}},"#
                    + #"{"Effect":"Deny","Action":"ec2:*","Resource":"*","Condition":{"Bool":{"aws:Unrelated":"true"}}}"#
            )
        ])
        let result = compiled.evaluate(
            F.request("s3:GetObject", "arn:aws:s3:::b/x/y", ["aws:RequestedRegion": .string("us-east-1")]))
        #expect(result.decision == .implicitDeny)
        #expect(result.matched == [])
        #expect(result.missingContextKeys == ["aws:PrincipalTag/Dept", "aws:SourceIp", "s3:x"])
    }
}

extension String {
    fileprivate func replacingAllow() -> String {
        replacingOccurrences(#""Effect":"Allow""#, #""Effect":"Deny""#)
    }

    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

import IAMPolicy
import Testing

/// A batch evaluates each statement's conditions once per principal and context (``ConditionMemo``): the
/// answers, matched statements and missing keys must be those of a plain evaluation, whatever the action and
/// resource of each check.
@Suite struct ConditionMemoTests {
    static let policy = EngineFixtures.doc(
        #"""
        {"Sid":"Own","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
        {"Sid":"Office","Effect":"Allow","Action":["s3:GetObject","dynamodb:GetItem"],"Resource":"*",
         "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"},"StringEquals":{"aws:RequestedRegion":"us-east-1"}}},
        {"Sid":"Tagged","Effect":"Allow","Action":"sqs:SendMessage","Resource":"*",
         "Condition":{"StringEquals":{"aws:ResourceTag/team":"blue"}}},
        {"Sid":"NoDeletes","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*",
         "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}
        """#)

    static let checks: [(String, String)] = [
        ("s3:GetObject", "arn:aws:s3:::reports/q3.csv"),
        ("s3:PutObject", "arn:aws:s3:::home/alice/draft.txt"),
        ("s3:PutObject", "arn:aws:s3:::home/bob/draft.txt"),
        ("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/orders"),
        ("s3:DeleteObject", "arn:aws:s3:::home/alice/old.txt"),
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:jobs"),
        ("ec2:RunInstances", "*"),
    ]

    static let contexts: [[(key: String, value: ContextValue)]] = [
        [("AWS:SourceIP", .string("203.0.113.9")), ("aws:RequestedRegion", .string("us-east-1"))],
        [("aws:SourceIp", .string("198.51.100.1")), ("aws:RequestedRegion", .string("us-east-1"))],
        [
            ("aws:SourceIp", .string("203.0.113.9")), ("aws:username", .string("alice")),
            ("aws:MultiFactorAuthPresent", .string("false")), ("aws:ResourceTag/team", .list(["blue"])),
        ],
        [],
    ]

    @Test(arguments: [false, true])
    func aMemoChangesNoAnswer(parsingValuesOnce: Bool) throws {
        let compiled = try EngineFixtures.compile(identity: [Self.policy])
        var allowed = 0
        var lacking = 0
        for pairs in Self.contexts {
            let context = RequestContext(pairs: pairs, parsingValuesOnce: parsingValuesOnce)
            let plainContext = RequestContext(pairs: pairs)
            let memo = compiled.memo(for: context)
            // Twice round: the second pass reads every statement's conditions from the memo.
            for _ in 0..<2 {
                for (action, resource) in Self.checks {
                    let withMemo = compiled.evaluate(
                        AuthorizationRequest(action: action, resource: resource, context: context), memo: memo)
                    let plain = compiled.evaluate(
                        AuthorizationRequest(action: action, resource: resource, context: plainContext))
                    #expect(withMemo == plain, "\(action) on \(resource) in \(pairs)")
                    if plain.decision == .allowed { allowed += 1 }
                    if !plain.missingContextKeys.isEmpty { lacking += 1 }
                }
            }
        }
        // The matrix reaches allows and missing keys both, so the comparisons above say something.
        #expect(allowed >= 8)
        #expect(lacking >= 8)
    }

    @Test func aMemoOfAnotherContextIsNotUsed() throws {
        let compiled = try EngineFixtures.compile(identity: [Self.policy])
        let inside = RequestContext(pairs: Self.contexts[0], parsingValuesOnce: true)
        let outside = RequestContext(pairs: Self.contexts[1], parsingValuesOnce: true)
        let memo = compiled.memo(for: inside)
        let check = { (context: RequestContext) in
            AuthorizationRequest(action: "s3:GetObject", resource: "arn:aws:s3:::reports/q3.csv", context: context)
        }
        #expect(compiled.evaluate(check(inside), memo: memo).decision == .allowed)
        // The memo now says the Office statement's conditions hold; from another address they do not.
        #expect(compiled.evaluate(check(outside), memo: memo).decision == .implicitDeny)
        let other = try EngineFixtures.compile(identity: [Self.policy])
        #expect(other.evaluate(check(outside), memo: memo).decision == .implicitDeny)
    }
}

public import IAMPolicy

/// A synthetic but realistic principal for measuring the policy engine.
///
/// Each policy has four statements spread over a pool of 40 service prefixes: exact actions and resources, service
/// and name wildcards (`ec2:Describe*`, `arn:aws:s3:::bucket-7/*`), one `Deny`; across the principal there are three
/// condition kinds (string on a principal tag, IP range, Bool on TLS) and one policy variable (`${aws:username}`).
/// With 10 policies that is the reference user (10 policies / 40 statements, 3 conditions, 1 variable); larger sizes
/// repeat the pattern with new action names, so the statements that share a request's service prefix grow with
/// the size, as they would for a real principal.
public struct PolicyWorkload: Sendable {
    /// Number of policies (each with four statements).
    public let policyCount: Int
    /// The policy documents (JSON text), in order.
    public let documents: [String]
    /// The requests the benchmark cycles through: allowed by exact and wildcard statements, denied, and unmatched.
    public let requests: [(action: String, resource: String, context: [String: ContextValue])]

    /// The caller: user `alice` in account 111122223333.
    public static let principal = Principal(
        arn: "arn:aws:iam::111122223333:user/alice", kind: .user, name: "alice", id: "AIDAJQABLZS4A3QDU576Q",
        account: "111122223333")

    /// The service prefixes statements are spread over (regional services whose ARNs carry region and account; the
    /// variable statement adds `s3`).
    public static let services = [
        "dynamodb", "ec2", "sqs", "sns", "lambda", "kms", "logs", "cloudwatch", "rds", "ecr", "ecs", "eks",
        "elasticloadbalancing", "autoscaling", "secretsmanager", "ssm", "kinesis", "firehose", "glue", "athena",
        "redshift", "elasticache", "es", "states", "events", "codebuild", "codecommit", "codepipeline",
        "cloudformation", "acm", "xray", "backup", "sagemaker", "bedrock", "appsync", "batch", "elasticfilesystem",
        "elasticmapreduce", "mq", "kafka",
    ]

    /// The common request context: the user name (for the variable), a team tag, a source IP, TLS on.
    public static let context: [String: ContextValue] = [
        "aws:username": .string("alice"),
        "aws:PrincipalTag/team": .string("red"),
        "aws:SourceIp": .string("203.0.113.25"),
        "aws:SecureTransport": .string("true"),
    ]

    /// Builds the workload for `policies` policies (4 statements each).
    public init(policies: Int) {
        precondition(policies >= 1, "at least one policy")
        self.policyCount = policies
        var documents: [String] = []
        documents.reserveCapacity(policies)
        for p in 0..<policies {
            documents.append(Self.document(p))
        }
        self.documents = documents
        // Requests: each service's exact grant, a wildcard grant, the deny, a condition-guarded grant, the variable,
        // and actions nobody grants (a miss has to look at every statement of its prefix).
        let last = policies - 1
        self.requests = [
            (Self.exactAction(0), Self.exactResource(0), Self.context),
            (Self.exactAction(last), Self.exactResource(last), Self.context),
            (
                "\(Self.service(1)):DescribeThings", "arn:aws:\(Self.service(1)):us-east-1:111122223333:thing/x",
                Self.context
            ),
            ("s3:GetObject", "arn:aws:s3:::home/alice/notes.txt", Self.context),
            ("s3:GetObject", "arn:aws:s3:::home/bob/notes.txt", Self.context),
            (Self.exactAction(2), "arn:aws:\(Self.service(2)):us-east-1:111122223333:secret-1", Self.context),
            (Self.conditionAction(3), "arn:aws:\(Self.service(3)):us-east-1:111122223333:res-3", Self.context),
            (Self.conditionAction(5), "arn:aws:\(Self.service(5)):us-east-1:111122223333:res-5", Self.context),
            ("\(Self.service(4)):NeverGranted", "arn:aws:\(Self.service(4)):us-east-1:111122223333:x", Self.context),
            ("unknownservice:Anything", "*", Self.context),
            (Self.exactAction(policies / 2), Self.exactResource(policies / 2), Self.context),
            ("\(Self.service(7)):DescribeMore", "*", Self.context),
        ]
    }

    static func service(_ p: Int) -> String { services[p % services.count] }
    static func exactAction(_ p: Int) -> String { "\(service(p)):PutItem\(p)" }
    static func exactResource(_ p: Int) -> String { "arn:aws:\(service(p)):us-east-1:111122223333:table/t\(p)" }
    static func conditionAction(_ p: Int) -> String { "\(service(p)):Update\(p)" }

    /// Policy `p`: exact grant, wildcard grant, deny, and one conditional statement. Three of the first ten
    /// policies carry the three conditions; policy 0 carries the variable.
    static func document(_ p: Int) -> String {
        let svc = service(p)
        let region = "us-east-1"
        var condition = ""
        switch p % 10 {
        case 3: condition = #","Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"}}"#
        case 5: condition = #","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}"#
        case 7: condition = #","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#
        default: break
        }
        let fourth: String
        if p == 0 {
            fourth =
                #"{"Sid":"Home","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::home/${aws:username}/*"}"#
        } else {
            fourth =
                #"{"Sid":"Cond\#(p)","Effect":"Allow","Action":"\#(conditionAction(p))","Resource":"arn:aws:\#(svc):\#(region):111122223333:res-\#(p)"\#(condition)}"#
        }
        return #"""
            {"Version":"2012-10-17","Statement":[\#
            {"Sid":"Exact\#(p)","Effect":"Allow","Action":["\#(exactAction(p))","\#(svc):GetItem\#(p)"],"Resource":"\#(exactResource(p))"},\#
            {"Sid":"Wild\#(p)","Effect":"Allow","Action":"\#(svc):Describe*","Resource":"arn:aws:\#(svc):*:111122223333:*"},\#
            {"Sid":"Deny\#(p)","Effect":"Deny","Action":"\#(svc):*","Resource":"arn:aws:\#(svc):\#(region):111122223333:secret-*"},\#
            \#(fourth)]}
            """#
    }

    /// Validates and compiles every policy for ``principal``.
    public func compile() throws(PolicyError) -> CompiledPrincipal {
        var inputs: [PolicyInput] = []
        inputs.reserveCapacity(documents.count)
        for (i, text) in documents.enumerated() {
            inputs.append(
                PolicyInput(
                    id: "policy-\(i + 1)", role: .identity, document: try PolicyDocument.parse(text, kind: .identity)))
        }
        return CompiledPrincipal(principal: Self.principal, policies: inputs)
    }

    /// The requests, prepared once (the context's derived forms are computed at construction).
    public func authorizationRequests() -> [AuthorizationRequest] {
        requests.map {
            AuthorizationRequest(action: $0.action, resource: $0.resource, context: RequestContext($0.context))
        }
    }

    /// The workload as an `iam policy evaluate` case file: one case per request, each with every policy.
    ///
    /// Cases carry no `expect`, so the file measures (`--bench`) and prints decisions, but asserts nothing.
    public func caseFile() -> String {
        var out = "[\n"
        let policies = documents.enumerated().map { i, d in
            #"{"kind":"identity","id":"policy-\#(i + 1)","document":\#(d)}"#
        }.joined(separator: ",\n")
        for (n, r) in requests.enumerated() {
            var context: [String] = []
            for (key, value) in r.context.sorted(by: { $0.key < $1.key }) {
                if case .string(let s) = value { context.append(#""\#(key)":"\#(s)""#) }
            }
            out += #"{"id":"request-\#(n + 1)","policies":[\#n\#(policies)],"#
            out +=
                #""principal":{"arn":"\#(Self.principal.arn)","type":"user","name":"alice","id":"AIDAJQABLZS4A3QDU576Q","account":"111122223333"},"#
            out +=
                #""request":{"action":"\#(r.action)","resource":"\#(r.resource)","context":{\#(context.joined(separator: ","))}}}"#
            out += n + 1 < requests.count ? ",\n" : "\n"
        }
        return out + "]\n"
    }
}

public import IAMWire

// The resource each `iam.v1.STS` call is authorized on, after AWS's Service Authorization Reference
// for STS.

extension AssumeRoleRequest {
    /// The role ARN as given (its trust policy then decides too).
    public func resource(in context: ResourceNamingContext) -> String { self.roleARN }
}

extension GetCallerIdentityRequest {
    /// "*": AWS authorizes it on no resource type (and answers it even under an explicit deny, which is
    /// the authorizer's rule to keep).
    public func resource(in context: ResourceNamingContext) -> String { "*" }
}

import IAMDomain
import Testing

@Suite struct IAMErrorTests {
    /// WIRE.md §7.3's table, as data.
    @Test(arguments: [
        ("NoSuchEntity", CanonicalStatus.notFound, 404), ("EntityAlreadyExists", .alreadyExists, 409),
        ("LimitExceeded", .resourceExhausted, 409), ("MalformedPolicyDocument", .invalidArgument, 400),
        ("InvalidInput", .invalidArgument, 400), ("ValidationError", .invalidArgument, 400),
        ("DeleteConflict", .failedPrecondition, 409), ("AccessDenied", .permissionDenied, 403),
        ("ConcurrentModification", .aborted, 409), ("ServiceFailure", .internalError, 500),
    ])
    func wireTableMapping(code: String, status: CanonicalStatus, http: Int) throws {
        let parsed = try #require(IAMError.Code(awsCode: code))
        #expect(parsed.awsCode == code)
        #expect(parsed.status == status)
        #expect(parsed.httpStatus == http)
        #expect(parsed.fault == (http >= 500 ? .receiver : .sender))
    }

    @Test func everyCodeRoundTripsAndHasAStatus() {
        #expect(IAMError.Code.all.count == Set(IAMError.Code.all.map(\.awsCode)).count)
        for code in IAMError.Code.all {
            #expect(IAMError.Code(awsCode: code.awsCode) == code)
            #expect(code.status != .ok)
        }
        #expect(IAMError.Code(awsCode: "NoSuchThing") == nil)
        #expect(IAMError.Code.expiredToken.status == .unauthenticated)
        #expect(IAMError.Code.unmodifiableEntity.status == .failedPrecondition)
        #expect(CanonicalStatus.unauthenticated.rawValue == 16)
    }

    @Test func messagesInAWSShape() throws {
        #expect(IAMError.noSuchEntity(.user, name: "alice").message == "The user with name alice cannot be found.")
        #expect(IAMError.entityAlreadyExists(.user, name: "alice").message == "User with name alice already exists.")
        #expect(
            IAMError.entityAlreadyExists(.group, name: "ops").description
                == "EntityAlreadyExists: Group with name ops already exists.")
        #expect(
            IAMError.entityAlreadyExists(.policy, name: "p").message
                == "A policy called p already exists. Duplicate names are not allowed.")
        #expect(
            IAMError.quotaExceeded("AccessKeysPerUser", 2).message == "Cannot exceed quota for AccessKeysPerUser: 2")
        #expect(
            IAMError.inlinePolicySizeExceeded(.user, name: "bob", limit: 2048).message
                == "Maximum policy size of 2048 bytes exceeded for user bob")
        let denied = IAMError.accessDenied(
            principal: "arn:aws:iam::123456789012:user/bob", action: "iam:CreateUser",
            resource: "arn:aws:iam::123456789012:user/carol")
        #expect(denied.code == .accessDenied)
        #expect(
            denied.message
                == "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:CreateUser on resource: "
                + "arn:aws:iam::123456789012:user/carol because no identity-based policy allows the iam:CreateUser action"
        )
        let policy = try ARN(parsing: "arn:aws:iam::123456789012:policy/p")
        #expect(
            IAMError.noSuchPolicy(policy).message
                == "Policy arn:aws:iam::123456789012:policy/p does not exist or is not attachable.")
    }

    @Test func validationEchoIsBounded() {
        let error = IAMError.validation(
            field: "userName", value: String(repeating: "x", count: 100_000), constraint: "c")
        #expect(error.message.utf8.count < 512)
    }
}

@Suite struct PaginationTests {
    let sorted = (0..<25).map { "item\($0 < 10 ? "0" : "")\($0)" }

    @Test func pagesCoverEverythingOnceInOrder() throws {
        var collected: [String] = []
        var request = try PageRequest(maxItems: 7)
        var pages = 0
        while true {
            let page = Page(sorted: sorted, key: { $0 }, request: request)
            collected += page.items
            pages += 1
            guard page.isTruncated, let marker = page.marker else {
                #expect(page.marker == nil)
                break
            }
            request = try PageRequest(marker: marker.rawValue, maxItems: 7)
        }
        #expect(collected == sorted)
        #expect(pages == 4)
    }

    @Test func markerContinuesAfterDeletedItem() throws {
        let first = Page(sorted: sorted, key: { $0 }, request: try PageRequest(maxItems: 5))
        let remaining = sorted.filter { $0 != "item04" && $0 != "item05" }
        let next = Page(
            sorted: remaining, key: { $0 }, request: try PageRequest(marker: first.marker?.rawValue, maxItems: 2))
        #expect(next.items == ["item06", "item07"])
    }

    @Test func defaultsAndBounds() throws {
        #expect(try PageRequest().maxItems == 100)
        #expect(throws: IAMError.self) { try PageRequest(maxItems: 0) }
        #expect(throws: IAMError.self) { try PageRequest(maxItems: 1001) }
        #expect(try PageRequest(maxItems: 1000).maxItems == 1000)
        #expect(throws: IAMError.self) { try PageRequest(marker: "") }
        #expect(throws: IAMError.self) { try PageRequest(marker: "not-ours") }
        #expect(throws: IAMError.self) { try PageRequest(marker: "m1.zz") }
        #expect(throws: IAMError.self) { try PageRequest(marker: String(repeating: "a", count: 321)) }
        let marker = Marker(after: "Ünïcode key")
        #expect(try Marker(marker.rawValue).key == "Ünïcode key")
        let all = Page(sorted: sorted, key: { $0 }, request: .first)
        #expect(!all.isTruncated)
        #expect(all.items.count == 25)
    }
}

public import Foundation
public import IAMRPC
public import IAMServer
import IAMTLS
import IAMWire
public import NIOCore

/// An HTTP request as the front door sees it, once its body is complete.
public struct QueryHTTPRequest: Sendable {
    /// `POST`, `GET`.
    public var method: String
    /// The request target (`/`, `/?Action=...`).
    public var uri: String
    /// Header names and values as they arrived.
    public var headers: [(name: String, value: String)]
    /// The body (at most ``QueryFrontDoor/maxBodySize`` bytes).
    public var body: ByteBuffer
    /// The peer, for `aws:SourceIp`.
    public var peer: SocketAddress?

    /// Creates a request.
    public init(
        method: String, uri: String, headers: [(name: String, value: String)], body: ByteBuffer, peer: SocketAddress?
    ) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.peer = peer
    }
}

/// The answer: status, headers and the XML body.
public struct QueryHTTPResponse: Sendable {
    /// The HTTP status.
    public var status: Int
    /// Extra headers (`x-amzn-RequestId`, `Content-Type`).
    public var headers: [(name: String, value: String)]
    /// The XML.
    public var body: [UInt8]
}

/// The AWS Query protocol for IAM (2010-05-08) and STS (2011-06-15) in front of the server's own method table:
/// a verified SigV4 signature names the caller's access key, the form becomes the IDL's request message, and
/// the call runs through exactly what a binary-protocol call runs through (the interceptors that authorize and
/// audit it, then the service handler), as that access key. The response message becomes AWS's XML.
///
/// Nothing here decides anything about IAM: defaults such as "UserName omitted means the caller" and
/// "GetCallerIdentity needs no permission" are the services' and the authorizer's, as for the binary protocol.
public final class QueryFrontDoor: Sendable {
    /// The largest body accepted (AWS's Query APIs cap requests well below this); larger is 413.
    public static let maxBodySize = 1 << 20

    private let methods: [String: RPCServerMethod]
    private let verifier: SigV4Verifier
    /// The test mode's reset (`POST /moto-api/reset`); nil, and the path is an ordinary unsigned request,
    /// unless iamd runs with `--test-mode`.
    private let testControl: TestModeControl?

    /// Binds `services` with `interceptors` exactly as the RPC server does, behind `verifier`.
    public init(
        services: [any RPCService], interceptors: [any ServerInterceptor], verifier: SigV4Verifier,
        testControl: TestModeControl? = nil
    ) {
        var table: [String: RPCServerMethod] = [:]
        for service in services {
            for method in service.methods.map({ $0.intercepted(by: interceptors) }) {
                table[method.descriptor.fullName] = method
            }
        }
        self.methods = table
        self.verifier = verifier
        self.testControl = testControl
    }

    /// The front door of an assembled server: its services, interceptors and signing secrets, and the test
    /// mode's reset when `testControl` is given.
    public convenience init(assembly: ServerAssembly, testControl: TestModeControl? = nil) {
        let secrets = assembly.signingSecrets
        self.init(
            services: assembly.services, interceptors: assembly.interceptors,
            verifier: SigV4Verifier { id in
                guard let secret = secrets.secret(forAccessKeyID: id) else { return nil }
                return SigV4Key(
                    accessKeyID: id, secret: secret.unseal, sessionTokenHash: secret.sessionTokenHash,
                    expiration: secret.expiration)
            }, testControl: testControl)
    }

    /// Serves one request; must be called on `loop` (the connection's event loop), like a binary call.
    public func handle(_ request: QueryHTTPRequest, on loop: any EventLoop, now: Date = Date())
        -> EventLoopFuture<QueryHTTPResponse>
    {
        let requestID = UUID().uuidString.lowercased()
        let (path, query) = Self.split(request.uri)
        if let testControl = self.testControl, path == TestMode.resetPath, request.method == "POST" {
            return Self.reset(testControl, on: loop, requestID)
        }
        var parameters: [String: String] = [:]
        do throws(QueryInputError) {
            try QueryForm.parse(query.utf8, into: &parameters)
            if request.method == "POST" {
                let contentType = request.headers.first { $0.name.lowercased() == "content-type" }?.value ?? ""
                if contentType.isEmpty || contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") {
                    try QueryForm.parse(request.body.readableBytesView, into: &parameters)
                }
            }
        } catch {
            return loop.makeSucceededFuture(
                Self.error(code: error.code, status: error.status, error.message, requestID))
        }

        let signed = SigV4Request(
            method: request.method, path: path, query: query, headers: request.headers,
            payloadHash: SigV4Verifier.payloadHash(request.body.readableBytesView))
        let identity: SigV4Identity
        switch self.verifier.verify(signed, now: now) {
        case .success(let verified): identity = verified
        case .failure(let error):
            return loop.makeSucceededFuture(
                Self.error(code: error.code, status: error.status, error.message, requestID))
        }

        guard let action = parameters["Action"] else {
            return loop.makeSucceededFuture(
                Self.error(code: "MissingAction", status: 400, "Missing Action", requestID))
        }
        let version = parameters["Version"] ?? ""
        guard let operation = QueryOperations.all[action], operation.version == version,
            let method = self.methods[operation.method.fullName]
        else {
            return loop.makeSucceededFuture(
                Self.error(
                    code: "InvalidAction", status: 400,
                    "Could not find operation \(action) for version \(version.isEmpty ? "NO_VERSION_SPECIFIED" : version)",
                    requestID))
        }
        guard operation.service == identity.service else {
            return loop.makeSucceededFuture(
                Self.error(
                    code: "SignatureDoesNotMatch", status: 403,
                    "Credential should be scoped to correct service: '\(operation.service)'. ", requestID))
        }
        var requestBytes: ByteBuffer
        do throws(QueryInputError) {
            let form = QueryForm(parameters: parameters)
            try form.checkTopLevelMinimums()
            requestBytes = try operation.decode(form)
        } catch {
            return loop.makeSucceededFuture(
                Self.error(
                    code: error.code, status: error.status, error.message, requestID,
                    namespace: operation.xmlNamespace))
        }

        let context = ServerCallContext(
            eventLoop: loop, method: operation.method, requestID: requestID, metadata: Metadata(), deadline: nil,
            accessKeyID: identity.accessKeyID, peerAddress: request.peer)
        var scratch = ByteBuffer()
        let answer: EventLoopFuture<ByteBuffer>
        switch method.invoke(&requestBytes, context, &scratch) {
        case .encoded: answer = loop.makeSucceededFuture(scratch)
        case .failed(let error): answer = loop.makeFailedFuture(error)
        case .deferred(let future, _): answer = future
        }
        return answer.map { buffer -> QueryHTTPResponse in
            var buffer = buffer
            var xml = QueryXMLWriter()
            xml.open("\(action)Response", namespace: operation.xmlNamespace)
            do throws(WireError) {
                try operation.render(&buffer, &xml)
            } catch {
                return Self.error(
                    code: "ServiceFailure", status: 500, "The server could not encode its answer.", requestID,
                    namespace: operation.xmlNamespace)
            }
            xml.open("ResponseMetadata")
            xml.element("RequestId", requestID)
            xml.close("ResponseMetadata")
            xml.close("\(action)Response")
            return QueryHTTPResponse(status: 200, headers: Self.headers(requestID), body: xml.bytes)
        }.recover { error in
            let rpc = (error as? RPCError) ?? RPCError(code: .internalError, message: "internal error")
            let code = rpc.iamErrorCode ?? Self.fallbackCode(rpc.code)
            let status = QueryOperations.errorStatus[code]?.status ?? Self.fallbackStatus(rpc.code, code: code)
            return Self.error(code: code, status: status, rpc.message, requestID, namespace: operation.xmlNamespace)
        }
    }

    // MARK: Test mode

    /// moto's reset answer (`{"status": "ok"}`), after every entity is gone and the snapshot knows it.
    static func reset(_ control: TestModeControl, on loop: any EventLoop, _ requestID: String)
        -> EventLoopFuture<QueryHTTPResponse>
    {
        let promise = loop.makePromise(of: QueryHTTPResponse.self)
        promise.completeWithTask {
            do {
                try await control.reset()
                return QueryHTTPResponse(
                    status: 200, headers: [("x-amzn-RequestId", requestID), ("Content-Type", "application/json")],
                    body: Array(#"{"status": "ok"}"#.utf8))
            } catch {
                return Self.error(code: "ServiceFailure", status: 500, "The reset failed: \(error)", requestID)
            }
        }
        return promise.futureResult
    }

    // MARK: Errors

    static func headers(_ requestID: String) -> [(name: String, value: String)] {
        [("x-amzn-RequestId", requestID), ("Content-Type", "text/xml")]
    }

    /// AWS's error document: `<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message>
    /// </Error><RequestId>..</RequestId></ErrorResponse>`, in the namespace of the operation's service (IAM's
    /// until the operation is known).
    static func error(
        code: String, status: Int, _ message: String, _ requestID: String,
        namespace: String = "https://iam.amazonaws.com/doc/2010-05-08/"
    ) -> QueryHTTPResponse {
        var xml = QueryXMLWriter()
        xml.open("ErrorResponse", namespace: namespace)
        xml.open("Error")
        xml.element("Type", status >= 500 ? "Receiver" : "Sender")
        xml.element("Code", code)
        xml.element("Message", message)
        xml.close("Error")
        xml.element("RequestId", requestID)
        xml.close("ErrorResponse")
        return QueryHTTPResponse(status: status, headers: Self.headers(requestID), body: xml.bytes)
    }

    static func fallbackCode(_ status: StatusCode) -> String {
        switch status {
        case .invalidArgument: "InvalidInput"
        case .notFound: "NoSuchEntity"
        case .alreadyExists: "EntityAlreadyExists"
        case .permissionDenied: "AccessDenied"
        case .unauthenticated: "InvalidClientTokenId"
        case .resourceExhausted: "LimitExceeded"
        case .failedPrecondition: "DeleteConflict"
        case .unavailable: "ServiceUnavailable"
        default: "ServiceFailure"
        }
    }

    /// The status of codes the models do not list (AccessDenied and the authentication codes are common
    /// errors in AWS's documentation rather than modelled shapes).
    static func fallbackStatus(_ status: StatusCode, code: String) -> Int {
        switch code {
        case "AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken": return 403
        case "ValidationError", "InvalidParameterValue", "PackedPolicyTooLarge": return 400
        default: break
        }
        switch status {
        case .invalidArgument, .outOfRange: return 400
        case .notFound: return 404
        case .alreadyExists, .failedPrecondition, .resourceExhausted, .aborted: return 409
        case .permissionDenied, .unauthenticated: return 403
        case .unavailable: return 503
        default: return 500
        }
    }

    static func split(_ uri: String) -> (path: String, query: String) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}

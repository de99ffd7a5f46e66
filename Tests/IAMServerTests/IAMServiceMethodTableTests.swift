import Foundation
import IAMDomain
import IAMRPC
import IAMWire
import NIOCore
import Testing

@testable import IAMServer

/// The service as the connection serves it: request bytes through the generated method table, answer bytes
/// or the call's status back, so the revision field and the error mapping are checked on the wire types.
@Suite("IAM service through its method table")
struct IAMServiceMethodTableTests {
    /// Runs `method` of `service` on `request` the way a connection does and decodes the answer.
    func call<Response: WireMessage>(
        _ service: IAMService, _ method: String, _ request: some WireMessage, as: Response.Type,
        _ h: ServiceHarness
    ) async throws -> Response {
        let entry = try #require(service.methods.first { $0.descriptor.method == method })
        var bytes = ByteBufferAllocator().buffer(capacity: 64)
        request.encode(into: &bytes)
        var scratch = ByteBufferAllocator().buffer(capacity: 64)
        switch entry.invoke(&bytes, h.context(method), &scratch) {
        case .encoded: return try Response(decoding: scratch)
        case .failed(let error): throw error
        case .deferred(let future): return try Response(decoding: try await future.get())
        }
    }

    @Test("every rpc of service IAM is registered under iam:<Rpc>")
    func registered() throws {
        let h = try ServiceHarness(.memory)
        let methods = h.service.methods
        #expect(methods.count == 81)
        #expect(Set(methods.map(\.descriptor.method)).count == 81)
        for method in methods {
            #expect(method.descriptor.service == "iam.v1.IAM")
            #expect(method.descriptor.action == "iam:\(method.descriptor.method)")
        }
    }

    @Test("a write's revision and an IAMError's status and code cross the wire", arguments: Backend.allCases)
    func wire(backend: Backend) async throws {
        let h = try ServiceHarness(backend)
        let created = try await call(
            h.service, "CreateUser", CreateUserRequest(userName: "wire"), as: CreateUserResponse.self, h)
        #expect(created.user?.userName == "wire" && created.revision > 0)
        let deleted = try await call(
            h.service, "DeleteUser", DeleteUserRequest(userName: "wire"), as: DeleteUserResponse.self, h)
        #expect(deleted.revision == created.revision + 1)
        do {
            _ = try await call(h.service, "GetUser", GetUserRequest(userName: "wire"), as: GetUserResponse.self, h)
            Issue.record("expected NoSuchEntity")
        } catch let error as RPCError {
            #expect(error.code == .notFound)
            #expect(error.iamErrorCode == "NoSuchEntity")
            #expect(error.message == "The user with name wire cannot be found.")
        }
        do {
            _ = try await call(
                h.service, "CreateUser", CreateUserRequest(userName: "a b"), as: CreateUserResponse.self, h)
            Issue.record("expected ValidationError")
        } catch let error as RPCError {
            #expect(error.code == .invalidArgument && error.iamErrorCode == "ValidationError")
        }
    }
}

import Foundation
import IAMDomain
import IAMRPC
import IAMWire
import NIOCore
import NIOPosix
import Testing

@testable import IAMServer

/// Health says how fresh this server's snapshot is: its revision, and its lag behind the newest revision its
/// store is known to have (a replica's follower tells it).
@Suite struct HealthServiceTests {
    func context() -> ServerCallContext {
        ServerCallContext(
            eventLoop: MultiThreadedEventLoopGroup.singleton.any(),
            method: MethodDescriptor(service: "iam.v1.Health", method: "Ping"), requestID: UUID().uuidString,
            metadata: Metadata(), deadline: nil, accessKeyID: ServiceHarness.rootKey)
    }

    func ping(_ service: HealthService) throws -> PingResponse {
        var request = PingRequest()
        request.payload = ByteBuffer(string: "hello")
        guard case .immediate(let result) = service.ping(request, context: self.context()) else {
            Issue.record("Ping must answer immediately, on the event loop")
            throw RPCError(code: .internalError, message: "deferred")
        }
        let response = try result.get()
        #expect(response.payload == request.payload)
        return response
    }

    @Test func reportsTheSnapshotRevisionAndLag() async throws {
        let store = InMemoryStore()
        let directory = IAMDirectory(store: store, account: ServiceHarness.account)
        let publisher = try await SnapshotPublisher(store: store, account: ServiceHarness.account)
        for index in 0..<3 {
            let created = try await directory.createUser(name: try EntityName("u\(index)", kind: .user))
            try await publisher.catchUp(atLeast: created.revision)
        }
        let embedded = try self.ping(HealthService(publisher: publisher))
        #expect(embedded.revision == 3)
        #expect(embedded.lag == 0)
        let behind = try self.ping(HealthService(publisher: publisher, databaseRevision: { 10 }))
        #expect(behind.revision == 3)
        #expect(behind.lag == 7)
        // A follower that has not heard of anything newer reports no lag, never a negative one.
        #expect(try self.ping(HealthService(publisher: publisher, databaseRevision: { 1 })).lag == 0)
        #expect(try self.ping(HealthService()).revision == 0)
    }
}

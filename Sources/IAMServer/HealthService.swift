public import IAMDomain
public import IAMRPC
public import IAMWire

/// The Health service: `Ping` echoes its payload and says how fresh this server's authorization snapshot is
/// (its revision, and its lag behind the newest revision the store is known to have). It answers
/// `.immediate`, so a ping is served on the connection's event loop in the read that delivered it (the load
/// tester measures exactly that path): both numbers are atomic loads.
public struct HealthService: HealthServiceProtocol {
    private let publisher: SnapshotPublisher?
    private let databaseRevision: (@Sendable () -> UInt64?)?

    /// Creates the service; `databaseRevision` tells a replica the newest revision its store is known to have.
    public init(publisher: SnapshotPublisher? = nil, databaseRevision: (@Sendable () -> UInt64?)? = nil) {
        self.publisher = publisher
        self.databaseRevision = databaseRevision
    }

    /// Echoes the request's payload, with the snapshot's revision and lag.
    public func ping(_ request: PingRequest, context: ServerCallContext) -> ServerResponse<PingResponse> {
        var response = PingResponse()
        response.payload = request.payload
        if let publisher {
            let revision = publisher.revision.rawValue
            response.revision = revision
            if let newest = self.databaseRevision?(), newest > revision { response.lag = newest - revision }
        }
        return .immediate(.success(response))
    }
}

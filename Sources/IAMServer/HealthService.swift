public import IAMRPC
public import IAMWire

/// The Health service: `Ping` echoes its payload. It answers `.immediate`, so a ping is served on the
/// connection's event loop in the read that delivered it (the load tester measures exactly that path).
public struct HealthService: HealthServiceProtocol {
    /// Creates the service.
    public init() {}

    /// Echoes the request's payload.
    public func ping(_ request: PingRequest, context: ServerCallContext) -> ServerResponse<PingResponse> {
        var response = PingResponse()
        response.payload = request.payload
        return .immediate(.success(response))
    }
}

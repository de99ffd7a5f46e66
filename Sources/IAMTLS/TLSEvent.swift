/// User events a ``TLSHandler`` fires inbound (`userInboundEventTriggered`).
public enum TLSEvent: Sendable, Hashable {
    /// The handshake finished and application data may flow. `version` is OpenSSL's name
    /// (`TLSv1.3`); `peerCertificateSubject` is the peer certificate's subject in RFC 2253 form
    /// (`CN=client,O=swift-iam`), nil when the peer sent no certificate.
    case handshakeCompleted(negotiatedALPN: String?, version: String, peerCertificateSubject: String?)
    /// Both close_notify alerts were exchanged; the handler closes the channel next.
    case shutdownCompleted
}

public import IAMWire

/// Limits and options of one connection, for either side. What the receiving side accepts is
/// announced to the peer in SETTINGS (WIRE.md §5); the timers are local.
public struct ConnectionOptions: Sendable {
    /// Largest frame payload we accept (MAX_FRAME_SIZE).
    public var maxFrameSize: Int
    /// Largest message we accept after decompression (MAX_MESSAGE_SIZE).
    public var maxMessageSize: Int
    /// Calls the server runs at once on one connection (MAX_CONCURRENT_CALLS); the server stops reading
    /// the socket while this many are running. Ignored by clients.
    public var maxConcurrentCalls: Int
    /// Whether we inflate zlib (announced as COMPRESSION) and compress what we send when the peer does.
    public var compression: Bool
    /// Messages at least this large are compressed (when both sides allow it); WIRE.md §16 measures 1 KiB.
    public var compressionThreshold: Int
    /// zlib level for what we send (1 = fastest; WIRE.md §16).
    public var compressionLevel: Int
    /// Server: close a connection that has had no call for this long (GOAWAY NO_ERROR). `nil` = never.
    public var idleTimeout: Duration?
    /// Server: the preface, SETTINGS and authentication must finish within this (GOAWAY TIMEOUT).
    public var handshakeTimeout: Duration
    /// How long a graceful drain waits for calls in flight before closing anyway.
    public var drainTimeout: Duration
    /// Client: send a keepalive PING after this long without hearing from the server while calls are out.
    public var keepaliveInterval: Duration
    /// Client: the connection is dead when a keepalive PING is not answered within this.
    public var keepaliveTimeout: Duration
    /// Server: how long a started call may wait for its request MESSAGE after CALL_START, whatever its
    /// deadline (WIRE.md §7.1): then it ends DEADLINE_EXCEEDED and frees its MAX_CONCURRENT_CALLS slot,
    /// so a client that never sends the MESSAGE cannot hold slots forever.
    public var requestMessageTimeout: Duration

    /// The defaults of WIRE.md (server values; a client ignores the server-only ones).
    public init(
        maxFrameSize: Int = ConnectionSettings.defaultMaxFrameSize,
        maxMessageSize: Int = ConnectionSettings.defaultMaxMessageSize,
        maxConcurrentCalls: Int = ConnectionSettings.defaultMaxConcurrentCalls,
        compression: Bool = true,
        compressionThreshold: Int = ConnectionSettings.defaultCompressionThreshold,
        compressionLevel: Int = 1,
        idleTimeout: Duration? = .seconds(ConnectionSettings.defaultIdleTimeoutSeconds),
        handshakeTimeout: Duration = .seconds(10),
        drainTimeout: Duration = .seconds(30),
        keepaliveInterval: Duration = .seconds(30),
        keepaliveTimeout: Duration = .seconds(10),
        requestMessageTimeout: Duration = .seconds(30)
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
        self.maxConcurrentCalls = maxConcurrentCalls
        self.compression = compression
        self.compressionThreshold = compressionThreshold
        self.compressionLevel = compressionLevel
        self.idleTimeout = idleTimeout
        self.handshakeTimeout = handshakeTimeout
        self.drainTimeout = drainTimeout
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.requestMessageTimeout = requestMessageTimeout
    }

    /// The SETTINGS frame these options announce. Values are clamped into WIRE.md's ranges.
    package func settings(isServer: Bool) -> ConnectionSettings {
        ConnectionSettings(
            maxFrameSize: min(
                max(self.maxFrameSize, ConnectionSettings.maxFrameSizeRange.lowerBound),
                ConnectionSettings.maxFrameSizeRange.upperBound),
            maxConcurrentCalls: isServer ? self.maxConcurrentCalls : 0,
            maxMessageSize: min(
                max(self.maxMessageSize, ConnectionSettings.maxMessageSizeRange.lowerBound),
                ConnectionSettings.maxMessageSizeRange.upperBound),
            compression: self.compression ? .zlib : [],
            compressionThreshold: self.compressionThreshold,
            idleTimeoutSeconds: isServer ? Int(self.idleTimeout?.components.seconds ?? 0) : 0
        )
    }
}

public import JWKSConfig

#if canImport(Glibc)
    import Glibc
#endif

/// The socket server's settings, taken from the `server:` section.
public struct ServerSettings: Sendable, Equatable {
    /// The socket path (already resolved).
    public var socketPath: String
    /// Permission bits of the socket file.
    public var socketMode: UInt16
    /// The largest frame payload accepted.
    public var maxFrameBytes: Int
    /// Replies at least this large are compressed for clients that accept it.
    public var compressMinBytes: Int
    /// Connections beyond this get GOAWAY RESOURCE_EXHAUSTED.
    public var maxConnections: Int
    /// Connections one peer uid may hold; more get GOAWAY RESOURCE_EXHAUSTED (``adminUIDs`` are exempt).
    public var maxConnectionsPerUID: Int
    /// Watch streams one peer uid may hold open; more are answered RESOURCE_EXHAUSTED (``adminUIDs`` are exempt).
    public var maxWatchesPerUID: Int
    /// Bytes of frames still arriving (partial frames) held across all connections; a connection whose partial
    /// frame would pass this gets GOAWAY RESOURCE_EXHAUSTED. 32 × `max_frame_bytes`, at least 32 MiB.
    public var maxPartialFrameBytes: Int
    /// Engine notices buffered for one Watch before it counts as too far behind (RESOURCE_EXHAUSTED).
    public var watchBufferEvents: Int = 512
    /// Bytes of a Watch's messages queued while its connection is not writable (the client does not read)
    /// before the Watch ends RESOURCE_EXHAUSTED.
    public var watchBacklogBytes: Int = 131_072
    /// Calls one peer uid may have waiting across its connections (counted until their work ends); more are
    /// answered RESOURCE_EXHAUSTED (``adminUIDs`` are exempt).
    public var maxWaitingCallsPerUID: Int = 4_096
    /// Calls in flight per connection beyond this get RESOURCE_EXHAUSTED.
    public var maxCallsPerConnection: Int
    /// Connections without calls for this long are closed; zero disables.
    public var idleTimeout: Duration
    /// Peers allowed to call Refresh and Reload.
    public var adminUIDs: Set<UInt32>
    /// Tokens VerifyJWT remembers as verified; 0 turns the cache off.
    public var verifyCacheEntries: Int = 10_000
    /// Bytes (requests and replies) the verified-token cache holds at most.
    public var verifyCacheBytes: Int = 33_554_432
    /// The wait for a refetch when a GetKey request gives no timeout.
    public var defaultLookupTimeout: Duration = .seconds(5)
    /// The wait for a Refresh when the request gives no timeout.
    public var defaultRefreshTimeout: Duration = .seconds(10)
    /// The longest wait a request's `timeout_ms` may ask for: a peer cannot make a call (and what it holds) last
    /// longer than this.
    public var maximumWait: Duration = .seconds(60)

    /// Settings from a configuration.
    /// - Parameter config: the validated configuration; `admin_uids` defaults to the daemon's uid and root.
    public init(config: JWKSDConfig) {
        socketPath = config.resolve(config.server.socket)
        socketMode = config.server.socketMode
        maxFrameBytes = config.server.maxFrameBytes
        compressMinBytes = config.server.compressMinBytes
        maxConnections = config.server.maxConnections
        maxConnectionsPerUID = config.server.connectionsPerUID
        maxWatchesPerUID = config.server.maxWatchesPerUID
        maxPartialFrameBytes = max(32 * config.server.maxFrameBytes, 32 * 1_048_576)
        maxCallsPerConnection = config.server.maxCallsPerConnection
        maxWaitingCallsPerUID = config.server.maxWaitingCallsPerUID
        idleTimeout = config.server.idleTimeout
        verifyCacheEntries = config.server.verifyCacheEntries
        verifyCacheBytes = config.server.verifyCacheBytes
        adminUIDs = Set(config.server.adminUIDs ?? [UInt32(getuid()), 0])
    }
}

extension ServerSettings {
    /// The wait a request asks for: its `timeout_ms`, `fallback` when 0, never more than ``maximumWait``.
    func wait(_ timeoutMs: UInt32, default fallback: Duration) -> Duration {
        timeoutMs == 0 ? fallback : min(.milliseconds(Int64(timeoutMs)), maximumWait)
    }
}

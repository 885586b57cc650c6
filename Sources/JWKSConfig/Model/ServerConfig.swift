/// The `server:` section: socket, limits, and optional features.
public struct ServerConfig: Sendable, Equatable {
    /// The Unix socket path, resolved against the config file's directory.
    public var socket: String = "./jwksd.sock"
    /// Permission bits of the socket file.
    public var socketMode: UInt16 = 0o660
    /// The largest frame payload accepted.
    public var maxFrameBytes: Int = 1_048_576
    /// Replies larger than this are compressed for clients that accept it.
    public var compressMinBytes: Int = 1_024
    /// Connections beyond this get GOAWAY RESOURCE_EXHAUSTED.
    public var maxConnections: Int = 1_024
    /// Connections one peer uid may hold (admin uids are exempt); `nil` means half of ``maxConnections``.
    public var maxConnectionsPerUID: Int?
    /// Watch streams one peer uid may hold open across its connections (admin uids are exempt).
    public var maxWatchesPerUID: Int = 256
    /// Calls in flight on one connection beyond this get RESOURCE_EXHAUSTED.
    public var maxCallsPerConnection: Int = 1_024
    /// Calls one peer uid may have waiting (a kid miss, a first load, a Refresh) across its connections, counted
    /// until each call's work ends (admin uids are exempt).
    public var maxWaitingCallsPerUID: Int = 4_096
    /// Connections without calls for this long are closed; zero disables.
    public var idleTimeout: Duration = .seconds(300)
    /// Fetches in flight across all providers.
    public var maxConcurrentFetches: Int = 16
    /// Where warm-restart snapshots go; `nil` disables them.
    public var snapshotDir: String?
    /// `host:port` of the Prometheus text endpoint; `nil` disables it.
    public var metrics: String?
    /// The HTTP JWKS endpoint; `nil` disables it.
    public var http: HTTPEndpointConfig?
    /// The JWK Set file export; `nil` disables it.
    public var export: ExportConfig?
    /// Peers allowed to call admin methods; `nil` means the daemon's own uid and root.
    public var adminUIDs: [UInt32]?
    /// Event-loop threads serving the socket; `nil` means half the host's cores, at least one.
    public var eventLoopThreads: Int?
    /// Tokens VerifyJWT remembers as verified (0 turns the cache off).
    public var verifyCacheEntries: Int = 10_000
    /// Bytes of requests and replies the verified-token cache holds at most.
    public var verifyCacheBytes: Int = 33_554_432

    /// The built-in defaults.
    public init() {}

    /// The per-uid connection quota in force: the configured one, else half of ``maxConnections`` (at least 1).
    public var connectionsPerUID: Int { maxConnectionsPerUID ?? max(1, maxConnections / 2) }

    /// The socket's event-loop threads in force on a host with `cores` cores: the configured number, else half
    /// the cores (at least one). jwksd's callers run on the same host, and a lookup is a few microseconds of
    /// work: a second loop thread on a two-core host mostly adds cross-core wake-ups (BENCHMARKS.md).
    /// - Parameter cores: the host's cores.
    public func eventLoopThreads(cores: Int) -> Int { eventLoopThreads ?? max(1, cores / 2) }
}

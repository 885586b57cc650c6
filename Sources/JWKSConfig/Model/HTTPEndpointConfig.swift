/// The `server.http:` section: the HTTP JWKS endpoint for proxies and unmodified JWKS clients (off unless set).
public struct HTTPEndpointConfig: Sendable, Equatable {
    /// Where the endpoint listens.
    public enum Listen: Sendable, Equatable {
        /// A TCP address; tenants with `allowed_uids`/`allowed_gids` are not served there (the caller is unknown).
        case tcp(host: String, port: Int)
        /// A Unix socket path (resolved against the config file's directory); tenants' peer ACLs apply.
        case unix(path: String)
    }

    /// Where it listens: `host:port` or `unix:/path`.
    public var listen: Listen
    /// Permission bits of the socket file of a `unix:` listener.
    public var socketMode: UInt16 = 0o660
    /// Connections served at once; more are closed as they arrive.
    public var maxConnections: Int = 256
    /// The most bytes of a request's line and headers; past it the answer is 431 and the connection closes.
    public var maxHeaderBytes: Int = 16_384
    /// A request's line and headers must arrive within this once its first byte has (slow clients are closed).
    public var requestTimeout: Duration = .seconds(10)
    /// A keep-alive connection without a request for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// How long `?kid=` waits for a refetch when the kid is not in the set, unless the request's `timeout` says
    /// otherwise (at most ``maximumKidWait``).
    public var kidWait: Duration = .seconds(2)

    /// The longest `?kid=…&timeout=` a request may ask for.
    public static let maximumKidWait = Duration.seconds(10)

    /// Creates the section with its defaults.
    public init(listen: Listen) {
        self.listen = listen
    }
}

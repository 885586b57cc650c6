/// Refresh, freshness, stale and fetch-safety settings of one provider: `defaults:` in the file, overridden
/// per provider.
public struct ProviderPolicy: Sendable, Equatable {
    /// Refresh this long before the keys expire.
    public var refreshEarly: Duration = .seconds(30)
    /// Spread refreshes by a random extra lead in `[0, prefetch_jitter]`.
    public var prefetchJitter: Duration = .seconds(5)
    /// The shortest freshness lifetime honoured.
    public var minTTL: Duration = .seconds(30)
    /// The longest freshness lifetime honoured.
    public var maxTTL: Duration = .seconds(86_400)
    /// The lifetime used when the response says nothing.
    public var defaultTTL: Duration = .seconds(300)
    /// How long expired keys keep being served (marked stale) while refreshes fail.
    public var staleWhileError: Duration = .seconds(3_600)
    /// At most one refetch per provider per this interval for unknown kids; absent kids are cached this long.
    public var kidMissCooldown: Duration = .seconds(30)
    /// Refuse `http://` URLs.
    public var requireHTTPS: Bool = true
    /// When non-empty, every fetched host must equal one of these or end in `.` + one of them.
    public var allowedDomains: [String] = []
    /// Allow fetching from hosts that resolve to loopback or private addresses (RFC 1918, `100.64.0.0/10`,
    /// `fc00::/7`); link-local, unspecified and multicast addresses are refused whatever this says.
    public var allowPrivateNetworks: Bool = false
    /// Bodies larger than this are refused while streaming.
    public var maxResponseBytes: Int = 1_048_576
    /// Redirects followed per fetch.
    public var maxRedirects: Int = 3
    /// RSA keys with a shorter modulus are dropped.
    public var minRSABits: Int = 2048
    /// A PEM file of extra trusted CA certificates (for private CAs), resolved against the config file.
    public var caFile: String?
    /// Timeouts and backoff.
    public var retry = RetryPolicy()
    /// What VerifyJWT checks besides the signature.
    public var verify = VerifyPolicy()

    /// The built-in defaults.
    public init() {}
}

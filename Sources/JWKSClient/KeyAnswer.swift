public import JWKSWire

/// A GetKey answer as ``JWKSKeyCache`` hands it out: immutable and shared, so a hit returns the object its miss
/// kept (one reference, no copy of the key's JSON).
public final class KeyAnswer: Sendable {
    /// The daemon's reply: the key's JSON exactly as served, its kid, type, alg, use, provider and freshness.
    public let response: Jwksd_V1_GetKeyResponse
    /// The lookup that got it (the kid is the response's): tenant, provider as asked ("" for none), alg ("" for none).
    let tenant: String
    let provider: String
    let alg: String

    init(_ response: Jwksd_V1_GetKeyResponse, tenant: String, provider: String, alg: String) {
        self.response = response
        self.tenant = tenant
        self.provider = provider
        self.alg = alg
    }

    /// Whether this answers the lookup (tenant, provider, alg); the kid is its bucket's.
    func answers(tenant: String, provider: String, alg: String) -> Bool {
        self.tenant == tenant && self.provider == provider && self.alg == alg
    }
}

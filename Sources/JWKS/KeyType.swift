/// The key types jwksd serves. Others (`oct`, `AKP`, anything unknown) are dropped.
public enum KeyType: String, Sendable, Hashable, CaseIterable {
    /// RSA public key (`n`, `e`).
    case rsa = "RSA"
    /// Elliptic-curve public key (`crv`, `x`, `y`).
    case ec = "EC"
    /// Octet key pair (RFC 8037: `crv`, `x`).
    case okp = "OKP"
}

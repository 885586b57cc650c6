/// The curves of EC and OKP keys jwksd accepts, with their coordinate sizes.
///
/// secp256k1 (ES256K) is not served: no OIDC provider uses it and swift-crypto cannot check its points.
public enum Curve: String, Sendable, Hashable, CaseIterable {
    /// NIST P-256 (ES256).
    case p256 = "P-256"
    /// NIST P-384 (ES384).
    case p384 = "P-384"
    /// NIST P-521 (ES512).
    case p521 = "P-521"
    /// Ed25519 signatures (RFC 8037).
    case ed25519 = "Ed25519"
    /// X25519 key agreement (RFC 8037).
    case x25519 = "X25519"

    /// The key type that uses this curve.
    public var keyType: KeyType {
        switch self {
        case .p256, .p384, .p521: .ec
        case .ed25519, .x25519: .okp
        }
    }

    /// Bytes in one coordinate (EC) or in the public key (OKP).
    public var coordinateSize: Int {
        switch self {
        case .p256, .ed25519, .x25519: 32
        case .p384: 48
        case .p521: 66
        }
    }
}

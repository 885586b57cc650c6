public import JWKS

/// The JWS algorithms jwksd verifies: RSA PKCS #1 v1.5 and PSS, ECDSA on the NIST curves, and EdDSA with
/// Ed25519 (named `EdDSA` or, after RFC 9864, `Ed25519`). Never `none`, never HMAC (a JWKS holds public keys; an HS* token "signed" with one is the classic
/// algorithm-confusion attack).
public enum JWSAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    case rs384 = "RS384"
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    case rs512 = "RS512"
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, a salt as long as the hash.
    case ps256 = "PS256"
    /// RSASSA-PSS with SHA-384.
    case ps384 = "PS384"
    /// RSASSA-PSS with SHA-512.
    case ps512 = "PS512"
    /// ECDSA on P-256 with SHA-256; the signature is r‖s, 64 bytes.
    case es256 = "ES256"
    /// ECDSA on P-384 with SHA-384; r‖s, 96 bytes.
    case es384 = "ES384"
    /// ECDSA on P-521 with SHA-512; r‖s, 132 bytes.
    case es512 = "ES512"
    /// EdDSA; jwksd takes Ed25519 keys only.
    case edDSA = "EdDSA"
    /// Ed25519, RFC 9864's fully specified name for EdDSA on Ed25519 (the same signature check).
    case ed25519 = "Ed25519"

    /// The algorithms a key without an `alg` member may be used with, by its type and curve (none for a key
    /// type or curve that signs nothing jwksd verifies).
    /// - Parameters:
    ///   - keyType: the key's `kty`.
    ///   - curve: the key's `crv`, if any.
    /// - Returns: the algorithms the key allows.
    public static func allowed(keyType: KeyType, curve: Curve?) -> Set<JWSAlgorithm> {
        switch (keyType, curve) {
        case (.rsa, _): [.rs256, .rs384, .rs512, .ps256, .ps384, .ps512]
        case (.ec, .p256): [.es256]
        case (.ec, .p384): [.es384]
        case (.ec, .p521): [.es512]
        case (.okp, .ed25519): [.edDSA, .ed25519]
        default: []
        }
    }

    /// The length of an ECDSA signature (r‖s) for this algorithm, nil for the others.
    var ecdsaSignatureBytes: Int? {
        switch self {
        case .es256: 64
        case .es384: 96
        case .es512: 132
        default: nil
        }
    }
}

/// Why one key of a set was dropped. Dropping a key never fails the set.
public enum DropReason: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key carries private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `priv`); a JWKS is public.
    case privateKeyMaterial(members: [String])
    /// A symmetric `oct` key: a shared secret has no place in a public set.
    case symmetricKey
    /// A `kty` jwksd does not serve (for example `AKP`).
    case unsupportedKeyType(String)
    /// A curve jwksd does not serve (for example `Ed448`, `X448`, `P-192`).
    case unsupportedCurve(String)
    /// An `alg` that is not a registered asymmetric JWS/JWE algorithm (for example `EC`, `ES224`).
    case unknownAlgorithm(String)
    /// An `alg` that does not fit the key's type or curve (for example `ES256` on a P-384 key).
    case algorithmMismatch(alg: String, detail: String)
    /// `use`, `key_ops` and `alg` contradict each other (for example `use: enc` with `alg: ES256`).
    case useMismatch(String)
    /// An RSA modulus below the minimum size.
    case weakKey(bits: Int, minimumBits: Int)
    /// A missing, mistyped or undecodable member, or a point not on its curve.
    case malformed(String)

    /// A stable identifier for counting and metrics labels.
    public var code: String {
        switch self {
        case .privateKeyMaterial: "private_key_material"
        case .symmetricKey: "symmetric_key"
        case .unsupportedKeyType: "unsupported_kty"
        case .unsupportedCurve: "unsupported_curve"
        case .unknownAlgorithm: "unknown_alg"
        case .algorithmMismatch: "alg_mismatch"
        case .useMismatch: "use_mismatch"
        case .weakKey: "weak_key"
        case .malformed: "malformed"
        }
    }

    public var description: String {
        switch self {
        case .privateKeyMaterial(let members):
            "carries private key material (\(members.joined(separator: ", ")))"
        case .symmetricKey: "is a symmetric (oct) key"
        case .unsupportedKeyType(let kty): "has unsupported kty \"\(kty)\""
        case .unsupportedCurve(let curve): "has unsupported curve \"\(curve)\""
        case .unknownAlgorithm(let alg): "has alg \"\(alg)\", which is not a registered asymmetric algorithm"
        case .algorithmMismatch(let alg, let detail): "has alg \"\(alg)\" that does not fit the key: \(detail)"
        case .useMismatch(let detail): "has contradictory use/key_ops/alg: \(detail)"
        case .weakKey(let bits, let minimum): "has a \(bits)-bit RSA modulus, below the minimum of \(minimum) bits"
        case .malformed(let detail): "is malformed: \(detail)"
        }
    }
}

/// A key that was left out of a set, with where it was and why.
public struct DroppedKey: Sendable, Equatable, CustomStringConvertible {
    /// Its 0-based position in the document's `keys` array.
    public var index: Int
    /// Its `kid`, when it had a string one.
    public var kid: String?
    /// Why it was dropped.
    public var reason: DropReason

    public var description: String {
        let name = kid.map { "key \(index) (kid \"\($0)\")" } ?? "key \(index)"
        return "\(name) \(reason)"
    }
}

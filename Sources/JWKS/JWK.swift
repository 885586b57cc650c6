/// One validated public key, with the exact JSON it was served as.
public struct JWK: Sendable, Equatable {
    /// The key id, when the key has one.
    public let kid: String?
    /// The key type.
    public let keyType: KeyType
    /// The declared algorithm, when present.
    public let alg: String?
    /// The declared public key use (`sig`, `enc`, or another registered value), when present.
    public let use: String?
    /// The declared key operations, when present.
    public let keyOps: [String]?
    /// The curve of an EC or OKP key.
    public let curve: Curve?
    /// The key size in bits: the RSA modulus length, or the curve's size.
    public let sizeInBits: Int
    /// The key's original JSON object, byte for byte as it appeared in the document.
    public let json: [UInt8]

    /// Creates a key from already-validated parts; ``JWKValidator`` is the usual way to get one.
    public init(
        kid: String?, keyType: KeyType, alg: String?, use: String?, keyOps: [String]?, curve: Curve?,
        sizeInBits: Int, json: [UInt8]
    ) {
        self.kid = kid
        self.keyType = keyType
        self.alg = alg
        self.use = use
        self.keyOps = keyOps
        self.curve = curve
        self.sizeInBits = sizeInBits
        self.json = json
    }

    /// Whether this key may be used with `alg`: its own `alg` equals it, or it has none and the
    /// algorithm fits its type and curve.
    /// - Parameter alg: a JOSE algorithm name.
    /// - Returns: `true` when a verifier may try this key for `alg`.
    public func accepts(alg: String) -> Bool {
        if let own = self.alg { return own == alg }
        guard let requirement = Algorithm.requirement(of: alg) else { return false }
        return Algorithm.fits(requirement, keyType: keyType, curve: curve)
    }
}

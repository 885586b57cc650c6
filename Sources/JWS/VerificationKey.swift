import Crypto
import CryptoExtras
public import JWKS

/// A JWK made ready to verify signatures: its public key parsed into swift-crypto's type once, when its set is
/// published, and the algorithms it may be used with fixed. A key's own `alg` pins it to that algorithm; a key
/// without one takes what its type and curve allow (``JWSAlgorithm/allowed(keyType:curve:)``). Keys for
/// encryption (`use: enc`, or `key_ops` without `verify`) never verify.
public struct VerificationKey: Sendable {
    /// The key's `kid`, when it has one.
    public let kid: String?
    /// The algorithms this key verifies.
    public let algorithms: Set<JWSAlgorithm>
    private let material: Material

    private enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    /// Prepares `jwk`, or returns nil when it cannot verify anything jwksd accepts (an encryption key, a key
    /// type or curve with no JWS algorithm here, an `alg` that is not one, a public key swift-crypto refuses).
    /// - Parameter jwk: a validated key (its original JSON is read again for the key's parameters).
    public init?(_ jwk: JWK) {
        if jwk.use == "enc" { return nil }
        if let operations = jwk.keyOps, !operations.contains("verify") { return nil }
        let allowed = JWSAlgorithm.allowed(keyType: jwk.keyType, curve: jwk.curve)
        if let own = jwk.alg {
            guard let pinned = JWSAlgorithm(rawValue: own), allowed.contains(pinned) else { return nil }
            // EdDSA and Ed25519 name one algorithm on an Ed25519 key (RFC 9864 §2.2): either pins both.
            algorithms = pinned == .edDSA || pinned == .ed25519 ? [.edDSA, .ed25519] : [pinned]
        } else {
            algorithms = allowed
        }
        guard !algorithms.isEmpty, let object = try? JSONParser.parse(jwk.json),
            let material = Self.material(of: object, jwk: jwk)
        else { return nil }
        self.kid = jwk.kid
        self.material = material
    }

    private static func material(of object: JSONValue, jwk: JWK) -> Material? {
        func bytes(_ name: String) -> [UInt8]? {
            object[member: name]?.stringValue.flatMap { try? Base64URL.decode($0) }
        }
        switch (jwk.keyType, jwk.curve) {
        case (.rsa, _):
            guard let n = bytes("n"), let e = bytes("e") else { return nil }
            return (try? _RSA.Signing.PublicKey(n: n, e: e)).map(Material.rsa)
        case (.ec, .p256?), (.ec, .p384?), (.ec, .p521?):
            guard let x = bytes("x"), let y = bytes("y") else { return nil }
            let point = [0x04] + x + y
            switch jwk.curve {
            case .p256?: return (try? P256.Signing.PublicKey(x963Representation: point)).map(Material.p256)
            case .p384?: return (try? P384.Signing.PublicKey(x963Representation: point)).map(Material.p384)
            default: return (try? P521.Signing.PublicKey(x963Representation: point)).map(Material.p521)
            }
        case (.okp, .ed25519?):
            guard let x = bytes("x") else { return nil }
            return (try? Curve25519.Signing.PublicKey(rawRepresentation: x)).map(Material.ed25519)
        default:
            return nil
        }
    }

    /// Checks `jws`'s signature with this key.
    /// - Throws: ``JWSFailure`` `alg_not_allowed` when this key does not take the token's `alg`, `bad_signature`
    ///   when the signature does not verify (an ECDSA signature that is not r‖s of the curve's size included:
    ///   DER is refused).
    public func verify(_ jws: CompactJWS) throws(JWSFailure) {
        let algorithm = jws.algorithm
        guard algorithms.contains(algorithm) else {
            let keyName = kid.map { "key \"\(Printable.quoted($0, limit: 64))\"" } ?? "the key"
            throw JWSFailure(
                .algNotAllowed,
                "\(keyName) verifies \(algorithms.map(\.rawValue).sorted().joined(separator: ", ")), not \(algorithm.rawValue)"
            )
        }
        guard isValidSignature(jws.signature, for: jws.signingInput, algorithm: algorithm) else {
            throw JWSFailure(.badSignature, "the \(algorithm.rawValue) signature does not verify")
        }
    }

    /// Whether `signature` is this key's signature of `input` under `algorithm` (the primitive, for tests with raw vectors).
    func isValidSignature(_ signature: [UInt8], for input: ArraySlice<UInt8>, algorithm: JWSAlgorithm) -> Bool {
        if let size = algorithm.ecdsaSignatureBytes, signature.count != size { return false }
        switch (material, algorithm) {
        case (.rsa(let key), _):
            let rsa = _RSA.Signing.RSASignature(rawRepresentation: signature)
            switch algorithm {
            case .rs256: return key.isValidSignature(rsa, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5)
            case .rs384: return key.isValidSignature(rsa, for: SHA384.hash(data: input), padding: .insecurePKCS1v1_5)
            case .rs512: return key.isValidSignature(rsa, for: SHA512.hash(data: input), padding: .insecurePKCS1v1_5)
            case .ps256: return key.isValidSignature(rsa, for: SHA256.hash(data: input), padding: .PSS)
            case .ps384: return key.isValidSignature(rsa, for: SHA384.hash(data: input), padding: .PSS)
            case .ps512: return key.isValidSignature(rsa, for: SHA512.hash(data: input), padding: .PSS)
            default: return false
            }
        case (.p256(let key), .es256):
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA256.hash(data: input))
        case (.p384(let key), .es384):
            guard let ecdsa = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA384.hash(data: input))
        case (.p521(let key), .es512):
            guard let ecdsa = try? P521.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: SHA512.hash(data: input))
        case (.ed25519(let key), .edDSA), (.ed25519(let key), .ed25519):
            return key.isValidSignature(signature, for: input)
        default:
            return false
        }
    }
}

/// What the registered JOSE algorithms (RFC 7518, 8037, 9864) require of a key.
public enum Algorithm {
    /// Whether an algorithm signs (`sig`) or encrypts/agrees keys (`enc`).
    public enum Purpose: String, Sendable {
        /// A JWS algorithm.
        case signature = "sig"
        /// A JWE key-management algorithm.
        case encryption = "enc"
    }

    /// The requirement one algorithm puts on a key.
    public struct Requirement: Sendable, Equatable {
        /// The key type it needs.
        public var keyType: KeyType
        /// The curves it allows (empty: any curve of the key type, or none for RSA).
        public var curves: Set<Curve>
        /// Signature or encryption.
        public var purpose: Purpose
    }

    /// The requirement of a registered algorithm, or `nil` for a name that is not a JWS/JWE
    /// asymmetric algorithm.
    /// - Parameter name: the `alg` value.
    /// - Returns: what the key must be for this `alg`.
    public static func requirement(of name: String) -> Requirement? {
        switch name {
        case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
            Requirement(keyType: .rsa, curves: [], purpose: .signature)
        case "RSA1_5", "RSA-OAEP", "RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512":
            Requirement(keyType: .rsa, curves: [], purpose: .encryption)
        case "ES256": Requirement(keyType: .ec, curves: [.p256], purpose: .signature)
        case "ES384": Requirement(keyType: .ec, curves: [.p384], purpose: .signature)
        case "ES512": Requirement(keyType: .ec, curves: [.p521], purpose: .signature)
        case "EdDSA", "Ed25519": Requirement(keyType: .okp, curves: [.ed25519], purpose: .signature)
        case "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW":
            Requirement(keyType: .ec, curves: [.p256, .p384, .p521, .x25519], purpose: .encryption)
        default: nil
        }
    }

    /// Whether `alg` may be used with a key of this type and curve (ECDH-ES also takes X25519 OKP keys).
    /// - Parameters:
    ///   - requirement: the algorithm's requirement.
    ///   - keyType: the key's type.
    ///   - curve: the key's curve, if any.
    /// - Returns: `true` when they fit.
    public static func fits(_ requirement: Requirement, keyType: KeyType, curve: Curve?) -> Bool {
        if requirement.purpose == .encryption, requirement.keyType == .ec {
            guard let curve else { return false }
            return requirement.curves.contains(curve)
        }
        guard requirement.keyType == keyType else { return false }
        guard !requirement.curves.isEmpty else { return true }
        return curve.map { requirement.curves.contains($0) } ?? false
    }
}

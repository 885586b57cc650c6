import Crypto
import CryptoExtras
import Foundation
import JWKS

/// A signing key the dev issuer publishes, generated with swift-crypto.
public struct DevKey: Sendable, Equatable {
    /// The kinds of key the dev issuer can make.
    public enum Kind: String, Sendable, CaseIterable {
        /// RSA 2048, RS256.
        case rsa2048
        /// EC P-256, ES256.
        case p256
        /// Ed25519, EdDSA.
        case ed25519
    }

    /// The key id.
    public let kid: String
    /// The kind.
    public let kind: Kind
    /// The public JWK as JSON text.
    public let json: String

    /// Generates a new key.
    /// - Parameters:
    ///   - kind: the kind of key.
    ///   - kid: its id.
    public init(kind: Kind, kid: String) {
        self.kid = kid
        self.kind = kind
        switch kind {
        case .rsa2048:
            let key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
            let primitives = try! key.publicKey.getKeyPrimitives()
            json = """
                {"kty":"RSA","kid":"\(kid)","use":"sig","alg":"RS256","n":"\(Base64URL.encode(primitives.modulus))",\
                "e":"\(Base64URL.encode(primitives.publicExponent))"}
                """
        case .p256:
            let point = Array(Self.randomP256PublicKey().x963Representation)
            json = """
                {"kty":"EC","kid":"\(kid)","use":"sig","alg":"ES256","crv":"P-256",\
                "x":"\(Base64URL.encode(point[1...32]))","y":"\(Base64URL.encode(point[33...64]))"}
                """
        case .ed25519:
            let raw = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation
            json = """
                {"kty":"OKP","kid":"\(kid)","use":"sig","alg":"EdDSA","crv":"Ed25519","x":"\(Base64URL.encode(raw))"}
                """
        }
    }

    /// The public key of a uniformly random P-256 scalar: one base-point multiplication. swift-crypto's own
    /// generator also runs the FIPS pairwise-consistency test (an ECDSA signature and its verification) and
    /// retries until the key is compact-representable, several times the cost; the issuer keeps no private
    /// key, and a rotation storm across 10,000 issuers makes a thousand keys a second on the bench's host.
    static func randomP256PublicKey() -> P256.Signing.PublicKey {
        var generator = SystemRandomNumberGenerator()
        while true {
            var scalar = [UInt8]()
            scalar.reserveCapacity(32)
            for _ in 0..<4 { withUnsafeBytes(of: generator.next() as UInt64) { scalar.append(contentsOf: $0) } }
            // A scalar of zero or at least the group order is rejected (probability below 2^-32): draw again.
            if let key = try? P256.Signing.PrivateKey(rawRepresentation: scalar) { return key.publicKey }
        }
    }
}

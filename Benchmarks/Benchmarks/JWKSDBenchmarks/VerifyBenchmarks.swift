import Benchmark
import Crypto
import CryptoExtras
import Foundation
import JWKS
import JWS

// VerifyJWT's cost inside the daemon against swift-crypto's bare signature check, on distinct tokens (each
// iteration a token not seen before in the sample, so nothing is remembered): the check alone (hash the
// signing input, verify the signature with an already parsed key) against TokenVerifier.verify (split and
// decode the token, read its header, choose the key, the same check, then the claims).
func verifyBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], scalingFactor: .kilo,
        maxDuration: .seconds(3), maxIterations: 1_000_000)

    Benchmark("RS256 bare check: SHA-256 + RSA-2048 PKCS#1 v1.5 verify (swift-crypto)", configuration: configuration) {
        benchmark in
        let tokens = SignedTokens.rs256
        var index = 0
        for _ in benchmark.scaledIterations {
            let token = tokens.parts[index % tokens.parts.count]
            index += 1
            let signature = _RSA.Signing.RSASignature(rawRepresentation: token.signature)
            guard
                tokens.rsaKey.isValidSignature(
                    signature, for: SHA256.hash(data: token.signingInput), padding: .insecurePKCS1v1_5)
            else { fatalError("the bare RS256 check failed") }
        }
    }

    Benchmark("ES256 bare check: SHA-256 + P-256 ECDSA verify (swift-crypto)", configuration: configuration) {
        benchmark in
        let tokens = SignedTokens.es256
        var index = 0
        for _ in benchmark.scaledIterations {
            let token = tokens.parts[index % tokens.parts.count]
            index += 1
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: token.signature),
                tokens.p256Key.isValidSignature(signature, for: SHA256.hash(data: token.signingInput))
            else { fatalError("the bare ES256 check failed") }
        }
    }

    // The tokens are signed on first use (a second or more for RSA), not when the benchmarks are listed.
    let signed: [(String, @Sendable () -> SignedTokens)] = [("RS256", { .rs256 }), ("ES256", { .es256 })]
    for (name, signedTokens) in signed {
        Benchmark("\(name) TokenVerifier.verify: distinct tokens", configuration: configuration) { benchmark in
            let tokens = signedTokens()
            var index = 0
            for _ in benchmark.scaledIterations {
                let token = tokens.tokens[index % tokens.tokens.count]
                index += 1
                guard
                    (try? TokenVerifier.verify(token, keys: tokens.keys, policy: tokens.policy, now: tokens.now)) != nil
                else { fatalError("\(name) did not verify") }
            }
        }
    }
}

/// 1,000 distinct tokens of one algorithm, signed once, with the key as the daemon holds it (a
/// `VerificationKey` from the JWK) and as the bare check holds it (swift-crypto's public key).
final class SignedTokens: Sendable {
    struct Parts: Sendable {
        let signingInput: [UInt8]
        let signature: [UInt8]
    }

    static let count = 1_000
    static let rs256 = SignedTokens(algorithm: "RS256")
    static let es256 = SignedTokens(algorithm: "ES256")

    let tokens: [[UInt8]]
    let parts: [Parts]
    let keys: [VerificationKey]
    let policy = ClaimsPolicy(
        issuer: "https://bench.example", audiences: .oneOf(["api://bench"]), leewaySeconds: 60,
        requiredClaims: ["exp"], types: nil, algorithms: nil)
    let now = Date().timeIntervalSince1970
    let rsaKey: _RSA.Signing.PublicKey
    let p256Key: P256.Signing.PublicKey

    private init(algorithm: String) {
        let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
        let p256 = P256.Signing.PrivateKey()
        rsaKey = rsa.publicKey
        p256Key = p256.publicKey
        let jwk: String
        if algorithm == "RS256" {
            let primitives = try! rsa.publicKey.getKeyPrimitives()
            jwk =
                #"{"kty":"RSA","kid":"bench","alg":"RS256","n":"\#(Base64URL.encode(primitives.modulus))","e":"\#(Base64URL.encode(primitives.publicExponent))"}"#
        } else {
            let point = Array(p256.publicKey.x963Representation)
            jwk =
                #"{"kty":"EC","kid":"bench","alg":"ES256","crv":"P-256","x":"\#(Base64URL.encode(point[1...32]))","y":"\#(Base64URL.encode(point[33...64]))"}"#
        }
        let set = try! JWKSet(parsing: Array(#"{"keys":[\#(jwk)]}"#.utf8))
        keys = set.keys.compactMap(VerificationKey.init)
        precondition(keys.count == 1, "the bench key did not prepare")
        let exp = Int(Date().timeIntervalSince1970) + 86_400
        var tokens: [[UInt8]] = []
        var parts: [Parts] = []
        for number in 0..<Self.count {
            let header = Base64URL.encode(Array(#"{"alg":"\#(algorithm)","kid":"bench","typ":"JWT"}"#.utf8))
            let claims = Base64URL.encode(
                Array(
                    #"{"iss":"https://bench.example","aud":"api://bench","sub":"user-\#(number)","iat":\#(exp - 86_400),"exp":\#(exp)}"#
                        .utf8))
            let input = Array((header + "." + claims).utf8)
            let signature: [UInt8] =
                algorithm == "RS256"
                ? Array(
                    try! rsa.signature(for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5).rawRepresentation)
                : Array(try! p256.signature(for: SHA256.hash(data: input)).rawRepresentation)
            tokens.append(input + Array(("." + Base64URL.encode(signature)).utf8))
            parts.append(Parts(signingInput: input, signature: signature))
        }
        self.tokens = tokens
        self.parts = parts
    }
}

import JWKS
import JWS

/// Compact JWS tokens: parsing and verification never trap; a token that parses gives back header and payload
/// whose strict base64url is exactly its first two parts (nothing was normalised on the way), and no key
/// verifies a token whose alg it does not take.
enum JWSFuzz {
    /// Keys of every type jwksd verifies with (Wycheproof's and RFC 8037's public keys).
    static let keys: [VerificationKey] = [
        #"{"kty":"EC","crv":"P-256","x":"04N0xi21hshyvBp7I167sbE_bXqyqkAPfefdklMO7wY","y":"UI8exy-C06a7DUnjIdENkxeFtHM4-l_41LqEw9nVgmw"}"#,
        #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        #"{"kty":"RSA","e":"AQAB","n":"kqGboBfAWttWPCA-0cGRgsY6SaYoIARt0B_PkaEcIq9HPYNdu9n6UuWHuuTHrjF_ZoQW97r5HaAorNvrMEGTGdxCHZdEtkHvNVVmrtxTBLiQCbCozXhFoIrVcr3qUBrdGnNn_M3jJi7Wg7p_-x62nS5gNG875oyheRkutHsQXikFZwsN3q_TsPNOVlCiHy8mxzaFTUQGm-X8UYexFyAivlDSjgDJLAZSWfxd7k9Gxuwa3AUfQqQcVcegmgKGCaErQ3qQbh1x7WB6iopE3_-GZ8HMAVtR9AmrVscqYsnjhaCehfAI0iKKs8zXr8tISc0ORbaalrkk03H1ZrsEnDKEWQ"}"#,
    ].compactMap { json in
        let bytes = Array(json.utf8)
        guard let value = try? JSONParser.parse(bytes), let jwk = try? JWKValidator().validate(value, in: bytes).get()
        else { return nil }
        return VerificationKey(jwk)
    }

    static func run(_ bytes: [UInt8]) {
        guard keys.count == 3 else { fuzzFailure("the fuzz keys did not load") }
        guard let jws = try? CompactJWS(bytes) else { return }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard Array(Base64URL.encode(jws.header).utf8) == Array(parts[0]),
            Array(Base64URL.encode(jws.payload).utf8) == Array(parts[1])
        else { fuzzFailure("header or payload do not re-encode to the token's own parts") }
        for key in keys {
            do throws(JWSFailure) {
                try key.verify(jws)
                guard key.algorithms.contains(jws.algorithm) else {
                    fuzzFailure("a key verified an alg it does not take")
                }
            } catch {
                if error.reason == .algNotAllowed, key.algorithms.contains(jws.algorithm) {
                    fuzzFailure("alg_not_allowed for an alg the key takes")
                }
            }
        }
    }
}

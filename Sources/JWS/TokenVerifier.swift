import JWKS

/// Verifies one compact JWS against one provider's prepared keys: parse, choose the key, check the signature,
/// then the claims. Pure and synchronous: the daemon calls it on a published snapshot's keys, and applies the
/// kid-miss rule itself when this answers `unknown_kid`.
public enum TokenVerifier {
    /// A token that verified.
    public struct Verified: Sendable, Equatable {
        /// The key used (nil when it had no kid).
        public var kid: String?
        /// The algorithm.
        public var algorithm: JWSAlgorithm
        /// The protected header's JSON, byte for byte.
        public var header: [UInt8]
        /// The payload's JSON, byte for byte.
        public var claims: [UInt8]
        /// The token's `exp`, Unix seconds (nil when it has none): past it, the token must not be taken as
        /// verified again without a check.
        public var expiration: Double?
    }

    /// Verifies `token`.
    /// - Parameters:
    ///   - token: the compact serialisation.
    ///   - keys: the provider's keys, in document order.
    ///   - policy: what the claims must say.
    ///   - now: the current time, Unix seconds (fractional: a fractional `exp` is compared exactly).
    ///   - maximumBytes: the longest token accepted.
    /// - Returns: what was verified.
    /// - Throws: ``JWSFailure`` with the first rule the token breaks.
    public static func verify(
        _ token: [UInt8], keys: [VerificationKey], policy: ClaimsPolicy, now: Double,
        maximumBytes: Int = CompactJWS.defaultMaximumBytes
    ) throws(JWSFailure) -> Verified {
        try verify(CompactJWS(token, maximumBytes: maximumBytes), keys: keys, policy: policy, now: now)
    }

    /// Verifies an already parsed token (see ``verify(_:keys:policy:now:maximumBytes:)``).
    public static func verify(
        _ jws: CompactJWS, keys: [VerificationKey], policy: ClaimsPolicy, now: Double
    ) throws(JWSFailure) -> Verified {
        if let allowed = policy.algorithms, !allowed.contains(jws.algorithm) {
            throw JWSFailure(
                .algNotAllowed,
                "\(jws.algorithm.rawValue) is not in the provider's algorithms (\(allowed.map(\.rawValue).sorted().joined(separator: ", ")))"
            )
        }
        let key = try select(jws, from: keys)
        try key.verify(jws)
        let expiration = try ClaimsCheck.check(jws, policy: policy, now: now)
        return Verified(
            kid: jws.kid, algorithm: jws.algorithm, header: jws.header, claims: jws.payload, expiration: expiration)
    }

    /// The key a token names: the first with its `kid` (document order, as GetKey answers duplicate kids); with
    /// no `kid`, the one key that takes its `alg`.
    static func select(_ jws: CompactJWS, from keys: [VerificationKey]) throws(JWSFailure) -> VerificationKey {
        if let kid = jws.kid {
            guard let key = keys.first(where: { $0.kid == kid }) else {
                throw JWSFailure(.unknownKid, "no key has kid \"\(Printable.quoted(kid, limit: 64))\"")
            }
            return key
        }
        let candidates = keys.filter { $0.algorithms.contains(jws.algorithm) }
        guard candidates.count == 1 else {
            throw JWSFailure(
                .unknownKid,
                candidates.isEmpty
                    ? "the token names no kid and no key takes \(jws.algorithm.rawValue)"
                    : "the token names no kid and \(candidates.count) keys take \(jws.algorithm.rawValue)")
        }
        return candidates[0]
    }
}

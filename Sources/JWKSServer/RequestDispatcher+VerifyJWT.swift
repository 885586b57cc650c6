import Foundation
import JWKS
import JWKSCache
import JWKSConfig
import JWKSWire
import JWS
import NIOCore

/// VerifyJWT (method 9): the token checked with a provider's published verification keys and its `verify:`
/// rules. A verification on published keys is answered at once; a first load or a kid miss waits through the
/// engine's lookup (the kid-miss rule: one refetch per cooldown, joined by concurrent callers), then verifies.
extension RequestDispatcher {
    /// The longest token read when the tenant has no provider (never: a tenant has at least one); otherwise the
    /// named provider's `verify.max_token_bytes`, or the largest of the tenant's, then the chosen provider's.
    static let maximumTokenBytes = 1_048_576

    /// VerifyJWT from the request's bytes: a token verified before is answered from the verified-token cache
    /// without decoding the request; otherwise it is verified and, when it verifies with fresh keys,
    /// remembered.
    func verifyJWT(_ payload: ByteBuffer, peer: PeerCredentials?, tally: inout MetricsTally) throws(RPCError) -> Answer
    {
        // The registry's number is read before the registry (see ReplyCache): an answer computed from a
        // registry a reload has replaced is never reused.
        let registry = engine.publication
        let key = verifiedTokens.map { _ in VerifiedTokenCache.Key(payload) }
        if let verifiedTokens, let key,
            let hit = verifiedTokens.lookup(
                key, registry: registry, now: engine.clock.now, unixTime: unixTime(), peer: peer)
        {
            tally.verifyCacheHits += 1
            hit.counters.verified()
            return .reply(hit.reply)
        }
        return try verifyJWT(try decode(payload), key: key, registry: registry, peer: peer, tally: &tally)
    }

    private func verifyJWT(
        _ request: Jwksd_V1_VerifyJWTRequest, key: VerifiedTokenCache.Key?, registry: UInt64, peer: PeerCredentials?,
        tally: inout MetricsTally
    ) throws(RPCError) -> Answer {
        try RequestGrammar.tenant(request.tenant)
        try RequestGrammar.provider(request.provider, required: false, method: .verifyJWT)
        guard !request.token.isEmpty else { throw RPCError(.invalidArgument, "token is empty") }
        try RequestGrammar.audiences(request.audiences)
        let tenant = try readableTenant(request.tenant, peer: peer, in: engine.registry)
        let verifications = metrics.verifications
        // A provider the call names answers NOT_FOUND before the token is read; refusals before a provider is
        // chosen count under provider "".
        let named =
            request.provider.isEmpty ? nil : try provider(request.provider, in: tenant, tenantID: request.tenant)
        let token = Array(request.token.utf8)
        // The longest token any provider it may go to accepts, before any parsing: a large token is refused
        // without reading its payload for an iss.
        let limit =
            named?.config.policy.verify.maxTokenBytes
            ?? tenant.providers.lazy.map(\.config.policy.verify.maxTokenBytes).max() ?? Self.maximumTokenBytes
        let jws: CompactJWS
        do {
            jws = try CompactJWS(token, maximumBytes: limit)
        } catch {
            throw Self.refused(
                error, counters: verifications.counters(tenant: request.tenant, provider: named?.key.provider ?? ""))
        }
        let entry: ProviderEntry
        if let named {
            entry = named
        } else {
            entry = try providerByIssuer(
                of: jws, in: tenant, tenantID: request.tenant,
                counters: verifications.counters(tenant: request.tenant, provider: ""))
        }
        let counters = verifications.counters(tenant: request.tenant, provider: entry.key.provider)
        let verify = entry.config.policy.verify
        guard token.count <= verify.maxTokenBytes else {
            throw Self.refused(
                JWSFailure(.malformed, "the token is \(token.count) bytes, more than \(verify.maxTokenBytes)"),
                counters: counters)
        }
        let policy = try Self.claimsPolicy(entry.config, audiences: request.audiences)
        let (snapshot, publication) = entry.publishedSnapshot()
        if let (standing, until) = snapshot.standingUntil(at: engine.clock.now), standing != .expired {
            let now = unixTime()
            switch Self.verify(jws, snapshot: snapshot, standing: standing, policy: policy, unixTime: now) {
            case .success(let verified):
                counters.verified()
                if standing == .stale {
                    tally.staleServes += 1
                } else if let verifiedTokens, let key, now < verified.expiration ?? .infinity {
                    verifiedTokens.store(
                        key,
                        VerifiedTokenCache.Entry(
                            reply: verified.reply, tenant: tenant.config, provider: entry, publication: publication,
                            registry: registry, freshUntil: until, expiration: verified.expiration,
                            counters: counters))
                }
                return .reply(verified.reply)
            case .failure(let failure):
                let refusal = Self.explained(failure, of: jws, in: snapshot)
                // Only a kid the published set does not have goes on to the kid-miss rule below.
                guard refusal.kidAbsent else { throw Self.refused(refusal.failure, counters: counters) }
            }
        }
        // No servable keys yet, or an unknown kid: wait for the first load or through the kid-miss rule, then
        // verify.
        let timeout = settings.wait(request.timeoutMs, default: settings.defaultLookupTimeout)
        let deadline = engine.clock.now.advanced(by: timeout)
        if let kid = jws.kid {
            // The kid-miss rule remembers kids it did not find: a token's kid is held to the lookup grammar's
            // bound first, like GetKey's (a longer kid is never looked up, so it cannot fill that memory).
            guard kid.utf8.count <= RequestGrammar.maximumKidBytes else {
                throw Self.refused(
                    JWSFailure(
                        .unknownKid,
                        "the token's kid is \(kid.utf8.count) bytes; kids over \(RequestGrammar.maximumKidBytes) are never looked up"
                    ), counters: counters)
            }
            // Known absent within the kid-miss cooldown: refused now, without a task (as GetKey does).
            if entry.answersAbsentNow(kid: kid, alg: nil) {
                throw Self.refused(Self.absentKid(kid, in: entry), counters: counters)
            }
        }
        let engine = self.engine
        let metrics = self.metrics
        let unixTime = self.unixTime
        let tenantID = request.tenant
        return .deferred {
            let found: ProviderSnapshot
            if let kid = jws.kid {
                switch await entry.lookup(kid: kid, alg: nil, deadline: deadline) {
                case .found(_, let snapshot):
                    found = snapshot
                case .failed(.kidNotFound):
                    return .error(Self.refused(Self.absentKid(kid, in: entry), counters: counters))
                case .failed(let failure):
                    return .error(StatusMapping.error(for: failure, tenant: tenantID, provider: entry.key.provider))
                }
            } else {
                switch await entry.servableSnapshot(deadline: deadline) {
                case .success(let snapshot): found = snapshot
                case .failure(let failure):
                    return .error(StatusMapping.error(for: failure, tenant: tenantID, provider: entry.key.provider))
                }
            }
            let standing = found.standing(at: engine.clock.now) ?? .expired
            switch Self.verify(jws, snapshot: found, standing: standing, policy: policy, unixTime: unixTime()) {
            case .success(let verified):
                counters.verified()
                if standing == .stale { metrics.staleServe() }
                return verified.reply
            case .failure(let failure):
                return .error(Self.refused(Self.explained(failure, of: jws, in: found).failure, counters: counters))
            }
        }
    }

    /// The refusal of a token whose kid the provider does not have, after the kid-miss rule.
    private static func absentKid(_ kid: String, in entry: ProviderEntry) -> JWSFailure {
        JWSFailure(.unknownKid, "\(entry.key) has no key \"\(Printable.quoted(kid, limit: 64))\"")
    }

    /// The tenant's provider whose issuer equals the token's `iss` (read before the signature is checked, only
    /// to choose; the claims check reads it again).
    private func providerByIssuer(
        of jws: CompactJWS, in tenant: Registry.Tenant, tenantID: String,
        counters: VerificationMetrics.ProviderCounters
    ) throws(RPCError) -> ProviderEntry {
        let claims: JSONValue
        do {
            claims = try JOSEObject.parse(jws.payload, part: "payload", expected: "an object of claims")
        } catch {
            throw Self.refused(error, counters: counters)
        }
        guard let iss = claims[member: "iss"]?.stringValue else {
            throw Self.refused(
                JWSFailure(.badIssuer, "the token has no iss string and the call names no provider to verify it with"),
                counters: counters)
        }
        guard let entry = tenant.providers.first(where: { Self.issuer(of: $0.config) == iss }) else {
            throw Self.refused(
                JWSFailure(
                    .badIssuer, "no provider of tenant \(tenantID) has issuer \"\(Printable.quoted(iss, limit: 128))\""),
                counters: counters)
        }
        return entry
    }

    /// The issuer a provider's tokens must carry: `verify.issuer`, else the discovery issuer of an `issuer:`
    /// provider; nil (no check) for the others.
    static func issuer(of provider: ProviderConfig) -> String? {
        if let configured = provider.policy.verify.issuer { return configured }
        if case .issuer(let url) = provider.source { return url.text }
        return nil
    }

    /// The claims rules for one call: the provider's `verify:` settings, with the call's audiences when it
    /// names any.
    static func claimsPolicy(_ provider: ProviderConfig, audiences: [String]) throws(RPCError) -> ClaimsPolicy {
        let verify = provider.policy.verify
        let expected: ClaimsPolicy.Audiences
        if !audiences.isEmpty {
            expected = .oneOf(Set(audiences))
        } else {
            switch verify.audiences {
            case .any: expected = .any
            case .oneOf(let names): expected = .oneOf(Set(names))
            case .unset:
                throw RPCError(
                    .invalidArgument,
                    "no audience to check: the call names none and \(provider.id) has no verify.audiences "
                        + "(set a list, or any to turn the check off)")
            }
        }
        return ClaimsPolicy(
            issuer: issuer(of: provider), audiences: expected, leewaySeconds: verify.leeway.components.seconds,
            requiredClaims: verify.requiredClaims, types: verify.types,
            algorithms: verify.algorithms.map { Set($0.compactMap(JWSAlgorithm.init(rawValue:))) })
    }

    /// A token that verified: the reply, and its `exp` (how long it may be remembered).
    struct Verified {
        var reply: Reply
        var expiration: Double?
    }

    /// Verifies with a snapshot's keys at `unixTime` (Unix seconds).
    static func verify(
        _ jws: CompactJWS, snapshot: ProviderSnapshot, standing: ProviderSnapshot.Standing, policy: ClaimsPolicy,
        unixTime: Double
    ) -> Result<Verified, JWSFailure> {
        do throws(JWSFailure) {
            let verified = try TokenVerifier.verify(
                jws, keys: snapshot.verificationKeys, policy: policy, now: unixTime)
            var response = Jwksd_V1_VerifyJWTResponse()
            response.provider = snapshot.key.provider
            response.kid = verified.kid ?? ""
            response.alg = verified.algorithm.rawValue
            response.header = Data(verified.header)
            response.claims = Data(verified.claims)
            response.stale = standing == .stale
            return .success(Verified(reply: .ok(encode(response)), expiration: verified.expiration))
        } catch {
            return .failure(error)
        }
    }

    /// A refusal as the peer is told it, and whether the kid-miss rule applies: only to a kid the set lacks. A kid
    /// the set publishes only on keys that verify nothing is said so, as no refetch could change it.
    static func explained(_ failure: JWSFailure, of jws: CompactJWS, in snapshot: ProviderSnapshot) -> (
        failure: JWSFailure, kidAbsent: Bool
    ) {
        guard failure.reason == .unknownKid, let kid = jws.kid else { return (failure, false) }
        guard snapshot.publishes(kid: kid) else { return (failure, true) }
        return (
            JWSFailure(
                .unknownKid,
                "\(snapshot.key) publishes kid \"\(Printable.quoted(kid, limit: 64))\" only on keys that cannot verify a signature (use \"enc\", key_ops without \"verify\", or an alg or key type with no JWS algorithm here)"
            ), false
        )
    }

    /// UNAUTHENTICATED with the protocol's `reason: detail` text, counted for the provider.
    static func refused(_ failure: JWSFailure, counters: VerificationMetrics.ProviderCounters) -> RPCError {
        counters.refused(failure.reason)
        return RPCError(.unauthenticated, failure.description)
    }
}

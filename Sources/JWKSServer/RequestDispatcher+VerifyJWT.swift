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
    /// The longest token read before a provider is chosen; the provider's `verify.max_token_bytes` then applies.
    static let maximumTokenBytes = 1_048_576

    func verifyJWT(
        _ request: Jwksd_V1_VerifyJWTRequest, peer: PeerCredentials?, tally: inout MetricsTally
    ) throws(RPCError) -> Answer {
        try RequestGrammar.tenant(request.tenant)
        try RequestGrammar.provider(request.provider, required: false, method: .verifyJWT)
        guard !request.token.isEmpty else { throw RPCError(.invalidArgument, "token is empty") }
        try RequestGrammar.audiences(request.audiences)
        let tenant = try readableTenant(request.tenant, peer: peer)
        let token = Array(request.token.utf8)
        let jws: CompactJWS
        do {
            jws = try CompactJWS(token, maximumBytes: Self.maximumTokenBytes)
        } catch {
            throw Self.refused(error)
        }
        let entry = try chooseProvider(request.provider, for: jws, in: tenant, tenantID: request.tenant)
        let verify = entry.config.policy.verify
        guard token.count <= verify.maxTokenBytes else {
            throw Self.refused(
                JWSFailure(.malformed, "the token is \(token.count) bytes, more than \(verify.maxTokenBytes)"))
        }
        let policy = try Self.claimsPolicy(entry.config, audiences: request.audiences)
        let snapshot = entry.snapshot
        if let standing = snapshot.standing(at: engine.clock.now), standing != .expired {
            switch Self.verify(jws, snapshot: snapshot, standing: standing, policy: policy) {
            case .success(let reply):
                if standing == .stale { tally.staleServes += 1 }
                return .reply(reply)
            case .failure(let failure) where failure.reason != .unknownKid || jws.kid == nil:
                throw Self.refused(failure)
            case .failure:
                break  // a kid the published set does not have: the kid-miss rule below
            }
        }
        // No servable keys yet, or an unknown kid: wait through the engine's lookup, then verify.
        guard let kid = jws.kid else {
            throw StatusMapping.error(
                for: .unavailable(entry.key, snapshot.lastError), tenant: request.tenant, provider: entry.key.provider)
        }
        // The kid-miss rule remembers kids it did not find: a token's kid is held to the lookup grammar's bound
        // first, like GetKey's (a longer kid is never looked up, so it cannot fill that memory).
        guard kid.utf8.count <= RequestGrammar.maximumKidBytes else {
            throw Self.refused(
                JWSFailure(
                    .unknownKid,
                    "the token's kid is \(kid.utf8.count) bytes; kids over \(RequestGrammar.maximumKidBytes) are never looked up"
                ))
        }
        let timeout = request.timeoutMs == 0 ? settings.defaultLookupTimeout : .milliseconds(Int64(request.timeoutMs))
        let engine = self.engine
        let metrics = self.metrics
        let deadline = engine.clock.now.advanced(by: timeout)
        let key = entry.key
        let tenantID = request.tenant
        return .deferred {
            switch await engine.lookup(
                tenant: key.tenant, provider: key.provider, kid: kid, alg: nil, deadline: deadline)
            {
            case .found(_, let snapshot):
                let standing = snapshot.standing(at: engine.clock.now) ?? .expired
                if standing == .stale { metrics.staleServe() }
                switch Self.verify(jws, snapshot: snapshot, standing: standing, policy: policy) {
                case .success(let reply): return reply
                case .failure(let failure): return .error(Self.refused(failure))
                }
            case .failed(.kidNotFound):
                return .error(
                    Self.refused(
                        JWSFailure(.unknownKid, "\(key) has no key \"\(Printable.quoted(kid, limit: 64))\"")))
            case .failed(let failure):
                return .error(StatusMapping.error(for: failure, tenant: tenantID, provider: key.provider))
            }
        }
    }

    /// The provider named by the call, or else the tenant's provider whose issuer equals the token's `iss` (read
    /// before the signature is checked, only to choose; the claims check reads it again).
    private func chooseProvider(
        _ named: String, for jws: CompactJWS, in tenant: Registry.Tenant, tenantID: String
    ) throws(RPCError) -> ProviderEntry {
        if !named.isEmpty {
            guard let entry = tenant.provider(named) else {
                throw StatusMapping.unknownProvider(named, tenant: tenantID)
            }
            return entry
        }
        guard let claims = try? JSONParser.parse(jws.payload), let iss = claims[member: "iss"]?.stringValue else {
            throw Self.refused(
                JWSFailure(.badIssuer, "the token has no iss string and the call names no provider to verify it with"))
        }
        guard let entry = tenant.providers.first(where: { Self.issuer(of: $0.config) == iss }) else {
            throw Self.refused(
                JWSFailure(
                    .badIssuer, "no provider of tenant \(tenantID) has issuer \"\(Printable.quoted(iss, limit: 128))\"")
            )
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

    /// Verifies with a snapshot's keys; the reply when it verifies.
    static func verify(
        _ jws: CompactJWS, snapshot: ProviderSnapshot, standing: ProviderSnapshot.Standing, policy: ClaimsPolicy
    ) -> Result<Reply, JWSFailure> {
        do throws(JWSFailure) {
            let verified = try TokenVerifier.verify(
                jws, keys: snapshot.verificationKeys, policy: policy, now: Int64(Date().timeIntervalSince1970))
            var response = Jwksd_V1_VerifyJWTResponse()
            response.provider = snapshot.key.provider
            response.kid = verified.kid ?? ""
            response.alg = verified.algorithm.rawValue
            response.header = Data(verified.header)
            response.claims = Data(verified.claims)
            response.stale = standing == .stale
            return .success(.ok(encode(response)))
        } catch {
            return .failure(error)
        }
    }

    /// UNAUTHENTICATED with the protocol's `reason: detail` text.
    static func refused(_ failure: JWSFailure) -> RPCError {
        RPCError(.unauthenticated, failure.description)
    }
}

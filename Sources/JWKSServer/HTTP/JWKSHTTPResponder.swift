import JWKSCache
import JWKSConfig
import JWKSWire
import NIOCore
import NIOHTTP1

/// Decides what the HTTP endpoint answers, from a request and the published snapshots: no await, no JSON and
/// no compression (documents are prepared at publication; a tenant's merged document once per change). A
/// request whose `?kid=` the set lacks is handed back as ``Decision/awaitKid(_:deadline:)``: the handler runs
/// the kid-miss rule (bounded) and asks again.
struct JWKSHTTPResponder: Sendable {
    /// What to do with a request.
    enum Decision {
        case answer(JWKSHTTPAnswer)
        /// Run a kid-miss lookup until `deadline`, then decide again with `kidChecked`.
        case awaitKid(JWKSHTTPRequest, deadline: EngineInstant)
    }

    /// The header naming a document served from stale keys (the provider's refreshes fail).
    static let staleHeader = "JWKSD-Stale"
    /// The header naming the providers a merged document lacks (no servable keys yet).
    static let missingHeader = "JWKSD-Missing-Providers"
    /// The media type of a JWK Set (RFC 7517 §8.5).
    static let contentType = "application/jwk-set+json"

    let engine: JWKSEngine
    /// Whether callers are identified (a `unix:` listener): tenants' peer ACLs apply. Without it (TCP), tenants
    /// with `allowed_uids`/`allowed_gids` are not served.
    let identifiesPeers: Bool
    /// How long `?kid=` waits without a `timeout`.
    let kidWait: Duration
    let merged: MergedDocuments

    init(engine: JWKSEngine, identifiesPeers: Bool, kidWait: Duration, merged: MergedDocuments = MergedDocuments()) {
        self.engine = engine
        self.identifiesPeers = identifiesPeers
        self.kidWait = kidWait
        self.merged = merged
    }

    /// The answer to a request head.
    /// - Parameters:
    ///   - head: the request's method, target and headers.
    ///   - peer: the caller's credentials on a `unix:` listener.
    ///   - kidChecked: the kid-miss rule already ran for this request: answer with what is published now.
    func decide(_ head: HTTPRequestHead, peer: PeerCredentials?, kidChecked: Bool = false) -> Decision {
        guard head.method == .GET || head.method == .HEAD else {
            return .answer(
                .error(
                    .methodNotAllowed, "method_not_allowed", "the JWKS endpoint answers GET and HEAD",
                    headers: [("Allow", "GET, HEAD")]))
        }
        let request: JWKSHTTPRequest
        do {
            request = try JWKSHTTPRequest.parse(target: head.uri)
        } catch {
            switch error {
            case .notFound(let message): return .answer(.error(.notFound, "not_found", message))
            case .badRequest(let message): return .answer(.error(.badRequest, "bad_request", message))
            }
        }
        let registry = engine.registry
        guard let tenant = registry.tenant(request.tenant), mayRead(tenant.config, peer: peer) else {
            // A tenant the caller may not read is answered exactly like one that does not exist.
            return .answer(.error(.notFound, "not_found", "no tenant \"\(request.tenant)\""))
        }
        let now = engine.clock.now
        if let providerID = request.provider {
            guard let entry = tenant.provider(providerID) else {
                return .answer(
                    .error(.notFound, "not_found", "tenant \"\(request.tenant)\" has no provider \"\(providerID)\""))
            }
            return decideProvider(entry, request: request, head: head, now: now, kidChecked: kidChecked)
        }
        return decideTenant(
            tenant, generation: registry.generation, request: request, head: head, now: now, kidChecked: kidChecked)
    }

    private func decideProvider(
        _ entry: ProviderEntry, request: JWKSHTTPRequest, head: HTTPRequestHead, now: EngineInstant,
        kidChecked: Bool
    ) -> Decision {
        let snapshot = entry.snapshot
        guard let (standing, _) = snapshot.standingUntil(at: now), standing != .expired,
            let record = snapshot.record, let prepared = snapshot.prepared, let document = prepared.document
        else {
            return .answer(Self.unavailable(snapshot))
        }
        // A kid the kid-miss rule answers absent without fetching is answered with the set now, without a wait.
        if let kid = request.kid, !kidChecked, prepared.keys[kid] == nil, !entry.answersAbsentNow(kid: kid, alg: nil) {
            return .awaitKid(request, deadline: now.advanced(by: request.timeout ?? kidWait))
        }
        let stale = standing == .stale
        return .answer(
            Self.represent(
                document, maxAge: stale ? 0 : Self.seconds(from: now, to: record.expiresAt),
                extra: stale ? [(Self.staleHeader, "true")] : [], head: head))
    }

    private func decideTenant(
        _ tenant: Registry.Tenant, generation: UInt64, request: JWKSHTTPRequest, head: HTTPRequestHead,
        now: EngineInstant, kidChecked: Bool
    ) -> Decision {
        var parts: [ProviderSnapshot?] = []
        var missing: [String] = []
        var stale = false
        var maxAge = Int.max
        var hasKid = request.kid == nil
        for entry in tenant.providers {
            let snapshot = entry.snapshot
            guard let (standing, _) = snapshot.standingUntil(at: now), standing != .expired,
                let record = snapshot.record, let prepared = snapshot.prepared
            else {
                parts.append(nil)
                missing.append(entry.key.provider)
                continue
            }
            parts.append(snapshot)
            if standing == .stale {
                stale = true
                maxAge = 0
            } else {
                maxAge = min(maxAge, Self.seconds(from: now, to: record.expiresAt))
            }
            if let kid = request.kid, prepared.keys[kid] != nil { hasKid = true }
        }
        guard missing.count < parts.count else {
            return .answer(
                .error(
                    .serviceUnavailable, "unavailable",
                    "no provider of tenant \"\(request.tenant)\" has servable keys yet",
                    headers: [("Retry-After", "1")]))
        }
        if let kid = request.kid, !hasKid, !kidChecked,
            !tenant.providers.allSatisfy({ $0.answersAbsentNow(kid: kid, alg: nil) })
        {
            return .awaitKid(request, deadline: now.advanced(by: request.timeout ?? kidWait))
        }
        var extra: [(String, String)] = []
        if stale { extra.append((Self.staleHeader, "true")) }
        if !missing.isEmpty {
            // Keys may be missing: tell caches to come back soon.
            maxAge = 0
            extra.append((Self.missingHeader, missing.joined(separator: ", ")))
        }
        let document = merged.document(tenant: request.tenant, generation: generation, parts: parts)
        return .answer(Self.represent(document, maxAge: maxAge, extra: extra, head: head))
    }

    /// Whether the caller may read a tenant here: a tenant without lists is public; one with lists only to a
    /// peer the lists admit, and never over TCP.
    private func mayRead(_ tenant: TenantConfig, peer: PeerCredentials?) -> Bool {
        if tenant.allowedUIDs == nil, tenant.allowedGIDs == nil { return true }
        guard identifiesPeers else { return false }
        return RequestDispatcher.mayRead(tenant, peer: peer)
    }

    /// 503 for a provider without servable keys: still loading, or failing past its stale limit.
    static func unavailable(_ snapshot: ProviderSnapshot) -> JWKSHTTPAnswer {
        let key = snapshot.key
        if snapshot.record == nil, snapshot.lastError == nil {
            return .error(
                .serviceUnavailable, "loading", "\(key.tenant)/\(key.provider) is loading its keys",
                headers: [("Retry-After", "1")])
        }
        let cause = snapshot.lastError.map { ": \($0)" } ?? ""
        return .error(
            .serviceUnavailable, "unavailable", "\(key.tenant)/\(key.provider) has no servable keys\(cause)",
            headers: [("Retry-After", "5")])
    }

    /// The document as the request asks for it: gzip when accepted, 304 when `If-None-Match` names its ETag.
    static func represent(_ document: PreparedDocument, maxAge: Int, extra: [(String, String)], head: HTTPRequestHead)
        -> JWKSHTTPAnswer
    {
        let gzip = acceptsGzip(head.headers)
        let etag = gzip ? document.gzipETag : document.etag
        var headers: [(String, String)] = [
            ("Content-Type", contentType), ("ETag", etag), ("Cache-Control", "max-age=\(maxAge)"),
            ("Vary", "Accept-Encoding"),
        ]
        headers += extra
        if matches(head.headers, etag: etag) {
            return JWKSHTTPAnswer(status: .notModified, headers: headers, body: ByteBuffer())
        }
        if gzip { headers.append(("Content-Encoding", "gzip")) }
        return JWKSHTTPAnswer(status: .ok, headers: headers, body: gzip ? document.gzip : document.body)
    }

    /// Whole seconds from `now` until `end`, at least 0 (floored, so a cache never outlives the daemon's expiry).
    static func seconds(from now: EngineInstant, to end: EngineInstant) -> Int {
        max(0, Int((end.nanoseconds &- now.nanoseconds) / 1_000_000_000))
    }

    /// Whether `Accept-Encoding` accepts gzip (`gzip`, `x-gzip` or `*` with a q-value above 0).
    static func acceptsGzip(_ headers: HTTPHeaders) -> Bool {
        for value in headers["Accept-Encoding"] {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let name = parts.first?.trimmingSpaces().lowercased(),
                    name == "gzip" || name == "x-gzip" || name == "*"
                else { continue }
                var quality = 1.0
                for parameter in parts.dropFirst() {
                    let pair = parameter.trimmingSpaces().split(separator: "=", maxSplits: 1)
                    if pair.count == 2, pair[0].lowercased() == "q" { quality = Double(pair[1]) ?? 0 }
                }
                if quality > 0 { return true }
            }
        }
        return false
    }

    /// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
    static func matches(_ headers: HTTPHeaders, etag: String) -> Bool {
        for value in headers["If-None-Match"] {
            for item in value.split(separator: ",") {
                var tag = item.trimmingSpaces()
                if tag == "*" { return true }
                if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
                if tag == etag { return true }
            }
        }
        return false
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return text
    }
}

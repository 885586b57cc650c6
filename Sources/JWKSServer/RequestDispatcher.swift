import Foundation
import JWKS
public import JWKSCache
import JWKSConfig
public import JWKSWire
public import NIOCore
import SwiftProtobuf

/// Routes one request to its method and produces the reply. Hits are answered synchronously from the
/// published snapshots' prepared replies; anything that must wait (a kid miss, Refresh, Reload) is deferred.
public final class RequestDispatcher: Sendable {
    /// The engine answering lookups.
    public let engine: JWKSEngine
    /// The server's settings.
    public let settings: ServerSettings
    /// Request, hit, miss and stale counters.
    public let metrics: ServerMetrics
    let hooks: any AdminHooks
    /// Tokens VerifyJWT verified (nil when `verify_cache_entries` is 0).
    let verifiedTokens: VerifiedTokenCache?
    /// The wall clock VerifyJWT checks `exp` and `nbf` against, Unix seconds (injected by tests).
    let unixTime: @Sendable () -> Double

    /// Creates a dispatcher.
    /// - Parameters:
    ///   - engine: the engine answering lookups.
    ///   - settings: the server's settings.
    ///   - hooks: what Reload calls.
    ///   - metrics: the counters.
    ///   - unixTime: the wall clock for token times, Unix seconds (nil: the system's).
    public init(
        engine: JWKSEngine, settings: ServerSettings, hooks: any AdminHooks = NoAdminHooks(),
        metrics: ServerMetrics = ServerMetrics(),
        unixTime: (@Sendable () -> Double)? = nil
    ) {
        self.engine = engine
        self.settings = settings
        self.hooks = hooks
        self.metrics = metrics
        self.unixTime = unixTime ?? { Date().timeIntervalSince1970 }
        verifiedTokens = VerifiedTokenCache(entries: settings.verifyCacheEntries, bytes: settings.verifyCacheBytes)
    }

    /// Dispatches one decoded request, counting it in the shared metrics at once.
    /// - Parameters:
    ///   - method: the method.
    ///   - payload: the request message bytes (already inflated).
    ///   - peer: the caller's credentials, when known.
    /// - Returns: the reply, deferred work, or a Watch stream.
    public func dispatch(_ method: Method, payload: ByteBuffer, peer: PeerCredentials?) -> Answer {
        var tally = MetricsTally()
        var replies = ReplyCache()
        let answer = dispatch(method, payload: payload, peer: peer, tally: &tally, replies: &replies)
        metrics.record(&tally)
        return answer
    }

    /// Dispatches one decoded request, counting what is answered now in `tally` (the connection adds it to
    /// the shared counters once per read batch); deferred calls count when they are answered. GetKey hits are
    /// remembered in, and answered from, the connection's `replies`.
    func dispatch(
        _ method: Method, payload: ByteBuffer, peer: PeerCredentials?, tally: inout MetricsTally,
        replies: inout ReplyCache
    ) -> Answer {
        let answer = route(method, payload: payload, peer: peer, tally: &tally, replies: &replies)
        switch answer {
        case .reply(let reply):
            tally.answered(method, reply.status)
        case .deferred(let work):
            let metrics = self.metrics
            return .deferred {
                let reply = await work()
                metrics.answered(method, reply.status)
                return reply
            }
        case .watch:
            tally.answered(method, .ok)
        }
        return answer
    }

    private func route(
        _ method: Method, payload: ByteBuffer, peer: PeerCredentials?, tally: inout MetricsTally,
        replies: inout ReplyCache
    ) -> Answer {
        do throws(RPCError) {
            switch method {
            case .getKey:
                // A remembered answer holds while the registry and the snapshots it came from are the ones in
                // force (publication numbers: plain loads). Otherwise one load of the registry, after its number.
                let publication = engine.publication
                let now = engine.clock.now
                if let remembered = replies.lookup(payload, registry: publication, now: now) {
                    tally.hit(stale: remembered.stale)
                    return .reply(.ok(remembered.reply))
                }
                var hit: ReplyCache.Entry?
                let answer = try getKey(
                    try decode(payload), peer: peer, registry: engine.registry, publication: publication, now: now,
                    tally: &tally, hit: &hit)
                if let hit { replies.store(payload, hit) }
                return answer
            case .getKeySet: return .reply(try getKeySet(try decode(payload), peer: peer, tally: &tally))
            case .listTenants:
                let _: Jwksd_V1_ListTenantsRequest = try decode(payload)
                return .reply(listTenants(peer: peer))
            case .status: return .reply(try status(try decode(payload), peer: peer))
            case .refresh: return try refresh(try decode(payload), peer: peer)
            case .reload:
                let _: Jwksd_V1_ReloadRequest = try decode(payload)
                try requireAdmin(peer, method: .reload)
                let hooks = self.hooks
                return .deferred {
                    var response = Jwksd_V1_ReloadResponse()
                    response.result = await hooks.reload()
                    return .ok(Self.encode(response))
                }
            case .watch: return .watch(try watch(try decode(payload), peer: peer))
            case .health:
                let _: Jwksd_V1_HealthRequest = try decode(payload)
                return .reply(health(peer: peer))
            case .verifyJWT: return try verifyJWT(payload, peer: peer, tally: &tally)
            }
        } catch {
            return .reply(.error(error))
        }
    }

    // MARK: - Methods

    /// GetKey: a hit is answered now (and described in `hit` for the connection's ``ReplyCache``); a miss is
    /// deferred to the engine's kid-miss rule.
    private func getKey(
        _ request: Jwksd_V1_GetKeyRequest, peer: PeerCredentials?, registry: Registry, publication: UInt64,
        now: EngineInstant, tally: inout MetricsTally, hit remembered: inout ReplyCache.Entry?
    ) throws(RPCError) -> Answer {
        try RequestGrammar.tenant(request.tenant)
        try RequestGrammar.provider(request.provider, required: false, method: .getKey)
        try RequestGrammar.kid(request.kid)
        try RequestGrammar.alg(request.alg)
        let tenant = try readableTenant(request.tenant, peer: peer, in: registry)
        let alg = request.alg.isEmpty ? nil : request.alg
        var hadKeys = false
        // The snapshots this answer depends on: the provider that has the kid and, for a tenant-wide lookup,
        // those before it that did not (one of them publishing the kid would change the answer).
        var consulted: [ReplyCache.Source] = []
        /// The prepared reply from one provider's published snapshot, when it has the kid.
        func hit(_ entry: ProviderEntry) -> PreparedKeySet.Reply? {
            let (snapshot, snapshotPublication) = entry.publishedSnapshot()
            consulted.append(ReplyCache.Source(entry: entry, publication: snapshotPublication))
            guard let (standing, until) = snapshot.standingUntil(at: now), standing != .expired,
                let prepared = snapshot.prepared
            else { return nil }
            hadKeys = true
            let stale = standing == .stale
            guard let reply = prepared.key(kid: request.kid, alg: alg, stale: stale) else { return nil }
            tally.hit(stale: stale)
            remembered = ReplyCache.Entry(
                reply: reply, stale: stale, validUntil: until, registry: publication, sources: consulted)
            return reply
        }
        let provider = request.provider.isEmpty ? nil : request.provider
        // A miss the kid-miss rule answers without fetching or waiting (a kid confirmed absent within the
        // cooldown, or a refetch already made within it) is NOT_FOUND now: a peer repeating unknown kids costs
        // no task and no wait.
        let absentNow: Bool
        if provider == nil {
            for entry in tenant.providers {
                if let reply = hit(entry) { return .reply(.ok(reply)) }
            }
            absentNow =
                !tenant.providers.isEmpty
                && tenant.providers.allSatisfy { $0.answersAbsentNow(kid: request.kid, alg: alg) }
        } else {
            let entry = try self.provider(request.provider, in: tenant, tenantID: request.tenant)
            if let reply = hit(entry) { return .reply(.ok(reply)) }
            absentNow = entry.answersAbsentNow(kid: request.kid, alg: alg)
        }
        if hadKeys { tally.kidMisses += 1 }
        if absentNow {
            let failure = LookupFailure.kidNotFound(kid: request.kid)
            return .reply(.error(StatusMapping.error(for: failure, tenant: request.tenant, provider: provider)))
        }
        let metrics = self.metrics
        let timeout = settings.wait(request.timeoutMs, default: settings.defaultLookupTimeout)
        let engine = self.engine
        let deadline = engine.clock.now.advanced(by: timeout)
        let tenantID = request.tenant
        let kid = request.kid
        return .deferred {
            let outcome = await engine.lookup(
                tenant: tenantID, provider: provider, kid: kid, alg: alg, deadline: deadline)
            let snapshot: ProviderSnapshot
            switch outcome {
            case .found(_, let found): snapshot = found
            case .failed(let failure):
                return .error(StatusMapping.error(for: failure, tenant: tenantID, provider: provider))
            }
            let standing = snapshot.standing(at: engine.clock.now)
            if standing == .stale { metrics.staleServe() }
            guard let reply = snapshot.prepared?.key(kid: kid, alg: alg, stale: standing == .stale) else {
                return .error(RPCError(.internal, "\(snapshot.key) has keys but no prepared replies"))
            }
            return .ok(reply)
        }
    }

    private func getKeySet(
        _ request: Jwksd_V1_GetKeySetRequest, peer: PeerCredentials?, tally: inout MetricsTally
    ) throws(RPCError) -> Reply {
        try RequestGrammar.tenant(request.tenant)
        try RequestGrammar.provider(request.provider, required: true, method: .getKeySet)
        let tenant = try readableTenant(request.tenant, peer: peer, in: engine.registry)
        let entry = try provider(request.provider, in: tenant, tenantID: request.tenant)
        let snapshot = entry.snapshot
        guard let standing = snapshot.standing(at: engine.clock.now), standing != .expired,
            let prepared = snapshot.prepared
        else {
            throw StatusMapping.error(
                for: .unavailable(entry.key, snapshot.lastError), tenant: request.tenant, provider: request.provider)
        }
        let stale = standing == .stale
        if stale { tally.staleServes += 1 }
        return .ok(prepared.set(stale: stale))
    }

    private func listTenants(peer: PeerCredentials?) -> Reply {
        var response = Jwksd_V1_ListTenantsResponse()
        for tenant in engine.config.tenants where Self.mayRead(tenant, peer: peer) {
            var item = Jwksd_V1_ListTenantsResponse.Tenant()
            item.id = tenant.id
            item.providers = tenant.providers.map(\.id)
            response.tenants.append(item)
        }
        return .ok(Self.encode(response))
    }

    private func status(_ request: Jwksd_V1_StatusRequest, peer: PeerCredentials?) throws(RPCError) -> Reply {
        if !request.tenant.isEmpty {
            try RequestGrammar.tenant(request.tenant)
            _ = try readableTenant(request.tenant, peer: peer)
        }
        var response = Jwksd_V1_StatusResponse()
        let wallNow = Int64(Date().timeIntervalSince1970)
        for tenant in engine.config.tenants where Self.mayRead(tenant, peer: peer) {
            guard request.tenant.isEmpty || request.tenant == tenant.id else { continue }
            for entry in engine.registry.tenant(tenant.id)?.providers ?? [] {
                response.providers.append(Self.message(entry.status(wallNow: wallNow)))
            }
        }
        response.configGeneration = hooks.configGeneration
        if let last = hooks.lastReload { response.lastReload = last }
        return .ok(Self.encode(response))
    }

    private func refresh(_ request: Jwksd_V1_RefreshRequest, peer: PeerCredentials?) throws(RPCError) -> Answer {
        try requireAdmin(peer, method: .refresh)
        try RequestGrammar.tenant(request.tenant)
        try RequestGrammar.provider(request.provider, required: false, method: .refresh)
        let tenant = try readableTenant(request.tenant, peer: nil, checkPermission: false)
        if !request.provider.isEmpty { _ = try provider(request.provider, in: tenant, tenantID: request.tenant) }
        let timeout = settings.wait(request.timeoutMs, default: settings.defaultRefreshTimeout)
        let deadline = engine.clock.now.advanced(by: timeout)
        let engine = self.engine
        return .deferred {
            let completed = await engine.refresh(
                tenant: request.tenant, provider: request.provider.isEmpty ? nil : request.provider, deadline: deadline)
            guard completed == true else {
                return .error(
                    RPCError(.deadlineExceeded, "refresh of \(request.tenant) did not finish within \(timeout)"))
            }
            var response = Jwksd_V1_RefreshResponse()
            let wallNow = Int64(Date().timeIntervalSince1970)
            for entry in engine.registry.tenant(request.tenant)?.providers ?? []
            where request.provider.isEmpty || entry.key.provider == request.provider {
                response.providers.append(Self.message(entry.status(wallNow: wallNow)))
            }
            return .ok(Self.encode(response))
        }
    }

    /// Checks what a Watch names and maps the engine's events for it to encoded `WatchEvent`s. Tenants must
    /// exist and be readable by the peer (NOT_FOUND otherwise, as for every method); provider selectors must be
    /// `tenant/provider` (INVALID_ARGUMENT) naming a provider of a readable tenant (NOT_FOUND). With no tenants
    /// named, the Watch follows every tenant the peer may read, recomputed on each reload.
    private func watch(_ request: Jwksd_V1_WatchRequest, peer: PeerCredentials?) throws(RPCError) -> WatchStream {
        for tenant in request.tenants { try RequestGrammar.tenant(tenant, field: "tenants[]") }
        var providers = Set<String>()
        for text in request.providers {
            let (tenant, provider) = try RequestGrammar.selector(text)
            guard let entry = engine.registry.tenant(tenant), Self.mayRead(entry.config, peer: peer) else {
                throw StatusMapping.unknownTenant(tenant)
            }
            guard entry.provider(provider) != nil else { throw StatusMapping.unknownProvider(provider, tenant: tenant) }
            providers.insert(text)
        }
        var tenants = Set<String>()
        for tenant in request.tenants {
            guard let found = engine.registry.tenant(tenant), Self.mayRead(found.config, peer: peer) else {
                throw StatusMapping.unknownTenant(tenant)
            }
            tenants.insert(tenant)
        }
        let named = !tenants.isEmpty
        if !named { tenants = readableTenants(peer: peer) }
        let engine = self.engine
        let readable: @Sendable (PeerCredentials?) -> Set<String> = { [self] peer in readableTenants(peer: peer) }
        return WatchStream(
            notices: engine.notices(bufferLimit: settings.watchBufferEvents),
            selection: WatchStream.Selection(tenants: tenants, providers: providers, named: named),
            payload: { event, selection in
                guard selection.tenants.contains(event.key.tenant),
                    selection.providers.isEmpty || selection.providers.contains(event.key.description),
                    let message = Self.watchEvent(event, engine: engine)
                else { return nil }
                return Self.encode(message)
            },
            reselect: { selection in
                guard selection.named else {
                    var next = selection
                    next.tenants = readable(peer)
                    return .success(next)
                }
                for tenant in selection.tenants {
                    // A tenant removed by the reload is simply gone (its providers' REMOVED events were sent); one
                    // the peer may no longer read ends the call.
                    guard let found = engine.registry.tenant(tenant) else { continue }
                    if !Self.mayRead(found.config, peer: peer) {
                        return .failure(
                            RPCError(
                                .permissionDenied, "a reload revoked this peer's access to tenant \"\(tenant)\""))
                    }
                }
                return .success(selection)
            },
            reloaded: { generation in
                var message = Jwksd_V1_WatchEvent()
                message.kind = .reloaded
                message.at = Int64(Date().timeIntervalSince1970)
                message.configGeneration = generation
                return Self.encode(message)
            })
    }

    /// The tenants a peer may read.
    private func readableTenants(peer: PeerCredentials?) -> Set<String> {
        Set(engine.config.tenants.filter { Self.mayRead($0, peer: peer) }.map(\.id))
    }

    /// The `WatchEvent` for an engine event, or nil for events a Watch does not report.
    static func watchEvent(_ event: EngineEvent, engine: JWKSEngine) -> Jwksd_V1_WatchEvent? {
        var message = Jwksd_V1_WatchEvent()
        message.tenant = event.key.tenant
        message.provider = event.key.provider
        message.at = Int64(Date().timeIntervalSince1970)
        switch event.kind {
        case .published(changed: true, let keys, _):
            message.kind = .keysChanged
            message.keyCount = UInt32(keys)
            message.kids =
                engine.entry(tenant: event.key.tenant, provider: event.key.provider)?.snapshot.record?.keySet.kids ?? []
        case .failed(let failure, _):
            message.kind = .failed
            message.error = failure.message
            message.keyCount = UInt32(
                engine.entry(tenant: event.key.tenant, provider: event.key.provider)?.snapshot.record?.keySet.keys.count
                    ?? 0)
        case .removed:
            message.kind = .removed
        case .published, .notModified, .fetchStarted:
            return nil
        }
        return message
    }

    /// Health, as far as the peer may see: provider counts and the providers still loading of the tenants it
    /// may read; `serving` is the daemon's readiness (every provider has finished its first load attempt), one
    /// bit that names nothing.
    private func health(peer: PeerCredentials?) -> Reply {
        var response = Jwksd_V1_HealthResponse()
        let now = engine.clock.now
        let readable = readableTenants(peer: peer)
        var loadingAnywhere = false
        for entry in engine.allEntries {
            let snapshot = entry.snapshot
            let loading = snapshot.record == nil && snapshot.lastError == nil
            loadingAnywhere = loadingAnywhere || loading
            guard readable.contains(entry.key.tenant) else { continue }
            response.providers += 1
            if let standing = snapshot.standing(at: now), standing != .expired { response.ready += 1 }
            if loading { response.loading.append(entry.key.description) }
        }
        response.serving = !loadingAnywhere
        return .ok(Self.encode(response))
    }

    // MARK: - Access

    /// Whether a peer may read a tenant's keys: allowed when the tenant sets no lists, else when its uid is
    /// in `allowed_uids` or its gid in `allowed_gids`.
    static func mayRead(_ tenant: TenantConfig, peer: PeerCredentials?) -> Bool {
        if tenant.allowedUIDs == nil, tenant.allowedGIDs == nil { return true }
        guard let peer else { return false }
        return tenant.allowedUIDs?.contains(peer.uid) == true || tenant.allowedGIDs?.contains(peer.gid) == true
    }

    func readableTenant(
        _ id: String, peer: PeerCredentials?, in registry: Registry? = nil, checkPermission: Bool = true
    ) throws(RPCError) -> Registry.Tenant {
        // A tenant the peer may not read is answered exactly like one that does not exist, so a peer cannot
        // learn which tenants exist (PROTOCOL.md, "Access").
        guard let tenant = (registry ?? engine.registry).tenant(id),
            !checkPermission || Self.mayRead(tenant.config, peer: peer)
        else {
            throw StatusMapping.unknownTenant(id)
        }
        return tenant
    }

    /// The tenant's provider `id`, or NOT_FOUND saying which.
    func provider(_ id: String, in tenant: Registry.Tenant, tenantID: String) throws(RPCError) -> ProviderEntry {
        guard let entry = tenant.provider(id) else { throw StatusMapping.unknownProvider(id, tenant: tenantID) }
        return entry
    }

    private func requireAdmin(_ peer: PeerCredentials?, method: Method) throws(RPCError) {
        guard let peer, settings.adminUIDs.contains(peer.uid) else {
            let who = peer.map { "uid \($0.uid)" } ?? "an unidentified peer"
            throw RPCError(.permissionDenied, "\(method) is an admin method; \(who) is not in admin_uids")
        }
    }

    // MARK: - Encoding

    func decode<M: SwiftProtobuf.Message>(_ payload: ByteBuffer) throws(RPCError) -> M {
        do {
            return try M(serializedBytes: ProtobufBytes(payload))
        } catch {
            throw RPCError(.invalidArgument, "the payload is not a valid \(M.protoMessageName): \(error)")
        }
    }

    static func encode(_ message: some SwiftProtobuf.Message) -> ByteBuffer {
        PreparedReplies.encode(message)
    }

    static func message(_ status: ProviderStatus) -> Jwksd_V1_ProviderStatus {
        var message = Jwksd_V1_ProviderStatus()
        message.tenant = status.key.tenant
        message.provider = status.key.provider
        message.source = status.source
        message.state = status.state
        message.standing = status.standing
        message.keyCount = UInt32(status.keyCount)
        message.droppedCount = UInt32(status.droppedCount)
        message.etag = status.etag ?? ""
        message.lastRefresh = status.validatedAt ?? 0
        message.fetchedAt = status.fetchedAt ?? 0
        message.nextRefresh = status.nextAttempt ?? 0
        message.expiresAt = status.expiresAt ?? 0
        message.staleUntil = status.staleUntil ?? 0
        message.consecutiveErrors = UInt32(status.consecutiveFailures)
        message.lastError = status.lastError?.message ?? ""
        message.lastErrorCode = status.lastError?.code.rawValue ?? ""
        return message
    }
}

import Foundation
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import JWKSWire
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import SwiftProtobuf
import Testing

@testable import JWKSServer

/// The verified-token cache: a repeated token is answered without a signature check, but never past its `exp`,
/// never after its provider published another set or the registry was reloaded, never to a peer the tenant
/// refuses; bounded in entries and bytes.
@Suite("Verified-token cache")
struct VerifiedTokenCacheTests {
    typealias Signer = VerifyJWTTests.Signer

    /// A wall clock the test sets by hand.
    final class UnixTime: Sendable {
        private let seconds: NIOLockedValueBox<Double>
        init(_ seconds: Double) { self.seconds = NIOLockedValueBox(seconds) }
        var now: Double {
            get { seconds.withLockedValue { $0 } }
            set { seconds.withLockedValue { $0 = newValue } }
        }
    }

    static let start = 1_900_000_000.0

    /// Tenant acme with provider idp (issuer https://idp.example.com, audience api, key file idp.json); tenant
    /// locked (uid 4242 only) with the same provider.
    static func setUp(
        _ idp: Signer, server: String = "max_calls_per_connection: 8", time: UnixTime,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) async throws -> (RequestDispatcher, URL) {
        try await ConnectionHandlerTests.dispatcher(
            server: server,
            tenants: """
                acme: { providers: { idp: { file: idp.json, kid_miss_cooldown: 1s, verify: { issuer: "https://idp.example.com", audiences: [api] } } } }
                locked: { allowed_uids: [4242], providers: { idp: { file: idp.json, verify: { audiences: any } } } }
                """, transport: NoNetwork(), files: ["idp.json": idp.jwks],
            metrics: ServerMetrics(factory: PrometheusMetricsFactory(registry: registry)), unixTime: { time.now })
    }

    static func request(tenant: String = "acme", provider: String = "", token: String) throws -> ByteBuffer {
        var request = Jwksd_V1_VerifyJWTRequest()
        request.tenant = tenant
        request.provider = provider
        request.token = token
        return ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
    }

    /// The reply to a VerifyJWT request, awaited when deferred.
    static func verify(
        _ dispatcher: RequestDispatcher, _ request: ByteBuffer, uid: UInt32 = 0
    ) async throws -> Reply {
        switch dispatcher.dispatch(.verifyJWT, payload: request, peer: PeerCredentials(pid: 1, uid: uid, gid: uid)) {
        case .reply(let reply): return reply
        case .deferred(let work): return await work()
        case .watch: throw RPCError(.internal, "VerifyJWT answered with a stream")
        }
    }

    static func claims(exp: Double) -> String {
        #"{"iss":"https://idp.example.com","aud":"api","exp":\#(Int(exp)),"sub":"u1"}"#
    }

    @Test("a repeated token is a cache hit; a refreshed set without its key stops it verifying at once")
    func hitsAndRotation() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let registry = PrometheusCollectorRegistry()
        let (dispatcher, directory) = try await Self.setUp(idp, time: time, registry: registry)
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = try Self.request(token: idp.token(Self.claims(exp: Self.start + 3_600)))
        for _ in 0..<3 {
            let reply = try await Self.verify(dispatcher, request)
            #expect(reply.status == .ok, "\(String(buffer: reply.payload))")
        }
        #expect(dispatcher.verifiedTokens?.usage.entries == 1)
        var text = registry.emitToString()
        #expect(PrometheusText.sample(text, "jwksd_verify_cache_hits_total") == 2)
        #expect(
            PrometheusText.sample(text, #"jwksd_verifications_total{tenant="acme",provider="idp",result="ok"}"#) == 3)

        // The issuer rotates: the refreshed set no longer has i1, and the remembered answer goes with it.
        try Data(Signer(kid: "i2").jwks).write(to: directory.appendingPathComponent("idp.json"))
        let refreshed = await dispatcher.engine.refresh(
            tenant: "acme", provider: "idp", deadline: dispatcher.engine.clock.now.advanced(by: .seconds(5)))
        #expect(refreshed == true)
        let after = try await Self.verify(dispatcher, request)
        #expect(after.status == .unauthenticated)
        #expect(String(buffer: after.payload).hasPrefix("unknown_kid: "), "\(String(buffer: after.payload))")
        text = registry.emitToString()
        #expect(PrometheusText.sample(text, "jwksd_verify_cache_hits_total") == 2)
        #expect(
            PrometheusText.sample(
                text, #"jwksd_verifications_total{tenant="acme",provider="idp",result="unknown_kid"}"#) == 1)
    }

    @Test("an answer is never served past the token's exp, though the token still verifies within the leeway")
    func neverPastExp() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let registry = PrometheusCollectorRegistry()
        let (dispatcher, directory) = try await Self.setUp(idp, time: time, registry: registry)
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = try Self.request(token: idp.token(Self.claims(exp: Self.start + 100)))
        func hits() -> Double? { PrometheusText.sample(registry.emitToString(), "jwksd_verify_cache_hits_total") }

        #expect(try await Self.verify(dispatcher, request).status == .ok)
        time.now = Self.start + 99
        #expect(try await Self.verify(dispatcher, request).status == .ok)
        #expect(hits() == 1)
        // At exp: verified again (the 60 s leeway still accepts it), not answered from memory, not remembered.
        time.now = Self.start + 100
        #expect(try await Self.verify(dispatcher, request).status == .ok)
        #expect(hits() == 1)
        #expect(dispatcher.verifiedTokens?.usage.entries == 0)
        time.now = Self.start + 161
        let expired = try await Self.verify(dispatcher, request)
        #expect(expired.status == .unauthenticated && String(buffer: expired.payload).hasPrefix("expired: "))
    }

    @Test("a hit is for peers the tenant admits only, and a refused peer does not evict it")
    func peerACL() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let (dispatcher, directory) = try await Self.setUp(idp, time: time)
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = try Self.request(
            tenant: "locked", provider: "idp", token: idp.token(Self.claims(exp: Self.start + 3_600)))
        #expect(try await Self.verify(dispatcher, request, uid: 4242).status == .ok)
        #expect(dispatcher.verifiedTokens?.usage.entries == 1)
        #expect(try await Self.verify(dispatcher, request, uid: 7).status == .notFound)
        #expect(dispatcher.verifiedTokens?.usage.entries == 1)
        #expect(try await Self.verify(dispatcher, request, uid: 4242).status == .ok)
    }

    @Test("a reload that changes the verify: rules drops the answers computed under the old ones")
    func reload() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let (dispatcher, directory) = try await Self.setUp(idp, time: time)
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = try Self.request(token: idp.token(Self.claims(exp: Self.start + 3_600)))
        #expect(try await Self.verify(dispatcher, request).status == .ok)
        let config = try ConfigLoader.load(
            text: """
                version: 1
                tenants:
                  acme: { providers: { idp: { file: idp.json, verify: { issuer: "https://idp.example.com", audiences: [web] } } } }
                """, baseDirectory: directory.path)
        _ = dispatcher.engine.apply(config)
        let reply = try await Self.verify(dispatcher, request)
        #expect(reply.status == .unauthenticated)
        #expect(String(buffer: reply.payload).hasPrefix("bad_audience: "), "\(String(buffer: reply.payload))")
        // The new registry dropped every entry (none keeps a replaced provider alive).
        #expect(dispatcher.verifiedTokens?.usage.entries == 0)
    }

    @Test("distinct valid tokens hold at most verify_cache_entries entries and verify_cache_bytes bytes")
    func bounded() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let padding = String(repeating: "p", count: 1_000)
        for (server, entries, bytes) in [
            ("verify_cache_entries: 4", 4, 33_554_432), ("verify_cache_bytes: 8192", 10_000, 8_192),
        ] {
            let (dispatcher, directory) = try await Self.setUp(idp, server: server, time: time)
            defer { try? FileManager.default.removeItem(at: directory) }
            var last: ByteBuffer?
            for index in 0..<40 {
                let claims =
                    #"{"iss":"https://idp.example.com","aud":"api","exp":\#(Int(Self.start) + 3_600),"jti":"\#(index)","pad":"\#(padding)"}"#
                let request = try Self.request(token: idp.token(claims))
                #expect(try await Self.verify(dispatcher, request).status == .ok)
                let usage = try #require(dispatcher.verifiedTokens?.usage)
                #expect(usage.entries <= entries && usage.bytes <= bytes, "\(server): \(usage)")
                last = request
            }
            // The newest is kept: it is answered from memory.
            let usage = try #require(dispatcher.verifiedTokens?.usage)
            #expect(usage.entries >= 1)
            let lastRequest = try #require(last)
            #expect(
                dispatcher.verifiedTokens?.lookup(
                    .init(lastRequest), registry: dispatcher.engine.publication, now: dispatcher.engine.clock.now,
                    unixTime: time.now, peer: nil) != nil)
        }
    }

    @Test("keys served stale verify with stale: true, and such answers are never remembered")
    func staleKeys() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let registry = PrometheusCollectorRegistry()
        let (dispatcher, directory) = try await Self.setUp(idp, time: time, registry: registry)
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = try Self.request(token: idp.token(Self.claims(exp: Self.start + 86_400)))
        #expect(try await Self.verify(dispatcher, request).status == .ok)
        #expect(dispatcher.verifiedTokens?.usage.entries == 1)
        // The key file turns bad and the keys expire (time alone makes them stale; their refresh cannot succeed).
        try Data("not a key set".utf8).write(to: directory.appendingPathComponent("idp.json"))
        let clock = try #require(dispatcher.engine.clock as? ManualClock)
        clock.advance(by: .seconds(3_600))
        let entry = try #require(dispatcher.engine.entry(tenant: "acme", provider: "idp"))
        #expect(entry.snapshot.standing(at: clock.now) == .stale)
        for _ in 0..<2 {
            let reply = try await Self.verify(dispatcher, request)
            #expect(reply.status == .ok, "\(String(buffer: reply.payload))")
            #expect(try Jwksd_V1_VerifyJWTResponse(serializedBytes: Array(buffer: reply.payload)).stale)
        }
        // The fresh answer was not served (it would say stale: false), and the stale ones were not kept.
        #expect(PrometheusText.sample(registry.emitToString(), "jwksd_verify_cache_hits_total") == 0)
    }

    @Test("verify_cache_entries: 0 turns the cache off")
    func off() async throws {
        let idp = Signer(kid: "i1")
        let time = UnixTime(Self.start)
        let (dispatcher, directory) = try await Self.setUp(idp, server: "verify_cache_entries: 0", time: time)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(dispatcher.verifiedTokens == nil)
        let request = try Self.request(token: idp.token(Self.claims(exp: Self.start + 3_600)))
        #expect(try await Self.verify(dispatcher, request).status == .ok)
        #expect(try await Self.verify(dispatcher, request).status == .ok)
    }

    @Test("the store evicts the oldest first, accounts replacements, refuses an entry over the byte budget")
    func boundedStore() throws {
        func key(_ index: Int) -> VerifiedTokenCache.Key { .init(ByteBuffer(string: "request-\(index)")) }
        let entry = try Self.entry()
        // A key is its bytes: a detached copy equals it, other bytes do not.
        #expect(key(1) == key(1).detached() && key(1) != key(2))
        #expect(Set([key(1), key(1).detached(), key(2)]).count == 2)
        var store = VerifiedTokenCache.BoundedStore(maximumEntries: 4, maximumBytes: 1_000)
        for index in 0..<10 { store.insert(key(index), entry, size: 100) }
        #expect(store.count == 4 && store.bytes == 400)
        #expect((0..<6).allSatisfy { store.value(for: key($0)) == nil })
        #expect((6..<10).allSatisfy { store.value(for: key($0)) != nil })
        // Bytes: three of 300 fit in 1,000.
        for index in 10..<13 { store.insert(key(index), entry, size: 300) }
        #expect(store.bytes <= 1_000 && store.value(for: key(12)) != nil && store.value(for: key(11)) != nil)
        // A replacement is charged once.
        var replaced = VerifiedTokenCache.BoundedStore(maximumEntries: 4, maximumBytes: 1_000)
        for size in [100, 200, 50] { replaced.insert(key(1), entry, size: size) }
        #expect(replaced.count == 1 && replaced.bytes == 50)
        // Replacing one key over and over leaves it in place (the queue's dead elements are dropped, not it).
        for _ in 0..<100 { replaced.insert(key(1), entry, size: 50) }
        #expect(replaced.count == 1 && replaced.value(for: key(1)) != nil)
        // Larger than the whole budget: not kept, nothing evicted for it.
        replaced.insert(key(2), entry, size: 1_001)
        #expect(replaced.count == 1 && replaced.value(for: key(2)) == nil)
        replaced.remove(key(1))
        #expect(replaced.count == 0 && replaced.bytes == 0)
        // A newer registry empties the store; an older one is neither served nor kept.
        let same = store.adopt(registry: 0)
        #expect(same && store.count > 0)
        let newer = store.adopt(registry: 2)
        #expect(newer && store.count == 0 && store.bytes == 0)
        let older = store.adopt(registry: 1)
        #expect(!older)
    }

    /// An entry for the store's own tests (its contents do not matter there).
    static func entry() throws -> VerifiedTokenCache.Entry {
        let config = try ConfigLoader.load(
            text: "version: 1\ntenants:\n  t: { providers: { p: { file: k.json } } }\n", baseDirectory: "/tmp")
        let engine = JWKSEngine(
            config: config, clock: ManualClock(), transport: NoNetwork(), resolver: PublicResolver())
        let provider = try #require(engine.entry(tenant: "t", provider: "p"))
        return VerifiedTokenCache.Entry(
            reply: .ok(ByteBuffer()), tenant: config.tenants[0], provider: provider, publication: 0, registry: 0,
            freshUntil: ManualClock().now, expiration: nil,
            counters: VerificationMetrics().counters(tenant: "t", provider: "p"))
    }
}

import JWKS
import JWKSConfig
import Testing

@testable import JWKSCache

@Suite("Freshness from response headers")
struct FreshnessTests {
    let policy = ProviderPolicy()

    func ttl(_ headers: CacheHeaders) -> Duration {
        Freshness.compute(headers: headers, policy: policy, responseTime: wallNow).ttl
    }

    @Test("max-age sets the TTL")
    func maxAge() {
        let freshness = Freshness.compute(
            headers: CacheHeaders(cacheControl: "public, max-age=600"), policy: policy, responseTime: wallNow)
        #expect(freshness.ttl == .seconds(600))
        #expect(freshness.source == .maxAge)
        #expect(freshness.storable)
    }

    @Test("the TTL is clamped to min_ttl and max_ttl")
    func clamping() {
        #expect(ttl(CacheHeaders(cacheControl: "max-age=5")) == .seconds(30))
        #expect(ttl(CacheHeaders(cacheControl: "max-age=999999")) == .seconds(86_400))
        #expect(ttl(CacheHeaders(cacheControl: "max-age=30")) == .seconds(30))
        #expect(ttl(CacheHeaders(cacheControl: "max-age=86400")) == .seconds(86_400))
        #expect(ttl(CacheHeaders(cacheControl: "max-age=99999999999999999999")) == .seconds(86_400))
    }

    @Test("default_ttl applies when the headers say nothing")
    func defaultTTL() {
        let freshness = Freshness.compute(headers: CacheHeaders(etag: "\"x\""), policy: policy, responseTime: wallNow)
        #expect(freshness.ttl == .seconds(300))
        #expect(freshness.source == .defaultTTL)
        #expect(freshness.serverTTL == nil)
        #expect(ttl(CacheHeaders(cacheControl: "max-age=abc")) == .seconds(300))
    }

    @Test("s-maxage wins over max-age for a shared cache; the first repeated directive wins")
    func sharedMaxAge() {
        #expect(ttl(CacheHeaders(cacheControl: "max-age=60, s-maxage=900")) == .seconds(900))
        #expect(ttl(CacheHeaders(cacheControl: "max-age=120, max-age=900")) == .seconds(120))
        #expect(ttl(CacheHeaders(cacheControl: "Max-Age=\"240\"")) == .seconds(240))
    }

    @Test("no-cache and no-store revalidate as soon as min_ttl allows; no-store is not persisted")
    func noCacheNoStore() {
        let noCache = Freshness.compute(
            headers: CacheHeaders(cacheControl: "no-cache, max-age=600"), policy: policy, responseTime: wallNow)
        #expect(noCache.ttl == .seconds(30))
        #expect(noCache.source == .noCache)
        #expect(noCache.storable)
        let noStore = Freshness.compute(
            headers: CacheHeaders(cacheControl: "no-store"), policy: policy, responseTime: wallNow)
        #expect(noStore.ttl == .seconds(30))
        #expect(!noStore.storable)
    }

    @Test("stale-if-error is read")
    func staleIfError() {
        let freshness = Freshness.compute(
            headers: CacheHeaders(cacheControl: "max-age=600, stale-if-error=86400"), policy: policy,
            responseTime: wallNow)
        #expect(freshness.staleIfError == .seconds(86_400))
    }

    @Test("Expires minus Date gives the lifetime, immune to our clock")
    func expiresMinusDate() {
        let date = HTTPDate.format(wallNow - 10_000)
        let expires = HTTPDate.format(wallNow - 10_000 + 3_600)
        let freshness = Freshness.compute(
            headers: CacheHeaders(expires: expires, date: date), policy: policy, responseTime: wallNow)
        #expect(freshness.ttl == .seconds(3_600))
        #expect(freshness.source == .expires)
    }

    @Test("Expires without Date counts from the response time")
    func expiresWithoutDate() {
        #expect(ttl(CacheHeaders(expires: HTTPDate.format(wallNow + 900))) == .seconds(900))
    }

    @Test("Expires in the past, or not a date, means expired: min_ttl")
    func expiresPast() {
        #expect(
            ttl(CacheHeaders(expires: HTTPDate.format(wallNow - 60), date: HTTPDate.format(wallNow))) == .seconds(30))
        #expect(ttl(CacheHeaders(expires: "0")) == .seconds(30))
        #expect(ttl(CacheHeaders(expires: "-1", date: HTTPDate.format(wallNow))) == .seconds(30))
    }

    @Test("max-age beats Expires")
    func maxAgeBeatsExpires() {
        #expect(
            ttl(CacheHeaders(cacheControl: "max-age=120", expires: HTTPDate.format(wallNow + 9_000))) == .seconds(120))
    }

    @Test("Age is subtracted; Age larger than max-age leaves min_ttl")
    func age() {
        #expect(ttl(CacheHeaders(cacheControl: "max-age=600", age: "100")) == .seconds(500))
        let old = Freshness.compute(
            headers: CacheHeaders(cacheControl: "max-age=600", age: "9000"), policy: policy, responseTime: wallNow)
        #expect(old.ttl == .seconds(30))
        #expect(old.serverTTL == .zero)
        #expect(ttl(CacheHeaders(cacheControl: "max-age=600", age: "junk")) == .seconds(600))
    }

    @Test("a 304's headers replace the stored ones they carry, the rest stay")
    func notModifiedMerge() {
        let stored = CacheHeaders(
            cacheControl: "max-age=600", date: "old", age: "5", etag: "\"v1\"", lastModified: "lm")
        let merged = stored.updated(by: CacheHeaders(date: "new", etag: "\"v2\""))
        #expect(
            merged
                == CacheHeaders(
                    cacheControl: "max-age=600", expires: nil, date: "new", age: nil, etag: "\"v2\"", lastModified: "lm"
                ))
        #expect(merged.validators == Validators(etag: "\"v2\"", lastModified: "lm"))
    }
}

@Suite("HTTP dates")
struct HTTPDateTests {
    @Test("the three RFC 9110 formats parse to the same instant")
    func formats() {
        let expected: Int64 = 784_111_777
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.format(expected) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test("format and parse round-trip across years")
    func roundTrip() {
        for seconds in stride(from: Int64(0), to: 4_102_444_800, by: 7_777_777) {
            #expect(HTTPDate.parse(HTTPDate.format(seconds)) == seconds)
        }
    }

    @Test("garbage is not a date")
    func garbage() {
        for text in [
            "0", "-1", "", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            #expect(HTTPDate.parse(text) == nil, "\(text)")
        }
    }
}

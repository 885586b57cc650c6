import JWKS
import JWKSCache
import JWKSConfig

/// HTTP cache headers, dates and `Location` values from a provider: freshness always lands within
/// `[min_ttl, max_ttl]`, dates that parse format back to themselves, and a resolved `Location` is an http(s) URL.
enum HeadersFuzz {
    static func run(_ bytes: [UInt8]) {
        let fields = bytes.split(separator: 0, maxSplits: 6, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        func field(_ index: Int) -> String? { index < fields.count ? fields[index] : nil }
        let headers = CacheHeaders(
            cacheControl: field(0), expires: field(1), date: field(2), age: field(3), etag: field(4),
            lastModified: field(5))
        let policy = ProviderPolicy()
        let freshness = Freshness.compute(headers: headers, policy: policy, responseTime: 1_795_953_600)
        guard freshness.ttl >= policy.minTTL, freshness.ttl <= policy.maxTTL else {
            fuzzFailure("freshness \(freshness.ttl) is outside [min_ttl, max_ttl]")
        }
        _ = headers.updated(by: CacheHeaders(cacheControl: field(1), date: field(0)))
        if let date = field(2), let seconds = HTTPDate.parse(date) {
            let formatted = HTTPDate.format(seconds)
            guard HTTPDate.parse(formatted) == seconds else { fuzzFailure("a parsed date does not round-trip") }
        }
        if let location = field(6), let base = try? HTTPURL("https://idp.example.com/a/jwks?x=1"),
            let target = try? base.resolving(location)
        {
            guard
                target.text.hasPrefix("http://") || target.text.lowercased().hasPrefix("https://")
                    || target.text.lowercased().hasPrefix("http://")
            else { fuzzFailure("Location resolved to a non-http URL: \(target.text)") }
            guard HTTPURL.isValidHost(target.host) else { fuzzFailure("resolved host is not valid") }
        }
    }
}

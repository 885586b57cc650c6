import Foundation
import JWKSCache
import JWKSConfig

/// Warm-restart snapshot files: any bytes in a provider's snapshot file are read, checked and turned into a
/// record or refused, without trapping; a record never stays fresh past now + max_ttl.
final class SnapshotFuzz: Sendable {
    static let shared = SnapshotFuzz()

    let store: SnapshotStore
    let key = ProviderKey(tenant: "acme", provider: "idp")
    let provider: ProviderConfig

    private init() {
        let directory = NSTemporaryDirectory() + "jwksd-fuzz-snapshot-\(getpid())"
        store = SnapshotStore(directory: directory)
        try! store.prepare()
        provider = ProviderConfig(
            id: "idp", source: .jwksURI(try! HTTPURL("https://idp.example.com/jwks")), policy: ProviderPolicy())
    }

    func run(_ bytes: [UInt8]) {
        FileManager.default.createFile(atPath: store.path(for: key), contents: Data(bytes))
        guard let entry = try? store.read(key) else { return }
        let clock = ContinuousClock()
        guard
            let record = try? store.record(
                from: entry, provider: provider, clock: clock, wallNow: 1_795_953_600,
                sourceSummary: "jwks_uri https://idp.example.com/jwks")
        else { return }
        guard clock.now.duration(to: record.expiresAt) <= provider.policy.maxTTL + .seconds(1) else {
            fuzzFailure("a restored record is fresh past now + max_ttl")
        }
    }
}

import Crypto
import Foundation
import JWKSCache
import JWKSConfig
import JWKSWire
import NIOCore

/// Warm-restart snapshot files: any file in a provider's snapshot slot is read, checked and turned into a
/// record or refused, without trapping; a record never stays fresh past now + `max_ttl`.
///
/// The first byte picks what the rest is, so the fuzzer gets past the checksum to the parts behind it:
/// 0 the whole file as is; 1 the JSON entry (wrapped in a valid zlib payload, length and checksum); 2 the zlib
/// payload (wrapped with a valid length and checksum).
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
        guard let mode = bytes.first else { return }
        let rest = Array(bytes.dropFirst())
        let file: [UInt8]
        switch mode % 3 {
        case 0: file = rest
        case 1: file = Self.wrap(Array(buffer: WireCompression.compress(ByteBuffer(bytes: rest))))
        default: file = Self.wrap(rest)
        }
        _ = FileManager.default.createFile(atPath: store.path(for: key), contents: Data(file))
        guard let entry = try? store.read(key) else { return }
        let clock = SystemClock()
        guard
            let record = try? store.record(
                from: entry, provider: provider, clock: clock, wallNow: 1_795_953_600,
                sourceSummary: "jwks_uri https://idp.example.com/jwks")
        else { return }
        guard clock.now.duration(to: record.expiresAt) <= provider.policy.maxTTL + .seconds(1) else {
            fuzzFailure("a restored record is fresh past now + max_ttl")
        }
    }

    /// A snapshot file around a zlib payload: magic, version 1, length, payload, SHA-256 of the payload.
    static func wrap(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return Array("JWKSDSNP".utf8) + [
            1, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF),
            UInt8(length & 0xFF),
        ] + payload + Array(SHA256.hash(data: payload))
    }
}

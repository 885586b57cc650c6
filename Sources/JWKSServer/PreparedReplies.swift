import Foundation
import JWKS
public import JWKSCache
import JWKSWire
import NIOCore
import SwiftProtobuf

/// The encoded reply payloads of one published key set: built once when the set is published, so a
/// lookup only picks a buffer. Each reply exists in a fresh and a stale variant (the `stale` flag is the
/// only field that changes while a set ages).
public final class PreparedReplies: Sendable {
    /// One key's replies.
    struct Key: Sendable {
        let jwk: JWK
        let fresh: ByteBuffer
        let stale: ByteBuffer
    }

    /// The keys by kid, in document order.
    let byKid: [String: [Key]]
    /// The whole set, plain.
    let keySetFresh: ByteBuffer
    let keySetStale: ByteBuffer
    /// The whole set, zlib-compressed, when it is at least `compress_min_bytes`.
    let keySetFreshCompressed: ByteBuffer?
    let keySetStaleCompressed: ByteBuffer?

    private init(
        byKid: [String: [Key]], keySetFresh: ByteBuffer, keySetStale: ByteBuffer, keySetFreshCompressed: ByteBuffer?,
        keySetStaleCompressed: ByteBuffer?
    ) {
        self.byKid = byKid
        self.keySetFresh = keySetFresh
        self.keySetStale = keySetStale
        self.keySetFreshCompressed = keySetFreshCompressed
        self.keySetStaleCompressed = keySetStaleCompressed
    }

    /// The preparer to hand to ``JWKSEngine``.
    /// - Parameter compressMinBytes: key sets at least this large also get a compressed reply.
    public static func preparer<Instant>(compressMinBytes: Int) -> SnapshotPreparer<Instant> {
        { key, record in record.map { PreparedReplies.make(key: key, record: $0, compressMinBytes: compressMinBytes) } }
    }

    static func make<Instant>(key: ProviderKey, record: KeySetRecord<Instant>, compressMinBytes: Int) -> PreparedReplies
    {
        var byKid: [String: [Key]] = [:]
        let counts = Dictionary(grouping: record.keySet.keys.compactMap(\.kid), by: { $0 }).mapValues(\.count)
        for jwk in record.keySet.keys {
            guard let kid = jwk.kid else { continue }
            var reply = Jwksd_V1_GetKeyResponse()
            reply.jwkJson = Data(jwk.json)
            reply.kid = kid
            reply.kty = jwk.keyType.rawValue
            reply.alg = jwk.alg ?? ""
            reply.use = jwk.use ?? ""
            reply.provider = key.provider
            reply.fetchedAt = record.fetchedAtWall
            reply.expiresAt = record.expiresAtWall
            reply.matches = UInt32(counts[kid] ?? 1)
            let fresh = Self.encode(reply)
            reply.stale = true
            byKid[kid, default: []].append(Key(jwk: jwk, fresh: fresh, stale: Self.encode(reply)))
        }
        var set = Jwksd_V1_GetKeySetResponse()
        set.jwksJson = Data(record.keySet.document)
        set.provider = key.provider
        set.fetchedAt = record.fetchedAtWall
        set.expiresAt = record.expiresAtWall
        set.keyCount = UInt32(record.keySet.keys.count)
        set.droppedCount = UInt32(record.keySet.dropped.count)
        let fresh = Self.encode(set)
        set.stale = true
        let stale = Self.encode(set)
        let compress = fresh.readableBytes >= compressMinBytes
        return PreparedReplies(
            byKid: byKid, keySetFresh: fresh, keySetStale: stale,
            keySetFreshCompressed: compress ? WireCompression.compress(fresh) : nil,
            keySetStaleCompressed: compress ? WireCompression.compress(stale) : nil)
    }

    /// The reply for `kid`, narrowed by `alg`, or `nil` when no key matches.
    func key(kid: String, alg: String?, stale: Bool) -> ByteBuffer? {
        guard let index = byKid.index(forKey: kid) else { return nil }
        let keys = byKid.values[index]
        guard let alg else { return stale ? keys[0].stale : keys[0].fresh }
        for position in keys.indices where keys[position].jwk.accepts(alg: alg) {
            return stale ? keys[position].stale : keys[position].fresh
        }
        return nil
    }

    static func encode(_ message: some SwiftProtobuf.Message) -> ByteBuffer {
        ByteBuffer(bytes: (try? message.serializedBytes() as [UInt8]) ?? [])
    }
}

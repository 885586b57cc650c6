import Foundation
import JWKS
public import JWKSCache
import JWKSWire
import NIOCore
import SwiftProtobuf

/// The wire encoding of a published key set's replies: the ``SnapshotPreparer`` the server hands the engine.
/// Every reply a hit can send is built here, once per publication: each key's GetKey reply and the set's
/// GetKeySet reply, fresh and stale, and each compressed too when it is at least `compress_min_bytes`, and the
/// usable keys' JWK Set document for the HTTP endpoint (plain and gzip), so a hit never encodes or compresses
/// anything.
public enum PreparedReplies {
    /// The preparer to hand to ``JWKSEngine``.
    /// - Parameter compressMinBytes: replies at least this large also get a compressed form.
    public static func preparer(compressMinBytes: Int) -> SnapshotPreparer {
        { key, record in make(key: key, record: record, compressMinBytes: compressMinBytes) }
    }

    static func make(key: ProviderKey, record: KeySetRecord<EngineInstant>, compressMinBytes: Int) -> PreparedKeySet {
        func reply(_ message: some SwiftProtobuf.Message) -> PreparedKeySet.Reply {
            let payload = encode(message)
            return PreparedKeySet.Reply(
                payload: payload,
                compressed: payload.readableBytes >= compressMinBytes ? WireCompression.compress(payload) : nil)
        }
        var keys: [String: [PreparedKeySet.Key]] = [:]
        let counts = Dictionary(grouping: record.keySet.keys.compactMap(\.kid), by: { $0 }).mapValues(\.count)
        for jwk in record.keySet.keys {
            guard let kid = jwk.kid else { continue }
            var message = Jwksd_V1_GetKeyResponse()
            message.jwkJson = Data(jwk.json)
            message.kid = kid
            message.kty = jwk.keyType.rawValue
            message.alg = jwk.alg ?? ""
            message.use = jwk.use ?? ""
            message.provider = key.provider
            message.fetchedAt = record.fetchedAtWall
            message.expiresAt = record.expiresAtWall
            message.matches = UInt32(counts[kid] ?? 1)
            let fresh = reply(message)
            message.stale = true
            keys[kid, default: []].append(PreparedKeySet.Key(jwk: jwk, fresh: fresh, stale: reply(message)))
        }
        var set = Jwksd_V1_GetKeySetResponse()
        set.jwksJson = Data(record.keySet.document)
        set.provider = key.provider
        set.fetchedAt = record.fetchedAtWall
        set.expiresAt = record.expiresAtWall
        set.keyCount = UInt32(record.keySet.keys.count)
        set.droppedCount = UInt32(record.keySet.dropped.count)
        let fresh = reply(set)
        set.stale = true
        return PreparedKeySet(
            keys: keys, setFresh: fresh, setStale: reply(set), document: PreparedDocument(keys: record.keySet.keys))
    }

    /// A message's bytes.
    static func encode(_ message: some SwiftProtobuf.Message) -> ByteBuffer {
        ByteBuffer(bytes: (try? message.serializedBytes() as [UInt8]) ?? [])
    }
}

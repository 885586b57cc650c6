import JWKSCache
import NIOCore

/// One connection's recent GetKey answers, keyed by the request's bytes. A hit answers a repeated lookup (a
/// service verifying tokens asks for the same few kids over and over) without decoding the request or
/// walking the registry. An answer is reused only while the registry is the one it was computed from and
/// every provider snapshot it depended on is still the one published (compared by publication numbers, not by
/// loading the registry and snapshots again), and until the provider's standing changes
/// (fresh → stale, stale → expired): a renewal or rotation of one provider invalidates that provider's answers
/// only. Per connection, because an answer depends on the peer; bounded in entries and bytes.
struct ReplyCache {
    /// A provider snapshot an answer depended on.
    struct Source {
        /// The provider.
        let entry: ProviderEntry
        /// Its publication number when the snapshot was read (``ProviderEntry/publishedSnapshot()``).
        let publication: UInt64
    }

    /// A remembered answer: a class, so a hit costs one retain, not one per field.
    final class Entry {
        /// The prepared reply.
        let reply: PreparedKeySet.Reply
        /// Whether it is the stale variant (counted as a stale serve).
        let stale: Bool
        /// The instant at which the provider's standing changes.
        let validUntil: EngineInstant
        /// The registry's publication number, read before the registry the answer was computed from (a reload
        /// can change who may read what).
        let registry: UInt64
        /// The snapshots it depended on.
        let sources: [Source]

        init(reply: PreparedKeySet.Reply, stale: Bool, validUntil: EngineInstant, registry: UInt64, sources: [Source]) {
            self.reply = reply
            self.stale = stale
            self.validUntil = validUntil
            self.registry = registry
            self.sources = sources
        }
    }

    /// Entries kept per connection; the cache starts over when full.
    static let capacity = 256
    /// Bytes of requests and replies kept per connection; the cache starts over past this.
    static let capacityBytes = 262_144
    /// Requests longer than this are not remembered. A GetKey request within the request grammar (ids of 64
    /// bytes, a kid of 256, an alg, a timeout) is under 420 bytes; a longer one carries unknown fields and is
    /// answered but not kept, so padding cannot fill memory.
    static let maximumRequestBytes = 512

    private var entries: [ByteBuffer: Entry] = [:]
    /// Bytes of the remembered requests and the replies they retain.
    private(set) var bytes = 0

    /// The remembered answer to `request`, if it still holds at `now` with the registry publication `registry`.
    func lookup(_ request: ByteBuffer, registry: UInt64, now: EngineInstant) -> Entry? {
        guard let entry = entries[request], entry.registry == registry, now < entry.validUntil else { return nil }
        for source in entry.sources where source.entry.publication != source.publication { return nil }
        return entry
    }

    /// Remembers an answer; the request's bytes are copied (the read buffer is not retained).
    mutating func store(_ request: ByteBuffer, _ entry: Entry) {
        guard request.readableBytes <= Self.maximumRequestBytes else { return }
        let size = request.readableBytes + entry.reply.payload.readableBytes
        if entries.count >= Self.capacity || bytes + size > Self.capacityBytes {
            entries.removeAll(keepingCapacity: true)
            bytes = 0
        }
        var key = ByteBuffer()
        key.writeImmutableBuffer(request)
        if let replaced = entries.updateValue(entry, forKey: key) {
            bytes -= request.readableBytes + replaced.reply.payload.readableBytes
        }
        bytes += size
    }

    /// Entries held.
    var count: Int { entries.count }
}

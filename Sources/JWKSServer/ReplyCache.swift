import NIOCore

/// One connection's recent GetKey answers, keyed by the request's bytes. A hit answers a repeated lookup (a
/// service verifying tokens asks for the same few kids over and over) without decoding the request or
/// walking the read index. An answer is reused only while the read index's generation is the one read
/// before it was computed (no registry swap, no new snapshot since) and until the provider's standing
/// changes (fresh → stale, stale → expired). Per connection, because an answer depends on the peer.
struct ReplyCache {
    /// A remembered answer.
    struct Entry {
        /// The prepared reply payload.
        let reply: ByteBuffer
        /// Whether it is the stale variant (counted as a stale serve).
        let stale: Bool
        /// The read-path tick at which the provider's standing changes.
        let validUntil: Int64
        /// The read index's generation read before the answer was computed.
        let generation: UInt64
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

    /// The remembered answer to `request`, if it still holds at `generation` and `now`.
    func lookup(_ request: ByteBuffer, generation: UInt64, now: Int64) -> Entry? {
        guard let entry = entries[request], entry.generation == generation, now < entry.validUntil else { return nil }
        return entry
    }

    /// Remembers an answer; the request's bytes are copied (the read buffer is not retained).
    mutating func store(_ request: ByteBuffer, _ entry: Entry) {
        guard request.readableBytes <= Self.maximumRequestBytes else { return }
        let size = request.readableBytes + entry.reply.readableBytes
        if entries.count >= Self.capacity || bytes + size > Self.capacityBytes {
            entries.removeAll(keepingCapacity: true)
            bytes = 0
        }
        var key = ByteBuffer()
        key.writeImmutableBuffer(request)
        if let replaced = entries.updateValue(entry, forKey: key) {
            bytes -= request.readableBytes + replaced.reply.readableBytes
        }
        bytes += size
    }

    /// Entries held.
    var count: Int { entries.count }
}

public import JWKS
public import NIOCore

/// The replies a published key set can send, built once when it is published, so a lookup only picks a
/// buffer. The engine keeps them without knowing their encoding: the server hands it a ``SnapshotPreparer``
/// that builds them. Each reply exists in a fresh and a stale variant (the one flag that changes while a set
/// ages), each plain and, when large enough, compressed.
public final class PreparedKeySet: Sendable {
    /// One reply: its payload, and the payload compressed when the preparer compressed it.
    public struct Reply: Sendable {
        /// The payload.
        public let payload: ByteBuffer
        /// `payload` compressed, for clients that accept it; nil when it is too small to compress.
        public let compressed: ByteBuffer?

        /// Creates a reply.
        public init(payload: ByteBuffer, compressed: ByteBuffer?) {
            self.payload = payload
            self.compressed = compressed
        }
    }

    /// One key's replies.
    public struct Key: Sendable {
        /// The key (for narrowing by `alg`).
        public let jwk: JWK
        /// The reply while the set is fresh.
        public let fresh: Reply
        /// The reply while the set is served stale.
        public let stale: Reply

        /// Creates a key's replies.
        public init(jwk: JWK, fresh: Reply, stale: Reply) {
            self.jwk = jwk
            self.fresh = fresh
            self.stale = stale
        }
    }

    /// The keys by kid, each kid's keys in document order.
    public let keys: [String: [Key]]
    /// The whole set while fresh, and while stale.
    public let setFresh: Reply
    public let setStale: Reply
    /// The usable keys as a JWK Set document for HTTP and file export (nil when the preparer built none).
    public let document: PreparedDocument?

    /// Creates the prepared replies of a set.
    public init(keys: [String: [Key]], setFresh: Reply, setStale: Reply, document: PreparedDocument? = nil) {
        self.keys = keys
        self.setFresh = setFresh
        self.setStale = setStale
        self.document = document
    }

    /// The reply for `kid`, narrowed by `alg` (the first key in document order that accepts it), or nil when
    /// no key matches.
    @inlinable
    public func key(kid: String, alg: String?, stale: Bool) -> Reply? {
        guard let index = keys.index(forKey: kid) else { return nil }
        let matching = keys.values[index]
        guard let alg else { return stale ? matching[0].stale : matching[0].fresh }
        for key in matching where key.jwk.accepts(alg: alg) { return stale ? key.stale : key.fresh }
        return nil
    }

    /// The whole set's reply.
    @inlinable
    public func set(stale: Bool) -> Reply { stale ? setStale : setFresh }
}

/// Builds the replies of a key set when it is published, on the writer's side and outside the provider's
/// lock. The socket server supplies it (the engine knows the replies' shape, not their encoding).
public typealias SnapshotPreparer = @Sendable (ProviderKey, KeySetRecord<EngineInstant>) -> PreparedKeySet

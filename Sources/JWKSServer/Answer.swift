public import JWKSCache
public import JWKSWire
public import NIOCore

/// How the dispatcher answers one request (see ``RequestDispatcher/dispatch(_:payload:peer:)``).
public enum Answer: Sendable {
    /// Answer now, on the event loop.
    case reply(Reply)
    /// Answer when this finishes (off the event loop).
    case deferred(@Sendable () async -> Reply)
    /// Start a Watch stream: send each payload as a MESSAGE frame until the stream ends.
    case watch(WatchStream)
}

/// One Watch call: the engine's notices, which tenants and providers it follows, and how to encode what it
/// reports. The selection is re-checked on every registry change (a reload), so a peer whose access was revoked
/// stops receiving a tenant's events.
public struct WatchStream: Sendable {
    /// What a Watch follows.
    public struct Selection: Sendable, Equatable {
        /// The tenants whose events are sent.
        public var tenants: Set<String>
        /// When non-empty, only these providers (`tenant/provider`) are sent.
        public var providers: Set<String>
        /// Whether the request named its tenants (else: every tenant the peer may read, recomputed on reload).
        public var named: Bool
    }

    /// The engine's events and registry changes, bounded: the stream ends early when this Watch falls too far
    /// behind, and the call then ends RESOURCE_EXHAUSTED.
    public let notices: AsyncStream<EngineNotice>
    /// The selection at the start of the call.
    public let selection: Selection
    /// The encoded `WatchEvent` for an event under a selection, or nil for events this Watch does not report.
    public let payload: @Sendable (EngineEvent, Selection) -> ByteBuffer?
    /// The selection under the registry now in force, or the error that ends the call (the peer may no longer
    /// read a tenant it named: PERMISSION_DENIED).
    public let reselect: @Sendable (Selection) -> Result<Selection, RPCError>
    /// The encoded `WatchEvent` RELOADED for a registry change to a generation, sent after a successful reselect
    /// (nil: none sent).
    public let reloaded: (@Sendable (UInt64) -> ByteBuffer)?

    /// Creates a stream.
    public init(
        notices: AsyncStream<EngineNotice>, selection: Selection,
        payload: @escaping @Sendable (EngineEvent, Selection) -> ByteBuffer?,
        reselect: @escaping @Sendable (Selection) -> Result<Selection, RPCError>,
        reloaded: (@Sendable (UInt64) -> ByteBuffer)? = nil
    ) {
        self.notices = notices
        self.selection = selection
        self.payload = payload
        self.reselect = reselect
        self.reloaded = reloaded
    }
}

public import JWKSCache
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

/// One Watch call: the engine's events and the encoding of those the caller asked for.
public struct WatchStream: Sendable {
    /// The engine's events; the stream ends when the engine stops or the consuming task is cancelled.
    public let events: AsyncStream<EngineEvent>
    /// The encoded `WatchEvent` for an event, or nil for events this Watch does not report.
    public let payload: @Sendable (EngineEvent) -> ByteBuffer?

    /// Creates a stream.
    public init(events: AsyncStream<EngineEvent>, payload: @escaping @Sendable (EngineEvent) -> ByteBuffer?) {
        self.events = events
        self.payload = payload
    }
}

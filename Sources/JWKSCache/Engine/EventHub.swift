import Atomics
import NIOConcurrencyHelpers

/// Broadcasts ``EngineEvent``s (and, to subscribers that ask, registry changes) to every current subscriber:
/// Watch streams, the event log, tests. Each subscriber has a bounded buffer: one that falls `limit` items
/// behind is finished (its stream ends after the items it already has), so a consumer that stops reading can
/// never make the engine hold memory without bound.
final class EventHub: Sendable {
    private struct Subscribers {
        var events: [UInt64: AsyncStream<EngineEvent>.Continuation] = [:]
        var notices: [UInt64: AsyncStream<EngineNotice>.Continuation] = [:]
    }

    private let subscribers = NIOLockedValueBox(Subscribers())
    private let nextID = ManagedAtomic<UInt64>(0)

    /// Sends an event to every subscriber; a subscriber whose buffer is full is finished.
    func emit(_ event: EngineEvent) {
        let (events, notices) = subscribers.withLockedValue { (Array($0.events.values), Array($0.notices.values)) }
        for continuation in events {
            if case .dropped = continuation.yield(event) { continuation.finish() }
        }
        for continuation in notices {
            if case .dropped = continuation.yield(.event(event)) { continuation.finish() }
        }
    }

    /// Tells notice subscribers that a new registry is in force.
    func announceRegistryChange(generation: UInt64) {
        for continuation in subscribers.withLockedValue({ Array($0.notices.values) }) {
            if case .dropped = continuation.yield(.registryChanged(generation: generation)) { continuation.finish() }
        }
    }

    /// A new stream of events from now on; it ends when the consumer stops iterating, or after the consumer
    /// fell `limit` events behind.
    func subscribe(limit: Int) -> AsyncStream<EngineEvent> {
        subscribe(limit: limit, into: \.events)
    }

    /// A new stream of events and registry changes from now on, bounded like ``subscribe(limit:)``.
    func subscribeNotices(limit: Int) -> AsyncStream<EngineNotice> {
        subscribe(limit: limit, into: \.notices)
    }

    private func subscribe<Element: Sendable>(
        limit: Int, into list: any WritableKeyPath<Subscribers, [UInt64: AsyncStream<Element>.Continuation]> & Sendable
    ) -> AsyncStream<Element> {
        let id = nextID.wrappingIncrementThenLoad(ordering: .relaxed)
        let (stream, continuation) = AsyncStream.makeStream(
            of: Element.self, bufferingPolicy: .bufferingOldest(max(1, limit)))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLockedValue { $0[keyPath: list].removeValue(forKey: id) }
        }
        subscribers.withLockedValue { $0[keyPath: list][id] = continuation }
        return stream
    }

    /// Subscribers of either kind (tests).
    var subscriberCount: Int { subscribers.withLockedValue { $0.events.count + $0.notices.count } }
}

import Atomics
import Synchronization

/// Broadcasts ``EngineEvent``s to every current subscriber (Watch streams, tests, logs).
final class EventHub: Sendable {
    private let subscribers = Mutex<[UInt64: AsyncStream<EngineEvent>.Continuation]>([:])
    private let nextID = ManagedAtomic<UInt64>(0)

    /// Sends an event to every subscriber.
    func emit(_ event: EngineEvent) {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(event) }
    }

    /// A new stream of events from now on; it ends when the consumer stops iterating.
    func subscribe() -> AsyncStream<EngineEvent> {
        let id = nextID.wrappingIncrementThenLoad(ordering: .relaxed)
        let (stream, continuation) = AsyncStream.makeStream(of: EngineEvent.self, bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }
}

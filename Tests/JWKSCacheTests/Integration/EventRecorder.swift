import JWKSCache
import NIOConcurrencyHelpers

/// Collects engine events in the background and lets a test await the first one that matches, with a
/// real-time guard so a broken test fails instead of hanging.
final class EventRecorder: Sendable {
    private struct Waiter {
        var startIndex: Int
        var predicate: @Sendable (EngineEvent) -> Bool
        var continuation: CheckedContinuation<EngineEvent?, Never>
    }

    private struct State {
        var events: [EngineEvent] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<EngineEvent>) {
        let box = StateBox()
        task = Task {
            for await event in stream { box.recorder?.record(event) }
        }
        box.recorder = self
    }

    deinit { task.cancel() }

    /// Events so far.
    var events: [EngineEvent] { state.withLockedValue { $0.events } }

    /// The number of events so far (an index to wait from).
    var count: Int { state.withLockedValue { $0.events.count } }

    private func record(_ event: EngineEvent) {
        let matched = state.withLockedValue { state -> [CheckedContinuation<EngineEvent?, Never>] in
            state.events.append(event)
            let due = state.waiters.filter { $0.value.predicate(event) }
            for id in due.keys { state.waiters[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in matched { continuation.resume(returning: event) }
    }

    /// The first event at or after index `from` that matches, waiting for it if needed.
    /// - Returns: the event, or `nil` if none came within `guardTime` (real time).
    func first(
        from start: Int, guardTime: Duration = .seconds(20), where predicate: @escaping @Sendable (EngineEvent) -> Bool
    ) async -> EngineEvent? {
        let id = state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        let guardTask = Task {
            try? await Task.sleep(for: guardTime)
            self.expire(id)
        }
        defer { guardTask.cancel() }
        return await withCheckedContinuation { continuation in
            let existing = state.withLockedValue { state -> EngineEvent? in
                if let found = state.events.dropFirst(start).first(where: predicate) { return found }
                state.waiters[id] = Waiter(startIndex: start, predicate: predicate, continuation: continuation)
                return nil
            }
            if let existing { continuation.resume(returning: existing) }
        }
    }

    /// Waits until `count` events match.
    func count(
        from start: Int, reaching count: Int, guardTime: Duration = .seconds(60),
        where predicate: @escaping @Sendable (EngineEvent) -> Bool
    ) async -> Bool {
        var seen = 0
        var index = start
        while seen < count {
            guard let _ = await first(from: index, guardTime: guardTime, where: predicate) else { return false }
            let events = self.events
            seen = events.dropFirst(start).filter(predicate).count
            index = events.count
        }
        return true
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume(returning: nil)
    }
}

private final class StateBox: Sendable {
    private let value = NIOLockedValueBox<EventRecorder?>(nil)
    var recorder: EventRecorder? {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}

extension EngineEvent {
    var isPublished: Bool { if case .published = kind { true } else { false } }
    var isChanged: Bool { if case .published(true, _, _) = kind { true } else { false } }
    var isNotModified: Bool { if case .notModified = kind { true } else { false } }
    var isFetchStarted: Bool { kind == .fetchStarted }
    var failure: FetchFailure? { if case .failed(let failure, _) = kind { failure } else { nil } }
    var keptKeys: Bool? { if case .failed(_, let kept) = kind { kept } else { nil } }
}

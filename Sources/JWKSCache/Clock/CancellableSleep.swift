import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A sleep that lets go of everything the moment it is cancelled. The runtime's `Task.sleep` resumes a cancelled
/// task at once but leaves its timer queued until the deadline, holding a few hundred bytes each: a peer that
/// starts calls with long `timeout_ms` and closes its connection (cancelling them) would pin that memory for the
/// whole timeout. This sleep is a SwiftNIO scheduled task, removed from its event loop's timer heap on cancel.
enum CancellableSleep {
    private enum State: Sendable {
        case waiting
        case scheduled(Scheduled<Void>)
        case cancelled
    }

    /// Sleeps for `duration` on the process's shared event loops.
    /// - Throws: `CancellationError` when the task is cancelled first.
    static func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard duration > .zero else { return }
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let delay: TimeAmount =
            nanoseconds.overflow
            ? .nanoseconds(.max) : .nanoseconds(nanoseconds.partialValue + attoseconds / 1_000_000_000)
        let state = NIOLockedValueBox(State.waiting)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let scheduled = loop.scheduleTask(in: delay) {}
                scheduled.futureResult.whenComplete { result in
                    switch result {
                    case .success: continuation.resume()
                    case .failure: continuation.resume(throwing: CancellationError())
                    }
                }
                let cancelledAlready = state.withLockedValue { state -> Bool in
                    if case .cancelled = state { return true }
                    state = .scheduled(scheduled)
                    return false
                }
                if cancelledAlready { scheduled.cancel() }
            }
        } onCancel: {
            let scheduled = state.withLockedValue { state -> Scheduled<Void>? in
                defer { state = .cancelled }
                if case .scheduled(let scheduled) = state { return scheduled }
                return nil
            }
            scheduled?.cancel()
        }
    }
}

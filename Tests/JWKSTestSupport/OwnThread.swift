public import Foundation

/// Runs blocking work (a `recv`, `waitUntilExit`, reading a pipe to its end) on a thread of its own and awaits
/// its result. Blocking on Swift's cooperative pool instead holds one of its threads (two on the CI machine):
/// every other test's tasks, and the engines and servers they run in this process, stop until it returns, and
/// real-time limits (attempt timeouts, drain timeouts) then fire for work that was never scheduled.
/// - Parameter body: the blocking work.
/// - Returns: what `body` returns.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Process {
    /// Waits until the process has exited, on a thread of its own (see ``onOwnThread(_:)``).
    public func exited() async {
        let process = self
        _ = try? await onOwnThread { process.waitUntilExit() }
    }
}

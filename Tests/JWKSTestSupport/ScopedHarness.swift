/// Something a test starts and must stop before it ends (a server, an engine with its issuer, a daemon).
public protocol ScopedHarness: Sendable {
    /// Stops everything the harness started; returns when it has stopped.
    func shutdown() async
}

/// Runs `body` with `harness`, then stops the harness and waits for it, whether `body` returned or threw. Tests
/// use this instead of `defer { Task { await harness.shutdown() } }`, which returns before the shutdown has
/// happened (a test could end with its server still running, or hang a later one).
/// - Parameters:
///   - harness: the started harness.
///   - body: the test's work.
/// - Returns: what `body` returns.
public func withHarness<H: ScopedHarness, R>(_ harness: H, _ body: (H) async throws -> R) async throws -> R {
    let result: R
    do {
        result = try await body(harness)
    } catch {
        await harness.shutdown()
        throw error
    }
    await harness.shutdown()
    return result
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes (real time).
/// - Returns: whether it held in time; the caller expects `true`, so a broken test fails instead of hanging.
public func eventually(
    within timeout: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// Runs `body`, then awaits `cleanup`, whether `body` returned or threw: an awaited `defer` for what is not a
/// ``ScopedHarness`` (a client to close, a DevIssuer to stop).
/// - Parameters:
///   - body: the test's work.
///   - cleanup: what must have happened before the test ends.
/// - Returns: what `body` returns.
public func withCleanup<R>(_ body: () async throws -> R, cleanup: () async -> Void) async throws -> R {
    let result: R
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}

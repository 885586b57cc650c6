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

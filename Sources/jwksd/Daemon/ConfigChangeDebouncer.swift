import JWKSCache

/// Turns notices that the config file may have changed into reloads: after a notice it waits `debounce`
/// (notices that arrive meanwhile fold into one, as an editor's write, rename and chmod do), then reloads only
/// when the file's content differs from the content last seen. The clock is injected, so tests drive the wait.
struct ConfigChangeDebouncer: Sendable {
    /// What one notice led to.
    enum Outcome: Sendable, Equatable {
        /// The content changed: a reload ran.
        case reloaded
        /// The content is what it was: nothing ran.
        case unchanged
    }

    /// How long to wait after a notice before reading the file.
    var debounce: Duration = .milliseconds(250)
    /// The clock the wait runs on.
    let clock: any EngineClock
    /// Reads the file's content (nil when it cannot be read).
    let read: @Sendable () -> [UInt8]?

    /// Handles notices until `changes` ends or the task is cancelled.
    /// - Parameters:
    ///   - changes: one element per batch of notices; a stream that buffers the newest one (as
    ///     `ConfigWatcher.changes()` does) is what folds notices during a wait into one.
    ///   - initial: the content the running registry was loaded from.
    ///   - reload: runs a reload.
    ///   - observe: told what each notice led to.
    func run(
        changes: AsyncStream<Void>, initial: [UInt8]?, reload: () async -> Void,
        observe: (Outcome) -> Void = { _ in }
    ) async {
        var lastContent = initial
        for await _ in changes {
            do {
                try await clock.sleep(until: clock.now.advanced(by: debounce))
            } catch {
                return
            }
            let content = read()
            guard content != lastContent else {
                observe(.unchanged)
                continue
            }
            lastContent = content
            await reload()
            observe(.reloaded)
        }
    }
}

import Atomics
import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// Log lines on their way to standard error, written by a thread of their own. Logging never blocks the
/// engine or the server: when stderr is a pipe nobody reads (or a slow terminal), that thread blocks alone, the
/// queue fills to its bound, and further lines are dropped and counted (`jwksd_log_lines_dropped_total`, and a
/// line saying how many once stderr moves again).
final class LogQueue: TextOutputStream, @unchecked Sendable {
    // @unchecked: `lines`, `bytes` and `droppedSinceReport` are only touched with `condition` locked.
    private let condition = ConditionLock(value: false)
    private var lines: [String] = []
    private var bytes = 0
    private var droppedSinceReport = 0
    private let droppedTotal = ManagedAtomic<Int>(0)
    private let sink: @Sendable (String) -> Void
    /// The most lines and bytes held.
    let maximumLines: Int
    let maximumBytes: Int

    /// The queue behind the daemon's log handler (standard error), started on first use.
    static let standardError: LogQueue = {
        let queue = LogQueue { text in
            var remaining = Array(text.utf8)[...]
            while !remaining.isEmpty {
                let written = remaining.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                remaining = remaining.dropFirst(written)
            }
        }
        queue.start()
        return queue
    }()

    /// Creates a queue; nothing is written until ``start()``.
    /// - Parameters:
    ///   - maximumLines: lines held before new ones are dropped.
    ///   - maximumBytes: bytes held before new lines are dropped.
    ///   - write: writes text to the destination (may block).
    init(maximumLines: Int = 8_192, maximumBytes: Int = 2 * 1_048_576, write: @escaping @Sendable (String) -> Void) {
        self.maximumLines = maximumLines
        self.maximumBytes = maximumBytes
        self.sink = write
    }

    /// Starts the writer thread.
    func start() {
        let thread = Thread { [self] in
            while true { drainOnce() }
        }
        thread.name = "jwksd-log"
        thread.start()
    }

    /// Queues one line (called by the log handler, on any thread); never waits for the destination.
    func write(_ string: String) {
        condition.lock()
        guard lines.count < maximumLines, bytes + string.utf8.count <= maximumBytes else {
            droppedSinceReport += 1
            condition.unlock(withValue: true)
            droppedTotal.wrappingIncrement(ordering: .relaxed)
            return
        }
        lines.append(string)
        bytes += string.utf8.count
        condition.unlock(withValue: true)
    }

    /// Waits for lines, then writes them (and how many were dropped) to the destination.
    func drainOnce() {
        condition.lock(whenValue: true)
        let batch = lines
        let dropped = droppedSinceReport
        lines.removeAll(keepingCapacity: true)
        bytes = 0
        droppedSinceReport = 0
        condition.unlock(withValue: false)
        for line in batch { sink(line) }
        if dropped > 0 {
            sink("jwksd: \(dropped) log lines dropped while standard error was not keeping up\n")
        }
    }

    /// Lines dropped since start.
    var dropped: Int { droppedTotal.load(ordering: .relaxed) }

    /// Lines waiting to be written.
    var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return lines.count
    }
}

import CSched
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Threads for the daemon's background work (refresh fetches through AsyncHTTPClient, parsing and
/// publishing key sets, the event log and snapshot writes) that run at a lower CPU priority (`nice`) than
/// the socket server's event loops. On a busy host a lookup thread that wakes up then preempts a refresh at
/// once instead of waiting for its time slice, and the threads ask for short slices (0.1 ms, honoured by
/// Linux 6.12 and later), so an event loop that stays busy waits at most that long while one of them runs:
/// a rotation storm across thousands of providers costs the lookups little latency (BENCHMARKS.md,
/// "Rotation storm").
///
/// It is both an `EventLoopGroup` (for the HTTP client) and a `TaskExecutor` (for the engine's refresh tasks
/// and the services that consume its events). Like NIO's singleton loops it lives as long as the process:
/// fetches still in flight at shutdown resume on it after the services have stopped, and a job scheduled on
/// a loop that was shut down would be dropped.
final class BackgroundLoops: TaskExecutor, Sendable {
    /// The event loops; each one's thread was niced when the group was made.
    let group: MultiThreadedEventLoopGroup
    /// The nice value the threads run at (0 when lowering their priority failed).
    let nice: Int32
    /// Whether the kernel took the short time slice request.
    let shortSlices: Bool

    /// Creates the threads and lowers their priority (which needs no privilege).
    /// - Parameters:
    ///   - threads: how many threads.
    ///   - nice: the niceness increment (1-19) relative to the process.
    ///   - slice: the time slice the threads ask for.
    init(threads: Int, nice: Int32, slice: Duration = .microseconds(100)) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let nanoseconds = UInt64(TimeAmount(slice).nanoseconds)
        var applied: Int32 = nice
        var sliced = true
        for loop in group.makeIterator() {
            // On Linux a nice value and a slice belong to a thread; `who` 0 and tid 0 are the calling thread.
            let result = try? loop.submit { () -> (Int32, Int32) in
                let niced = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
                return (niced, csched_request_slice(nanoseconds))
            }.wait()
            if result?.0 != 0 { applied = 0 }
            if result?.1 != 0 { sliced = false }
        }
        self.nice = applied
        self.shortSlices = sliced
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        group.next().execute { job.runSynchronously(on: executor) }
    }
}

import CSched
import NIOCore
import Testing

@testable import jwksd

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's background threads: work preferring them runs there, at the lower priority.
@Suite("Background loops")
struct BackgroundLoopsTests {
    /// The calling thread's nice value.
    static func currentNice() -> Int32 { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }

    @Test("a task that prefers the loops runs on them, niced; other tasks keep the process's priority")
    func niced() async {
        let base = await Task.detached { Self.currentNice() }.value
        let loops = BackgroundLoops(threads: 2, nice: 7)
        #expect(loops.nice == 7)
        let (nice, slice, onLoop) = await Task(executorPreference: loops) {
            // After a suspension the task resumes on the preferred executor too.
            await Task.yield()
            return (Self.currentNice(), csched_slice(), (loops.group as any EventLoopGroup).any().inEventLoop)
        }.value
        #expect(nice == base + 7)
        #expect(onLoop)
        #expect(loops.shortSlices)
        // Kernels that report SCHED_OTHER slices (6.12+) report the one asked for; others report none at all.
        let ordinarySlice = await Task.detached { csched_slice() }.value
        if ordinarySlice > 0 { #expect(slice == 100_000 && ordinarySlice != 100_000) }
        #expect(await Task.detached { Self.currentNice() }.value == base)
    }
}

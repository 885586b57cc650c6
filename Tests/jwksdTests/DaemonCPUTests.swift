import Foundation
import Testing

@testable import jwksd

/// Reading a process's CPU time from /proc for `jwksd bench`'s daemon CPU per call.
@Suite("Daemon CPU from /proc")
struct DaemonCPUTests {
    @Test("utime and stime are fields 14 and 15, counted after a comm that holds spaces and parentheses")
    func parse() {
        let line = "4242 (jw ksd) (x)) S 1 2 3 4 5 6 7 8 9 10 250 120 0 0 20 0 9 0 100 0 0"
        #expect(DaemonCPU.parse(stat: line, ticksPerSecond: 100) == DaemonCPU(user: 2.5, system: 1.2))
        #expect(DaemonCPU.parse(stat: "4242 (jwksd) S 1 2", ticksPerSecond: 100) == nil)
        #expect(DaemonCPU.parse(stat: "no parenthesis", ticksPerSecond: 100) == nil)
    }

    @Test("this process's own stat file reads, and its CPU time does not go backwards")
    func own() throws {
        let pid = Int32(ProcessInfo.processInfo.processIdentifier)
        let before = try #require(DaemonCPU.sample(pid: pid))
        var spin = 0
        for index in 0..<2_000_000 { spin &+= index &* index }
        #expect(spin != 1)
        let after = try #require(DaemonCPU.sample(pid: pid))
        let used = after - before
        #expect(used.user >= 0 && used.system >= 0)
    }
}

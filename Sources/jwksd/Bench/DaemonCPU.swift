import Foundation
import JWKSServer
import JWKSWire

#if canImport(Glibc)
    import Glibc
#endif

/// The CPU time a process has used, read from `/proc/PID/stat` (user and system, in seconds). `jwksd bench`
/// samples the daemon before and after a run (its pid comes from the socket's SO_PEERCRED) to report the
/// daemon's CPU per call: what a call costs the server, apart from the kernel's copy to the client.
struct DaemonCPU: Sendable, Equatable {
    var user: Double
    var system: Double

    /// The daemon's process id: the peer of a connection to its socket (nil when it cannot be read).
    static func pid(socketPath: String) -> Int32? {
        guard let descriptor = try? BenchSocket.connect(socketPath) else { return nil }
        defer { close(descriptor) }
        return PeerCredentials.read(descriptor: descriptor).map(\.pid).flatMap { $0 > 0 ? $0 : nil }
    }

    /// The CPU time `pid` has used so far, or nil when its stat file cannot be read (another user's process
    /// on a hardened /proc, a daemon in another PID namespace).
    static func sample(pid: Int32) -> DaemonCPU? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parse(stat: text, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))))
    }

    /// Parses a stat line: fields 14 (utime) and 15 (stime), counted after the `(comm)` field, which may
    /// itself hold spaces and parentheses.
    static func parse(stat text: String, ticksPerSecond: Double) -> DaemonCPU? {
        guard ticksPerSecond > 0, let fields = statFields(text), fields.count > 12,
            let user = Double(fields[11]), let system = Double(fields[12])
        else { return nil }
        return DaemonCPU(user: user / ticksPerSecond, system: system / ticksPerSecond)
    }

    /// The fields of a `/proc/…/stat` line after the `(comm)` field: element 0 is field 3 (state), so field n
    /// is element n - 3. Nil when the line has no `(comm)` field.
    static func statFields(_ text: String) -> [Substring]? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// The CPU used between two samples.
    static func - (after: DaemonCPU, before: DaemonCPU) -> DaemonCPU {
        DaemonCPU(user: after.user - before.user, system: after.system - before.system)
    }
}

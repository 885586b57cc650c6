#if canImport(Glibc)
    import Glibc
#endif

/// The process's open-file limit (RLIMIT_NOFILE). The daemon raises the soft limit to the hard one at start
/// (systemd's default soft limit is 1024) and keeps `max_connections` below what it allows, so accepting one
/// connection too many can never meet EMFILE (which sends an accept loop spinning).
enum FileLimit {
    /// Descriptors kept for everything but client connections: the listener, the metrics endpoint and its
    /// connections, HTTP client connections, snapshot and key files, inotify, standard streams.
    static func reserved(maxConcurrentFetches: Int) -> Int { 128 + 2 * maxConcurrentFetches }

    /// Raises the soft limit to the hard limit.
    /// - Returns: the soft limit in force afterwards (the old one if raising failed), or nil when unlimited.
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? nil : Int(clamping: limit.rlim_cur)  // RLIM_INFINITY
    }

    /// The most client connections a soft limit leaves room for.
    static func connectionCapacity(softLimit: Int?, maxConcurrentFetches: Int) -> Int? {
        softLimit.map { max(1, $0 - reserved(maxConcurrentFetches: maxConcurrentFetches)) }
    }
}

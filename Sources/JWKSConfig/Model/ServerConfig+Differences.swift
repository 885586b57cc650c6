extension ServerConfig {
    /// The `server:` keys whose values differ between this section and `other`, in the order the README lists
    /// them. The daemon reads `server:` once, at start: a reload reports these keys as waiting for a restart.
    /// - Parameter other: the section to compare with (the one in force).
    /// - Returns: the differing keys, spelled as in the file (`http`, `max_connections`, ...).
    public func keysDiffering(from other: ServerConfig) -> [String] {
        var keys: [String] = []
        func compare<Value: Equatable>(_ key: String, _ value: KeyPath<ServerConfig, Value>) {
            if self[keyPath: value] != other[keyPath: value] { keys.append(key) }
        }
        compare("socket", \.socket)
        compare("socket_mode", \.socketMode)
        compare("max_frame_bytes", \.maxFrameBytes)
        compare("compress_min_bytes", \.compressMinBytes)
        compare("max_connections", \.maxConnections)
        compare("max_connections_per_uid", \.maxConnectionsPerUID)
        compare("max_watches_per_uid", \.maxWatchesPerUID)
        compare("max_calls_per_connection", \.maxCallsPerConnection)
        compare("max_waiting_calls_per_uid", \.maxWaitingCallsPerUID)
        compare("idle_timeout", \.idleTimeout)
        compare("max_concurrent_fetches", \.maxConcurrentFetches)
        compare("snapshot_dir", \.snapshotDir)
        compare("metrics", \.metrics)
        compare("admin_uids", \.adminUIDs)
        compare("export", \.export)
        compare("http", \.http)
        compare("verify_cache_entries", \.verifyCacheEntries)
        compare("verify_cache_bytes", \.verifyCacheBytes)
        compare("event_loop_threads", \.eventLoopThreads)
        return keys
    }
}

import Testing

@testable import JWKSConfig

/// What a reload reports as waiting for a restart: the `server:` keys whose value differs from the running one.
@Suite("server keys differing")
struct ServerKeysDifferingTests {
    /// A valid value, not the default, for every key the `server:` section accepts.
    static let samples: [String: String] = [
        "socket": "/tmp/other.sock",
        "socket_mode": "\"0600\"",
        "max_frame_bytes": "2048",
        "compress_min_bytes": "0",
        "max_connections": "10",
        "max_connections_per_uid": "3",
        "max_watches_per_uid": "4",
        "max_calls_per_connection": "5",
        "max_waiting_calls_per_uid": "6",
        "idle_timeout": "1m",
        "max_concurrent_fetches": "2",
        "snapshot_dir": "/tmp/snapshots",
        "metrics": "\"127.0.0.1:9999\"",
        "admin_uids": "[7]",
        "export": "{ dir: /tmp/export }",
        "http": "{ listen: \"127.0.0.1:0\" }",
        "verify_cache_entries": "5",
        "verify_cache_bytes": "4096",
        "event_loop_threads": "3",
    ]

    static func load(server: String) throws -> ServerConfig {
        try ConfigLoader.load(
            text: "version: 1\nserver:\n\(server)tenants:\n  a:\n    providers:\n      p: { file: k.json }\n"
        ).server
    }

    @Test("every server key changed alone is reported by its name, both ways; an equal section reports none")
    func eachKey() throws {
        let base = try Self.load(server: "  socket: ./jwksd.sock\n")
        #expect(base.keysDiffering(from: base).isEmpty)
        #expect(Set(Self.samples.keys) == Set(ConfigDecoder.serverKeys), "a sample for every key the decoder accepts")
        for key in ConfigDecoder.serverKeys {
            let value = try #require(Self.samples[key], "no sample value for server.\(key)")
            let changed = try Self.load(server: "  \(key): \(value)\n")
            #expect(changed.keysDiffering(from: base) == [key], "server.\(key)")
            #expect(base.keysDiffering(from: changed) == [key], "server.\(key)")
        }
    }

    @Test("several changes come in the README's order; a change inside http or export names the section")
    func severalKeys() throws {
        let running = try Self.load(
            server: "  http: { listen: \"127.0.0.1:0\" }\n  export: { dir: /tmp/a }\n  max_connections: 10\n")
        let edited = try Self.load(
            server:
                "  http: { listen: \"127.0.0.1:0\", kid_wait: 1s }\n  export: { dir: /tmp/b }\n  max_connections: 10\n"
                + "  socket: /tmp/x.sock\n")
        #expect(edited.keysDiffering(from: running) == ["socket", "export", "http"])
        // The same values written differently are the same settings.
        let respelled = try Self.load(
            server: "  max_connections: 10\n  export:\n    dir: /tmp/a\n  http:\n    listen: 127.0.0.1:0\n")
        #expect(respelled.keysDiffering(from: running).isEmpty)
    }
}

import Foundation

/// A temporary directory for one end-to-end daemon: the key file, the config, the socket and the log.
struct DaemonDirectory {
    let url: URL

    /// Creates the directory with `keys.json` (the Ed25519 key `disk-1`) and `tenants.yaml`.
    init(config: String, keys: String = ServeEndToEndTests.keys) throws {
        url = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try keys.write(to: url.appendingPathComponent("keys.json"), atomically: true, encoding: .utf8)
        try write(config: config)
    }

    var config: URL { url.appendingPathComponent("tenants.yaml") }
    var socket: String { url.appendingPathComponent("jwksd.sock").path }
    var log: URL { url.appendingPathComponent("jwksd.log") }
    var environment: [String: String] { ["JWKSD_SOCKET": socket] }

    /// Replaces the config file atomically (a temporary file renamed over it).
    func write(config text: String) throws {
        try text.write(to: config, atomically: true, encoding: .utf8)
    }

    /// The daemon's log so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import JWKSWire
import Logging
import NIOConcurrencyHelpers

/// Reloads the registry from its file for the Reload RPC and SIGHUP: parse and validate fully, then apply
/// the diff; an invalid file keeps the running registry and the error is logged and reported. `server:` is read
/// at start only: the keys whose value in the file differs from the one in force are reported as waiting for a
/// restart (in the result and as a warning), so an edited listener or limit is not silently ignored.
final class ConfigReloader: AdminHooks {
    private let path: String
    private let engine: JWKSEngine
    /// The `server:` section the daemon started with (and still runs with).
    private let running: ServerConfig
    private let logger: Logger
    private let exporter: MetricsExporter?
    private let last = NIOLockedValueBox<Jwksd_V1_ReloadResult?>(nil)

    init(path: String, engine: JWKSEngine, running: ServerConfig, logger: Logger, exporter: MetricsExporter? = nil) {
        self.path = path
        self.engine = engine
        self.running = running
        self.logger = logger
        self.exporter = exporter
    }

    var configGeneration: UInt64 { engine.generation }

    var lastReload: Jwksd_V1_ReloadResult? { last.withLockedValue { $0 } }

    func reload() async -> Jwksd_V1_ReloadResult {
        var result = Jwksd_V1_ReloadResult()
        result.at = Int64(Date().timeIntervalSince1970)
        do {
            let config = try ConfigLoader.load(file: path)
            let before = engine.generation
            let summary = engine.apply(config)
            exporter?.reloaded(summary.generation == before ? .unchanged : .applied)
            result.ok = true
            result.generation = summary.generation
            result.added = UInt32(summary.added)
            result.removed = UInt32(summary.removed)
            result.changed = UInt32(summary.changed)
            result.unchanged = UInt32(summary.unchanged)
            result.restartPending = config.server.keysDiffering(from: running)
            logger.info(
                "config reloaded",
                metadata: [
                    "generation": "\(summary.generation)", "added": "\(summary.added)", "removed": "\(summary.removed)",
                    "changed": "\(summary.changed)", "unchanged": "\(summary.unchanged)",
                ])
            if !result.restartPending.isEmpty {
                logger.warning(
                    "server settings changed in the file apply at the next start",
                    metadata: ["keys": "\(result.restartPending.joined(separator: ", "))"])
            }
        } catch {
            result.ok = false
            result.generation = engine.generation
            result.error = error.lines.joined(separator: "\n")
            exporter?.reloaded(.failed)
            logger.error("config reload refused; the running registry stays", metadata: ["errors": "\(result.error)"])
        }
        last.withLockedValue { $0 = result }
        return result
    }
}

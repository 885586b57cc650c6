import JWKSCache
import JWKSServer
import Logging
import ServiceLifecycle

/// Keeps `server.export`'s files current: every file at start (restored snapshots included), then a provider's
/// file and its tenant's at each publication, and a removed provider's file deleted. Failures (a full disk, a
/// chown without the right) are logged and retried at the next publication; served keys are unaffected.
struct ExportService: Service {
    let engine: JWKSEngine
    let exporter: DocumentExporter
    /// Where the writes run (the daemon's background threads).
    let executor: (any TaskExecutor)?
    let logger: Logger

    func run() async throws {
        try exporter.prepare()
        await withTaskExecutorPreference(executor) {
            await cancelWhenGracefulShutdown {
                var events = engine.events()
                log(exporter.exportAll())
                while !Task.isCancelled {
                    for await event in events {
                        switch event.kind {
                        case .published: log(exporter.export(event.key))
                        case .removed: log(exporter.remove(event.key))
                        case .fetchStarted, .notModified, .failed: break
                        }
                    }
                    guard !Task.isCancelled else { break }
                    // The stream ends early only when this writer fell a buffer's worth of events behind.
                    logger.warning("export fell behind the engine's events; checking every file")
                    events = engine.events()
                    log(exporter.exportAll())
                }
            }
        }
    }

    private func log(_ failures: [AtomicFile.Failure]) {
        for failure in failures {
            logger.error(
                "export file not written", metadata: ["file": "\(failure.path)", "error": "\(failure.reason)"])
        }
    }
}

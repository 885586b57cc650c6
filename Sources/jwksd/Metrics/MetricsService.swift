import Logging
import ServiceLifecycle

/// Serves the Prometheus endpoint at `server.metrics` until shutdown.
struct MetricsService: Service {
    let server: MetricsServer
    let logger: Logger

    func run() async throws {
        try await server.start()
        logger.info(
            "metrics listening",
            metadata: ["address": "http://\(server.host):\(server.boundPort ?? server.port)/metrics"])
        try? await gracefulShutdown()
        await server.shutdown()
    }
}

import JWKSServer
import Logging
import ServiceLifecycle

/// Runs the socket server until shutdown, then drains it: the socket file is removed, calls in flight are
/// answered, and connections close (those still busy after 10 s are closed anyway). The service group stops
/// services in reverse order, so the engine keeps running while lookups waiting on a fetch finish.
struct ServerService: Service {
    let server: JWKSServer
    let logger: Logger

    func run() async throws {
        try await server.start()
        logger.info("listening", metadata: ["socket": "\(server.settings.socketPath)"])
        try? await gracefulShutdown()
        logger.info("draining", metadata: ["connections": "\(server.openConnections)"])
        await server.shutdown(drainTimeout: .seconds(10))
        logger.info("stopped", metadata: ["socket": "\(server.settings.socketPath)"])
    }
}

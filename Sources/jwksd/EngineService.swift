import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the engine: first loads, then the refresh timer loop until shutdown; logs every outcome.
struct EngineService: Service {
    let engine: JWKSEngine<ContinuousClock>
    let transport: AsyncHTTPClientTransport
    let logger: Logger

    func run() async throws {
        let events = engine.events()
        let logging = Task { [logger] in
            for await event in events { EventLog.log(event, to: logger) }
        }
        engine.start()
        await cancelWhenGracefulShutdown {
            await engine.run()
        }
        logging.cancel()
        try await transport.shutdown()
    }
}

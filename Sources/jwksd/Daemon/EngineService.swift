import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs the engine: first loads, then the refresh timer loop until shutdown; logs every outcome. The timer
/// loop and the log run on the background threads, like the refreshes.
struct EngineService: Service {
    let engine: JWKSEngine
    let transport: AsyncHTTPClientTransport
    let background: BackgroundLoops
    let logger: Logger

    func run() async throws {
        let events = engine.events()
        let logging = Task(executorPreference: background) { [logger, engine] in
            var events = events
            while true {
                for await event in events { EventLog.log(event, to: logger) }
                guard !Task.isCancelled else { break }
                // Ends early only when logging fell a buffer's worth of events behind: say so and follow again.
                logger.warning("the event log fell behind the engine; some fetch outcomes were not logged")
                events = engine.events()
            }
        }
        engine.start()
        await withTaskExecutorPreference(background) {
            await cancelWhenGracefulShutdown {
                await engine.run()
            }
        }
        logging.cancel()
        await logging.value
        try await transport.shutdown()
    }
}

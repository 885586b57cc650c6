import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the config file on SIGHUP.
struct HangupService: Service {
    let reloader: ConfigReloader
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                logger.info("SIGHUP: reloading the config")
                _ = await reloader.reload()
            }
        }
    }
}

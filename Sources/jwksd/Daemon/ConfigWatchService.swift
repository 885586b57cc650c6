import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the config file when it changes on disk (inotify on its directory, so atomic renames and
/// Kubernetes ConfigMap symlink swaps are seen), debounced by 250 ms and skipped when the content is the same
/// (``ConfigChangeDebouncer``).
struct ConfigWatchService: Service {
    let path: String
    let reloader: ConfigReloader
    let logger: Logger
    let clock: any EngineClock

    func run() async throws {
        let watcher: ConfigWatcher
        do {
            watcher = try ConfigWatcher(path: path)
        } catch {
            logger.warning(
                "config file changes are not watched; use SIGHUP or jwksd reload", metadata: ["error": "\(error)"])
            return
        }
        defer { watcher.stop() }
        let path = self.path
        let debouncer = ConfigChangeDebouncer(clock: clock) {
            FileManager.default.contents(atPath: path).map(Array.init)
        }
        let initial = debouncer.read()
        await cancelWhenGracefulShutdown {
            await debouncer.run(changes: watcher.changes(), initial: initial) {
                logger.info("config file changed: reloading", metadata: ["file": "\(path)"])
                _ = await reloader.reload()
            }
        }
    }
}

import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the config file when it changes on disk (inotify on its directory, so atomic renames and
/// Kubernetes ConfigMap symlink swaps are seen), debounced by 250 ms and skipped when the content is the same.
struct ConfigWatchService: Service {
    let path: String
    let reloader: ConfigReloader
    let logger: Logger

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
        let initial = FileManager.default.contents(atPath: path)
        await cancelWhenGracefulShutdown {
            var lastContent = initial
            for await _ in watcher.changes() {
                try? await Task.sleep(for: .milliseconds(250))
                let content = FileManager.default.contents(atPath: path)
                guard content != lastContent else { continue }
                lastContent = content
                logger.info("config file changed: reloading", metadata: ["file": "\(path)"])
                _ = await reloader.reload()
            }
        }
    }
}

import ArgumentParser
import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// `jwksd serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: keep every provider's keys fresh and answer on the Unix socket.",
        discussion: """
            SIGTERM and SIGINT stop it cleanly (the socket file is removed). SIGHUP and `jwksd reload` re-read
            the config file: unchanged providers keep their keys, an invalid file keeps the running registry.

            Examples:
              jwksd serve --config /etc/jwksd/tenants.yaml
              jwksd serve --config examples/tenants.yaml --log-level debug
            """)

    @Option(help: "The tenant registry.") var config: String
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError(
                "--log-level \"\(logLevel)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "jwksd")
        let registry: JWKSDConfig
        do {
            registry = try ConfigLoader.load(file: config)
        } catch {
            StandardError.write(error.lines.joined(separator: "\n") + "\n")
            throw ExitCode(1)
        }
        let transport = AsyncHTTPClientTransport(connectTimeout: registry.defaults.retry.connectTimeout)
        let clock = ContinuousClock()
        let store = registry.server.snapshotDir.map { SnapshotStore(directory: registry.resolve($0)) }
        var restored: [ProviderKey: KeySetRecord<ContinuousClock.Instant>] = [:]
        if let store {
            let result = SnapshotRestorer(store: store).restore(
                config: registry, clock: clock, wallNow: Int64(Date().timeIntervalSince1970))
            restored = result.records
            for rejection in result.ignored {
                logger.warning(
                    "snapshot ignored", metadata: ["file": "\(rejection.path)", "reason": "\(rejection.reason)"])
            }
            logger.info(
                "snapshots restored", metadata: ["providers": "\(restored.count)", "dir": "\(store.directory)"])
        }
        let engine = JWKSEngine(
            config: registry, clock: clock, transport: transport,
            prepare: PreparedReplies.preparer(compressMinBytes: registry.server.compressMinBytes), restored: restored)
        let settings = ServerSettings(config: registry)
        let reloader = ConfigReloader(path: config, engine: engine, logger: logger)
        let server = JWKSServer(dispatcher: RequestDispatcher(engine: engine, settings: settings, hooks: reloader))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: EngineService(engine: engine, transport: transport, logger: logger)),
                    .init(service: ServerService(server: server, logger: logger)),
                    .init(service: HangupService(reloader: reloader, logger: logger)),
                    .init(service: ConfigWatchService(path: config, reloader: reloader, logger: logger)),
                ] + (store.map { [.init(service: SnapshotService(engine: engine, store: $0, logger: logger))] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        logger.info(
            "starting",
            metadata: [
                "socket": "\(settings.socketPath)", "tenants": "\(registry.tenants.count)",
                "providers": "\(registry.providerCount)",
            ])
        try await group.run()
    }
}

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

/// Runs the socket server until shutdown, then closes connections and removes the socket file.
struct ServerService: Service {
    let server: JWKSServer<ContinuousClock>
    let logger: Logger

    func run() async throws {
        try await server.start()
        logger.info("listening", metadata: ["socket": "\(server.settings.socketPath)"])
        try? await gracefulShutdown()
        await server.shutdown()
        logger.info("stopped", metadata: ["socket": "\(server.settings.socketPath)"])
    }
}

/// Writes each provider's snapshot after every publication and deletes removed providers' snapshots.
struct SnapshotService: Service {
    let engine: JWKSEngine<ContinuousClock>
    let store: SnapshotStore
    let logger: Logger

    func run() async throws {
        let events = engine.events()
        await cancelWhenGracefulShutdown {
            for await event in events {
                switch event.kind {
                case .published, .notModified:
                    guard let entry = engine.entry(tenant: event.key.tenant, provider: event.key.provider),
                        let record = entry.snapshot.record
                    else { continue }
                    do {
                        try store.write(record, key: event.key, source: entry.source.summary)
                    } catch {
                        logger.warning(
                            "snapshot not written", metadata: ["provider": "\(event.key)", "error": "\(error)"])
                    }
                case .removed:
                    store.remove(event.key)
                case .fetchStarted, .failed:
                    continue
                }
            }
        }
    }
}

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

/// One log line per load or refresh outcome.
enum EventLog {
    static func log(_ event: EngineEvent, to logger: Logger) {
        var logger = logger
        logger[metadataKey: "tenant"] = "\(event.key.tenant)"
        logger[metadataKey: "provider"] = "\(event.key.provider)"
        switch event.kind {
        case .fetchStarted:
            logger.debug("fetch started")
        case .published(let changed, let keys, let dropped):
            logger.info(
                "keys published", metadata: ["changed": "\(changed)", "keys": "\(keys)", "dropped": "\(dropped)"])
            if dropped > 0 { logger.warning("keys dropped from the set", metadata: ["dropped": "\(dropped)"]) }
        case .notModified:
            logger.debug("keys revalidated (not modified)")
        case .failed(let failure, let kept):
            logger.warning(
                "fetch failed",
                metadata: ["error": "\(failure.message)", "code": "\(failure.code.rawValue)", "keys_kept": "\(kept)"])
        case .removed:
            logger.info("provider removed")
        }
    }
}

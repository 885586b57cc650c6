import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// Everything `jwksd serve` runs, built from a config file: the engine (with warm-restart snapshots), the
/// socket server, the reloader, the file watcher, SIGHUP, snapshots and metrics, as one service group that
/// stops gracefully on SIGTERM and SIGINT. `jwksd demo` runs the same daemon.
struct Daemon {
    let registry: JWKSDConfig
    let engine: JWKSEngine
    let settings: ServerSettings
    let group: ServiceGroup

    /// Builds the daemon; nothing runs until ``run()``.
    /// - Parameters:
    ///   - path: the config file (read again on every reload).
    ///   - registry: its already validated content.
    ///   - logger: where every component logs.
    /// - Throws: ``DaemonError`` when `snapshot_dir` is not the daemon's own.
    init(path: String, registry: JWKSDConfig, logger: Logger) throws {
        self.registry = registry
        // Checked before anything that must be shut down is created.
        let store = registry.server.snapshotDir.map { SnapshotStore(directory: registry.resolve($0)) }
        if let store {
            do throws(SnapshotStore.Rejection) {
                try store.prepare()
            } catch {
                throw DaemonError("snapshot_dir \(error)")
            }
        }
        // Refreshes, the HTTP client's I/O and the event consumers run on threads niced below the socket
        // server's event loops, so lookups preempt them on a busy host; half the cores at most, so a storm of
        // refreshes never occupies every core at once.
        let background = BackgroundLoops(threads: max(1, System.coreCount / 2), nice: Self.backgroundNice)
        let transport = AsyncHTTPClientTransport(
            connectTimeout: registry.defaults.retry.connectTimeout, group: background.group)
        let clock = SystemClock()
        var restored: [ProviderKey: KeySetRecord<EngineInstant>] = [:]
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
        for problem in CAFile.problems(in: registry) {
            logger.error(
                "ca_file cannot be loaded; this provider's HTTPS fetches will fail", metadata: ["problem": "\(problem)"]
            )
        }
        let exporter = MetricsExporter(logQueue: LogQueue.standardError)
        let engine = JWKSEngine(
            config: registry, clock: clock, transport: transport,
            prepare: PreparedReplies.preparer(compressMinBytes: registry.server.compressMinBytes), restored: restored,
            metrics: exporter.engineMetrics, refreshExecutor: background)
        self.engine = engine
        settings = Self.settings(for: registry, softLimit: FileLimit.raise(), logger: logger)
        let reloader = ConfigReloader(
            path: path, engine: engine, running: registry.server, logger: logger, exporter: exporter)
        // The socket server gets event loops of its own (at the process's priority): lookups never queue behind
        // the HTTP client's I/O during a refresh storm. The HTTP JWKS endpoint shares them.
        let serverLoops = MultiThreadedEventLoopGroup(
            numberOfThreads: registry.server.eventLoopThreads(cores: System.coreCount))
        let server = JWKSServer(
            dispatcher: RequestDispatcher(
                engine: engine, settings: settings, hooks: reloader, metrics: exporter.serverMetrics),
            group: serverLoops)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: EngineService(engine: engine, transport: transport, background: background, logger: logger)),
            .init(service: ServerService(server: server, logger: logger)),
            .init(service: HangupService(reloader: reloader, logger: logger)),
            .init(service: ConfigWatchService(path: path, reloader: reloader, logger: logger, clock: clock)),
        ]
        if let store {
            services.append(
                .init(service: SnapshotService(engine: engine, store: store, executor: background, logger: logger)))
        }
        if var export = registry.server.export {
            export.dir = registry.resolve(export.dir)
            services.append(
                .init(
                    service: ExportService(
                        engine: engine, exporter: DocumentExporter(engine: engine, config: export),
                        executor: background, logger: logger)))
        }
        if var http = registry.server.http {
            if case .unix(let path) = http.listen { http.listen = .unix(path: registry.resolve(path)) }
            let endpoint = JWKSHTTPServer(
                engine: engine, config: http, group: serverLoops, metrics: exporter.httpMetrics)
            services.append(.init(service: HTTPEndpointService(server: endpoint, logger: logger)))
        }
        if let address = registry.server.metrics {
            let metrics = MetricsServer(address: address, group: .singleton) { exporter.render(engine: engine) }
            services.append(.init(service: MetricsService(server: metrics, logger: logger)))
        }
        group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info(
            "starting",
            metadata: [
                "socket": "\(settings.socketPath)", "tenants": "\(registry.tenants.count)",
                "providers": "\(registry.providerCount)",
            ])
    }

    /// The server's settings, with `max_connections` kept below what the open-file limit allows.
    /// - Parameters:
    ///   - registry: the configuration.
    ///   - softLimit: RLIMIT_NOFILE's soft limit in force (after ``FileLimit/raise()``), nil when unlimited.
    ///   - logger: where lowering `max_connections` is reported.
    static func settings(for registry: JWKSDConfig, softLimit: Int?, logger: Logger) -> ServerSettings {
        var settings = ServerSettings(config: registry)
        guard
            let capacity = FileLimit.connectionCapacity(
                softLimit: softLimit, maxConcurrentFetches: registry.server.maxConcurrentFetches),
            settings.maxConnections > capacity
        else { return settings }
        logger.warning(
            "max_connections lowered to what the open-file limit allows; raise LimitNOFILE (ulimit -n) to allow more",
            metadata: [
                "max_connections": "\(settings.maxConnections)", "lowered_to": "\(capacity)",
                "nofile": "\(softLimit ?? 0)",
            ])
        settings.maxConnections = capacity
        settings.maxConnectionsPerUID = min(settings.maxConnectionsPerUID, capacity)
        return settings
    }

    /// How much lower than the process's priority the background threads run (nice 10: a CFS weight of 110
    /// against the event loops' 1024).
    static let backgroundNice: Int32 = 10

    /// Runs until SIGTERM or SIGINT (then drains and returns) or until a service fails.
    func run() async throws {
        try await group.run()
    }

    /// Stops the daemon as SIGTERM would (drain, then return from ``run()``).
    func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// Bootstraps swift-log on standard error (through ``LogQueue``) at a level given by name.
    static func bootstrapLogging(level name: String) throws {
        guard let level = Logger.Level(rawValue: name) else {
            throw DaemonError(
                "--log-level \"\(name)\" is not one of trace, debug, info, notice, warning, error, critical")
        }
        // Lines go through a bounded queue written by a thread of its own: a stderr nobody reads must not
        // block a refresh, a reload or the server (``LogQueue``).
        let queue = LogQueue.standardError
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler(label: label, stream: queue)
            handler.logLevel = level
            return handler
        }
    }
}

/// A start-up failure with its message.
struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import ArgumentParser
import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// `jwksd serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: keep every provider's keys fresh and answer on the Unix socket.",
        discussion: """
            SIGTERM and SIGINT stop it gracefully: the socket file is removed, calls in flight are answered,
            then connections close. SIGHUP and `jwksd reload` re-read
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
        let exporter = MetricsExporter()
        let engine = JWKSEngine(
            config: registry, clock: clock, transport: transport,
            prepare: PreparedReplies.preparer(compressMinBytes: registry.server.compressMinBytes), restored: restored,
            metrics: exporter.engineMetrics)
        let settings = ServerSettings(config: registry)
        let reloader = ConfigReloader(path: config, engine: engine, logger: logger, exporter: exporter)
        let server = JWKSServer(
            dispatcher: RequestDispatcher(
                engine: engine, settings: settings, hooks: reloader, metrics: exporter.serverMetrics))
        let metricsServices: [ServiceGroupConfiguration.ServiceConfiguration] =
            registry.server.metrics.map { address in
                let metrics = MetricsServer(address: address, group: .singleton) { exporter.render(engine: engine) }
                return [.init(service: MetricsService(server: metrics, logger: logger))]
            } ?? []
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: EngineService(engine: engine, transport: transport, logger: logger)),
                    .init(service: ServerService(server: server, logger: logger)),
                    .init(service: HangupService(reloader: reloader, logger: logger)),
                    .init(service: ConfigWatchService(path: config, reloader: reloader, logger: logger)),
                ] + (store.map { [.init(service: SnapshotService(engine: engine, store: $0, logger: logger))] } ?? [])
                    + metricsServices,
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

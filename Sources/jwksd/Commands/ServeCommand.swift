import ArgumentParser
import Foundation
import JWKSConfig
import Logging

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
        do {
            try Daemon.bootstrapLogging(level: logLevel)
        } catch {
            throw ValidationError("\(error)")
        }
        let registry: JWKSDConfig
        do {
            registry = try ConfigLoader.load(file: config)
        } catch {
            StandardError.write(error.lines.joined(separator: "\n") + "\n")
            throw ExitCode(1)
        }
        try await Daemon(path: config, registry: registry, logger: Logger(label: "jwksd")).run()
    }
}

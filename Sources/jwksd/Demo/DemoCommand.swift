import ArgumentParser
import DevIssuer
import Foundation
import JWKSConfig
import JWKSServer
import Logging

/// `jwksd demo`: a DevIssuer and the daemon on a temporary socket, a guided tour, then serving until Ctrl-C.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the daemon against a local DevIssuer and show what it does.",
        discussion: """
            Starts a DevIssuer (an OIDC issuer on a free loopback port) and the daemon on a temporary socket with
            examples/demo.yaml (three tenants, discovery and jwks_uri providers, one provider that always fails).
            It prints the loads, a lookup, a key rotation being picked up, a stale key served during a simulated
            outage and a short bench, then keeps serving until Ctrl-C and prints how to query it from another
            shell.

            Examples:
              jwksd demo
              jwksd demo --config examples/demo.yaml --bench-duration 5s
            """)

    /// The URL prefix demo.yaml uses for the DevIssuer; replaced by the address it really listens on.
    static let placeholder = "http://127.0.0.1:8765"

    @Option(help: "The demo registry (its http://127.0.0.1:8765 URLs are pointed at the DevIssuer).")
    var config = "examples/demo.yaml"
    @Option(help: "How long the closing bench runs (0s skips it).") var benchDuration = "2s"
    @Option(help: "The daemon's log level (its log goes to standard error).") var logLevel = "error"
    @Flag(help: "Exit after the tour instead of serving until Ctrl-C (for scripts and tests).") var once = false

    func run() async throws {
        do {
            try Daemon.bootstrapLogging(level: logLevel)
        } catch {
            throw ValidationError("\(error)")
        }
        let bench = try DurationText.parse(benchDuration)
        guard let template = FileManager.default.contents(atPath: config) else {
            throw ValidationError(
                "cannot read \(config): run `jwksd demo` from the repository root, or pass --config examples/demo.yaml")
        }
        let issuer = try await DevIssuer.start()
        issuer.addIssuer("acme", kinds: [.rsa2048, .p256, .ed25519], maxAge: 300)
        issuer.addIssuer("globex", kinds: [.p256, .ed25519], maxAge: 3)
        issuer.addIssuer("partner", kinds: [.rsa2048], maxAge: 600)
        issuer.addIssuer("initech", kinds: [.ed25519, .p256], maxAge: 120)
        issuer.inject(.status(503), at: "/broken/jwks")

        let directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("jwksd-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("demo.yaml").path
        let text = String(decoding: template, as: UTF8.self).replacingOccurrences(
            of: Self.placeholder, with: issuer.baseURL)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let registry: JWKSDConfig
        do {
            registry = try ConfigLoader.load(file: path)
        } catch {
            StandardError.write(error.lines.joined(separator: "\n") + "\n")
            throw ExitCode(1)
        }

        let daemon = try Daemon(path: path, registry: registry, logger: Logger(label: "jwksd"))
        let serving = Task { try await daemon.run() }
        let tour = DemoTour(
            socketPath: daemon.settings.socketPath, issuer: issuer, registry: registry, configPath: path,
            benchDuration: bench)
        let completed = await tour.run()
        if completed, !once {
            tour.printServing()
        }
        if once || !completed { await daemon.shutdown() }
        let outcome = await serving.result
        try? await issuer.shutdown()
        if case .failure(let error) = outcome, !(error is CancellationError) { throw error }
        if !completed { throw ExitCode(1) }
    }
}

import ArgumentParser
import DevIssuer
import Foundation
import JWKSConfig
import NIOCore

/// `jwksd dev-issuer`: the DevIssuer on its own, with many issuers, for load tests and trying things out.
struct DevIssuerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-issuer",
        abstract: "Serve test issuers (OIDC discovery + JWKS with real keys) on the loopback.",
        discussion: """
            Serves issuers named PREFIX0 … PREFIX(N-1): discovery at /NAME/.well-known/openid-configuration and keys
            at /NAME/jwks, with ETag, Last-Modified and Cache-Control: max-age. --rotate-every rotates every
            issuer's keys at once (a rotation storm when N is large). --write-config writes a registry for them
            (--per-tenant providers per tenant). For benchmarks and demos only: plain HTTP, no TLS.

            Examples:
              jwksd dev-issuer --issuers 3 --port 8765
              jwksd dev-issuer --issuers 10000 --per-tenant 10 --write-config /tmp/10k.yaml --socket /tmp/jwksd.sock
              jwksd dev-issuer --issuers 10000 --max-age 10 --rotate-every 10s --background
            """)

    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port (0 picks a free one; it is printed).") var port = 8765
    @Option(help: "How many issuers.") var issuers = 1
    @Option(help: "Issuer name prefix.") var prefix = "p"
    @Option(help: "Keys per issuer: comma-separated kinds (rsa2048, p256, ed25519).") var keys = "p256,ed25519"
    @Option(help: "Cache-Control max-age of every response, in seconds.") var maxAge = 300
    @Option(help: "Rotate every issuer's keys this often, e.g. 30s.") var rotateEvery: String?
    @Option(help: "Write a registry of every issuer (jwks_uri providers) to this file.") var writeConfig: String?
    @Option(help: "Providers per tenant in the written registry.") var perTenant = 10
    @Option(help: "The socket in the written registry.") var socket = "./jwksd.sock"
    @Flag(
        help: """
            Serve and rotate on threads at nice 19 with short time slices (0.1 ms), so that on a host shared with \
            a daemon under test the issuer, standing in for remote identity providers, takes only the CPU the \
            rest leaves and gives a core back at once.
            """)
    var background = false

    func run() async throws {
        let kinds = try keys.split(separator: ",").map { name in
            guard let kind = DevKey.Kind(rawValue: String(name)) else {
                throw ValidationError("--keys: \"\(name)\" is not one of rsa2048, p256, ed25519")
            }
            return kind
        }
        guard issuers >= 1, perTenant >= 1 else { throw ValidationError("--issuers and --per-tenant must be >= 1") }
        let interval = try rotateEvery.map { try DurationText.parse($0) }
        let loops = background ? BackgroundLoops(threads: System.coreCount, nice: 19) : nil
        let issuer = try await DevIssuer.start(host: host, port: port, group: loops?.group)
        issuer.logsRequests = false
        let names = (0..<issuers).map { "\(prefix)\($0)" }
        for name in names { issuer.addIssuer(name, kinds: kinds, maxAge: maxAge) }
        if let writeConfig {
            try registry(names: names, base: issuer.baseURL).write(
                toFile: writeConfig, atomically: true, encoding: .utf8)
        }
        print("dev-issuer: \(issuers) issuers at \(issuer.baseURL)/\(prefix)N (keys: \(keys), max-age \(maxAge)s)")
        if let loops {
            print(
                "background: \(System.coreCount) threads at nice \(loops.nice)"
                    + (loops.shortSlices ? ", 0.1 ms time slices" : " (short time slices not supported here)"))
        }
        if let writeConfig { print("registry written to \(writeConfig)") }
        if interval != nil { print("rotating every issuer's keys every \(rotateEvery ?? "")") }
        // Scripts read the address from a file or pipe (block-buffered): hand it over now, not at exit.
        fflush(nil)  // every output stream; `stdout` itself is not concurrency-safe to name
        if let interval {
            let rotation = Task(executorPreference: loops) {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    for name in names { issuer.rotate(name) }
                }
            }
            defer { rotation.cancel() }
            try await waitForever()
        } else {
            try await waitForever()
        }
    }

    private func waitForever() async throws {
        while true { try await Task.sleep(for: .seconds(3600)) }
    }

    /// A registry with `perTenant` jwks_uri providers per tenant.
    func registry(names: [String], base: String) -> String {
        var lines = [
            "version: 1", "server:", "  socket: \"\(socket)\"", "defaults:", "  require_https: false",
            "  allow_private_networks: true",
            "  min_ttl: 1s", "tenants:",
        ]
        for (index, name) in names.enumerated() {
            if index % perTenant == 0 {
                lines.append("  t\(index / perTenant):")
                lines.append("    providers:")
            }
            lines.append("      \(name): { jwks_uri: \"\(base)/\(name)/jwks\" }")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

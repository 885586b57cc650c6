import DevIssuer
import Foundation
import JWKSClient
import JWKSConfig
import JWKSWire

/// The steps `jwksd demo` shows against its running daemon, printed as it goes.
struct DemoTour: Sendable {
    let socketPath: String
    let issuer: DevIssuer
    let registry: JWKSDConfig
    let configPath: String
    let benchDuration: Duration

    /// Runs every step; returns false (after printing why) when one fails.
    func run() async -> Bool {
        let client = JWKSClient(socketPath: socketPath)
        defer { Task { await client.close() } }
        say(
            """
            jwksd demo: a DevIssuer at \(issuer.baseURL) serves \(registry.providerCount) providers of \
            \(registry.tenants.count) tenants;
            the daemon answers on \(socketPath) (registry: \(configPath)).

            """)
        do throws(RPCError) {
            try await loads(client)
            try await lookup(client)
            try await rotation(client)
            try await outage(client)
            await bench(client)
            return true
        } catch {
            say("\nthe demo stopped: \(error.code.name): \(error.message)")
            return false
        }
    }

    /// 1. Every provider's first load, as `jwksd status` shows it.
    private func loads(_ client: JWKSClient) async throws(RPCError) {
        say("1. Loading every provider (discovery, jwks_uri; initech/broken always answers 503)")
        let start = ContinuousClock.now
        var health = try await waitForHealth(client)
        for _ in 0..<200 where !health.serving {
            try? await Task.sleep(for: .milliseconds(25))
            health = try await client.health()
        }
        let status = try await client.status()
        say("   ready after \(Self.format(ContinuousClock.now - start))\n")
        say(StatusTable.render(status, now: Int64(Date().timeIntervalSince1970)).indented)
    }

    /// 2. One lookup, timed.
    private func lookup(_ client: JWKSClient) async throws(RPCError) {
        say("2. A lookup: jwksd get --tenant acme --kid acme-0")
        let start = ContinuousClock.now
        let key = try await client.getKey(tenant: "acme", kid: "acme-0")
        let elapsed = ContinuousClock.now - start
        say(
            "   \(key.kty) \(key.alg) key from acme/\(key.provider) in \(Self.format(elapsed)): "
                + String(decoding: key.jwkJson.prefix(72), as: UTF8.self) + "…\n")
    }

    /// 3. The issuer rotates; the first lookup of the new kid refetches once and finds it.
    private func rotation(_ client: JWKSClient) async throws(RPCError) {
        guard let rotated = issuer.rotate("acme") else { return }
        say("3. Rotation: the issuer now signs with \(rotated.kid), which the daemon has never seen")
        let before = issuer.requests(to: "/acme/jwks").count
        let start = ContinuousClock.now
        let key = try await client.getKey(tenant: "acme", kid: rotated.kid)
        let elapsed = ContinuousClock.now - start
        let fetches = issuer.requests(to: "/acme/jwks").count - before
        say(
            "   found \(key.kid) (\(key.kty) \(key.alg)) in \(Self.format(elapsed)) after \(fetches) refetch; "
                + "unknown kids refetch at most once per kid_miss_cooldown\n")
    }

    /// 4. globex/sso's issuer fails; its expired keys keep being served, marked stale; then it recovers.
    private func outage(_ client: JWKSClient) async throws(RPCError) {
        say("4. Outage: globex/sso's issuer answers 503 from now on (its keys have max-age=3)")
        issuer.inject(.status(503), at: "/globex/jwks")
        let start = ContinuousClock.now
        var key = try await client.getKey(tenant: "globex", provider: "sso", kid: "globex-0")
        while !key.stale, ContinuousClock.now - start < .seconds(15) {
            try? await Task.sleep(for: .milliseconds(100))
            key = try await client.getKey(tenant: "globex", provider: "sso", kid: "globex-0")
        }
        let expired = Int64(Date().timeIntervalSince1970) - key.expiresAt
        say(
            "   after \(Self.format(ContinuousClock.now - start)): \(key.kid) still answers, stale: \(key.stale) "
                + "(expired \(expired)s ago; served stale for up to stale_while_error)")
        if let failing = try await client.status(tenant: "globex").providers.first(where: { $0.provider == "sso" }) {
            say(
                "   status: \(failing.standing), \(failing.consecutiveErrors) failed attempts, last error: "
                    + failing.lastError)
        }
        issuer.clearFaults(at: "/globex/jwks")
        _ = try await client.refresh(tenant: "globex", provider: "sso")
        key = try await client.getKey(tenant: "globex", provider: "sso", kid: "globex-0")
        say("   the issuer is back; after jwksd refresh --tenant globex --provider sso: stale: \(key.stale)\n")
    }

    /// 5. A short bench over every key the daemon serves.
    private func bench(_ client: JWKSClient) async {
        guard benchDuration > .zero else { return }
        say(
            "5. A short bench: jwksd bench --mix all --connections 4 --pipeline 8 --duration \(Self.format(benchDuration))"
        )
        guard
            let targets = try? await BenchTargets.payloads(
                method: .getKey, probe: client, tenant: nil, provider: nil, kid: nil, mixAll: true, missRatio: 0)
        else { return }
        let run = BenchRun(
            socketPath: socketPath, method: .getKey, targets: targets, connections: 4, pipeline: 8, flags: [])
        do throws(BenchError) {
            _ = try await run.measure(duration: .milliseconds(300), requests: nil)
            let report = try await run.measure(duration: benchDuration, requests: nil)
            say(report.table(.init(method: "get-key", connections: 4, pipeline: 8)).indented)
        } catch {
            say("   bench failed: \(error)")
        }
        say("   (a debug build is several times slower than `swift build -c release`; see BENCHMARKS.md)\n")
    }

    /// What to type in another shell while the demo keeps serving.
    func printServing() {
        say(
            """
            Serving until Ctrl-C. From another shell:
              export JWKSD_SOCKET=\(socketPath)
              jwksd status
              jwksd get --tenant acme --kid acme-0
              jwksd keys --tenant globex --provider sso
              jwksd watch
              jwksd bench --mix all --connections 4 --pipeline 8
              jwksd reload            # re-reads \(configPath)
            (`swift run jwksd ...` or .build/debug/jwksd ... when jwksd is not on PATH)
            """)
    }

    private func waitForHealth(_ client: JWKSClient) async throws(RPCError) -> Jwksd_V1_HealthResponse {
        var attempts = 0
        while true {
            do throws(RPCError) {
                return try await client.health()
            } catch {
                attempts += 1
                guard error.code == .unavailable, attempts < 200 else { throw error }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
    }

    static func format(_ duration: Duration) -> String {
        let micros = Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
        if micros < 1_000 { return String(format: "%.0f µs", micros) }
        if micros < 1_000_000 { return String(format: "%.1f ms", micros / 1_000) }
        return String(format: "%.1f s", micros / 1_000_000)
    }
}

/// Writes a line to standard output at once (unbuffered), so the tour reads live through a pipe or a file.
private func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

extension String {
    /// Every line indented by three spaces.
    fileprivate var indented: String {
        split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "   " + $0 }
            .joined(separator: "\n")
    }
}

import Foundation
import Testing

@testable import JWKSConfig

/// The repository root, found from this file's path (tests read `examples/`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite("Valid configs")
struct ValidConfigTests {
    @Test("examples/tenants.yaml passes, in file order")
    func example() throws {
        let path = repositoryRoot.appendingPathComponent("examples/tenants.yaml").path
        let config = try ConfigLoader.load(file: path)
        #expect(config.tenants.map(\.id) == ["acme", "ci"])
        #expect(config.tenants[0].providers.map(\.id) == ["google", "microsoft", "auth0", "local"])
        #expect(config.providerCount == 5)
        #expect(config.tenants[0].allowedUIDs == [1000])
        #expect(config.tenants[1].allowedGIDs == [1001])
        #expect(config.server.adminUIDs == [0])
        #expect(config.server.metrics == "127.0.0.1:9464")
        let local = config.tenants[0].providers[3]
        #expect(local.source == .file("./keys/acme.json"))
        #expect(
            config.resolve("./keys/acme.json") == repositoryRoot.appendingPathComponent("examples/keys/acme.json").path)
        #expect(FileManager.default.fileExists(atPath: config.resolve("./keys/acme.json")))
    }

    @Test("built-in defaults apply when nothing is set")
    func builtInDefaults() throws {
        let config = try ConfigLoader.load(
            text: "version: 1\ntenants:\n  a:\n    providers:\n      p: { file: k.json }\n")
        let policy = config.tenants[0].providers[0].policy
        #expect(policy == ProviderPolicy())
        #expect(policy.refreshEarly == .seconds(30))
        #expect(policy.prefetchJitter == .seconds(5))
        #expect(policy.minTTL == .seconds(30))
        #expect(policy.maxTTL == .seconds(86_400))
        #expect(policy.defaultTTL == .seconds(300))
        #expect(policy.staleWhileError == .seconds(3_600))
        #expect(policy.kidMissCooldown == .seconds(30))
        #expect(policy.requireHTTPS)
        #expect(policy.maxResponseBytes == 1_048_576)
        #expect(policy.maxRedirects == 3)
        #expect(policy.retry.attemptTimeout == .seconds(5))
        #expect(policy.retry.initialBackoff == .seconds(1))
        #expect(policy.retry.maxBackoff == .seconds(300))
        #expect(policy.retry.jitter == .full)
        #expect(config.server == ServerConfig())
        #expect(config.server.http == nil)
        #expect(config.server.socketMode == 0o660)
        #expect(config.server.adminUIDs == nil)
        #expect(config.server.eventLoopThreads == nil)
        #expect(config.server.verifyCacheEntries == 10_000 && config.server.verifyCacheBytes == 33_554_432)
        #expect([1, 2, 3, 8].map { config.server.eventLoopThreads(cores: $0) } == [1, 1, 1, 4])
    }

    @Test("verify: settings default, inherit from defaults and are overridden per provider, field by field")
    func verifySettings() throws {
        let config = try ConfigLoader.load(
            text: """
                version: 1
                defaults:
                  verify: { audiences: [api], leeway: 30s, algorithms: [RS256, ES256] }
                tenants:
                  a:
                    providers:
                      inherits: { file: k.json }
                      overrides:
                        file: k.json
                        verify: { audiences: any, issuer: "https://idp.example.com", types: [JWT], max_token_bytes: 4096 }
                """)
        #expect(VerifyPolicy().audiences == .unset && VerifyPolicy().requiredClaims == ["exp"])
        #expect(VerifyPolicy().leeway == .seconds(60) && VerifyPolicy().maxTokenBytes == 16_384)
        let inherits = config.tenants[0].providers[0].policy.verify
        let overrides = config.tenants[0].providers[1].policy.verify
        #expect(inherits.audiences == .oneOf(["api"]) && inherits.leeway == .seconds(30))
        #expect(inherits.algorithms == ["RS256", "ES256"] && inherits.issuer == nil && inherits.types == nil)
        #expect(overrides.audiences == .any && overrides.leeway == .seconds(30))
        #expect(overrides.algorithms == ["RS256", "ES256"] && overrides.issuer == "https://idp.example.com")
        #expect(overrides.types == ["JWT"] && overrides.maxTokenBytes == 4_096 && overrides.requiredClaims == ["exp"])
    }

    @Test("file defaults apply to every provider and provider overrides win, field by field")
    func overridesWin() throws {
        let config = try ConfigLoader.load(
            text: """
                version: 1
                defaults:
                  refresh_early: 1m
                  stale_while_error: 2h
                  allowed_domains: [example.com]
                  retry: { initial_backoff: 2s, max_backoff: 1m }
                tenants:
                  a:
                    providers:
                      inherits: { jwks_uri: "https://id.example.com/jwks" }
                      overrides:
                        jwks_uri: "https://login.example.com/keys"
                        refresh_early: 2m
                        retry: { max_backoff: 10m }
                """)
        let inherits = config.tenants[0].providers[0].policy
        let overrides = config.tenants[0].providers[1].policy
        #expect(inherits.refreshEarly == .seconds(60))
        #expect(inherits.staleWhileError == .seconds(7_200))
        #expect(inherits.retry.initialBackoff == .seconds(2))
        #expect(inherits.retry.maxBackoff == .seconds(60))
        #expect(overrides.refreshEarly == .seconds(120))
        #expect(overrides.staleWhileError == .seconds(7_200))
        #expect(overrides.retry.initialBackoff == .seconds(2))
        #expect(overrides.retry.maxBackoff == .seconds(600))
        #expect(overrides.allowedDomains == ["example.com"])
        #expect(config.defaults.refreshEarly == .seconds(60))
    }

    @Test("every option round-trips through the renderer")
    func roundTrip() throws {
        var config = JWKSDConfig()
        config.server.socket = "/run/jwksd/jwksd.sock"
        config.server.socketMode = 0o600
        config.server.maxFrameBytes = 65_536
        config.server.compressMinBytes = 512
        config.server.maxConnections = 77
        config.server.maxCallsPerConnection = 33
        config.server.idleTimeout = .seconds(90)
        config.server.maxConcurrentFetches = 4
        config.server.snapshotDir = "/var/lib/jwksd"
        config.server.metrics = "[::1]:9464"
        config.server.adminUIDs = [0, 42]
        config.server.eventLoopThreads = 3
        config.server.verifyCacheEntries = 0
        config.server.verifyCacheBytes = 1_048_576
        var http = HTTPEndpointConfig(listen: .tcp(host: "::1", port: 9465))
        http.socketMode = 0o600
        http.maxConnections = 9
        http.maxHeaderBytes = 2_048
        http.requestTimeout = .milliseconds(1_500)
        http.idleTimeout = .seconds(30)
        http.kidWait = .milliseconds(500)
        config.server.http = http
        var export = ExportConfig(dir: "/run/jwksd/jwks")
        export.fileMode = 0o640
        export.owner = 101
        export.group = 102
        config.server.export = export
        var policy = ProviderPolicy()
        policy.refreshEarly = .seconds(45)
        policy.prefetchJitter = .milliseconds(2_500)
        policy.minTTL = .seconds(10)
        policy.maxTTL = .seconds(7 * 86_400)
        policy.defaultTTL = .seconds(600)
        policy.staleWhileError = .seconds(2 * 86_400)
        policy.kidMissCooldown = .seconds(5)
        policy.requireHTTPS = false
        policy.allowedDomains = ["example.com", "auth0.com"]
        policy.maxResponseBytes = 4_096
        policy.maxRedirects = 0
        policy.minRSABits = 3_072
        policy.caFile = "/etc/ssl/private-ca.pem"
        policy.retry.connectTimeout = .milliseconds(750)
        policy.retry.attemptTimeout = .seconds(3)
        policy.retry.initialBackoff = .milliseconds(200)
        policy.retry.maxBackoff = .seconds(3_600)
        policy.retry.jitter = .equal
        policy.verify.issuer = "https://login.example.com/"
        policy.verify.audiences = .oneOf(["api", "web \"x\""])
        policy.verify.algorithms = ["ES256", "EdDSA"]
        policy.verify.leeway = .seconds(5)
        policy.verify.requiredClaims = ["exp", "sub"]
        policy.verify.types = ["at+jwt"]
        policy.verify.maxTokenBytes = 8_192
        config.defaults = policy
        var other = policy
        other.requireHTTPS = true
        other.retry.jitter = .none
        other.verify.audiences = .any
        other.verify.requiredClaims = []
        other.verify.leeway = .seconds(60)
        config.tenants = [
            TenantConfig(
                id: "acme", allowedUIDs: [1000, 1001], allowedGIDs: [50],
                providers: [
                    ProviderConfig(
                        id: "google", source: .issuer(try HTTPURL("https://accounts.google.example.com")), policy: other
                    ),
                    ProviderConfig(
                        id: "plain", source: .jwksURI(try HTTPURL("http://idp.example.com:8080/jwks?x=1")),
                        policy: policy),
                    ProviderConfig(id: "disk", source: .file("keys/a \"b\".json"), policy: policy),
                ]),
            TenantConfig(id: "t.2_x-y", providers: [ProviderConfig(id: "p", source: .file("/k.json"), policy: policy)]),
        ]
        let text = ConfigRenderer.render(config)
        let reloaded = try ConfigLoader.load(text: text)
        #expect(reloaded == config)
        #expect(ConfigRenderer.render(reloaded) == text)
    }

    @Test("YAML merge keys share settings between providers; explicit keys win")
    func mergeKeys() throws {
        let config = try ConfigLoader.load(
            text: """
                version: 1
                tenants:
                  a:
                    providers:
                      one: &common { file: one.json, refresh_early: 2m, max_redirects: 1 }
                      two:
                        <<: *common
                        file: two.json
                """)
        let two = config.tenants[0].providers[1]
        #expect(two.source == .file("two.json"))
        #expect(two.policy.refreshEarly == .seconds(120))
        #expect(two.policy.maxRedirects == 1)
    }

    @Test("an explicit null counts as unset")
    func nullIsUnset() throws {
        let config = try ConfigLoader.load(text: "version: 1\nserver:\n  metrics:\n  snapshot_dir: ~\n")
        #expect(config.server.metrics == nil)
        #expect(config.server.snapshotDir == nil)
    }

    @Test("10,000 providers load")
    func manyProviders() throws {
        var text = "version: 1\ntenants:\n"
        for tenant in 0..<1_000 {
            text += "  t\(tenant):\n    providers:\n"
            for provider in 0..<10 {
                text +=
                    "      p\(provider): { jwks_uri: \"https://idp\(tenant).example.com/\(provider)/jwks\", refresh_early: 1m }\n"
            }
        }
        let config = try ConfigLoader.load(text: text)
        #expect(config.providerCount == 10_000)
        #expect(config.tenants[999].providers[9].source == .jwksURI(try HTTPURL("https://idp999.example.com/9/jwks")))
    }
}

@Suite("Durations")
struct DurationTextTests {
    @Test(
        "the config syntax parses",
        arguments: [
            ("250ms", Duration.milliseconds(250)), ("30s", .seconds(30)), ("5m", .seconds(300)),
            ("24h", .seconds(86_400)),
            ("7d", .seconds(604_800)), ("1h30m", .seconds(5_400)), ("0", .zero), ("0s", .zero),
        ])
    func parses(_ text: String, _ duration: Duration) throws {
        #expect(try DurationText.parse(text) == duration)
    }

    @Test("formatting picks the largest exact unit and reads back")
    func formats() throws {
        #expect(DurationText.format(.seconds(86_400)) == "24h")
        #expect(DurationText.format(.seconds(172_800)) == "2d")
        #expect(DurationText.format(.seconds(5_400)) == "90m")
        #expect(DurationText.format(.milliseconds(1_500)) == "1500ms")
        for text in ["250ms", "30s", "5m", "24h", "7d", "90m"] {
            #expect(DurationText.format(try DurationText.parse(text)) == text)
        }
    }

    @Test("malformed durations are rejected with a reason")
    func rejects() {
        #expect(throws: DurationText.ParseError.missingUnit("30")) { try DurationText.parse("30") }
        #expect(throws: DurationText.ParseError.unknownUnit("w")) { try DurationText.parse("2w") }
        #expect(throws: DurationText.ParseError.malformed) { try DurationText.parse("-5s") }
        #expect(throws: DurationText.ParseError.malformed) { try DurationText.parse("5 s") }
        #expect(throws: DurationText.ParseError.tooLarge) { try DurationText.parse("99999999d") }
        #expect(throws: DurationText.ParseError.empty) { try DurationText.parse("") }
    }
}

@Suite("HTTPURL")
struct HTTPURLTests {
    @Test("parts are parsed and the host is lowercased")
    func parts() throws {
        let url = try HTTPURL("HTTPS://Login.Example.COM:8443/a/b?c=d")
        #expect(url.isHTTPS)
        #expect(url.host == "login.example.com")
        #expect(url.port == 8443)
        #expect(url.pathAndQuery == "/a/b?c=d")
        #expect(try HTTPURL("https://x.example").pathAndQuery == "/")
        #expect(try HTTPURL("http://[::1]:80/k").host == "[::1]")
    }

    @Test("the allowlist matches on label boundaries")
    func allowlist() throws {
        let url = try HTTPURL("https://login.auth0.com/keys")
        #expect(url.isAllowed(by: []))
        #expect(url.isAllowed(by: ["auth0.com"]))
        #expect(url.isAllowed(by: ["login.auth0.com"]))
        #expect(!url.isAllowed(by: ["th0.com"]))
        #expect(!(try HTTPURL("https://evilauth0.com")).isAllowed(by: ["auth0.com"]))
    }

    @Test("redirect targets resolve against the current URL")
    func resolving() throws {
        let base = try HTTPURL("https://a.example.com/x/y/jwks?v=1")
        #expect(try base.resolving("/keys").text == "https://a.example.com/keys")
        #expect(try base.resolving("keys").text == "https://a.example.com/x/y/keys")
        #expect(try base.resolving("//b.example.com/k").text == "https://b.example.com/k")
        #expect(try base.resolving("http://c.example.com/k").isHTTPS == false)
    }

    @Test("unacceptable URLs are refused")
    func refused() {
        #expect(throws: HTTPURL.ParseError.unsupportedScheme("ftp")) { try HTTPURL("ftp://a.com/x") }
        #expect(throws: HTTPURL.ParseError.fragment) { try HTTPURL("https://a.com/x#f") }
        #expect(throws: HTTPURL.ParseError.credentials) { try HTTPURL("https://u@a.com/") }
        #expect(throws: HTTPURL.ParseError.invalidPort("0")) { try HTTPURL("https://a.com:0/") }
        #expect(throws: HTTPURL.ParseError.missingHost) { try HTTPURL("https:///x") }
        #expect(throws: HTTPURL.ParseError.invalidCharacter) { try HTTPURL("https://a.com/a b") }
        #expect(throws: HTTPURL.ParseError.invalidHost("a..com")) { try HTTPURL("https://a..com/") }
    }
}

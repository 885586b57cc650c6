import Testing

@testable import JWKSConfig

/// One invalid config and exactly what `jwksd check` must say about it.
struct InvalidCase: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var expected: [String]
    var codes: [ConfigDiagnostic.Code]

    var testDescription: String { name }
}

/// A provider block inside a minimal valid file; `PROVIDER` is replaced by the case's lines.
func withProvider(_ lines: String) -> String {
    """
    version: 1
    tenants:
      acme:
        providers:
          auth0:
    \(lines.split(separator: "\n", omittingEmptySubsequences: false).map { "        " + $0 }.joined(separator: "\n"))
    """
}

let invalidCases: [InvalidCase] = [
    InvalidCase(
        name: "NUL in the socket path", yaml: "version: 1\nserver:\n  socket: \"/run/jwksd\\0.sock\"\n",
        expected: ["t.yaml:3:11: server.socket: must not contain a NUL character (\\0)"], codes: [.invalidValue]),
    InvalidCase(
        name: "NUL in snapshot_dir", yaml: "version: 1\nserver:\n  snapshot_dir: \"/var/lib/\\0x\"\n",
        expected: ["t.yaml:3:17: server.snapshot_dir: must not contain a NUL character (\\0)"], codes: [.invalidValue]),
    InvalidCase(
        name: "NUL in a key file path", yaml: withProvider("file: \"keys\\0.json\""),
        expected: ["t.yaml:6:15: tenants.acme.providers.auth0.file: must not contain a NUL character (\\0)"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "NUL in ca_file", yaml: withProvider("jwks_uri: \"https://a.example.com/k\"\nca_file: \"ca\\0.pem\""),
        expected: ["t.yaml:7:18: tenants.acme.providers.auth0.ca_file: must not contain a NUL character (\\0)"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "per-uid connections above max_connections",
        yaml: "version: 1\nserver:\n  max_connections: 10\n  max_connections_per_uid: 11\n",
        expected: ["t.yaml:4:28: server.max_connections_per_uid: must be <= max_connections (10)"],
        codes: [.constraint]),
    InvalidCase(
        name: "allow_private_networks not a boolean",
        yaml: withProvider("jwks_uri: \"https://a.example.com/k\"\nallow_private_networks: yes"),
        expected: [
            "t.yaml:7:33: tenants.acme.providers.auth0.allow_private_networks: expected true or false, got \"yes\""
        ],
        codes: [.wrongType]),
    InvalidCase(
        name: "unknown top-level key with suggestion", yaml: "version: 1\ntenant: {}\n",
        expected: ["t.yaml:2:1: tenant: unknown key (did you mean \"tenants\"?)"], codes: [.unknownKey]),
    InvalidCase(
        name: "unknown key without suggestion", yaml: "version: 1\nfrobnicate: 1\n",
        expected: ["t.yaml:2:1: frobnicate: unknown key (expected one of: version, server, defaults, tenants)"],
        codes: [.unknownKey]),
    InvalidCase(
        name: "missing version", yaml: "tenants: {}\n",
        expected: ["t.yaml:1:1: version: missing; add version: 1"], codes: [.missingKey]),
    InvalidCase(
        name: "unsupported version", yaml: "version: 2\n",
        expected: ["t.yaml:1:10: version: unsupported version 2; this jwksd reads version 1"], codes: [.invalidValue]),
    InvalidCase(
        name: "version as text", yaml: "version: one\n",
        expected: ["t.yaml:1:10: version: expected an integer, got \"one\""], codes: [.wrongType]),
    InvalidCase(
        name: "top level is a list", yaml: "- version: 1\n",
        expected: ["t.yaml:1:1: the top level must be a mapping with version, server, defaults and tenants"],
        codes: [.wrongType]),
    InvalidCase(
        name: "server is a list", yaml: "version: 1\nserver: [1]\n",
        expected: ["t.yaml:2:9: server: expected a mapping, got a list"], codes: [.wrongType]),
    InvalidCase(
        name: "socket mode not octal", yaml: "version: 1\nserver:\n  socket_mode: \"0999\"\n",
        expected: ["t.yaml:3:16: server.socket_mode: \"0999\" is not an octal file mode such as \"0660\""],
        codes: [.invalidValue]),
    InvalidCase(
        name: "socket mode locks the owner out", yaml: "version: 1\nserver:\n  socket_mode: \"0066\"\n",
        expected: ["t.yaml:3:16: server.socket_mode: must give the owner read and write (at least 0600)"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "frame limit out of range", yaml: "version: 1\nserver:\n  max_frame_bytes: 10\n",
        expected: ["t.yaml:3:20: server.max_frame_bytes: must be between 1024 and 67108864"], codes: [.invalidValue]),
    InvalidCase(
        name: "quoted integer", yaml: "version: 1\nserver:\n  max_connections: \"10\"\n",
        expected: ["t.yaml:3:20: server.max_connections: expected an integer, got the quoted string \"10\""],
        codes: [.wrongType]),
    InvalidCase(
        name: "metrics not host:port", yaml: "version: 1\nserver:\n  metrics: localhost\n",
        expected: ["t.yaml:3:12: server.metrics: \"localhost\" is not host:port (e.g. 127.0.0.1:9464)"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "verify algorithm none",
        yaml: "version: 1\ndefaults:\n  verify: { algorithms: [RS256, none, HS256] }\n",
        expected: [
            "t.yaml:3:25: defaults.verify.algorithms: \"none\", \"HS256\" not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519 (never none or HS*)"
        ], codes: [.invalidValue]),
    InvalidCase(
        name: "verify audiences empty", yaml: "version: 1\ndefaults:\n  verify: { audiences: [] }\n",
        expected: ["t.yaml:3:24: defaults.verify.audiences: must name at least one audience, or be any"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "verify leeway too long", yaml: "version: 1\ndefaults:\n  verify: { leeway: 2h }\n",
        expected: ["t.yaml:3:21: defaults.verify.leeway: must be at most 1h"], codes: [.invalidValue]),
    InvalidCase(
        name: "verify unknown key", yaml: "version: 1\ndefaults:\n  verify: { audience: api }\n",
        expected: ["t.yaml:3:13: defaults.verify.audience: unknown key (did you mean \"audiences\"?)"],
        codes: [.unknownKey]),
    InvalidCase(
        name: "no event-loop thread", yaml: "version: 1\nserver:\n  event_loop_threads: 0\n",
        expected: ["t.yaml:3:23: server.event_loop_threads: must be between 1 and 256"], codes: [.invalidValue]),
    InvalidCase(
        name: "no waiting call", yaml: "version: 1\nserver:\n  max_waiting_calls_per_uid: 0\n",
        expected: ["t.yaml:3:30: server.max_waiting_calls_per_uid: must be between 1 and 1000000"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "verify cache bounds", yaml: "version: 1\nserver:\n  verify_cache_entries: -1\n  verify_cache_bytes: x\n",
        expected: [
            "t.yaml:3:25: server.verify_cache_entries: must be between 0 and 10000000",
            "t.yaml:4:23: server.verify_cache_bytes: expected an integer, got \"x\"",
        ], codes: [.invalidValue, .wrongType]),
    InvalidCase(
        name: "negative admin uid", yaml: "version: 1\nserver:\n  admin_uids: [0, -1]\n",
        expected: ["t.yaml:3:19: server.admin_uids[1]: must be between 0 and 4294967294"], codes: [.invalidValue]),
    InvalidCase(
        name: "duration without unit", yaml: "version: 1\ndefaults:\n  min_ttl: 30\n",
        expected: ["t.yaml:3:12: defaults.min_ttl: \"30\" has no unit; write e.g. 30s (units: ms, s, m, h, d)"],
        codes: [.invalidDuration]),
    InvalidCase(
        name: "duration with unknown unit", yaml: "version: 1\ndefaults:\n  max_ttl: 2weeks\n",
        expected: ["t.yaml:3:12: defaults.max_ttl: \"2weeks\" has unknown unit \"weeks\" (use ms, s, m, h or d)"],
        codes: [.invalidDuration]),
    InvalidCase(
        name: "malformed duration", yaml: "version: 1\ndefaults:\n  refresh_early: soon\n",
        expected: ["t.yaml:3:18: defaults.refresh_early: \"soon\" is not a duration like 250ms, 30s, 5m, 24h or 7d"],
        codes: [.invalidDuration]),
    InvalidCase(
        name: "duration below its minimum", yaml: "version: 1\ndefaults:\n  kid_miss_cooldown: 0\n",
        expected: ["t.yaml:3:22: defaults.kid_miss_cooldown: must be at least 1s"], codes: [.invalidValue]),
    InvalidCase(
        name: "min_ttl above max_ttl in defaults", yaml: "version: 1\ndefaults:\n  min_ttl: 2d\n",
        expected: ["t.yaml:3:3: defaults.min_ttl: must be <= max_ttl (24h)"], codes: [.constraint]),
    InvalidCase(
        name: "min_ttl above max_ttl in a provider",
        yaml: withProvider("jwks_uri: https://acme.eu.auth0.com/.well-known/jwks.json\nmin_ttl: 25h"),
        expected: ["t.yaml:7:9: tenants.acme.providers.auth0.min_ttl: must be <= max_ttl (24h)"], codes: [.constraint]),
    InvalidCase(
        name: "max_ttl below an inherited min_ttl",
        yaml: "version: 1\ndefaults:\n  min_ttl: 1h\n  default_ttl: 1h\n"
            + withProvider("file: k.json\nmax_ttl: 30m").dropFirst(11),
        expected: ["t.yaml:10:9: tenants.acme.providers.auth0.max_ttl: must be >= min_ttl (1h)"], codes: [.constraint]),
    InvalidCase(
        name: "refresh_early not below max_ttl",
        yaml: withProvider("file: k.json\nrefresh_early: 1d"),
        expected: ["t.yaml:7:9: tenants.acme.providers.auth0.refresh_early: must be < max_ttl (24h)"],
        codes: [.constraint]),
    InvalidCase(
        name: "default_ttl outside the bounds", yaml: "version: 1\ndefaults:\n  default_ttl: 10s\n",
        expected: ["t.yaml:3:3: defaults.default_ttl: must be between min_ttl (30s) and max_ttl (24h)"],
        codes: [.constraint]),
    InvalidCase(
        name: "initial backoff above max backoff", yaml: "version: 1\ndefaults:\n  retry: { initial_backoff: 10m }\n",
        expected: ["t.yaml:3:12: defaults.retry.initial_backoff: must be <= retry.max_backoff (5m)"],
        codes: [.constraint]),
    InvalidCase(
        name: "unknown jitter", yaml: "version: 1\ndefaults:\n  retry:\n    jitter: random\n",
        expected: ["t.yaml:4:13: defaults.retry.jitter: \"random\" is not one of full, equal, none"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "yes is not a boolean", yaml: "version: 1\ndefaults:\n  require_https: yes\n",
        expected: ["t.yaml:3:18: defaults.require_https: expected true or false, got \"yes\""], codes: [.wrongType]),
    InvalidCase(
        name: "bad domain in the allowlist", yaml: "version: 1\ndefaults:\n  allowed_domains: [\"exa mple.com\"]\n",
        expected: ["t.yaml:3:21: defaults.allowed_domains[0]: \"exa mple.com\" is not a domain name"],
        codes: [.invalidValue]),
    InvalidCase(
        name: "http URL while https is required",
        yaml: withProvider("jwks_uri: http://acme.eu.auth0.com/jwks.json"),
        expected: [
            "t.yaml:6:19: tenants.acme.providers.auth0.jwks_uri: http:// is refused while require_https is on (set require_https: false to allow it)"
        ], codes: [.insecureURL]),
    InvalidCase(
        name: "host outside allowed_domains",
        yaml: withProvider("issuer: https://evil.example.net\nallowed_domains: [auth0.com]"),
        expected: [
            "t.yaml:6:17: tenants.acme.providers.auth0.issuer: host \"evil.example.net\" is not in allowed_domains (auth0.com)"
        ], codes: [.insecureURL]),
    InvalidCase(
        name: "label-boundary suffix only",
        yaml: withProvider("issuer: https://notauth0.com\nallowed_domains: [auth0.com]"),
        expected: [
            "t.yaml:6:17: tenants.acme.providers.auth0.issuer: host \"notauth0.com\" is not in allowed_domains (auth0.com)"
        ], codes: [.insecureURL]),
    InvalidCase(
        name: "URL with credentials", yaml: withProvider("jwks_uri: https://user:pw@acme.com/jwks"),
        expected: [
            "t.yaml:6:19: tenants.acme.providers.auth0.jwks_uri: \"https://user:pw@acme.com/jwks\": the URL must not contain credentials (user:password@)"
        ], codes: [.invalidValue]),
    InvalidCase(
        name: "not a URL", yaml: withProvider("issuer: accounts.google.com"),
        expected: [
            "t.yaml:6:17: tenants.acme.providers.auth0.issuer: \"accounts.google.com\": not an absolute URL (expected https://...)"
        ], codes: [.invalidValue]),
    InvalidCase(
        name: "provider without a source", yaml: withProvider("min_ttl: 1m"),
        expected: [
            "t.yaml:6:9: tenants.acme.providers.auth0: needs exactly one of jwks_uri, issuer or file; found none"
        ],
        codes: [.source]),
    InvalidCase(
        name: "provider with two sources", yaml: withProvider("issuer: https://a.com\nfile: k.json"),
        expected: [
            "t.yaml:7:9: tenants.acme.providers.auth0: needs exactly one of jwks_uri, issuer or file; found issuer and file"
        ], codes: [.source]),
    InvalidCase(
        name: "misspelt provider key", yaml: withProvider("file: k.json\nrefresh_erly: 2m"),
        expected: [
            "t.yaml:7:9: tenants.acme.providers.auth0.refresh_erly: unknown key (did you mean \"refresh_early\"?)"
        ],
        codes: [.unknownKey]),
    InvalidCase(
        name: "duplicate provider key", yaml: withProvider("file: a.json\nfile: b.json"),
        expected: ["t.yaml:7:9: tenants.acme.providers.auth0.file: duplicate key (first defined at 6:9)"],
        codes: [.duplicateKey]),
    InvalidCase(
        name: "duplicate tenant",
        yaml: "version: 1\ntenants:\n  a: { providers: { p: { file: k } } }\n  a: { providers: { p: { file: k } } }\n",
        expected: ["t.yaml:4:3: tenants.a: duplicate key (first defined at 3:3)"], codes: [.duplicateKey]),
    InvalidCase(
        name: "bad tenant id", yaml: "version: 1\ntenants:\n  \"ac me\": { providers: { p: { file: k } } }\n",
        expected: ["t.yaml:3:3: tenants.ac me: invalid tenant id; use 1-64 characters from A-Z a-z 0-9 . _ -"],
        codes: [.invalidIdentifier]),
    InvalidCase(
        name: "provider id too long",
        yaml: "version: 1\ntenants:\n  a:\n    providers:\n      \(String(repeating: "p", count: 65)): { file: k }\n",
        expected: [
            "t.yaml:5:7: tenants.a.providers.\(String(repeating: "p", count: 65)): invalid provider id; use 1-64 characters from A-Z a-z 0-9 . _ -"
        ], codes: [.invalidIdentifier]),
    InvalidCase(
        name: "tenant without providers", yaml: "version: 1\ntenants:\n  a:\n    allowed_uids: [1]\n",
        expected: ["t.yaml:4:5: tenants.a.providers: missing; a tenant needs at least one provider"],
        codes: [.missingKey]),
    InvalidCase(
        name: "empty allowed_uids",
        yaml: "version: 1\ntenants:\n  a:\n    allowed_uids: []\n    providers: { p: { file: k } }\n",
        expected: [
            "t.yaml:4:19: tenants.a.allowed_uids: must list at least one id; remove the key to allow every peer"
        ],
        codes: [.invalidValue]),
    InvalidCase(
        name: "multiple documents", yaml: "version: 1\n---\nversion: 1\n",
        expected: ["t.yaml:2:1: more than one YAML document; a config file holds exactly one"], codes: [.yaml]),
    InvalidCase(
        name: "tab indentation", yaml: "version: 1\ntenants:\n\ta: {}\n",
        expected: ["t.yaml:3:1: tab character in indentation; YAML indents with spaces only"], codes: [.yaml]),
    InvalidCase(
        name: "syntax error", yaml: "version: 1\ntenants: [\n",
        expected: ["t.yaml:3:1: invalid YAML: did not find expected node content (while parsing a flow node at 3:1)"],
        codes: [.yaml]),
    InvalidCase(
        name: "empty file", yaml: "",
        expected: ["t.yaml:1:1: the file is empty; expected a mapping"], codes: [.yaml]),
    InvalidCase(
        name: "undefined alias", yaml: "version: 1\ndefaults: *nothing\n",
        expected: ["t.yaml:2:11: alias *nothing refers to an anchor that is not defined before it"], codes: [.yaml]),
    InvalidCase(
        name: "alias bomb",
        yaml: "version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            + "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            + "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        expected: ["t.yaml:6:33: aliases expand the document past 100000 nodes; refusing (alias bomb?)"],
        codes: [.yaml]),
    InvalidCase(
        name: "server.http without listen", yaml: "version: 1\nserver:\n  http: { max_connections: 5 }\n",
        expected: ["t.yaml:3:9: server.http.listen: missing; e.g. listen: 127.0.0.1:9465 or unix:./http.sock"],
        codes: [.missingKey]),
    InvalidCase(
        name: "server.http listen that is neither host:port nor unix:",
        yaml: "version: 1\nserver:\n  http:\n    listen: \"localhost\"\n    kid_wait: 1m\n    typo: 1\n",
        expected: [
            "t.yaml:4:13: server.http.listen: \"localhost\" is neither host:port (e.g. 127.0.0.1:9465) nor unix:/path",
            "t.yaml:6:5: server.http.typo: unknown key (expected one of: listen, socket_mode, max_connections, "
                + "max_header_bytes, request_timeout, idle_timeout, kid_wait)",
        ], codes: [.invalidValue, .unknownKey]),
    InvalidCase(
        name: "server.http limits out of range",
        yaml: "version: 1\nserver:\n  http:\n    listen: unix:./h.sock\n    max_header_bytes: 10\n    kid_wait: 1m\n",
        expected: [
            "t.yaml:5:23: server.http.max_header_bytes: must be between 1024 and 1048576",
            "t.yaml:6:15: server.http.kid_wait: must be at most 10s",
        ], codes: [.invalidValue, .invalidValue]),
    InvalidCase(
        name: "server.export without dir, with a group-writable mode",
        yaml: "version: 1\nserver:\n  export:\n    file_mode: \"0666\"\n",
        expected: [
            "t.yaml:4:5: server.export.dir: missing; e.g. dir: /run/jwksd/jwks"
        ], codes: [.missingKey]),
    InvalidCase(
        name: "server.export mode and owner out of range",
        yaml: "version: 1\nserver:\n  export:\n    dir: ./jwks\n    file_mode: \"0666\"\n    owner: -1\n",
        expected: [
            "t.yaml:5:16: server.export.file_mode: \"0666\" is not an octal mode giving the owner read and write and nobody else write, such as \"0644\"",
            "t.yaml:6:12: server.export.owner: must be between 0 and 4294967294",
        ], codes: [.invalidValue, .invalidValue]),
    InvalidCase(
        name: "several problems at once, in file order",
        yaml: "version: 1\nserver:\n  max_conections: 5\ndefaults:\n  min_ttl: 30\n"
            + "tenants:\n  a:\n    providers:\n      p: {}\n",
        expected: [
            "t.yaml:3:3: server.max_conections: unknown key (did you mean \"max_connections\"?)",
            "t.yaml:5:12: defaults.min_ttl: \"30\" has no unit; write e.g. 30s (units: ms, s, m, h, d)",
            "t.yaml:9:10: tenants.a.providers.p: needs exactly one of jwks_uri, issuer or file; found none",
        ], codes: [.unknownKey, .invalidDuration, .source]),
]

@Suite("Invalid configs")
struct InvalidConfigTests {
    @Test("at least 30 invalid configs are covered")
    func count() { #expect(invalidCases.count >= 30) }

    @Test("each invalid config gets its exact messages and positions", arguments: invalidCases)
    func invalid(_ testCase: InvalidCase) {
        #expect {
            _ = try ConfigLoader.load(text: testCase.yaml, file: "t.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            #expect(error.lines == testCase.expected)
            #expect(error.diagnostics.map(\.code) == testCase.codes)
            return true
        }
    }

    @Test("a file that is not UTF-8 is refused at the bad byte")
    func notUTF8() {
        let bytes: [UInt8] = Array("version: 1\n# caf".utf8) + [0xE9] + Array("\n".utf8)
        #expect {
            _ = try ConfigLoader.load(bytes: bytes, file: "t.yaml")
        } throws: { error in
            (error as? ConfigError)?.lines == ["t.yaml:2:6: the file is not valid UTF-8 (invalid byte sequence here)"]
        }
    }

    @Test("a missing file is reported, not crashed on")
    func missingFile() {
        #expect {
            _ = try ConfigLoader.load(file: "/nonexistent/jwksd.yaml")
        } throws: { error in
            (error as? ConfigError)?.lines == ["/nonexistent/jwksd.yaml:1:1: the file does not exist"]
        }
    }
}

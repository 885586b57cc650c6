extension ConfigDecoder {
    static let maximumTTL: Duration = .seconds(30 * 86_400)

    /// Decodes the whole document.
    mutating func decode(_ root: YAMLNode, baseDirectory: String) -> JWKSDConfig? {
        guard case .mapping = root.kind else {
            report(
                .wrongType, root.mark, "",
                "the top level must be a mapping with version, server, defaults and tenants")
            return nil
        }
        guard let top = fields(of: root, path: "", known: Self.topKeys) else { return nil }
        var config = JWKSDConfig()
        config.baseDirectory = baseDirectory
        if let pair = top["version"] {
            if let version = integer(pair.value, "version", range: 0...Int.max) {
                if version != 1 {
                    report(
                        .invalidValue, pair.value.mark, "version",
                        "unsupported version \(version); this jwksd reads version 1")
                }
                config.version = version
            }
        } else {
            report(.missingKey, root.mark, "version", "missing; add version: 1")
        }
        if let pair = top["server"] { config.server = decodeServer(pair.value) }
        var defaultMarks: [String: SourceMark] = [:]
        if let pair = top["defaults"], let defaults = fields(of: pair.value, path: "defaults", known: Self.policyKeys) {
            config.defaults = decodePolicy(defaults, base: ProviderPolicy(), marks: &defaultMarks)
            checkPolicy(config.defaults, marks: defaultMarks, path: "defaults")
        }
        if let pair = top["tenants"] {
            config.tenants = decodeTenants(pair.value, defaults: config.defaults)
        }
        return config
    }

    // MARK: - server

    mutating func decodeServer(_ node: YAMLNode) -> ServerConfig {
        var server = ServerConfig()
        guard let fields = fields(of: node, path: "server", known: Self.serverKeys) else { return server }
        if let socket = string(fields, "socket") { server.socket = socket }
        if let pair = fields["socket_mode"],
            let text = scalar(pair.value, fields.path("socket_mode"), expected: "an octal mode such as \"0660\"")
        {
            if let mode = UInt16(text, radix: 8), mode <= 0o777, text.count <= 4 {
                if mode & 0o600 == 0o600 {
                    server.socketMode = mode
                } else {
                    report(
                        .invalidValue, pair.value.mark, fields.path("socket_mode"),
                        "must give the owner read and write (at least 0600)")
                }
            } else {
                report(
                    .invalidValue, pair.value.mark, fields.path("socket_mode"),
                    "\"\(text)\" is not an octal file mode such as \"0660\"")
            }
        }
        if let value = integer(fields, "max_frame_bytes", range: 1_024...67_108_864) { server.maxFrameBytes = value }
        if let value = integer(fields, "compress_min_bytes", range: 0...67_108_864) { server.compressMinBytes = value }
        if let value = integer(fields, "max_connections", range: 1...1_000_000) { server.maxConnections = value }
        if let pair = fields["max_connections_per_uid"],
            let value = integer(fields, "max_connections_per_uid", range: 1...1_000_000)
        {
            if value > server.maxConnections {
                report(
                    .constraint, pair.value.mark, fields.path("max_connections_per_uid"),
                    "must be <= max_connections (\(server.maxConnections))")
            } else {
                server.maxConnectionsPerUID = value
            }
        }
        if let value = integer(fields, "max_watches_per_uid", range: 1...65_536) { server.maxWatchesPerUID = value }
        if let value = integer(fields, "max_calls_per_connection", range: 1...65_536) {
            server.maxCallsPerConnection = value
        }
        if let value = integer(fields, "max_waiting_calls_per_uid", range: 1...1_000_000) {
            server.maxWaitingCallsPerUID = value
        }
        if let value = duration(fields, "idle_timeout") { server.idleTimeout = value }
        if let value = integer(fields, "event_loop_threads", range: 1...256) { server.eventLoopThreads = value }
        if let value = integer(fields, "verify_cache_entries", range: 0...10_000_000) {
            server.verifyCacheEntries = value
        }
        if let value = integer(fields, "verify_cache_bytes", range: 0...4_294_967_296) {
            server.verifyCacheBytes = value
        }
        if let value = integer(fields, "max_concurrent_fetches", range: 1...1_024) {
            server.maxConcurrentFetches = value
        }
        if let value = string(fields, "snapshot_dir") { server.snapshotDir = value }
        if let pair = fields["metrics"], let text = string(fields, "metrics") {
            if Self.isHostPort(text) {
                server.metrics = text
            } else {
                report(
                    .invalidValue, pair.value.mark, fields.path("metrics"),
                    "\"\(text)\" is not host:port (e.g. 127.0.0.1:9464)")
            }
        }
        if let uids = ids(fields, "admin_uids", allowEmpty: true) { server.adminUIDs = uids }
        if let pair = fields["http"] { server.http = decodeHTTP(pair.value, path: fields.path("http")) }
        if let pair = fields["export"] { server.export = decodeExport(pair.value, path: fields.path("export")) }
        return server
    }

    /// `server.export`: `dir` is required; `file_mode` (octal, at least owner read and write), `owner`, `group`.
    mutating func decodeExport(_ node: YAMLNode, path: String) -> ExportConfig? {
        guard let fields = fields(of: node, path: path, known: Self.exportKeys) else { return nil }
        guard fields["dir"] != nil else {
            report(.missingKey, node.mark, fields.path("dir"), "missing; e.g. dir: /run/jwksd/jwks")
            return nil
        }
        guard let dir = string(fields, "dir") else { return nil }
        var export = ExportConfig(dir: dir)
        if let pair = fields["file_mode"],
            let mode = scalar(pair.value, fields.path("file_mode"), expected: "an octal mode such as \"0644\"")
        {
            if let value = UInt16(mode, radix: 8), value <= 0o777, mode.count <= 4, value & 0o600 == 0o600,
                value & 0o022 == 0
            {
                export.fileMode = value
            } else {
                report(
                    .invalidValue, pair.value.mark, fields.path("file_mode"),
                    "\"\(mode)\" is not an octal mode giving the owner read and write and nobody else write, such as \"0644\""
                )
            }
        }
        if let value = integer(fields, "owner", range: 0...4_294_967_294) { export.owner = UInt32(value) }
        if let value = integer(fields, "group", range: 0...4_294_967_294) { export.group = UInt32(value) }
        return export
    }

    /// `server.http`: `listen` (`host:port` or `unix:/path`) is required; the rest have defaults.
    mutating func decodeHTTP(_ node: YAMLNode, path: String) -> HTTPEndpointConfig? {
        guard let fields = fields(of: node, path: path, known: Self.httpKeys) else { return nil }
        guard let pair = fields["listen"] else {
            report(
                .missingKey, node.mark, fields.path("listen"),
                "missing; e.g. listen: 127.0.0.1:9465 or unix:./http.sock")
            return nil
        }
        guard let text = string(fields, "listen") else { return nil }
        var http: HTTPEndpointConfig
        if text.hasPrefix("unix:") {
            let socket = String(text.dropFirst("unix:".count))
            guard !socket.isEmpty, socket.utf8.count < 100 else {
                report(
                    .invalidValue, pair.value.mark, fields.path("listen"),
                    "\"\(text)\" needs a socket path of 1 to 99 bytes after unix:")
                return nil
            }
            http = HTTPEndpointConfig(listen: .unix(path: socket))
        } else if Self.isHostPort(text), let colon = text.lastIndex(of: ":") {
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            http = HTTPEndpointConfig(listen: .tcp(host: host, port: Int(text[text.index(after: colon)...]) ?? 0))
        } else {
            report(
                .invalidValue, pair.value.mark, fields.path("listen"),
                "\"\(text)\" is neither host:port (e.g. 127.0.0.1:9465) nor unix:/path")
            return nil
        }
        if let modePair = fields["socket_mode"],
            let mode = scalar(modePair.value, fields.path("socket_mode"), expected: "an octal mode such as \"0660\"")
        {
            if let value = UInt16(mode, radix: 8), value <= 0o777, mode.count <= 4, value & 0o600 == 0o600 {
                http.socketMode = value
            } else {
                report(
                    .invalidValue, modePair.value.mark, fields.path("socket_mode"),
                    "\"\(mode)\" is not an octal file mode giving the owner read and write, such as \"0660\"")
            }
        }
        if let value = integer(fields, "max_connections", range: 1...65_536) { http.maxConnections = value }
        if let value = integer(fields, "max_header_bytes", range: 1_024...1_048_576) { http.maxHeaderBytes = value }
        if let value = duration(fields, "request_timeout", minimum: .milliseconds(100), maximum: .seconds(300)) {
            http.requestTimeout = value
        }
        if let value = duration(fields, "idle_timeout", minimum: .milliseconds(100), maximum: .seconds(3_600)) {
            http.idleTimeout = value
        }
        if let value = duration(fields, "kid_wait", maximum: HTTPEndpointConfig.maximumKidWait) { http.kidWait = value }
        return http
    }

    /// `host:port` with a port in 0...65535 (0: any free port) and a valid host name or IP literal.
    static func isHostPort(_ text: String) -> Bool {
        guard let colon = text.lastIndex(of: ":") else { return false }
        let host = text[..<colon]
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port), !host.isEmpty else {
            return false
        }
        return HTTPURL.isValidHost(host.lowercased())
    }

    // MARK: - policy

    /// Applies the policy keys present in `fields` onto `base`, recording where each was set.
    mutating func decodePolicy(_ fields: MappingFields, base: ProviderPolicy, marks: inout [String: SourceMark])
        -> ProviderPolicy
    {
        var policy = base
        func note(_ key: String) { if let pair = fields[key] { marks[key] = pair.key.mark } }
        for key in Self.policyKeys where key != "retry" && key != "verify" { note(key) }
        let second = Duration.seconds(1)
        if let value = duration(fields, "refresh_early") { policy.refreshEarly = value }
        if let value = duration(fields, "prefetch_jitter") { policy.prefetchJitter = value }
        if let value = duration(fields, "min_ttl", minimum: second, maximum: Self.maximumTTL) { policy.minTTL = value }
        if let value = duration(fields, "max_ttl", minimum: second, maximum: Self.maximumTTL) { policy.maxTTL = value }
        if let value = duration(fields, "default_ttl", minimum: second, maximum: Self.maximumTTL) {
            policy.defaultTTL = value
        }
        if let value = duration(fields, "stale_while_error", maximum: Self.maximumTTL) {
            policy.staleWhileError = value
        }
        if let value = duration(fields, "kid_miss_cooldown", minimum: second, maximum: .seconds(86_400)) {
            policy.kidMissCooldown = value
        }
        if let value = boolean(fields, "require_https") { policy.requireHTTPS = value }
        if let items = list(fields, "allowed_domains") {
            var domains: [String] = []
            for (index, item) in items.enumerated() {
                let itemPath = "\(fields.path("allowed_domains"))[\(index)]"
                guard let text = scalar(item, itemPath, expected: "a domain name") else { continue }
                var domain = text.lowercased()
                if domain.hasPrefix(".") { domain.removeFirst() }
                if HTTPURL.isValidHost(domain), !domain.hasPrefix("[") {
                    domains.append(domain)
                } else {
                    report(.invalidValue, item.mark, itemPath, "\"\(text)\" is not a domain name")
                }
            }
            policy.allowedDomains = domains
        }
        if let value = boolean(fields, "allow_private_networks") { policy.allowPrivateNetworks = value }
        if let value = integer(fields, "max_response_bytes", range: 1_024...67_108_864) {
            policy.maxResponseBytes = value
        }
        if let value = integer(fields, "max_redirects", range: 0...10) { policy.maxRedirects = value }
        if let value = integer(fields, "min_rsa_bits", range: 1_024...16_384) { policy.minRSABits = value }
        if let value = string(fields, "ca_file") { policy.caFile = value }
        if let pair = fields["retry"],
            let retry = self.fields(of: pair.value, path: fields.path("retry"), known: Self.retryKeys)
        {
            for key in Self.retryKeys { if let entry = retry[key] { marks["retry.\(key)"] = entry.key.mark } }
            let tenth = Duration.milliseconds(100)
            let fiveMinutes = Duration.seconds(300)
            if let value = duration(retry, "connect_timeout", minimum: tenth, maximum: fiveMinutes) {
                policy.retry.connectTimeout = value
            }
            if let value = duration(retry, "attempt_timeout", minimum: tenth, maximum: fiveMinutes) {
                policy.retry.attemptTimeout = value
            }
            if let value = duration(retry, "initial_backoff", minimum: tenth, maximum: .seconds(86_400)) {
                policy.retry.initialBackoff = value
            }
            if let value = duration(retry, "max_backoff", minimum: tenth, maximum: .seconds(86_400)) {
                policy.retry.maxBackoff = value
            }
            if let jitterPair = retry["jitter"],
                let text = scalar(jitterPair.value, retry.path("jitter"), expected: "full, equal or none")
            {
                if let jitter = RetryPolicy.Jitter(rawValue: text) {
                    policy.retry.jitter = jitter
                } else {
                    report(
                        .invalidValue, jitterPair.value.mark, retry.path("jitter"),
                        "\"\(text)\" is not one of full, equal, none")
                }
            }
        }
        if let pair = fields["verify"],
            let verify = self.fields(of: pair.value, path: fields.path("verify"), known: Self.verifyKeys)
        {
            for key in Self.verifyKeys { if let entry = verify[key] { marks["verify.\(key)"] = entry.key.mark } }
            policy.verify = decodeVerify(verify, base: policy.verify)
        }
        return policy
    }

    /// Applies the `verify:` keys present in `fields` onto `base`.
    mutating func decodeVerify(_ fields: MappingFields, base: VerifyPolicy) -> VerifyPolicy {
        var verify = base
        if let value = string(fields, "issuer") { verify.issuer = value }
        if let pair = fields["audiences"] {
            if case .scalar(let text, _) = pair.value.kind, text == "any" {
                verify.audiences = .any
            } else if let names = strings(fields, "audiences", nonEmpty: "name at least one audience, or be any") {
                verify.audiences = .oneOf(names)
            }
        }
        if let names = strings(fields, "algorithms", nonEmpty: "name at least one algorithm"),
            let pair = fields["algorithms"]
        {
            let unknown = names.filter { !VerifyPolicy.algorithmNames.contains($0) }
            if unknown.isEmpty {
                verify.algorithms = names
            } else {
                report(
                    .invalidValue, pair.value.mark, fields.path("algorithms"),
                    "\(unknown.map { "\"\($0)\"" }.joined(separator: ", ")) not one of "
                        + VerifyPolicy.algorithmNames.joined(separator: ", ") + " (never none or HS*)")
            }
        }
        if let value = duration(fields, "leeway", maximum: .seconds(3_600)) { verify.leeway = value }
        if let names = strings(fields, "required_claims", nonEmpty: nil) { verify.requiredClaims = names }
        if let names = strings(fields, "types", nonEmpty: "name at least one type; remove the key to accept any") {
            verify.types = names
        }
        if let value = integer(fields, "max_token_bytes", range: 256...1_048_576) { verify.maxTokenBytes = value }
        return verify
    }

    /// A list of non-empty strings; nil (reported) when it is not one, or empty where `nonEmpty` says why not.
    mutating func strings(_ fields: MappingFields, _ key: String, nonEmpty: String?) -> [String]? {
        guard let items = list(fields, key) else { return nil }
        if items.isEmpty, let nonEmpty, let pair = fields[key] {
            report(.invalidValue, pair.value.mark, fields.path(key), "must \(nonEmpty)")
            return nil
        }
        var names: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(fields.path(key))[\(index)]"
            guard let text = scalar(item, itemPath, expected: "a string") else { return nil }
            guard !text.isEmpty, !text.utf8.contains(0) else {
                report(.invalidValue, item.mark, itemPath, "must be a non-empty string without NUL")
                return nil
            }
            names.append(text)
        }
        return names
    }

    /// Checks the constraints between settings, reporting at the keys this layer set.
    mutating func checkPolicy(_ policy: ProviderPolicy, marks: [String: SourceMark], path: String) {
        func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
        let format = DurationText.format
        var ttlBoundsValid = true
        if policy.minTTL > policy.maxTTL {
            ttlBoundsValid = false
            if let mark = marks["min_ttl"] {
                report(.constraint, mark, keyPath("min_ttl"), "must be <= max_ttl (\(format(policy.maxTTL)))")
            } else if let mark = marks["max_ttl"] {
                report(.constraint, mark, keyPath("max_ttl"), "must be >= min_ttl (\(format(policy.minTTL)))")
            }
        }
        if ttlBoundsValid, policy.defaultTTL < policy.minTTL || policy.defaultTTL > policy.maxTTL {
            let bounds = "between min_ttl (\(format(policy.minTTL))) and max_ttl (\(format(policy.maxTTL)))"
            if let mark = marks["default_ttl"] {
                report(.constraint, mark, keyPath("default_ttl"), "must be \(bounds)")
            } else if let mark = marks["min_ttl"], policy.defaultTTL < policy.minTTL {
                report(.constraint, mark, keyPath("min_ttl"), "must be <= default_ttl (\(format(policy.defaultTTL)))")
            } else if let mark = marks["max_ttl"] {
                report(.constraint, mark, keyPath("max_ttl"), "must be >= default_ttl (\(format(policy.defaultTTL)))")
            }
        }
        if policy.refreshEarly >= policy.maxTTL {
            if let mark = marks["refresh_early"] {
                report(.constraint, mark, keyPath("refresh_early"), "must be < max_ttl (\(format(policy.maxTTL)))")
            } else if let mark = marks["max_ttl"] {
                report(
                    .constraint, mark, keyPath("max_ttl"), "must be > refresh_early (\(format(policy.refreshEarly)))")
            }
        }
        if policy.retry.initialBackoff > policy.retry.maxBackoff {
            if let mark = marks["retry.initial_backoff"] {
                report(
                    .constraint, mark, keyPath("retry.initial_backoff"),
                    "must be <= retry.max_backoff (\(format(policy.retry.maxBackoff)))")
            } else if let mark = marks["retry.max_backoff"] {
                report(
                    .constraint, mark, keyPath("retry.max_backoff"),
                    "must be >= retry.initial_backoff (\(format(policy.retry.initialBackoff)))")
            }
        }
    }
}

/// Writes a ``JWKSDConfig`` back as YAML with every option spelled out, so `ConfigLoader` reads back an
/// equal value. Useful to show the effective configuration (`jwksd check --print`).
public enum ConfigRenderer {
    /// Renders a configuration.
    /// - Parameter config: the configuration.
    /// - Returns: YAML text with every server, default and provider setting explicit.
    public static func render(_ config: JWKSDConfig) -> String {
        var lines: [String] = ["version: \(config.version)", "server:"]
        let server = config.server
        lines += [
            "  socket: \(quote(server.socket))",
            "  socket_mode: \"0\(String(server.socketMode, radix: 8))\"",
            "  max_frame_bytes: \(server.maxFrameBytes)",
            "  compress_min_bytes: \(server.compressMinBytes)",
            "  max_connections: \(server.maxConnections)",
            server.maxConnectionsPerUID.map { "  max_connections_per_uid: \($0)" }
                ?? "  # max_connections_per_uid: \(server.connectionsPerUID) (half of max_connections)",
            "  max_watches_per_uid: \(server.maxWatchesPerUID)",
            "  max_calls_per_connection: \(server.maxCallsPerConnection)",
            "  max_waiting_calls_per_uid: \(server.maxWaitingCallsPerUID)",
            "  idle_timeout: \(DurationText.format(server.idleTimeout))",
            "  max_concurrent_fetches: \(server.maxConcurrentFetches)",
        ]
        if let snapshotDir = server.snapshotDir { lines.append("  snapshot_dir: \(quote(snapshotDir))") }
        if let metrics = server.metrics { lines.append("  metrics: \(quote(metrics))") }
        if let admins = server.adminUIDs { lines.append("  admin_uids: \(list(admins))") }
        lines.append(
            server.eventLoopThreads.map { "  event_loop_threads: \($0)" }
                ?? "  # event_loop_threads: half the host's cores, at least 1")
        lines.append("  verify_cache_entries: \(server.verifyCacheEntries)")
        lines.append("  verify_cache_bytes: \(server.verifyCacheBytes)")
        if let http = server.http {
            let listen: String
            switch http.listen {
            case .tcp(let host, let port): listen = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): listen = "unix:\(path)"
            }
            lines += [
                "  http:",
                "    listen: \(quote(listen))",
                "    socket_mode: \"0\(String(http.socketMode, radix: 8))\"",
                "    max_connections: \(http.maxConnections)",
                "    max_header_bytes: \(http.maxHeaderBytes)",
                "    request_timeout: \(DurationText.format(http.requestTimeout))",
                "    idle_timeout: \(DurationText.format(http.idleTimeout))",
                "    kid_wait: \(DurationText.format(http.kidWait))",
            ]
        }
        if let export = server.export {
            lines += [
                "  export:", "    dir: \(quote(export.dir))",
                "    file_mode: \"0\(String(export.fileMode, radix: 8))\"",
            ]
            if let owner = export.owner { lines.append("    owner: \(owner)") }
            if let group = export.group { lines.append("    group: \(group)") }
        }
        lines.append("defaults:")
        lines += policy(config.defaults, indent: "  ")
        lines.append(config.tenants.isEmpty ? "tenants: {}" : "tenants:")
        for tenant in config.tenants {
            lines.append("  \(quote(tenant.id)):")
            if let uids = tenant.allowedUIDs { lines.append("    allowed_uids: \(list(uids))") }
            if let gids = tenant.allowedGIDs { lines.append("    allowed_gids: \(list(gids))") }
            lines.append("    providers:")
            for provider in tenant.providers {
                lines.append("      \(quote(provider.id)):")
                lines.append("        \(provider.source.key): \(quote(provider.source.location))")
                lines += policy(provider.policy, indent: "        ")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func policy(_ policy: ProviderPolicy, indent: String) -> [String] {
        let format = DurationText.format
        var lines = [
            "refresh_early: \(format(policy.refreshEarly))",
            "prefetch_jitter: \(format(policy.prefetchJitter))",
            "min_ttl: \(format(policy.minTTL))",
            "max_ttl: \(format(policy.maxTTL))",
            "default_ttl: \(format(policy.defaultTTL))",
            "stale_while_error: \(format(policy.staleWhileError))",
            "kid_miss_cooldown: \(format(policy.kidMissCooldown))",
            "require_https: \(policy.requireHTTPS)",
            "allowed_domains: [\(policy.allowedDomains.map(quote).joined(separator: ", "))]",
            "allow_private_networks: \(policy.allowPrivateNetworks)",
            "max_response_bytes: \(policy.maxResponseBytes)",
            "max_redirects: \(policy.maxRedirects)",
            "min_rsa_bits: \(policy.minRSABits)",
        ]
        if let caFile = policy.caFile { lines.append("ca_file: \(quote(caFile))") }
        let retry = policy.retry
        lines.append(
            "retry: { connect_timeout: \(format(retry.connectTimeout)), attempt_timeout: \(format(retry.attemptTimeout)), "
                + "initial_backoff: \(format(retry.initialBackoff)), max_backoff: \(format(retry.maxBackoff)), "
                + "jitter: \(retry.jitter.rawValue) }")
        let verify = policy.verify
        var verifyFields: [String] = []
        if let issuer = verify.issuer { verifyFields.append("issuer: \(quote(issuer))") }
        switch verify.audiences {
        case .unset: break
        case .any: verifyFields.append("audiences: any")
        case .oneOf(let names): verifyFields.append("audiences: [\(names.map(quote).joined(separator: ", "))]")
        }
        if let algorithms = verify.algorithms {
            verifyFields.append("algorithms: [\(algorithms.map(quote).joined(separator: ", "))]")
        }
        verifyFields.append("leeway: \(format(verify.leeway))")
        verifyFields.append("required_claims: [\(verify.requiredClaims.map(quote).joined(separator: ", "))]")
        if let types = verify.types { verifyFields.append("types: [\(types.map(quote).joined(separator: ", "))]") }
        verifyFields.append("max_token_bytes: \(verify.maxTokenBytes)")
        lines.append("verify: { \(verifyFields.joined(separator: ", ")) }")
        return lines.map { indent + $0 }
    }

    private static func list(_ ids: [UInt32]) -> String { "[\(ids.map(String.init).joined(separator: ", "))]" }

    /// A double-quoted YAML scalar (JSON escaping is valid YAML).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

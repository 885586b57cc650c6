/// The `# HELP` line of every metric family the daemon exports. The metrics are made through swift-metrics,
/// whose factory registers them without help text, so the exporter adds these lines to the rendered text,
/// each before its family's `# TYPE` line. The README's metrics table says the same at more length.
enum MetricsHelp {
    /// Help text by metric family name.
    static let texts: [String: String] = [
        "jwksd_requests_total": "Calls answered, by method and final status.",
        "jwksd_key_hits_total": "GetKey calls answered at once from the published keys.",
        "jwksd_kid_misses_total": "GetKey calls for a kid the published keys lack.",
        "jwksd_stale_serves_total": "GetKey, GetKeySet and VerifyJWT answers marked stale.",
        "jwksd_verifications_total":
            "VerifyJWT tokens answered, by tenant, provider (empty before one is chosen) and result (ok or reason).",
        "jwksd_verify_cache_hits_total": "VerifyJWT tokens answered from the verified-token cache.",
        "jwksd_refreshes_total": "Fetches by outcome (200, 304, error); an unchanged file counts as 304.",
        "jwksd_fetch_duration_seconds": "Duration of fetches from identity providers.",
        "jwksd_provider_keys": "Usable keys a provider serves.",
        "jwksd_provider_expiry_seconds": "Seconds until a provider's keys stop being fresh; negative while stale.",
        "jwksd_provider_stale_limit_seconds": "Seconds until a provider's stale keys would be dropped.",
        "jwksd_reloads_total": "Registry reloads (RPC, SIGHUP, file change) by outcome.",
        "jwksd_config_generation": "The registry generation in force.",
        "jwksd_log_lines_dropped_total": "Log lines dropped because standard error was not keeping up.",
        "jwksd_http_requests_total": "HTTP JWKS endpoint requests answered, by status code.",
        "jwksd_http_kid_waits_total":
            "HTTP ?kid= requests that waited for the kid-miss rule (waited) or found every wait taken (over_limit).",
        "jwksd_http_connections_refused_total": "HTTP JWKS endpoint connections closed on arrival (max_connections).",
    ]

    /// `text` (Prometheus exposition format) with a `# HELP` line before each `# TYPE` line of a family
    /// that has help text and no `# HELP` line yet.
    static func annotate(_ text: [UInt8]) -> [UInt8] {
        let typePrefix = Array("# TYPE ".utf8)
        let helpPrefix = Array("# HELP ".utf8)
        var result: [UInt8] = []
        result.reserveCapacity(text.count + texts.count * 80)
        var previousLineIsHelp = false
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: typePrefix), !previousLineIsHelp {
                let name = line.dropFirst(typePrefix.count).prefix { $0 != UInt8(ascii: " ") }
                if let help = texts[String(decoding: name, as: UTF8.self)] {
                    result.append(contentsOf: helpPrefix)
                    result.append(contentsOf: name)
                    result.append(UInt8(ascii: " "))
                    result.append(contentsOf: help.utf8)
                    result.append(UInt8(ascii: "\n"))
                }
            }
            previousLineIsHelp = line.starts(with: helpPrefix)
            result.append(contentsOf: line)
            result.append(UInt8(ascii: "\n"))
        }
        // Every piece got a newline; the last piece had none (or was the empty one after the final newline).
        result.removeLast()
        return result
    }
}

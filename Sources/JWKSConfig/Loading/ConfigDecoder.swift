/// Gives jwksd meaning to a loaded YAML tree: typed values, ranges, defaults and overrides, and the
/// constraints between settings. It records every problem and keeps going, so one run reports them all.
struct ConfigDecoder {
    static let topKeys = ["version", "server", "defaults", "tenants"]
    static let serverKeys = [
        "socket", "socket_mode", "max_frame_bytes", "compress_min_bytes", "max_connections",
        "max_connections_per_uid", "max_watches_per_uid", "max_calls_per_connection", "idle_timeout",
        "max_concurrent_fetches", "snapshot_dir", "metrics", "admin_uids", "event_loop_threads",
        "verify_cache_entries", "verify_cache_bytes", "max_waiting_calls_per_uid", "http",
        "export",
    ]
    static let exportKeys = ["dir", "file_mode", "owner", "group"]
    static let httpKeys = [
        "listen", "socket_mode", "max_connections", "max_header_bytes", "request_timeout", "idle_timeout", "kid_wait",
    ]
    static let policyKeys = [
        "refresh_early", "prefetch_jitter", "min_ttl", "max_ttl", "default_ttl", "stale_while_error",
        "kid_miss_cooldown", "require_https", "allowed_domains", "allow_private_networks", "max_response_bytes",
        "max_redirects", "min_rsa_bits",
        "ca_file", "retry", "verify",
    ]
    static let retryKeys = ["connect_timeout", "attempt_timeout", "initial_backoff", "max_backoff", "jitter"]
    static let verifyKeys = [
        "issuer", "audiences", "algorithms", "leeway", "required_claims", "types", "max_token_bytes",
    ]
    static let tenantKeys = ["allowed_uids", "allowed_gids", "providers"]
    static let sourceKeys = ["jwks_uri", "issuer", "file"]

    private(set) var diagnostics: [ConfigDiagnostic] = []

    // MARK: - Reporting

    mutating func report(_ code: ConfigDiagnostic.Code, _ mark: SourceMark, _ path: String, _ message: String) {
        diagnostics.append(ConfigDiagnostic(code: code, mark: mark, path: path, message: message))
    }

    /// Reads a mapping's keys, reporting unknown ones with a suggestion.
    mutating func fields(of node: YAMLNode, path: String, known: [String]) -> MappingFields? {
        guard case .mapping(let pairs) = node.kind else {
            report(.wrongType, node.mark, path, "expected a mapping, got \(node.typeDescription)")
            return nil
        }
        var entries: [String: YAMLNode.Pair] = [:]
        for pair in pairs {
            guard let name = pair.key.scalarText else { continue }
            guard known.contains(name) else {
                let keyPath = path.isEmpty ? name : "\(path).\(name)"
                if let suggestion = EditDistance.suggestion(for: name, among: known) {
                    report(.unknownKey, pair.key.mark, keyPath, "unknown key (did you mean \"\(suggestion)\"?)")
                } else {
                    let list = known.joined(separator: ", ")
                    report(.unknownKey, pair.key.mark, keyPath, "unknown key (expected one of: \(list))")
                }
                continue
            }
            entries[name] = pair
        }
        return MappingFields(node: node, path: path, entries: entries)
    }

    // MARK: - Scalars

    mutating func duration(
        _ fields: MappingFields, _ key: String, path: String? = nil, minimum: Duration = .zero, maximum: Duration? = nil
    ) -> Duration? {
        guard let pair = fields[key] else { return nil }
        let keyPath = path ?? fields.path(key)
        guard let text = scalar(pair.value, keyPath, expected: "a duration such as 30s") else { return nil }
        let value: Duration
        do {
            value = try DurationText.parse(text)
        } catch {
            let message: String
            switch error {
            case .missingUnit: message = "\"\(text)\" has no unit; write e.g. \(text)s (units: ms, s, m, h, d)"
            case .unknownUnit(let unit): message = "\"\(text)\" has unknown unit \"\(unit)\" (use ms, s, m, h or d)"
            case .tooLarge: message = "\"\(text)\" is longer than 100 years"
            case .empty, .malformed: message = "\"\(text)\" is not a duration like 250ms, 30s, 5m, 24h or 7d"
            }
            report(.invalidDuration, pair.value.mark, keyPath, message)
            return nil
        }
        if value < minimum {
            report(.invalidValue, pair.value.mark, keyPath, "must be at least \(DurationText.format(minimum))")
            return nil
        }
        if let maximum, value > maximum {
            report(.invalidValue, pair.value.mark, keyPath, "must be at most \(DurationText.format(maximum))")
            return nil
        }
        return value
    }

    mutating func integer(_ fields: MappingFields, _ key: String, path: String? = nil, range: ClosedRange<Int>) -> Int?
    {
        guard let pair = fields[key] else { return nil }
        return integer(pair.value, path ?? fields.path(key), range: range)
    }

    mutating func integer(_ node: YAMLNode, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let text, .plain) = node.kind, !node.isNull,
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") || $0 == UInt8(ascii: "-") })
        else {
            report(.wrongType, node.mark, path, "expected an integer, got \(Self.describe(node))")
            return nil
        }
        guard let value = Int(text), range.contains(value) else {
            report(.invalidValue, node.mark, path, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return value
    }

    mutating func boolean(_ fields: MappingFields, _ key: String, path: String? = nil) -> Bool? {
        guard let pair = fields[key] else { return nil }
        let keyPath = path ?? fields.path(key)
        if case .scalar(let text, .plain) = pair.value.kind {
            if ["true", "True", "TRUE"].contains(text) { return true }
            if ["false", "False", "FALSE"].contains(text) { return false }
        }
        report(.wrongType, pair.value.mark, keyPath, "expected true or false, got \(Self.describe(pair.value))")
        return nil
    }

    mutating func string(_ fields: MappingFields, _ key: String, path: String? = nil) -> String? {
        guard let pair = fields[key] else { return nil }
        let keyPath = path ?? fields.path(key)
        guard let text = scalar(pair.value, keyPath, expected: "a string") else { return nil }
        guard !text.isEmpty else {
            report(.invalidValue, pair.value.mark, keyPath, "must not be empty")
            return nil
        }
        // A NUL would cut the string short where it becomes a C string (paths handed to open, bind, stat).
        guard !text.utf8.contains(0) else {
            report(.invalidValue, pair.value.mark, keyPath, "must not contain a NUL character (\\0)")
            return nil
        }
        return text
    }

    mutating func scalar(_ node: YAMLNode, _ path: String, expected: String) -> String? {
        guard case .scalar(let text, _) = node.kind else {
            report(.wrongType, node.mark, path, "expected \(expected), got \(node.typeDescription)")
            return nil
        }
        return text
    }

    mutating func list(_ fields: MappingFields, _ key: String) -> [YAMLNode]? {
        guard let pair = fields[key] else { return nil }
        guard case .sequence(let items) = pair.value.kind else {
            report(.wrongType, pair.value.mark, fields.path(key), "expected a list, got \(pair.value.typeDescription)")
            return nil
        }
        return items
    }

    mutating func ids(_ fields: MappingFields, _ key: String, allowEmpty: Bool) -> [UInt32]? {
        guard let items = list(fields, key) else { return nil }
        if items.isEmpty, !allowEmpty, let pair = fields[key] {
            report(
                .invalidValue, pair.value.mark, fields.path(key),
                "must list at least one id; remove the key to allow every peer")
            return nil
        }
        var ids: [UInt32] = []
        var valid = true
        for (index, item) in items.enumerated() {
            if let value = integer(item, "\(fields.path(key))[\(index)]", range: 0...Int(UInt32.max - 1)) {
                ids.append(UInt32(value))
            } else {
                valid = false
            }
        }
        return valid ? ids : nil
    }

    static func describe(_ node: YAMLNode) -> String {
        switch node.kind {
        case .scalar(let text, .quoted): "the quoted string \"\(text)\""
        case .scalar(let text, .plain): node.isNull ? "null" : "\"\(text)\""
        default: node.typeDescription
        }
    }
}

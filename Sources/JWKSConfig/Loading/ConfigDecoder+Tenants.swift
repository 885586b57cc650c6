extension ConfigDecoder {
    /// The entries of an id-keyed mapping (`tenants`, `providers`), with ids checked.
    mutating func identifiedEntries(_ node: YAMLNode, path: String, kind: String) -> [(id: String, pair: YAMLNode.Pair)]
    {
        guard case .mapping(let pairs) = node.kind else {
            report(.wrongType, node.mark, path, "expected a mapping of \(kind) ids, got \(node.typeDescription)")
            return []
        }
        var entries: [(id: String, pair: YAMLNode.Pair)] = []
        for pair in pairs {
            guard let id = pair.key.scalarText else { continue }
            guard RegistryID.isValid(id) else {
                report(
                    .invalidIdentifier, pair.key.mark, "\(path).\(id)",
                    "invalid \(kind) id; use 1-64 characters from A-Z a-z 0-9 . _ -")
                continue
            }
            entries.append((id, pair))
        }
        return entries
    }

    mutating func decodeTenants(_ node: YAMLNode, defaults: ProviderPolicy) -> [TenantConfig] {
        var tenants: [TenantConfig] = []
        for (id, pair) in identifiedEntries(node, path: "tenants", kind: "tenant") {
            let path = "tenants.\(id)"
            guard let fields = fields(of: pair.value, path: path, known: Self.tenantKeys) else { continue }
            var tenant = TenantConfig(id: id, providers: [])
            tenant.allowedUIDs = ids(fields, "allowed_uids", allowEmpty: false)
            tenant.allowedGIDs = ids(fields, "allowed_gids", allowEmpty: false)
            guard let providersPair = fields["providers"] else {
                report(
                    .missingKey, pair.value.mark, "\(path).providers", "missing; a tenant needs at least one provider")
                continue
            }
            let entries = identifiedEntries(providersPair.value, path: "\(path).providers", kind: "provider")
            if entries.isEmpty, case .mapping(let pairs) = providersPair.value.kind, pairs.isEmpty {
                report(
                    .missingKey, providersPair.value.mark, "\(path).providers", "a tenant needs at least one provider")
            }
            for (providerID, providerPair) in entries {
                if let provider = decodeProvider(
                    providerPair.value, id: providerID, path: "\(path).providers.\(providerID)", defaults: defaults)
                {
                    tenant.providers.append(provider)
                }
            }
            tenants.append(tenant)
        }
        return tenants
    }

    mutating func decodeProvider(_ node: YAMLNode, id: String, path: String, defaults: ProviderPolicy)
        -> ProviderConfig?
    {
        guard let fields = fields(of: node, path: path, known: Self.sourceKeys + Self.policyKeys) else { return nil }
        var marks: [String: SourceMark] = [:]
        let policy = decodePolicy(fields, base: defaults, marks: &marks)
        checkPolicy(policy, marks: marks, path: path)

        let present = Self.sourceKeys.filter { fields.contains($0) }
        guard let sourceKey = present.first else {
            report(.source, node.mark, path, "needs exactly one of jwks_uri, issuer or file; found none")
            return nil
        }
        if present.count > 1, let second = fields[present[1]] {
            report(
                .source, second.key.mark, path,
                "needs exactly one of jwks_uri, issuer or file; found \(present.joined(separator: " and "))")
            return nil
        }
        guard let text = string(fields, sourceKey), let pair = fields[sourceKey] else {
            if !fields.contains(sourceKey) || fields[sourceKey] == nil {
                report(.invalidValue, node.mark, fields.path(sourceKey), "must not be empty")
            }
            return nil
        }
        let source: KeySourceConfig
        switch sourceKey {
        case "file":
            source = .file(text)
        default:
            guard let url = checkedURL(text, mark: pair.value.mark, path: fields.path(sourceKey), policy: policy) else {
                return nil
            }
            source = sourceKey == "issuer" ? .issuer(url) : .jwksURI(url)
        }
        return ProviderConfig(id: id, source: source, policy: policy)
    }

    mutating func checkedURL(_ text: String, mark: SourceMark, path: String, policy: ProviderPolicy) -> HTTPURL? {
        let url: HTTPURL
        do {
            url = try HTTPURL(text)
        } catch {
            report(.invalidValue, mark, path, "\"\(text)\": \(error)")
            return nil
        }
        if policy.requireHTTPS, !url.isHTTPS {
            report(
                .insecureURL, mark, path,
                "http:// is refused while require_https is on (set require_https: false to allow it)")
            return nil
        }
        if !url.isAllowed(by: policy.allowedDomains) {
            report(
                .insecureURL, mark, path,
                "host \"\(url.host)\" is not in allowed_domains (\(policy.allowedDomains.joined(separator: ", ")))")
            return nil
        }
        return url
    }
}

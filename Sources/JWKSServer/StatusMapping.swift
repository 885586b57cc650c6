import JWKSCache
import JWKSWire

/// The one place where engine outcomes become statuses.
enum StatusMapping {
    /// The error for a lookup that found nothing (`found` is handled by the caller).
    static func error<Instant>(for outcome: LookupOutcome<Instant>, tenant: String, provider: String?) -> ServerError {
        let scope = provider.map { "\(tenant)/\($0)" } ?? "tenant \(tenant)"
        switch outcome {
        case .found:
            return ServerError(.internal, "a found key was reported as an error")
        case .unknownProvider(let tenant, let provider):
            if let provider {
                return ServerError(.notFound, "unknown provider \"\(provider)\" in tenant \"\(tenant)\"")
            }
            return ServerError(.notFound, "unknown tenant \"\(tenant)\"")
        case .kidNotFound(let kid):
            return ServerError(.notFound, "kid \"\(kid)\" not found in \(scope)")
        case .unavailable(let key, let failure):
            let cause = failure.map { ": \($0.message)" } ?? ": no keys loaded yet"
            return ServerError(.unavailable, "\(key) has no servable keys\(cause)")
        case .deadlineExceeded:
            return ServerError(.deadlineExceeded, "deadline passed while waiting for \(scope) to refetch")
        }
    }
}

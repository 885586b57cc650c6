import JWKS
import JWKSCache
import JWKSWire

/// The one place where engine outcomes become statuses.
enum StatusMapping {
    /// The error for a lookup that found nothing.
    static func error(for failure: LookupFailure, tenant: String, provider: String?) -> RPCError {
        let scope = provider.map { "\(tenant)/\($0)" } ?? "tenant \(tenant)"
        switch failure {
        case .unknownProvider(let tenant, let provider):
            if let provider { return unknownProvider(provider, tenant: tenant) }
            return unknownTenant(tenant)
        case .kidNotFound(let kid):
            return RPCError(.notFound, "kid \"\(Printable.escaped(kid))\" not found in \(scope)")
        case .unavailable(let key, let failure):
            let cause = failure.map { ": \($0.message)" } ?? ": no keys loaded yet"
            return RPCError(.unavailable, "\(key) has no servable keys\(cause)")
        case .deadlineExceeded:
            return RPCError(.deadlineExceeded, "deadline passed while waiting for \(scope) to refetch")
        }
    }

    /// The NOT_FOUND for a tenant that does not exist or that the peer may not read: the same text for both, so
    /// a peer cannot learn which tenants exist.
    static func unknownTenant(_ id: String) -> RPCError {
        RPCError(.notFound, "unknown tenant \"\(id)\"")
    }

    /// The NOT_FOUND for a provider the tenant does not have.
    static func unknownProvider(_ id: String, tenant: String) -> RPCError {
        RPCError(.notFound, "unknown provider \"\(id)\" in tenant \"\(tenant)\"")
    }
}

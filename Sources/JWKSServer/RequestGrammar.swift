import JWKS
import JWKSConfig
import JWKSWire

/// The grammar every string in a request must match, checked before any other work so that a request's
/// strings can never make the daemon hold more than these bounds (a kid remembered as absent, a Watch
/// filter, a log line). A string that does not match is answered INVALID_ARGUMENT.
enum RequestGrammar {
    /// The longest kid a lookup may name, in UTF-8 bytes (the longest in the corpus of real providers is 64).
    static let maximumKidBytes = 256

    /// A tenant id (required).
    static func tenant(_ id: String, field: String = "tenant") throws(RPCError) {
        guard !id.isEmpty else { throw RPCError(.invalidArgument, "the request needs a \(field)") }
        try identifier(id, field: field)
    }

    /// A provider id; empty is allowed where the method says so.
    static func provider(_ id: String, required: Bool, method: Method) throws(RPCError) {
        if id.isEmpty {
            guard !required else { throw RPCError(.invalidArgument, "\(method) needs a provider") }
            return
        }
        try identifier(id, field: "provider")
    }

    /// The most audiences a VerifyJWT call may name, and the longest one, in UTF-8 bytes.
    static let maximumAudiences = 64
    static let maximumAudienceBytes = 512

    /// A VerifyJWT call's audiences: at most ``maximumAudiences``, each 1 to ``maximumAudienceBytes`` bytes.
    static func audiences(_ audiences: [String]) throws(RPCError) {
        guard audiences.count <= maximumAudiences else {
            throw RPCError(
                .invalidArgument, "\(audiences.count) audiences; a call may name at most \(maximumAudiences)")
        }
        for audience in audiences where audience.isEmpty || audience.utf8.count > maximumAudienceBytes {
            throw RPCError(
                .invalidArgument,
                "an audience must be 1 to \(maximumAudienceBytes) bytes; one is \(audience.utf8.count)")
        }
    }

    /// A kid: 1 to ``maximumKidBytes`` bytes.
    static func kid(_ kid: String) throws(RPCError) {
        guard !kid.isEmpty else { throw RPCError(.invalidArgument, "GetKey needs a kid") }
        guard kid.utf8.count <= maximumKidBytes else {
            throw RPCError(
                .invalidArgument, "kid is \(kid.utf8.count) bytes; the most a lookup may name is \(maximumKidBytes)")
        }
    }

    /// An `alg` filter: empty, or a registered asymmetric JOSE algorithm (RFC 7518, 8037).
    static func alg(_ alg: String) throws(RPCError) {
        guard !alg.isEmpty else { return }
        guard alg.utf8.count <= 32, Algorithm.requirement(of: alg) != nil else {
            throw RPCError(
                .invalidArgument,
                "alg \"\(Printable.quoted(alg, limit: 32))\" is not a registered asymmetric JOSE algorithm")
        }
    }

    /// A Watch provider selector: `tenant/provider`.
    /// - Returns: the tenant and provider ids.
    static func selector(_ text: String) throws(RPCError) -> (tenant: String, provider: String) {
        let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2, RegistryID.isValid(String(parts[0])), RegistryID.isValid(String(parts[1])) else {
            throw RPCError(
                .invalidArgument,
                "provider selector \"\(Printable.quoted(text, limit: 140))\" is not tenant/provider (ids of 1-64 characters from A-Z a-z 0-9 . _ -)"
            )
        }
        return (String(parts[0]), String(parts[1]))
    }

    private static func identifier(_ id: String, field: String) throws(RPCError) {
        guard RegistryID.isValid(id) else {
            throw RPCError(
                .invalidArgument,
                "\(field) \"\(Printable.quoted(id, limit: 64))\" is not an id (1-64 characters from A-Z a-z 0-9 . _ -)")
        }
    }
}

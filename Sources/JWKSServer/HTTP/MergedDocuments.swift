import JWKS
import JWKSCache
import NIOConcurrencyHelpers

/// The tenants' merged documents (`/v1/jwks/{tenant}`), built on the first request after one of the tenant's
/// providers published, then served as prepared bytes until the next publication. Bounded by the tenants of
/// the registry in force: a new registry generation empties it.
final class MergedDocuments: Sendable {
    private struct Merged {
        /// The prepared sets it was built from, in config order (a provider without servable keys: nil).
        var parts: [ObjectIdentifier?]
        var document: PreparedDocument
    }

    private struct State {
        var generation: UInt64 = 0
        var byTenant: [String: Merged] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// The merged document of `tenant` from `parts` (each servable provider's snapshot, nil for the others, in
    /// config order): the one built before when the parts are the same, else a new one (kept for next time).
    func document(tenant: String, generation: UInt64, parts: [ProviderSnapshot?]) -> PreparedDocument {
        let identities = parts.map { $0?.prepared.map(ObjectIdentifier.init) }
        if let merged = state.withLockedValue({ state -> Merged? in
            guard state.generation == generation, let merged = state.byTenant[tenant], merged.parts == identities
            else { return nil }
            return merged
        }) {
            return merged.document
        }
        // Built outside the lock: concurrent first requests may both build; the last one is kept.
        let document = PreparedDocument(keys: parts.flatMap { $0?.record?.keySet.keys ?? [] })
        state.withLockedValue { state in
            if state.generation != generation {
                state.generation = generation
                state.byTenant.removeAll()
            }
            state.byTenant[tenant] = Merged(parts: identities, document: document)
        }
        return document
    }
}

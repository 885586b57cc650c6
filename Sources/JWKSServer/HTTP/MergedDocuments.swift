import JWKS
import JWKSCache
import NIOConcurrencyHelpers

/// The tenants' merged documents (`/v1/jwks/{tenant}`), built on the first request after one of the tenant's
/// providers published, then served as prepared bytes until the next publication. Bounded by the tenants of
/// the registry in force: a new registry generation empties it.
final class MergedDocuments: Sendable {
    private struct Merged {
        /// The prepared sets it was built from, in config order (a provider without servable keys: nil), held
        /// so that none is freed and another allocated at its address while this entry compares against it.
        var parts: [PreparedKeySet?]
        var document: PreparedDocument

        /// Whether it was built from exactly these sets (identity, not equality).
        func isBuilt(from others: [PreparedKeySet?]) -> Bool {
            parts.count == others.count && zip(parts, others).allSatisfy { $0 === $1 }
        }
    }

    private struct State {
        var generation: UInt64 = 0
        var byTenant: [String: Merged] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// The merged document of `tenant` from `parts` (each servable provider's snapshot, nil for the others, in
    /// config order): the one built before when the parts are the same, else a new one (kept for next time).
    func document(tenant: String, generation: UInt64, parts: [ProviderSnapshot?]) -> PreparedDocument {
        let prepared = parts.map { $0?.prepared }
        if let merged = state.withLockedValue({ state -> Merged? in
            guard state.generation == generation, let merged = state.byTenant[tenant], merged.isBuilt(from: prepared)
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
            state.byTenant[tenant] = Merged(parts: prepared, document: document)
        }
        return document
    }
}

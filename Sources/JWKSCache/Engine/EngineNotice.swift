/// What a subscriber that follows the registry as well as the providers receives (Watch streams).
public enum EngineNotice: Sendable, Equatable {
    /// Something happened to a provider.
    case event(EngineEvent)
    /// A reload put a new registry in force (tenants, providers or their access lists may have changed).
    case registryChanged(generation: UInt64)
}

public import Atomics

/// What the socket server's hot path reads of one provider: the prepared attachment and the freshness bounds
/// as ticks (nanoseconds since the engine's epoch on its clock). Not generic over the clock, so a lookup in
/// another module compares two integers instead of instantiating generic metadata.
public final class ReadSnapshot: Sendable, AtomicReference {
    /// How servable the keys are at an instant.
    public enum Standing: Sendable, Equatable {
        /// Before expiry.
        case fresh
        /// Past expiry, within the stale limit.
        case stale
        /// Past the stale limit: not served.
        case expired
    }

    /// What the engine's owner prepared at publication (the server's encoded replies).
    public let attachment: (any AnyObject & Sendable)?
    /// Whether the provider has keys at all.
    public let hasKeys: Bool
    let freshUntil: Int64
    let staleUntil: Int64

    init(attachment: (any AnyObject & Sendable)?, hasKeys: Bool, freshUntil: Int64, staleUntil: Int64) {
        self.attachment = attachment
        self.hasKeys = hasKeys
        self.freshUntil = freshUntil
        self.staleUntil = staleUntil
    }

    /// A provider without keys.
    static let empty = ReadSnapshot(attachment: nil, hasKeys: false, freshUntil: .min, staleUntil: .min)

    /// The keys' standing at `now` (ticks from ``ReadIndex/nowTicks()``), or nil without keys.
    /// The standing at `now` and the tick at which it ends (for `.expired`, never: `Int64.max`), or nil
    /// while there are no keys.
    @inline(__always)
    public func standingUntil(atTicks now: Int64) -> (standing: Standing, until: Int64)? {
        guard hasKeys else { return nil }
        if now < freshUntil { return (.fresh, freshUntil) }
        if now < staleUntil { return (.stale, staleUntil) }
        return (.expired, .max)
    }

    @inline(__always)
    public func standing(atTicks now: Int64) -> Standing? {
        standingUntil(atTicks: now)?.standing
    }
}

/// An instant on the engine's clock: nanoseconds since the clock's origin. It is the one instant type the
/// engine keeps (freshness bounds, deadlines, timers), so the snapshots it publishes and everything that reads
/// them are not generic: a lookup compares two integers.
public struct EngineInstant: InstantProtocol, Hashable, Sendable, CustomStringConvertible {
    public typealias Duration = Swift.Duration

    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    /// An instant `nanoseconds` after the origin.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// An instant `offset` after the origin (clamped to the range of ``nanoseconds``).
    public init(offset: Duration) {
        self.nanoseconds = Self.nanoseconds(of: offset)
    }

    /// The time since the origin.
    public var offset: Duration { .nanoseconds(nanoseconds) }

    /// The clock's origin.
    public static let origin = EngineInstant(nanoseconds: 0)

    /// Moves by `duration`, stopping at the ends of the range (292 years either way) instead of trapping.
    public func advanced(by duration: Duration) -> EngineInstant {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(Self.nanoseconds(of: duration))
        guard !overflow else { return EngineInstant(nanoseconds: duration < .zero ? .min : .max) }
        return EngineInstant(nanoseconds: sum)
    }

    public func duration(to other: EngineInstant) -> Duration {
        .nanoseconds(other.nanoseconds) - .nanoseconds(nanoseconds)
    }

    public static func < (lhs: EngineInstant, rhs: EngineInstant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public var description: String { "t+\(offset)" }

    /// A duration in whole nanoseconds, clamped to `Int64`.
    static func nanoseconds(of duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !overflowAgain else { return seconds < 0 ? .min : .max }
        return total
    }
}

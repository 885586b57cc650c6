import Foundation

/// The wall clock, read only at the edges (HTTP responses, files) and turned into Unix seconds.
enum WallClock {
    /// Seconds since the Unix epoch.
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

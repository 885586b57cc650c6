/// The duration syntax of config files: one or more `<integer><unit>` groups with units `ms`, `s`, `m`,
/// `h`, `d` (`250ms`, `30s`, `5m`, `24h`, `7d`, `1h30m`), or a bare `0`.
public enum DurationText {
    /// Why a duration does not parse.
    public enum ParseError: Error, Sendable, Equatable {
        /// The text is empty.
        case empty
        /// A number without a unit, e.g. `30`.
        case missingUnit(String)
        /// A unit jwksd does not know, e.g. `30sec`.
        case unknownUnit(String)
        /// Anything else that is not `<integer><unit>...`.
        case malformed
        /// More than 100 years.
        case tooLarge
    }

    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]
    private static let maximumMilliseconds: Int64 = 100 * 365 * 86_400_000

    /// Parses a duration.
    /// - Parameter text: the config text.
    /// - Returns: the duration.
    /// - Throws: ``ParseError``.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        guard !text.isEmpty else { throw .empty }
        if text == "0" { return .zero }
        let utf8 = Array(text.utf8)
        var index = 0
        var total: Int64 = 0
        while index < utf8.count {
            let digitsStart = index
            while index < utf8.count, utf8[index] >= UInt8(ascii: "0"), utf8[index] <= UInt8(ascii: "9") {
                index += 1
            }
            guard index > digitsStart, index - digitsStart <= 12 else { throw .malformed }
            let number = Int64(String(decoding: utf8[digitsStart..<index], as: UTF8.self))!
            let unitStart = index
            while index < utf8.count, (utf8[index] | 0x20) >= UInt8(ascii: "a"),
                (utf8[index] | 0x20) <= UInt8(ascii: "z")
            {
                index += 1
            }
            let unit = String(decoding: utf8[unitStart..<index], as: UTF8.self)
            if unit.isEmpty {
                if index == utf8.count { throw .missingUnit(text) }
                throw .malformed
            }
            guard let scale = units.first(where: { $0.suffix == unit })?.milliseconds else {
                throw .unknownUnit(unit)
            }
            let (product, overflow) = number.multipliedReportingOverflow(by: scale)
            guard !overflow else { throw .tooLarge }
            total += product
            guard total <= maximumMilliseconds else { throw .tooLarge }
        }
        return .milliseconds(total)
    }

    /// Formats a duration in the largest unit that divides it (`24h`, `90m`, `1500ms`); days are used
    /// from two days up so a day reads as `24h`.
    /// - Parameter duration: a non-negative duration.
    /// - Returns: text that ``parse(_:)`` reads back to the same duration.
    public static func format(_ duration: Duration) -> String {
        let milliseconds = milliseconds(of: duration)
        if milliseconds == 0 { return "0s" }
        if milliseconds % 86_400_000 == 0, milliseconds >= 2 * 86_400_000 { return "\(milliseconds / 86_400_000)d" }
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000)s" }
        return "\(milliseconds)ms"
    }

    /// Whole milliseconds in a duration (sub-millisecond parts are dropped).
    public static func milliseconds(of duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Text from outside (a provider's document or headers, a peer's request) made safe to put in a log line, an
/// error message or a status field: control characters are escaped, so content can never start a new log
/// line, move a terminal's cursor or hide what follows.
public enum Printable {
    /// `text` with every control character (C0, DEL, C1, the Unicode line and paragraph separators and the
    /// bidirectional overrides) written as `\n`, `\r`, `\t` or `\u{XX}`; other characters unchanged.
    /// - Parameter text: the text.
    /// - Returns: the escaped text (the same string when nothing needed escaping).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return result
    }

    /// ``escaped(_:)``, cut to at most `limit` characters (with `…` when cut): for echoing a peer's string in
    /// an error message without echoing all of it.
    /// - Parameters:
    ///   - text: the text.
    ///   - limit: the most characters kept.
    /// - Returns: the escaped, possibly shortened text.
    public static func quoted(_ text: String, limit: Int) -> String {
        let head =
            text.unicodeScalars.count > limit
            ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit))) + "…" : text
        return escaped(head)
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x2028, 0x2029: true
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}

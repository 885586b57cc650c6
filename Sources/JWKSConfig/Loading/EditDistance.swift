/// Suggests the known key closest to a mistyped one.
enum EditDistance {
    /// The Levenshtein distance between two strings.
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The closest candidate within a distance that still reads as a typo: 1 for short names, 2 from
    /// five characters, 3 from twelve.
    /// - Parameters:
    ///   - name: the unknown key.
    ///   - candidates: the keys allowed at that place.
    /// - Returns: the suggestion, or `nil` when nothing is close.
    static func suggestion(for name: String, among candidates: [String]) -> String? {
        let limit = name.count >= 12 ? 3 : (name.count >= 5 ? 2 : 1)
        let lowered = name.lowercased()
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = between(lowered, candidate)
            if distance <= limit, distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        return best?.candidate
    }
}

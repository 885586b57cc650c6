/// The grammar of tenant and provider ids: 1-64 characters from `A-Z a-z 0-9 . _ -`.
public enum RegistryID {
    /// The longest id, in bytes.
    public static let maximumBytes = 64

    /// Whether `id` is a valid tenant or provider id.
    /// - Parameter id: the text.
    /// - Returns: `true` for 1-64 characters from `A-Z a-z 0-9 . _ -`.
    public static func isValid(_ id: String) -> Bool {
        (1...maximumBytes).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }
}

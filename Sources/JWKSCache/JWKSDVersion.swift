/// The jwksd version, shown by `jwksd --version` and sent in the `User-Agent` of every fetch.
public enum JWKSDVersion {
    /// The version number.
    public static let current = "0.1.0"
    /// The `User-Agent` header value: `jwksd/VERSION`.
    public static var userAgent: String { "jwksd/\(current)" }
}

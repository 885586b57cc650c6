/// The version jwksd reports (CLI `--version`, and later the HTTP `User-Agent`).
enum JWKSDVersion {
    static let current = "0.1.0"
}

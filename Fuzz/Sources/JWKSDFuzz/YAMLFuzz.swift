import JWKSConfig

/// Registry YAML: any text loads or is refused with diagnostics; a registry that loads renders to YAML that
/// loads back to the same registry.
enum YAMLFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let config = try? ConfigLoader.load(text: text, baseDirectory: "/fuzz") else { return }
        let rendered = ConfigRenderer.render(config)
        guard let again = try? ConfigLoader.load(text: rendered, baseDirectory: "/fuzz") else {
            fuzzFailure("a loaded registry renders to YAML that does not load:\n\(rendered)")
        }
        guard again == config else { fuzzFailure("a registry changes through render and load:\n\(rendered)") }
    }
}

/// The known entries of one mapping in the file, after unknown keys have been reported.
struct MappingFields {
    /// The mapping node.
    let node: YAMLNode
    /// Its key path.
    let path: String
    /// Known keys present, by name.
    private let entries: [String: YAMLNode.Pair]

    init(node: YAMLNode, path: String, entries: [String: YAMLNode.Pair]) {
        self.node = node
        self.path = path
        self.entries = entries
    }

    /// The entry for `key`, unless it is absent or an explicit null.
    subscript(key: String) -> YAMLNode.Pair? {
        guard let pair = entries[key], !pair.value.isNull else { return nil }
        return pair
    }

    /// Whether the key is written at all (even as null).
    func contains(_ key: String) -> Bool { entries[key] != nil }

    /// The path of a child key.
    func path(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

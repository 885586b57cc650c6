/// A position in a YAML file, 1-based.
public struct SourceMark: Sendable, Equatable, Comparable, CustomStringConvertible {
    /// 1-based line.
    public var line: Int
    /// 1-based column, in characters.
    public var column: Int

    /// Creates a mark.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: SourceMark, rhs: SourceMark) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// A node of a loaded YAML document: aliases are resolved and merge keys (`<<`) applied.
public struct YAMLNode: Sendable, Equatable {
    /// How a scalar was written; a quoted scalar is always a string.
    public enum ScalarStyle: Sendable, Equatable {
        /// Written bare, so it may mean a number, boolean or null.
        case plain
        /// Written in quotes or as a block scalar.
        case quoted
    }

    /// One `key: value` pair of a mapping.
    public struct Pair: Sendable, Equatable {
        /// The key node (a scalar in every valid jwksd config).
        public var key: YAMLNode
        /// The value node.
        public var value: YAMLNode
    }

    /// The node's content.
    public enum Kind: Sendable, Equatable {
        /// A scalar with its text.
        case scalar(String, ScalarStyle)
        /// A sequence.
        case sequence([YAMLNode])
        /// A mapping in document order, duplicates already reported and removed.
        case mapping([Pair])
    }

    /// The content.
    public var kind: Kind
    /// Where the node starts.
    public var mark: SourceMark
    /// The number of nodes in this subtree, counting alias expansions.
    public var weight: Int

    /// Whether this is a plain `null`, `~`, `Null`, `NULL` or an empty plain scalar.
    public var isNull: Bool {
        if case .scalar(let text, .plain) = kind { return ["", "~", "null", "Null", "NULL"].contains(text) }
        return false
    }

    /// The scalar text, if this is a scalar.
    public var scalarText: String? {
        if case .scalar(let text, _) = kind { return text }
        return nil
    }

    /// A short name of the node's type for error messages.
    public var typeDescription: String {
        switch kind {
        case .scalar: isNull ? "null" : "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}

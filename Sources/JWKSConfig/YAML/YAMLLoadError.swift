/// A problem found while reading YAML, before any jwksd meaning is given to it.
public struct YAMLProblem: Sendable, Equatable {
    /// What kind of problem.
    public enum Code: String, Sendable, Equatable {
        /// libyaml could not parse the text.
        case syntax
        /// The bytes are not UTF-8.
        case encoding
        /// A tab in indentation.
        case tab
        /// More than one document in the stream.
        case multipleDocuments
        /// No document at all.
        case emptyDocument
        /// A key appears twice in one mapping.
        case duplicateKey
        /// Aliases expand past the limit (a "billion laughs" document).
        case aliasLimit
        /// An alias names an anchor that was never defined, or a merge key is misused.
        case badAlias
        /// Mapping keys must be scalars.
        case complexKey
        /// The document nests deeper than the limit.
        case depthLimit
    }

    /// What kind of problem.
    public var code: Code
    /// Where.
    public var mark: SourceMark
    /// The key path of the node concerned (`tenants.acme`), empty at the top or when unknown.
    public var path: String = ""
    /// What is wrong, for people.
    public var message: String
}

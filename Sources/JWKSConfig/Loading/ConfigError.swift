/// A config file that cannot be used, with every problem found in it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file name as given (or `<string>` for text).
    public var file: String
    /// Every problem, sorted by position.
    public var diagnostics: [ConfigDiagnostic]

    /// Creates an error.
    public init(file: String, diagnostics: [ConfigDiagnostic]) {
        self.file = file
        self.diagnostics = diagnostics
    }

    /// One line per problem, `FILE:LINE:COL: path: message`.
    public var lines: [String] { diagnostics.map { $0.formatted(file: file) } }

    public var description: String { lines.joined(separator: "\n") }
}

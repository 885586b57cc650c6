/// Why a document is not valid JSON, and where.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The byte offset of the problem.
    public var offset: Int
    /// 1-based line of the problem.
    public var line: Int
    /// 1-based column (in bytes) of the problem.
    public var column: Int
    /// What is wrong, e.g. `expected ',' or '}' after an object member`.
    public var reason: String

    public var description: String { "invalid JSON at \(line):\(column): \(reason)" }
}

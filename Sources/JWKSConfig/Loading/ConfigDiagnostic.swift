/// One problem in a config file, with where it is and which key it concerns.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem, for tests and tooling; the message is for people.
    public enum Code: String, Sendable, Equatable {
        /// The YAML itself could not be read (syntax, encoding, tabs, several documents, alias bomb).
        case yaml
        /// A key appears twice in one mapping.
        case duplicateKey
        /// A key jwksd does not know.
        case unknownKey
        /// A required key is missing.
        case missingKey
        /// A value of the wrong type (a list where a mapping belongs, text where a number belongs).
        case wrongType
        /// A duration that does not parse.
        case invalidDuration
        /// A value out of its allowed range or otherwise invalid (ports, modes, URLs).
        case invalidValue
        /// Two settings that contradict each other (`min_ttl > max_ttl`).
        case constraint
        /// A tenant or provider id outside `[A-Za-z0-9._-]{1,64}`.
        case invalidIdentifier
        /// A provider with no source or several.
        case source
        /// An `http://` URL while `require_https` is on, or a host outside `allowed_domains`.
        case insecureURL
    }

    /// The kind of problem.
    public var code: Code
    /// Where in the file.
    public var mark: SourceMark
    /// The key path, e.g. `tenants.acme.providers.auth0.min_ttl`; empty for whole-file problems.
    public var path: String
    /// What is wrong.
    public var message: String

    /// Creates a diagnostic.
    public init(code: Code, mark: SourceMark, path: String, message: String) {
        self.code = code
        self.mark = mark
        self.path = path
        self.message = message
    }

    /// The diagnostic as `LINE:COL: path: message` (without the file name).
    public var description: String {
        path.isEmpty ? "\(mark): \(message)" : "\(mark): \(path): \(message)"
    }

    /// The diagnostic as `FILE:LINE:COL: path: message`.
    /// - Parameter file: the file name to show.
    /// - Returns: one line of `jwksd check` output.
    public func formatted(file: String) -> String { "\(file):\(description)" }
}

/// Why a whole document yields no key set. Single bad keys are never this: they are ``DroppedKey``s.
public struct JWKSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Equatable {
        /// The bytes are not valid JSON.
        case invalidJSON = "invalid_json"
        /// Valid JSON, but not a JWK Set (no `keys` array).
        case notAJWKSet = "not_a_jwk_set"
        /// A JWK Set in which no key is usable (empty, or every key dropped).
        case noUsableKeys = "no_usable_keys"
    }

    /// The kind of failure.
    public var code: Code
    /// What is wrong, for people.
    public var message: String
    /// Keys dropped on the way, when the set had any.
    public var dropped: [DroppedKey]

    /// Creates an error.
    public init(code: Code, message: String, dropped: [DroppedKey] = []) {
        self.code = code
        self.message = message
        self.dropped = dropped
    }

    public var description: String { message }
}

public import JWKSWire

/// A failed call as the client sees it: the status the server sent (or the client decided on) and why.
public struct JWKSClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status.
    public var code: StatusCode
    /// What happened.
    public var message: String

    /// Creates an error.
    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `STATUS_NAME: message`, as the CLI prints it.
    public var description: String { "\(code.name): \(message)" }
}

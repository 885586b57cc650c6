/// A failed call, the same value on both sides of the socket: the status the server sends (or the client
/// decides on, say when the connection drops) and a message that says what, where and why. A non-OK RESPONSE
/// carries exactly these two: the status in the frame's code byte, the message as its UTF-8 payload.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status; never OK.
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

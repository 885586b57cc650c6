/// A misbehaviour the dev issuer can be told to show on a path.
public enum DevFault: Sendable, Equatable {
    /// Answer with this status (and `Retry-After` when given) and a short body.
    case status(Int, retryAfter: Int? = nil)
    /// Wait this long, then answer normally.
    case delay(Duration)
    /// Close the connection without answering.
    case reset
    /// Announce the full length, send half the body, close.
    case truncated
    /// Send the head at once, then the body one byte every `every` (a provider that stalls a fetch).
    case drip(every: Duration)
    /// A body of this many bytes; `announced` sends `Content-Length`, otherwise it is streamed chunked.
    case oversized(bytes: Int, announced: Bool)
    /// A body that is not JSON.
    case invalidJSON
    /// The normal JWKS plus one malformed key.
    case oneBadKey
    /// A JWKS whose only key carries private material.
    case noUsableKeys
    /// Redirect (302) to this URL.
    case redirect(to: String)
    /// A discovery document whose issuer is not the one asked for.
    case issuerMismatch
}

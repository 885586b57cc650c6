/// The status of a call, with gRPC numbering. Each error in jwksd maps to exactly one of these.
public enum StatusCode: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Success.
    case ok = 0
    /// The call was cancelled (CANCEL frame, or the connection is going away).
    case cancelled = 1
    /// A status this version does not know (only ever produced when decoding).
    case unknown = 2
    /// The request is malformed: a payload that does not decode, a missing field.
    case invalidArgument = 3
    /// The caller's deadline passed while waiting for a fetch.
    case deadlineExceeded = 4
    /// Unknown tenant or provider, or a kid absent after the kid-miss rule.
    case notFound = 5
    /// The peer's uid/gid may not call this method or read this tenant.
    case permissionDenied = 7
    /// A limit was hit: frame size, calls in flight, connections, a zlib bomb.
    case resourceExhausted = 8
    /// The request cannot be served in the current state (for example an unsupported protocol version).
    case failedPrecondition = 9
    /// Unknown method.
    case unimplemented = 12
    /// A bug in jwksd.
    case `internal` = 13
    /// The provider has no servable keys (never loaded, or past its stale limit), or the daemon is shutting down.
    case unavailable = 14
    /// A token did not verify (VerifyJWT); the text is `REASON: detail`.
    case unauthenticated = 16

    /// Decodes a status byte; unknown values become ``unknown``.
    public init(wireValue: UInt8) {
        self = StatusCode(rawValue: wireValue) ?? .unknown
    }

    /// The gRPC name, e.g. `NOT_FOUND`.
    public var name: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }

    public var description: String { name }
}

/// The kind byte of a frame.
public enum FrameKind: UInt8, Sendable, Hashable, CaseIterable {
    /// Starts a call (client → server); `code` is the method.
    case request = 1
    /// Ends a call (server → client); `code` is the status.
    case response = 2
    /// One item of a server stream (server → client).
    case message = 3
    /// Ends a call early (client → server); `code` is the method of the call.
    case cancel = 4
    /// The sender is closing the connection; `code` is the status, the payload the reason.
    case goaway = 5
    /// Liveness check; the receiver answers PONG with the same call id and payload.
    case ping = 6
    /// The answer to PING.
    case pong = 7
}

/// The flags byte of a frame.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The payload is a zlib stream (RFC 1950).
    public static let compressed = FrameFlags(rawValue: 1 << 0)
    /// In a REQUEST: the client takes compressed replies.
    public static let acceptCompressed = FrameFlags(rawValue: 1 << 1)
    /// Every bit this version defines; any other bit makes the frame malformed.
    public static let all: FrameFlags = [.compressed, .acceptCompressed]
}

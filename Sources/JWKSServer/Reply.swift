public import JWKSCache
public import JWKSWire
public import NIOCore

/// What the server sends to end a unary call.
public struct Reply: Sendable {
    /// The status.
    public var status: StatusCode
    /// The payload: the method's response message, or UTF-8 error text.
    public var payload: ByteBuffer
    /// A prebuilt compressed form of `payload`, when there is one.
    public var compressed: ByteBuffer?

    /// A successful reply.
    public static func ok(_ payload: ByteBuffer, compressed: ByteBuffer? = nil) -> Reply {
        Reply(status: .ok, payload: payload, compressed: compressed)
    }

    /// A successful reply prepared at publication (with its compressed form when it has one).
    public static func ok(_ prepared: PreparedKeySet.Reply) -> Reply {
        Reply(status: .ok, payload: prepared.payload, compressed: prepared.compressed)
    }

    /// An error reply.
    public static func error(_ error: RPCError) -> Reply {
        Reply(status: error.code, payload: ByteBuffer(string: error.message), compressed: nil)
    }
}

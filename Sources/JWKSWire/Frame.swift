public import NIOCore

/// One frame of the jwksd protocol (header fields and payload).
///
/// ```
/// offset size field
///  0     4    length   u32: bytes after this field (8 + payload)
///  4     1    version  u8 = 1
///  5     1    kind     u8
///  6     1    flags    u8
///  7     1    code     u8: method (REQUEST/CANCEL) or status (RESPONSE/GOAWAY)
///  8     4    call id  u32
/// 12     ...  payload
/// ```
public struct Frame: Sendable, Equatable {
    /// The protocol version this code speaks.
    public static let version: UInt8 = 1
    /// Bytes of the header after the length field.
    public static let headerBytesAfterLength = 8
    /// Bytes of the whole header.
    public static let headerBytes = 12

    /// The kind.
    public var kind: FrameKind
    /// The flags.
    public var flags: FrameFlags
    /// The method (REQUEST, CANCEL) or status (RESPONSE, GOAWAY); 0 otherwise.
    public var code: UInt8
    /// The call id; 0 for connection-level frames.
    public var callID: UInt32
    /// The payload.
    public var payload: ByteBuffer

    /// Creates a frame.
    public init(kind: FrameKind, flags: FrameFlags = [], code: UInt8 = 0, callID: UInt32, payload: ByteBuffer) {
        self.kind = kind
        self.flags = flags
        self.code = code
        self.callID = callID
        self.payload = payload
    }

    /// A REQUEST for `method`.
    public static func request(_ method: Method, callID: UInt32, payload: ByteBuffer, flags: FrameFlags = []) -> Frame {
        Frame(kind: .request, flags: flags, code: method.rawValue, callID: callID, payload: payload)
    }

    /// A RESPONSE with `status`.
    public static func response(_ status: StatusCode, callID: UInt32, payload: ByteBuffer, flags: FrameFlags = [])
        -> Frame
    {
        Frame(kind: .response, flags: flags, code: status.rawValue, callID: callID, payload: payload)
    }

    /// A RESPONSE with a non-OK status and UTF-8 error text.
    public static func error(_ status: StatusCode, callID: UInt32, message: String) -> Frame {
        Frame(kind: .response, code: status.rawValue, callID: callID, payload: ByteBuffer(string: message))
    }

    /// A GOAWAY with `status` and a reason.
    public static func goaway(_ status: StatusCode, reason: String) -> Frame {
        Frame(kind: .goaway, code: status.rawValue, callID: 0, payload: ByteBuffer(string: reason))
    }

    /// The method of a REQUEST or CANCEL, if known.
    public var method: Method? { Method(rawValue: code) }

    /// The status of a RESPONSE or GOAWAY.
    public var status: StatusCode { StatusCode(wireValue: code) }

    /// The payload as UTF-8 text (error messages, GOAWAY reasons).
    public var text: String { String(buffer: payload) }
}

extension ByteBuffer {
    /// Writes a frame: header then payload.
    /// - Parameter frame: the frame.
    /// - Returns: the bytes written.
    @discardableResult
    public mutating func writeFrame(_ frame: Frame) -> Int {
        writeFrameHeader(frame) + writeImmutableBuffer(frame.payload)
    }

    /// Writes only the 12-byte header of `frame` (its length field counts the payload), for senders that
    /// write the payload as a buffer of its own (no copy of a large prebuilt payload).
    /// - Returns: the bytes written (12).
    @discardableResult
    public mutating func writeFrameHeader(_ frame: Frame) -> Int {
        let length = UInt32(Frame.headerBytesAfterLength + frame.payload.readableBytes)
        // One bounds check and one write for the 12 bytes, big-endian like writeInteger.
        return writeWithUnsafeMutableBytes(minimumWritableBytes: Frame.headerBytes) { bytes in
            bytes.storeBytes(of: length.bigEndian, toByteOffset: 0, as: UInt32.self)
            bytes[4] = Frame.version
            bytes[5] = frame.kind.rawValue
            bytes[6] = frame.flags.rawValue
            bytes[7] = frame.code
            bytes.storeBytes(of: frame.callID.bigEndian, toByteOffset: 8, as: UInt32.self)
            return Frame.headerBytes
        }
    }
}

public import NIOCore

/// Splits bytes into ``Frame``s. A bad `length` is rejected as soon as its 4 bytes arrive, and a bad
/// version, kind or flags byte as soon as the header is complete, before waiting for any payload.
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// The largest payload accepted (`max_frame_bytes`).
    public let maximumPayloadBytes: Int

    /// Creates a decoder.
    /// - Parameter maximumPayloadBytes: the largest payload accepted.
    public init(maximumPayloadBytes: Int) {
        self.maximumPayloadBytes = maximumPayloadBytes
    }

    public mutating func decode(buffer: inout ByteBuffer) throws(FrameError) -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= UInt32(Frame.headerBytesAfterLength) else {
            throw FrameError(code: .lengthTooSmall, reason: "frame length \(length) is under the 8-byte header")
        }
        guard length <= UInt32(maximumPayloadBytes + Frame.headerBytesAfterLength) else {
            throw FrameError(
                code: .lengthTooLarge,
                reason: "frame length \(length) exceeds max_frame_bytes (\(maximumPayloadBytes)) + 8")
        }
        guard buffer.readableBytes >= 8 else { return nil }
        let base = buffer.readerIndex
        let version = buffer.getInteger(at: base + 4, as: UInt8.self)!
        let kindByte = buffer.getInteger(at: base + 5, as: UInt8.self)!
        let flagsByte = buffer.getInteger(at: base + 6, as: UInt8.self)!
        guard version == Frame.version else {
            throw FrameError(
                code: .badVersion, reason: "protocol version \(version) is not supported (this server speaks 1)")
        }
        guard let kind = FrameKind(rawValue: kindByte) else {
            throw FrameError(code: .badKind, reason: "frame kind \(kindByte) is not defined")
        }
        let flags = FrameFlags(rawValue: flagsByte)
        guard FrameFlags.all.isSuperset(of: flags) else {
            throw FrameError(code: .badFlags, reason: "flags 0x\(String(flagsByte, radix: 16)) set undefined bits")
        }
        let total = 4 + Int(length)
        guard buffer.readableBytes >= total else { return nil }
        let code = buffer.getInteger(at: base + 7, as: UInt8.self)!
        let callID = buffer.getInteger(at: base + 8, as: UInt32.self)!
        let payload = buffer.getSlice(at: base + Frame.headerBytes, length: total - Frame.headerBytes)!
        buffer.moveReaderIndex(forwardBy: total)
        return Frame(kind: kind, flags: flags, code: code, callID: callID, payload: payload)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> Frame? {
        try decode(buffer: &buffer)
    }
}

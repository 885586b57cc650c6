import CompressNIO
public import NIOCore

/// zlib (RFC 1950) for payloads, through compress-nio and Debian's zlib.
public enum WireCompression {
    /// Compresses a payload.
    /// - Parameter payload: the bytes.
    /// - Returns: a zlib stream.
    public static func compress(_ payload: ByteBuffer) -> ByteBuffer {
        var input = payload
        // compress-nio sizes its output buffer from deflateBound, so this cannot overflow.
        return (try? input.compress(with: .zlib())) ?? payload
    }

    /// Inflates a zlib payload, refusing to grow past `limit` bytes. The payload must be exactly one complete
    /// zlib stream: an empty payload, a stream cut short (no end-of-stream block or Adler-32 trailer), and
    /// bytes after the stream's end are all refused.
    /// - Parameters:
    ///   - payload: a zlib stream.
    ///   - limit: the most bytes the result may have.
    /// - Returns: the inflated bytes.
    /// - Throws: ``FrameError`` `.decompressedTooLarge` past the limit (a zlib bomb), `.badCompression`
    ///   for anything that is not exactly one complete zlib stream.
    public static func decompress(_ payload: ByteBuffer, limit: Int) throws(FrameError) -> ByteBuffer {
        guard payload.readableBytes > 0 else {
            throw FrameError(code: .badCompression, reason: "compressed payload is empty (not a zlib stream)")
        }
        var input = payload
        let inflated: ByteBuffer
        do {
            let decompressor = try ZlibDecompressor(algorithm: .zlib)
            inflated = try input.decompressStream(with: decompressor, maxSize: limit)
            guard input.readableBytes == 0 else {
                throw FrameError(
                    code: .badCompression,
                    reason: "compressed payload has \(input.readableBytes) bytes after the end of its zlib stream")
            }
            guard try hasEnded(decompressor) else {
                throw FrameError(
                    code: .badCompression, reason: "compressed payload is truncated (the zlib stream does not end)")
            }
        } catch let error as FrameError {
            throw error
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw FrameError(code: .decompressedTooLarge, reason: "compressed payload inflates past \(limit) bytes")
        } catch {
            throw FrameError(code: .badCompression, reason: "compressed payload is not a zlib stream (\(error))")
        }
        return inflated
    }

    /// Whether the decompressor reached the end of its stream. After the end, inflate consumes no more input
    /// (zlib's DONE state answers Z_STREAM_END at once); before it, the probe byte is consumed or rejected.
    private static func hasEnded(_ decompressor: ZlibDecompressor) throws -> Bool {
        var probe = ByteBuffer(bytes: [0])
        var sink = ByteBuffer()
        sink.reserveCapacity(16)
        do {
            try decompressor.inflate(from: &probe, to: &sink)
        } catch {
            return false
        }
        return probe.readableBytes == 1 && sink.readableBytes == 0
    }
}

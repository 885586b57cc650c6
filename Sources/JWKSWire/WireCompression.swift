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

    /// Inflates a zlib payload, refusing to grow past `limit` bytes.
    /// - Parameters:
    ///   - payload: a zlib stream.
    ///   - limit: the most bytes the result may have.
    /// - Returns: the inflated bytes.
    /// - Throws: ``FrameError`` `.decompressedTooLarge` past the limit (a zlib bomb), `.badCompression`
    ///   for anything that is not a complete zlib stream.
    public static func decompress(_ payload: ByteBuffer, limit: Int) throws(FrameError) -> ByteBuffer {
        var input = payload
        do {
            return try input.decompress(with: .zlib(), maxSize: limit)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw FrameError(code: .decompressedTooLarge, reason: "compressed payload inflates past \(limit) bytes")
        } catch {
            throw FrameError(code: .badCompression, reason: "compressed payload is not a zlib stream (\(error))")
        }
    }
}

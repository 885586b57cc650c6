import CompressNIO
import Crypto
public import JWKS
public import NIOCore

/// A JWK Set document as the HTTP endpoint and the file export serve it, built once when a set is published:
/// `{"keys":[…]}` with the usable keys' JSON exactly as the provider served each (keys jwksd dropped, such as
/// ones carrying private material, are left out), its gzip form (zlib's gzip wrapper), and a strong ETag
/// derived from the bytes, so identical documents have identical ETags and any change changes it.
public struct PreparedDocument: Sendable {
    /// The document's bytes.
    public let body: ByteBuffer
    /// `body` gzip-compressed (RFC 1952).
    public let gzip: ByteBuffer
    /// The strong entity tag of `body`, quoted (`"…"`); the gzip form's is ``gzipETag``.
    public let etag: String
    /// The strong entity tag of the gzip form: a different representation has a different tag (RFC 9110 §8.8.3).
    public var gzipETag: String { String(etag.dropLast()) + "-gz\"" }

    /// Builds the document of `keys`, in the order given.
    public init(keys: [JWK]) {
        var size = 11
        for key in keys { size += key.json.count + 1 }
        var body = ByteBuffer()
        body.reserveCapacity(size)
        body.writeString(#"{"keys":["#)
        for (index, key) in keys.enumerated() {
            if index > 0 { body.writeInteger(UInt8(ascii: ",")) }
            body.writeBytes(key.json)
        }
        body.writeString("]}")
        self.body = body
        var input = body
        // compress-nio sizes its output from deflateBound, so this cannot overflow.
        self.gzip = (try? input.compress(with: .gzip())) ?? body
        let digest = body.withUnsafeReadableBytes { SHA256.hash(data: $0) }
        let hex = Array("0123456789abcdef".utf8)
        var tag: [UInt8] = [UInt8(ascii: "\"")]
        for byte in digest.prefix(16) {
            tag.append(hex[Int(byte >> 4)])
            tag.append(hex[Int(byte & 0x0F)])
        }
        tag.append(UInt8(ascii: "\""))
        self.etag = String(decoding: tag, as: UTF8.self)
    }
}

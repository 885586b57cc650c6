import JWKSWire
import NIOCore
import Testing

@Suite("zlib payloads")
struct WireCompressionTests {
    static let text = ByteBuffer(string: String(repeating: "{\"kid\":\"k\",\"kty\":\"EC\"}", count: 40))

    @Test("a complete stream inflates to the original bytes")
    func roundTrip() throws {
        let compressed = WireCompression.compress(Self.text)
        #expect(try WireCompression.decompress(compressed, limit: 1 << 20) == Self.text)
    }

    @Test(
        "an empty payload, a truncated stream and bytes after the stream's end are refused",
        arguments: ["empty", "header only", "truncated by one byte", "no Adler-32 trailer", "trailing garbage"])
    func refused(_ name: String) throws {
        let compressed = Array(buffer: WireCompression.compress(Self.text))
        let bytes: [UInt8]
        switch name {
        case "empty": bytes = []
        case "header only": bytes = Array(compressed.prefix(2))
        case "truncated by one byte": bytes = Array(compressed.dropLast())
        case "no Adler-32 trailer": bytes = Array(compressed.dropLast(4))
        default: bytes = compressed + [0x00, 0x41, 0x42]
        }
        #expect {
            _ = try WireCompression.decompress(ByteBuffer(bytes: bytes), limit: 1 << 20)
        } throws: { error in
            (error as? FrameError)?.code == .badCompression
        }
    }

    @Test("a stream that inflates past the limit is refused as too large")
    func bomb() {
        let bomb = WireCompression.compress(ByteBuffer(repeating: 0, count: 1 << 20))
        #expect {
            _ = try WireCompression.decompress(bomb, limit: 4_096)
        } throws: { error in
            (error as? FrameError)?.code == .decompressedTooLarge
        }
    }
}

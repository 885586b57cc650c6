import NIOCore
import NIOTestUtils
import Testing

@testable import JWKSWire

@Suite("Frame decoder")
struct FrameDecoderTests {
    func bytes(_ frame: Frame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        return buffer
    }

    @Test("frames decode whole, byte by byte and in batches (ByteToMessageDecoderVerifier)")
    func verifier() throws {
        let frames = [
            Frame.request(.getKey, callID: 1, payload: ByteBuffer(string: "abc")),
            Frame.response(.ok, callID: 1, payload: ByteBuffer(), flags: []),
            Frame(kind: .ping, callID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])),
            Frame.goaway(.resourceExhausted, reason: "too many"),
            Frame.request(
                .getKeySet, callID: UInt32.max, payload: ByteBuffer(repeating: 7, count: 1000), flags: .acceptCompressed
            ),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: frames.map { (bytes($0), [$0]) },
            decoderFactory: { FrameDecoder(maximumPayloadBytes: 4096) })
    }

    func decode(_ raw: [UInt8], max: Int = 1024) throws -> Frame? {
        var decoder = FrameDecoder(maximumPayloadBytes: max)
        var buffer = ByteBuffer(bytes: raw)
        return try decoder.decode(buffer: &buffer)
    }

    @Test(
        "bad headers are rejected with a specific status before the payload arrives",
        arguments: [
            ([0, 0, 0, 0], FrameError.Code.lengthTooSmall, StatusCode.invalidArgument),
            ([0, 0, 0, 7], .lengthTooSmall, .invalidArgument),
            ([0xFF, 0xFF, 0xFF, 0xFF], .lengthTooLarge, .resourceExhausted),
            ([0, 0, 4, 9], .lengthTooLarge, .resourceExhausted),
            ([0, 0, 0, 8, 2, 1, 0, 1], .badVersion, .failedPrecondition),
            ([0, 0, 0, 8, 1, 0, 0, 1], .badKind, .invalidArgument),
            ([0, 0, 0, 8, 1, 8, 0, 1], .badKind, .invalidArgument),
            ([0, 0, 0, 8, 1, 1, 4, 1], .badFlags, .invalidArgument),
            ([0, 0, 0, 8, 1, 1, 0x80, 1], .badFlags, .invalidArgument),
        ] as [([UInt8], FrameError.Code, StatusCode)])
    func badHeaders(_ raw: [UInt8], _ code: FrameError.Code, _ status: StatusCode) {
        #expect {
            _ = try decode(raw)
        } throws: { error in
            guard let error = error as? FrameError else { return false }
            return error.code == code && error.status == status
        }
    }

    @Test("a partial frame waits for more bytes")
    func partial() throws {
        #expect(try decode([0, 0]) == nil)
        #expect(try decode([0, 0, 0, 12, 1, 1, 0, 1, 0, 0, 0, 5]) == nil)
        let frame = try #require(try decode([0, 0, 0, 9, 1, 1, 2, 1, 0, 0, 0, 5, 0x41]))
        #expect(
            frame.kind == .request && frame.flags == .acceptCompressed && frame.method == .getKey && frame.callID == 5)
        #expect(frame.text == "A")
    }

    @Test("zlib round trip, a bomb is refused with RESOURCE_EXHAUSTED, garbage with INVALID_ARGUMENT")
    func compression() throws {
        let text = String(repeating: "jwks ", count: 2_000)
        let compressed = WireCompression.compress(ByteBuffer(string: text))
        #expect(compressed.readableBytes < 200)
        #expect(compressed.getInteger(at: compressed.readerIndex, as: UInt8.self) == 0x78, "RFC 1950 header")
        #expect(String(buffer: try WireCompression.decompress(compressed, limit: 10_000)) == text)
        let bomb = WireCompression.compress(ByteBuffer(repeating: 0, count: 50_000_000))
        #expect(bomb.readableBytes < 100_000)
        #expect(
            throws: FrameError(code: .decompressedTooLarge, reason: "compressed payload inflates past 1048576 bytes")
        ) {
            _ = try WireCompression.decompress(bomb, limit: 1_048_576)
        }
        #expect {
            _ = try WireCompression.decompress(ByteBuffer(string: "not zlib at all"), limit: 1_000)
        } throws: { error in
            (error as? FrameError)?.status == .invalidArgument
        }
    }
}

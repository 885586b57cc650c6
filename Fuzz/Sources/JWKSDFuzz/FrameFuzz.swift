import JWKSWire
import NIOCore

/// Any bytes, fed to the frame decoder in pieces whose sizes come from the input: the decoder never traps,
/// decodes the same frames whatever the split, and every decoded frame re-encodes to the bytes it came from.
enum FrameFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let chunk = Int(first % 16) + 1
        let input = Array(bytes.dropFirst())
        let whole = decode(input, chunk: input.count)
        let split = decode(input, chunk: chunk)
        guard whole.frames == split.frames, whole.error == split.error else {
            fuzzFailure("decoding depends on how the bytes are split (chunk \(chunk))")
        }
        var offset = 0
        for frame in whole.frames {
            var encoded = ByteBuffer()
            encoded.writeFrame(frame)
            let original = input[offset..<(offset + encoded.readableBytes)]
            guard Array(buffer: encoded) == Array(original) else {
                fuzzFailure("a frame does not re-encode to its bytes")
            }
            offset += encoded.readableBytes
        }
        // Compressed payloads: inflate under a small limit without trapping.
        for frame in whole.frames where frame.flags.contains(.compressed) {
            _ = try? WireCompression.decompress(frame.payload, limit: 65_536)
        }
    }

    static func decode(_ input: [UInt8], chunk: Int) -> (frames: [Frame], error: FrameError?) {
        var decoder = FrameDecoder(maximumPayloadBytes: 4_096)
        var buffer = ByteBuffer()
        var frames: [Frame] = []
        var offset = 0
        repeat {
            let end = min(input.count, offset + max(1, chunk))
            buffer.writeBytes(input[offset..<end])
            offset = end
            do {
                while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
            } catch {
                return (frames, error)
            }
        } while offset < input.count
        return (frames, nil)
    }
}

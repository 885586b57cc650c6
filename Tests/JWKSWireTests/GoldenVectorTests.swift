import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import JWKSWire

/// The golden frames in `Protocol/vectors/`: every one decodes, its payload parses as its method's message,
/// and re-encoding gives the file's bytes exactly. Set `JWKSD_WRITE_VECTORS=1` to rewrite them from
/// ``GoldenVectors/all``.
@Suite("Golden vectors")
struct GoldenVectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Protocol/vectors")

    @Test(
        "the vector files match the frames the protocol defines, byte for byte",
        arguments: GoldenVectors.all.map(\.name))
    func vector(_ name: String) throws {
        let vector = try #require(GoldenVectors.all.first { $0.name == name })
        var expected = ByteBuffer()
        expected.writeFrame(vector.frame)
        let file = Self.directory.appendingPathComponent("\(name).hex")
        if ProcessInfo.processInfo.environment["JWKSD_WRITE_VECTORS"] == "1" {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try GoldenVectors.hexFile(vector, bytes: Array(buffer: expected)).write(
                to: file, atomically: true, encoding: .utf8)
        }
        let raw = try GoldenVectors.parseHex(String(contentsOf: file, encoding: .utf8))
        // zlib output may differ between zlib versions; a compressed vector is compared after inflating.
        let compressed = vector.frame.flags.contains(.compressed)
        if !compressed { #expect(raw == Array(buffer: expected)) }

        var decoder = FrameDecoder(maximumPayloadBytes: 1_048_576)
        var input = ByteBuffer(bytes: raw)
        let frame = try #require(try decoder.decode(buffer: &input))
        #expect(input.readableBytes == 0)
        var payload = frame.payload
        if compressed {
            payload = try WireCompression.decompress(payload, limit: 1_048_576)
            let original = try WireCompression.decompress(vector.frame.payload, limit: 1_048_576)
            #expect(payload == original)
            #expect(
                frame.kind == vector.frame.kind && frame.code == vector.frame.code
                    && frame.callID == vector.frame.callID)
        } else {
            #expect(frame == vector.frame)
        }
        if let type = vector.messageType {
            let message = try type.init(serializedBytes: Array(buffer: payload))
            let reencoded: [UInt8] = try message.serializedBytes()
            #expect(reencoded == Array(buffer: payload), "\(name): protobuf re-encoding differs")
        } else {
            #expect(String(buffer: payload) == vector.text)
        }
        var out = ByteBuffer()
        out.writeFrame(frame)
        #expect(Array(buffer: out) == raw)
    }

    @Test("every method has a request and a response vector")
    func coverage() {
        for method in Method.allCases {
            #expect(
                GoldenVectors.all.contains { $0.frame.kind == .request && $0.frame.method == method },
                "\(method) request")
            #expect(
                GoldenVectors.all.contains { $0.frame.kind == .response && $0.method == method }, "\(method) response")
        }
    }
}

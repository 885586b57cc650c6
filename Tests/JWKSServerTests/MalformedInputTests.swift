import Foundation
import JWKSServer
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

/// What one malformed input must get.
enum Expected: Sendable, CustomStringConvertible {
    /// A GOAWAY with this status, then the connection closes.
    case goaway(StatusCode)
    /// A RESPONSE with this status for this call id; the connection stays usable.
    case error(StatusCode, callID: UInt32)

    var description: String {
        switch self {
        case .goaway(let status): "GOAWAY \(status)"
        case .error(let status, let id): "RESPONSE \(status) for call \(id)"
        }
    }
}

/// One malformed input.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var expected: Expected
    var testDescription: String { name }
}

func frameBytes(_ frame: Frame) -> [UInt8] {
    var buffer = ByteBuffer()
    buffer.writeFrame(frame)
    return Array(buffer: buffer)
}

func getKeyPayload(_ tenant: String, _ provider: String, _ kid: String) -> ByteBuffer {
    var request = Jwksd_V1_GetKeyRequest()
    request.tenant = tenant
    request.provider = provider
    request.kid = kid
    return ByteBuffer(bytes: try! request.serializedBytes() as [UInt8])
}

let malformedCases: [MalformedCase] = {
    var cases = [
        MalformedCase(name: "length 0", bytes: [0, 0, 0, 0], expected: .goaway(.invalidArgument)),
        MalformedCase(name: "length 7", bytes: [0, 0, 0, 7, 1, 1, 0, 8, 0, 0, 0], expected: .goaway(.invalidArgument)),
        MalformedCase(name: "length 2^32-1", bytes: [0xFF, 0xFF, 0xFF, 0xFF], expected: .goaway(.resourceExhausted)),
        MalformedCase(
            name: "length over max_frame_bytes", bytes: [0, 0x10, 0, 9, 1, 1, 0, 8],
            expected: .goaway(.resourceExhausted)),
        MalformedCase(
            name: "bad version 0", bytes: [0, 0, 0, 8, 0, 1, 0, 8, 0, 0, 0, 1], expected: .goaway(.failedPrecondition)),
        MalformedCase(
            name: "bad version 2", bytes: [0, 0, 0, 8, 2, 1, 0, 8, 0, 0, 0, 1], expected: .goaway(.failedPrecondition)),
        MalformedCase(
            name: "kind 0", bytes: [0, 0, 0, 8, 1, 0, 0, 8, 0, 0, 0, 1], expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "kind 200", bytes: [0, 0, 0, 8, 1, 200, 0, 8, 0, 0, 0, 1], expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "undefined flag bit", bytes: [0, 0, 0, 8, 1, 1, 0x04, 8, 0, 0, 0, 1],
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "all flag bits", bytes: [0, 0, 0, 8, 1, 1, 0xFF, 8, 0, 0, 0, 1], expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "client sends RESPONSE", bytes: frameBytes(.response(.ok, callID: 1, payload: ByteBuffer())),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "client sends MESSAGE", bytes: frameBytes(Frame(kind: .message, callID: 1, payload: ByteBuffer())),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "bad zlib",
            bytes: frameBytes(
                .request(.health, callID: 1, payload: ByteBuffer(string: "not zlib"), flags: .compressed)),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "compressed but empty",
            bytes: frameBytes(.request(.health, callID: 1, payload: ByteBuffer(), flags: .compressed)),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "zlib stream with garbage after its end",
            bytes: frameBytes(
                .request(
                    .health, callID: 1,
                    payload: {
                        var payload = WireCompression.compress(ByteBuffer(string: "\u{0}"))
                        payload.writeString("garbage")
                        return payload
                    }(), flags: .compressed)),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "truncated zlib stream",
            bytes: frameBytes(
                .request(
                    .getKey, callID: 1,
                    payload: {
                        let whole = WireCompression.compress(getKeyPayload("acme", "idp", "acme-0"))
                        return whole.getSlice(at: whole.readerIndex, length: whole.readableBytes - 4)!
                    }(), flags: .compressed)),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "zlib bomb",
            bytes: frameBytes(
                .request(
                    .health, callID: 1,
                    payload: WireCompression.compress(ByteBuffer(repeating: 0, count: 64 * 1_048_576)),
                    flags: .compressed)),
            expected: .goaway(.resourceExhausted)),
        MalformedCase(
            name: "duplicate call id",
            bytes: frameBytes(.request(.getKey, callID: 1, payload: getKeyPayload("slow", "idp", "k")))
                + frameBytes(.request(.getKey, callID: 1, payload: getKeyPayload("slow", "idp", "k"))),
            expected: .goaway(.invalidArgument)),
        MalformedCase(
            name: "garbage protobuf",
            bytes: frameBytes(.request(.getKey, callID: 5, payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]))),
            expected: .error(.invalidArgument, callID: 5)),
        MalformedCase(
            name: "wrong wire type for a field",
            bytes: frameBytes(.request(.getKey, callID: 6, payload: ByteBuffer(bytes: [0x0D, 1, 2, 3, 4]))),
            expected: .error(.invalidArgument, callID: 6)),
        MalformedCase(
            name: "unknown method",
            bytes: frameBytes(Frame(kind: .request, code: 99, callID: 7, payload: ByteBuffer())),
            expected: .error(.unimplemented, callID: 7)),
        MalformedCase(
            name: "CANCEL of an unknown call",
            bytes: frameBytes(Frame(kind: .cancel, code: 1, callID: 8, payload: ByteBuffer())),
            expected: .error(.notFound, callID: 8)),
        MalformedCase(
            name: "call id 0", bytes: frameBytes(.request(.health, callID: 0, payload: ByteBuffer())),
            expected: .error(.invalidArgument, callID: 0)),
        MalformedCase(
            name: "GetKey without tenant",
            bytes: frameBytes(.request(.getKey, callID: 9, payload: getKeyPayload("", "", "k"))),
            expected: .error(.invalidArgument, callID: 9)),
    ]
    cases.append(
        MalformedCase(name: "flood over the in-flight cap", bytes: [], expected: .error(.resourceExhausted, callID: 0)))
    return cases
}()

/// Every malformed input against the connection handler, without a socket: a `NIOAsyncTestingChannel` per
/// case, and a second connection on the same engine that keeps being served. `RobustnessTests` keeps one
/// end-to-end case over a real socket.
@Suite("Malformed input on a testing channel")
struct MalformedInputTests {
    /// `acme/idp` reads Google's key set from a file; `slow/idp` loads once, then holds every refetch (a kid
    /// miss) until the gate opens.
    static func dispatcher() async throws -> (RequestDispatcher, GatedTransport, URL) {
        let gate = GatedTransport(body: try Fixture.bytes("google-jwks-v3-2026-08-20.json"))
        let (dispatcher, directory) = try await ConnectionHandlerTests.dispatcher(
            server: "max_calls_per_connection: 8, max_frame_bytes: 65536",
            tenants: """
                acme: { providers: { idp: { file: keys.json } } }
                slow: { providers: { idp: { jwks_uri: "https://keys.test/jwks" } } }
                """, transport: gate)
        return (dispatcher, gate, directory)
    }

    static let knownKid = "8ff13a6fcdabf306712e58f35668a04eb5a5fae1"

    @Test("at least 20 malformed inputs are covered")
    func count() { #expect(malformedCases.count >= 20) }

    @Test(
        "each malformed input gets its GOAWAY or error while another connection keeps being served",
        arguments: malformedCases)
    func malformed(_ testCase: MalformedCase) async throws {
        let (dispatcher, gate, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bystander = try await TestingConnection.open(dispatcher)
        let connection = try await TestingConnection.open(dispatcher)
        if testCase.name == "flood over the in-flight cap" {
            for id in 1...12 as ClosedRange<UInt32> {
                try await connection.send(
                    .request(.getKey, callID: id, payload: getKeyPayload("slow", "idp", "unknown-\(id)")))
            }
            let rejected = try await connection.frames(4)
            #expect(rejected.allSatisfy { $0.kind == .response && $0.status == .resourceExhausted })
            #expect(rejected.map(\.callID).sorted() == [9, 10, 11, 12])
            gate.open()
            let missed = try await connection.frames(8)
            #expect(missed.allSatisfy { $0.status == .notFound })
        } else {
            try await connection.send(testCase.bytes)
            switch testCase.expected {
            case .goaway(let status):
                let goaway = try await connection.frame()
                #expect(goaway.kind == .goaway, "\(testCase.name): \(goaway.kind)")
                #expect(goaway.status == status, "\(testCase.name): \(goaway.status)")
                #expect(!goaway.text.isEmpty)
                try await connection.closed()
            case .error(let status, let callID):
                let frame = try await connection.frame()
                #expect(
                    frame.kind == .response && frame.status == status && frame.callID == callID,
                    "\(testCase.name): \(frame.kind) \(frame.status)")
                try await connection.send(Frame(kind: .ping, callID: 0, payload: ByteBuffer(string: "still there?")))
                let pong = try await connection.frame()
                #expect(pong.kind == .pong && pong.payload == ByteBuffer(string: "still there?"))
            }
            gate.open()
        }
        try await bystander.send(.request(.getKey, callID: 1, payload: getKeyPayload("acme", "idp", Self.knownKid)))
        let hit = try await bystander.frame()
        #expect(hit.callID == 1 && hit.status == .ok)
        #expect(try await bystander.finish())
    }
}

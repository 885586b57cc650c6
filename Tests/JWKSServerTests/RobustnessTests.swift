import DevIssuer
import Foundation
import JWKSClient
import JWKSServer
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

#if canImport(Glibc)
    import Glibc
#endif

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

@Suite("Robustness: malformed input, limits, socket file, reconnect", .serialized)
struct RobustnessTests {
    static let tenants = """
        acme:
          providers:
            idp: { jwks_uri: "{{BASE}}/acme/jwks" }
        slow:
          providers:
            idp: { jwks_uri: "{{BASE}}/slow/jwks", kid_miss_cooldown: 1s }
        """

    static func harness(server: String = "max_calls_per_connection: 8\nmax_frame_bytes: 65536") async throws
        -> ServerHarness
    {
        try await ServerHarness(yaml: ServerHarness.yaml(tenants, server: server)) { issuer in
            issuer.addIssuer("acme", kinds: [.p256, .ed25519], maxAge: 300)
            issuer.addIssuer("slow", kinds: [.p256], maxAge: 300)
        }
    }

    @Test("at least 20 malformed inputs are covered")
    func count() { #expect(malformedCases.count >= 20) }

    @Test(
        "each malformed input gets its GOAWAY or error while another connection keeps being served",
        arguments: malformedCases)
    func malformed(_ testCase: MalformedCase) async throws {
        try await withHarness(try await Self.harness()) { harness in
            harness.issuer.inject(.delay(.seconds(1)), at: "/slow/jwks")
            let bystander = harness.client
            let before = try await bystander.getKey(tenant: "acme", provider: "idp", kid: "acme-0")
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            if testCase.name == "flood over the in-flight cap" {
                for id in 1...12 as ClosedRange<UInt32> {
                    try raw.send(.request(.getKey, callID: id, payload: getKeyPayload("slow", "idp", "unknown-\(id)")))
                }
                var rejected: [UInt32] = []
                for _ in 0..<4 {
                    let frame = try #require(try await raw.readFrame())
                    #expect(frame.kind == .response && frame.status == .resourceExhausted)
                    rejected.append(frame.callID)
                }
                #expect(rejected.sorted() == [9, 10, 11, 12])
            } else {
                try raw.send(testCase.bytes)
                switch testCase.expected {
                case .goaway(let status):
                    let frames = try await raw.readUntilClosed()
                    let goaway = try #require(frames.last, "no GOAWAY for \(testCase.name)")
                    #expect(goaway.kind == .goaway, "\(testCase.name): \(frames.map(\.kind))")
                    #expect(goaway.status == status, "\(testCase.name): \(goaway.text)")
                    #expect(!goaway.text.isEmpty)
                case .error(let status, let callID):
                    let frame = try #require(try await raw.readFrame())
                    #expect(
                        frame.kind == .response && frame.status == status && frame.callID == callID,
                        "\(testCase.name): \(frame.kind) \(frame.status) \(frame.text)")
                    try raw.send(Frame(kind: .ping, callID: 0, payload: ByteBuffer(string: "still there?")))
                    let pong = try #require(try await raw.readFrame())
                    #expect(pong.kind == .pong && pong.text == "still there?")
                }
            }
            let after = try await bystander.getKey(tenant: "acme", provider: "idp", kid: "acme-0")
            #expect(after == before)
        }
    }

    @Test("pipelined calls are answered out of order: a hit overtakes a kid miss waiting for its refetch")
    func outOfOrder() async throws {
        try await withHarness(try await Self.harness()) { harness in
            harness.issuer.inject(.delay(.milliseconds(300)), at: "/slow/jwks", times: 1)
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            var bytes = frameBytes(.request(.getKey, callID: 1, payload: getKeyPayload("slow", "idp", "rotated-later")))
            bytes += frameBytes(.request(.getKey, callID: 2, payload: getKeyPayload("acme", "idp", "acme-1")))
            bytes += frameBytes(.request(.health, callID: 3, payload: ByteBuffer()))
            try raw.send(bytes)
            var order: [Frame] = []
            for _ in 0..<3 { order.append(try #require(try await raw.readFrame())) }
            #expect(order.map(\.callID) == [2, 3, 1])
            #expect(order.map(\.status) == [.ok, .ok, .notFound])
        }
    }

    @Test(
        "64 clients each pipelining 1,000 GetKey calls across tenants (fewer under a sanitizer): every reply matches its call"
    )
    func pipelining() async throws {
        var tenants = ""
        for index in 0..<8 {
            tenants += "t\(index):\n  providers:\n    idp: { jwks_uri: \"{{BASE}}/t\(index)/jwks\" }\n"
        }
        try await withHarness(
            try await ServerHarness(
                yaml: ServerHarness.yaml(tenants, server: "max_calls_per_connection: 1024")
            ) { issuer in
                for index in 0..<8 { issuer.addIssuer("t\(index)", kinds: [.p256, .ed25519], maxAge: 300) }
            }
        ) { harness in
            let socketPath = harness.socketPath
            // Under a sanitizer (scripts/sanitize.sh) every call costs 5-15 times as much: a smaller load.
            let sanitized = ProcessInfo.processInfo.environment["JWKSD_SANITIZER"] != nil
            let (clientCount, callCount) = sanitized ? (16, 200) : (64, 1_000)
            let mismatches = await withTaskGroup(of: Int.self) { group in
                for clientIndex in 0..<clientCount {
                    group.addTask {
                        let client = JWKSClient(socketPath: socketPath)
                        let mismatches = await withTaskGroup(of: Int.self) { calls in
                            for call in 0..<callCount {
                                calls.addTask {
                                    let tenant = "t\((clientIndex + call) % 8)"
                                    let kid = "\(tenant)-\(call % 2)"
                                    do {
                                        let reply = try await client.getKey(
                                            tenant: tenant, provider: "idp", kid: kid, timeout: .seconds(120))
                                        return reply.kid == kid && reply.provider == "idp" ? 0 : 1
                                    } catch {
                                        if call == callCount - 1 { print("pipelining error: \(error)") }
                                        return 1
                                    }
                                }
                            }
                            return await calls.reduce(0, +)
                        }
                        await client.close()
                        return mismatches
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            #expect(harness.server.openConnections <= clientCount)
        }
    }

    @Test("connections over max_connections get GOAWAY RESOURCE_EXHAUSTED")
    func connectionLimit() async throws {
        try await withHarness(try await Self.harness(server: "max_connections: 2")) { harness in
            let first = try await RawConnection.connect(harness.socketPath)
            let second = try await RawConnection.connect(harness.socketPath)
            defer {
                first.close()
                second.close()
            }
            // Both are admitted before the third connects: accepted connections are initialised on different
            // event loops, so without these answers the third could be counted before the second.
            for connection in [first, second] {
                try connection.send(.request(.health, callID: 1, payload: ByteBuffer()))
                #expect(try await connection.readFrame()?.status == .ok)
            }
            let third = try await RawConnection.connect(harness.socketPath)
            defer { third.close() }
            let frames = try await third.readUntilClosed()
            #expect(frames.map(\.kind) == [.goaway])
            #expect(frames.first?.status == .resourceExhausted)
        }
    }

    @Test("socket file: mode applied, live socket refused, stale socket replaced, removed on shutdown")
    func socketFile() async throws {
        let harness = try await Self.harness(server: "socket_mode: \"0600\"")
        #expect(FileMode(harness.socketPath)?.permissions == 0o600)
        let second = JWKSServer(dispatcher: harness.server.dispatcher)
        await #expect(throws: (any Error).self) { try await second.start() }
        await harness.server.shutdown()
        #expect(FileMode(harness.socketPath) == nil, "socket file removed")

        // A stale socket: bound by a process that is gone (listening socket closed without unlink).
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(harness.socketPath.utf8))
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(stale)
        #expect(FileMode(harness.socketPath) != nil, "stale socket file left behind")
        let replacement = JWKSServer(dispatcher: harness.server.dispatcher)
        try await replacement.start()
        let health = try await JWKSClient(socketPath: harness.socketPath).health()
        #expect(health.providers == 2)
        await replacement.shutdown()
        await harness.shutdown()
    }

    @Test("the client reconnects after the server restarts")
    func reconnect() async throws {
        try await withHarness(try await Self.harness()) { harness in
            _ = try await harness.client.health()
            await harness.server.shutdown()
            await #expect(throws: RPCError.self) { _ = try await harness.client.health() }
            let restarted = JWKSServer(dispatcher: harness.server.dispatcher)
            try await restarted.start()
            try await withCleanup {
                let health = try await harness.client.health()
                #expect(health.serving)
            } cleanup: {
                await restarted.shutdown()
            }
        }
    }
}

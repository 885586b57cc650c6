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

@Suite("Robustness: malformed input end to end, limits, socket file, reconnect", .serialized)
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

    @Test(
        "end to end over the socket: a malformed frame gets its GOAWAY, a malformed request its error, while another connection keeps being served"
    )
    func malformedOverTheSocket() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let bystander = harness.client
            let before = try await bystander.getKey(tenant: "acme", provider: "idp", kid: "acme-0")
            let protobuf = try await RawConnection.connect(harness.socketPath)
            defer { protobuf.close() }
            try protobuf.send(.request(.getKey, callID: 5, payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])))
            let error = try #require(try await protobuf.readFrame())
            #expect(error.kind == .response && error.callID == 5 && error.status == .invalidArgument)
            try protobuf.send(Frame(kind: .ping, callID: 0, payload: ByteBuffer(string: "still there?")))
            #expect(try await protobuf.readFrame()?.kind == .pong)
            let frame = try await RawConnection.connect(harness.socketPath)
            defer { frame.close() }
            try frame.send([0, 0, 0, 8, 2, 1, 0, 8, 0, 0, 0, 1])
            let frames = try await frame.readUntilClosed()
            #expect(frames.map(\.kind) == [.goaway] && frames.first?.status == .failedPrecondition)
            #expect(try await bystander.getKey(tenant: "acme", provider: "idp", kid: "acme-0") == before)
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

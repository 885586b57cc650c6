import DevIssuer
import Foundation
import JWKSCache
import JWKSClient
import JWKSConfig
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

@testable import JWKSServer

#if canImport(Glibc)
    import Glibc
#endif

func watchPayload(tenants: [String] = [], providers: [String] = []) -> ByteBuffer {
    var request = Jwksd_V1_WatchRequest()
    request.tenants = tenants
    request.providers = providers
    return ByteBuffer(bytes: try! request.serializedBytes() as [UInt8])
}

extension RawConnection {
    /// Frames until the RESPONSE for `callID` (MESSAGE frames of a stream are skipped), or nil when the connection
    /// closed first.
    func response(for callID: UInt32) async throws -> Frame? {
        while let frame = try await readFrame() {
            if frame.kind == .response, frame.callID == callID { return frame }
        }
        return nil
    }
}

/// Reload hooks whose reload waits until the test lets it finish.
final class GatedHooks: AdminHooks {
    private let gate = AsyncStream<Void>.makeStream()

    func open() { gate.continuation.finish() }

    func reload() async -> Jwksd_V1_ReloadResult {
        for await _ in gate.stream {}
        var result = Jwksd_V1_ReloadResult()
        result.ok = true
        result.generation = 1
        return result
    }

    var configGeneration: UInt64 { 1 }
    var lastReload: Jwksd_V1_ReloadResult? { nil }
}

/// What a local peer can make the server hold or wait for: each case failed before its fix.
@Suite("Hostile peers", .serialized)
struct HostileInputTests {
    static func harness(
        server: String = "", hooks: any AdminHooks = NoAdminHooks(), adjust: (inout ServerSettings) -> Void = { _ in }
    ) async throws -> ServerHarness {
        try await ServerHarness(
            yaml: ServerHarness.yaml(RobustnessTests.tenants, server: server), hooks: hooks, adjust: adjust
        ) {
            issuer in
            issuer.addIssuer("acme", kinds: [.p256, .ed25519], maxAge: 300)
            issuer.addIssuer("slow", kinds: [.p256], maxAge: 300)
        }
    }

    @Test("a cancelled lookup's late reply does not answer a new call that reuses its id")
    func cancelThenReuse() async throws {
        let hooks = GatedHooks()
        try await withHarness(try await Self.harness(hooks: hooks)) { harness in
            harness.issuer.inject(.delay(.milliseconds(300)), at: "/slow/jwks", times: 1)
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            // In one write: a lookup that waits for a refetch, its CANCEL, and a new call with the same id. The
            // cancelled lookup's work ends after the new call has started; its reply must not answer the new call.
            var bytes = frameBytes(.request(.getKey, callID: 5, payload: getKeyPayload("slow", "idp", "rotated-later")))
            bytes += frameBytes(Frame(kind: .cancel, code: Method.getKey.rawValue, callID: 5, payload: ByteBuffer()))
            bytes += frameBytes(.request(.reload, callID: 5, payload: ByteBuffer()))
            try raw.send(bytes)
            let cancelled = try #require(try await raw.readFrame())
            #expect(cancelled.callID == 5 && cancelled.status == .cancelled)
            try await Task.sleep(for: .milliseconds(700))
            hooks.open()
            let reply = try #require(try await raw.readFrame())
            #expect(reply.callID == 5 && reply.kind == .response && reply.status == .ok)
        }
    }

    @Test("cancelling a lookup that joined another's refetch leaves the other to finish, and the provider usable")
    func cancelJoinedLookup() async throws {
        try await withHarness(try await Self.harness()) { harness in
            harness.issuer.inject(.delay(.milliseconds(500)), at: "/slow/jwks", times: 1)
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            // Call 1 starts the refetch for an unknown kid; call 2 (another unknown kid) joins it and is cancelled.
            var bytes = frameBytes(.request(.getKey, callID: 1, payload: getKeyPayload("slow", "idp", "new-1")))
            bytes += frameBytes(.request(.getKey, callID: 2, payload: getKeyPayload("slow", "idp", "new-2")))
            bytes += frameBytes(Frame(kind: .cancel, code: Method.getKey.rawValue, callID: 2, payload: ByteBuffer()))
            try raw.send(bytes)
            let cancelled = try #require(try await raw.readFrame())
            #expect(cancelled.callID == 2 && cancelled.status == .cancelled)
            let first = try #require(try await raw.readFrame())
            #expect(first.callID == 1 && first.status == .notFound)
            #expect(harness.issuer.requests(to: "/slow/jwks").count == 2)
            try raw.send(.request(.getKey, callID: 3, payload: getKeyPayload("slow", "idp", "slow-0")))
            let hit = try #require(try await raw.readFrame())
            #expect(hit.callID == 3 && hit.status == .ok)
        }
    }

    @Test("request strings outside the grammar are INVALID_ARGUMENT before any work")
    func grammar() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            var alg = Jwksd_V1_GetKeyRequest()
            alg.tenant = "acme"
            alg.kid = "acme-0"
            alg.alg = "HS256"
            let requests: [(UInt32, ByteBuffer)] = [
                (1, getKeyPayload("acme", "idp", String(repeating: "k", count: 60_000))),
                (2, getKeyPayload(String(repeating: "t", count: 65), "", "k")),
                (3, getKeyPayload("acme", "id p", "k")),
                (4, ByteBuffer(bytes: try alg.serializedBytes() as [UInt8])),
                (5, watchPayload(providers: ["acme"])),
                (6, watchPayload(providers: [String(repeating: "x", count: 60_000)])),
                (7, watchPayload(tenants: ["bad tenant"])),
            ]
            for (id, payload) in requests {
                try raw.send(.request(id <= 4 ? .getKey : .watch, callID: id, payload: payload))
                let reply = try #require(try await raw.readFrame())
                #expect(reply.callID == id && reply.status == .invalidArgument, "call \(id): \(reply.text)")
            }
            // None of them reached the engine: no refetch was started for the 60 KB kid.
            #expect(harness.issuer.requests(to: "/acme/jwks").count == 1)
        }
    }

    @Test("Watch selectors must name providers that exist; unknown ones are NOT_FOUND")
    func watchSelectors() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            try raw.send(.request(.watch, callID: 1, payload: watchPayload(providers: ["files/ghost"])))
            #expect(try await raw.readFrame()?.status == .notFound)
            try raw.send(.request(.watch, callID: 2, payload: watchPayload(providers: ["acme/ghost"])))
            #expect(try await raw.readFrame()?.status == .notFound)
            try raw.send(.request(.watch, callID: 3, payload: watchPayload(tenants: ["nobody"])))
            #expect(try await raw.readFrame()?.status == .notFound)
        }
    }

    @Test("a Watch whose client never reads ends RESOURCE_EXHAUSTED instead of buffering without bound")
    func unreadWatch() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-watch-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keysFile = directory.appendingPathComponent("big.json")
        func writeKeys(_ round: Int) throws {
            // 200 keys with long kids: each change is a ~10 KB KEYS_CHANGED message.
            let keys = (0..<200).map { index in
                #"{"kty":"OKP","crv":"Ed25519","kid":"round-\#(round)-key-\#(index)-\#(String(repeating: "k", count: 24))","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#
            }
            try "{\"keys\":[\(keys.joined(separator: ","))]}".write(to: keysFile, atomically: true, encoding: .utf8)
        }
        try writeKeys(0)
        let tenants = "files:\n  providers:\n    big: { file: \"\(keysFile.path)\" }\n"
        try await withHarness(
            try await ServerHarness(
                yaml: ServerHarness.yaml(tenants),
                adjust: { settings in
                    settings.watchBacklogBytes = 4_096
                    settings.watchBufferEvents = 32
                }
            ) { _ in }
        ) { harness in
            let raw = try await RawConnection.connect(harness.socketPath, timeout: .seconds(10))
            defer { raw.close() }
            try raw.send(.request(.watch, callID: 9, payload: watchPayload(tenants: ["files"])))
            try raw.send(.request(.health, callID: 10, payload: ByteBuffer()))
            #expect(try await raw.readFrame()?.callID == 10)  // frames run in order: the Watch is subscribed
            for round in 1...120 {
                try writeKeys(round)
                _ = await harness.engine.refresh(
                    tenant: "files", provider: "big", deadline: harness.clock.now.advanced(by: .seconds(60)))
            }
            let end = try #require(try await raw.response(for: 9))
            #expect(end.status == .resourceExhausted, "\(end.text)")
            // The ended Watch left no subscription behind.
            #expect(await eventually { harness.engine.subscriberCount == 0 })
        }
    }

    @Test("a reload that revokes a peer's access ends its Watch with PERMISSION_DENIED")
    func revokedWatch() async throws {
        let uid = getuid()
        let tenants = { (allowed: UInt32) in
            """
            acme:
              allowed_uids: [\(allowed)]
              providers:
                idp: { jwks_uri: "{{BASE}}/acme/jwks" }
            """
        }
        try await withHarness(
            try await ServerHarness(yaml: ServerHarness.yaml(tenants(uid))) {
                $0.addIssuer("acme", kinds: [.p256], maxAge: 300)
            }
        ) { harness in
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            try raw.send(.request(.watch, callID: 3, payload: watchPayload(tenants: ["acme"])))
            try raw.send(.request(.health, callID: 4, payload: ByteBuffer()))
            #expect(try await raw.readFrame()?.callID == 4)  // frames run in order: the Watch is subscribed
            let text = ServerHarness.yaml(tenants(uid &+ 1)).replacingOccurrences(
                of: "{{BASE}}", with: harness.issuer.baseURL
            )
            .replacingOccurrences(of: "{{SOCKET}}", with: harness.socketPath)
            harness.engine.apply(try ConfigLoader.load(text: text, baseDirectory: harness.directory.path))
            let end = try #require(try await raw.response(for: 3))
            #expect(end.status == .permissionDenied)
        }
    }

    @Test("a peer's connections and Watch streams are capped per uid; admin uids are exempt")
    func perUIDQuotas() async throws {
        try await withHarness(
            try await Self.harness(
                server: "max_connections_per_uid: 2\nmax_watches_per_uid: 2\nadmin_uids: [4242]")
        ) { harness in
            let first = try await RawConnection.connect(harness.socketPath)
            let second = try await RawConnection.connect(harness.socketPath)
            defer {
                first.close()
                second.close()
            }
            try first.send(.request(.health, callID: 1, payload: ByteBuffer()))
            #expect(try await first.readFrame()?.status == .ok)
            try second.send(.request(.health, callID: 1, payload: ByteBuffer()))
            #expect(try await second.readFrame()?.status == .ok)
            // harness.client holds no connection yet; a third raw one is over the quota.
            let third = try await RawConnection.connect(harness.socketPath)
            let refused = try await third.readUntilClosed()
            third.close()
            #expect(refused.map(\.kind) == [.goaway] && refused.first?.status == .resourceExhausted)
            try first.send(.request(.watch, callID: 2, payload: watchPayload()))
            try first.send(.request(.watch, callID: 3, payload: watchPayload()))
            // Answered in order on that connection: both Watch calls hold their slots once this comes back.
            try first.send(.request(.health, callID: 9, payload: ByteBuffer()))
            #expect(try await first.readFrame()?.callID == 9)
            try second.send(.request(.watch, callID: 2, payload: watchPayload()))
            let over = try #require(try await second.readFrame())
            #expect(over.callID == 2 && over.status == .resourceExhausted)
            // Ending a Watch gives its slot back.
            try first.send(Frame(kind: .cancel, code: Method.watch.rawValue, callID: 3, payload: ByteBuffer()))
            #expect(try await first.readFrame()?.status == .cancelled)
            try second.send(.request(.watch, callID: 4, payload: watchPayload()))
            try second.send(.request(.health, callID: 5, payload: ByteBuffer()))
            let next = try #require(try await second.readFrame())
            #expect(next.callID == 5 && next.status == .ok, "the Watch was refused: \(next.text)")
            // Closing a connection gives its slot back.
            first.close()
            #expect(await eventually { harness.server.quotas.held(by: getuid()).connections < 2 })
            let fourth = try await RawConnection.connect(harness.socketPath)
            defer { fourth.close() }
            try fourth.send(.request(.health, callID: 1, payload: ByteBuffer()))
            #expect(try await fourth.readFrame()?.status == .ok)
        }
    }

    @Test("partial frames across all connections are capped; the connection that would pass the cap is closed")
    func partialFrameBudget() async throws {
        try await withHarness(try await Self.harness(adjust: { $0.maxPartialFrameBytes = 100_000 })) { harness in
            var connections: [RawConnection] = []
            defer { for connection in connections { connection.close() } }
            // Each sends the header of a 60 KB frame and 45 KB of it, then stops.
            let header: [UInt8] = [0, 0, 0xEA, 0x68, 1, 1, 0, 8, 0, 0, 0, 1]
            for _ in 0..<3 {
                let connection = try await RawConnection.connect(harness.socketPath)
                connections.append(connection)
                try connection.send(header + [UInt8](repeating: 0, count: 45_000))
                let held = 45_012 * connections.count
                if held <= 100_000 { #expect(await eventually { harness.server.quotas.partialFrameBytes >= held }) }
            }
            let closed = try await connections[2].readUntilClosed()
            #expect(closed.last?.kind == .goaway && closed.last?.status == .resourceExhausted)
            #expect(harness.server.quotas.partialFrameBytes <= 100_000)
            connections[0].close()
            connections[1].close()
            connections.removeAll()
            #expect(await eventually { harness.server.quotas.partialFrameBytes == 0 })
        }
    }

    @Test("Health names only what the peer may read; Status of an unreadable tenant is NOT_FOUND like an unknown one")
    func noExistenceOracle() async throws {
        try await withHarness(try await Self.harness()) { harness in
            let hidden = """
                acme:
                  providers:
                    idp: { jwks_uri: "{{BASE}}/acme/jwks" }
                hidden:
                  allowed_uids: [\(getuid() &+ 1)]
                  providers:
                    secret: { jwks_uri: "{{BASE}}/hidden/jwks" }
                """
            harness.issuer.inject(.delay(.seconds(5)), at: "/hidden/jwks", times: 1)
            let text = ServerHarness.yaml(hidden).replacingOccurrences(of: "{{BASE}}", with: harness.issuer.baseURL)
                .replacingOccurrences(of: "{{SOCKET}}", with: harness.socketPath)
            harness.engine.apply(try ConfigLoader.load(text: text, baseDirectory: harness.directory.path))
            let health = try await harness.client.health()
            #expect(!health.serving)
            #expect(health.loading.isEmpty && health.providers == 1)
            for tenant in ["hidden", "nobody"] {
                await #expect {
                    _ = try await harness.client.status(tenant: tenant)
                } throws: { error in
                    (error as? RPCError)?.code == .notFound
                }
                await #expect {
                    _ = try await harness.client.getKey(tenant: tenant, kid: "k")
                } throws: { error in
                    (error as? RPCError)?.code == .notFound
                }
            }
        }
    }

    @Test("the socket appears at its path only by rename, already with its mode, whatever the umask")
    func socketAppearsWithItsMode() async throws {
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent("jwksd-bind-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let watch = inotify_init1(Int32(IN_NONBLOCK))
        #expect(watch >= 0)
        defer { close(watch) }
        #expect(inotify_add_watch(watch, directory.path, UInt32(IN_CREATE | IN_MOVED_TO)) >= 0)
        let config = try ConfigLoader.load(
            text: "version: 1\nserver: { socket: ./s.sock, socket_mode: \"0600\" }\ntenants: {}\n",
            baseDirectory: directory.path)
        let engine = JWKSEngine(config: config, clock: ManualClock(), transport: NoNetwork())
        let server = JWKSServer(dispatcher: RequestDispatcher(engine: engine, settings: ServerSettings(config: config)))
        try await server.start()
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = buffer.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
        var events: [(mask: UInt32, name: String)] = []
        var offset = 0
        while offset + 16 <= max(0, count) {
            let mask = buffer[offset + 4..<offset + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let length = Int(buffer[offset + 12..<offset + 16].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            let name = String(decoding: buffer[offset + 16..<offset + 16 + length].prefix { $0 != 0 }, as: UTF8.self)
            events.append((mask, name))
            offset += 16 + length
        }
        let socketEvents = events.filter { $0.name == "s.sock" }
        #expect(socketEvents.count == 1)
        #expect(socketEvents.first.map { $0.mask & UInt32(IN_MOVED_TO) != 0 } == true, "created in place: \(events)")
        #expect(FileMode(directory.appendingPathComponent("s.sock").path)?.permissions == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasPrefix(".jwksd-")
        }
        #expect(leftovers.isEmpty)
        await server.shutdown()
    }
}

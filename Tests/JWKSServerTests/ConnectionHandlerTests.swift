import DevIssuer
import Foundation
import JWKS
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import JWKSWire
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import SwiftProtobuf
import Testing

@testable import JWKSServer

/// The connection handler on an `EmbeddedChannel`: bytes in, bytes out, time advanced by hand.
@Suite("Connection handler on an embedded channel", .serialized)
struct ConnectionHandlerTests {
    /// An engine whose one provider reads a key file (no network), loaded before the test starts.
    static func dispatcher(
        idleTimeout: String = "5m", compressMinBytes: Int = 1024, provider: String = "disk: { file: keys.json }",
        transport: any HTTPTransport = NoNetwork()
    ) async throws -> (RequestDispatcher, URL) {
        try await dispatcher(
            server:
                "idle_timeout: \(idleTimeout), max_calls_per_connection: 2, compress_min_bytes: \(compressMinBytes)",
            tenants: "acme: { providers: { \(provider) } }", transport: transport)
    }

    /// An engine for `tenants` (YAML flow mappings, one per line), with `keys.json` (Google's key set) in its
    /// directory, every provider loaded (or failed) before it returns. HTTP goes to `transport`.
    ///
    /// `settle: false` returns at once, with first fetches still in flight; `metrics` and `unixTime` go to the
    /// dispatcher.
    static func dispatcher(
        server: String, tenants: String, transport: any HTTPTransport, files: [String: [UInt8]] = [:],
        settle: Bool = true, metrics: ServerMetrics = ServerMetrics(), unixTime: (@Sendable () -> Double)? = nil
    ) async throws -> (RequestDispatcher, URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-embedded-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(try Fixture.bytes("google-jwks-v3-2026-08-20.json")).write(
            to: directory.appendingPathComponent("keys.json"))
        for (name, bytes) in files { try Data(bytes).write(to: directory.appendingPathComponent(name)) }
        let indented = tenants.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        let config = try ConfigLoader.load(
            text: "version: 1\nserver: { \(server) }\ntenants:\n\(indented)\n", baseDirectory: directory.path)
        let engine = JWKSEngine(
            config: config, clock: ManualClock(), transport: transport, resolver: PublicResolver(),
            prepare: PreparedReplies.preparer(compressMinBytes: config.server.compressMinBytes))
        let providers = config.tenants.reduce(0) { $0 + $1.providers.count }
        let events = engine.events()
        engine.start()
        var settled = 0
        if settle {
            for await event in events where event.kind != .fetchStarted {
                settled += 1
                if settled == providers { break }
            }
        }
        return (
            RequestDispatcher(
                engine: engine, settings: ServerSettings(config: config), metrics: metrics, unixTime: unixTime),
            directory
        )
    }

    static func channel(_ dispatcher: RequestDispatcher) throws -> EmbeddedChannel {
        try channelAndHandler(dispatcher).channel
    }

    static func channelAndHandler(_ dispatcher: RequestDispatcher) throws -> (
        channel: EmbeddedChannel, handler: ConnectionHandler
    ) {
        let channel = EmbeddedChannel()
        let handler = ConnectionHandler(
            router: dispatcher, settings: dispatcher.settings, peer: PeerCredentials(pid: 1, uid: 0, gid: 0))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: try SocketAddress(unixDomainSocketPath: "/tmp/jwksd-embedded.sock")).wait()
        return (channel, handler)
    }

    static func bytes(_ frame: Frame) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrame(frame)
        return buffer
    }

    static func readFrame(_ channel: EmbeddedChannel) throws -> Frame? {
        guard var buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        var decoder = FrameDecoder(maximumPayloadBytes: 1_048_576)
        return try decoder.decode(buffer: &buffer)
    }

    @Test("a hit is answered synchronously from the prepared reply, flushed at the end of the read")
    func hit() async throws {
        let (dispatcher, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let channel = try Self.channel(dispatcher)
        var request = Jwksd_V1_GetKeyRequest()
        request.tenant = "acme"
        let set = try #require(dispatcher.engine.entry(tenant: "acme", provider: "disk")?.snapshot.record?.keySet)
        request.kid = try #require(set.kids.first)
        try channel.writeInbound(
            Self.bytes(
                .request(.getKey, callID: 42, payload: ByteBuffer(bytes: try request.serializedBytes() as [UInt8]))))
        let reply = try #require(try Self.readFrame(channel))
        #expect(reply.kind == .response && reply.status == .ok && reply.callID == 42)
        let message = try Jwksd_V1_GetKeyResponse(serializedBytes: Array(buffer: reply.payload))
        #expect(message.kid == request.kid && message.provider == "disk")
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    static func getKey(tenant: String, kid: String) throws -> ByteBuffer {
        var request = Jwksd_V1_GetKeyRequest()
        request.tenant = tenant
        request.kid = kid
        return ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
    }

    /// Every buffer the handler wrote so far, and the frames they hold when read back to back.
    static func drainOutbound(_ channel: EmbeddedChannel) throws -> (buffers: Int, frames: [Frame]) {
        var all = ByteBuffer()
        var buffers = 0
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            buffers += 1
            all.writeBuffer(&buffer)
        }
        var decoder = FrameDecoder(maximumPayloadBytes: 1_048_576)
        var frames: [Frame] = []
        while let frame = try decoder.decode(buffer: &all) { frames.append(frame) }
        #expect(all.readableBytes == 0)
        return (buffers, frames)
    }

    @Test("10,000 GetKey hits that accept compression are answered compressed and compress nothing")
    func compressedHitsCompressNothing() async throws {
        let (dispatcher, directory) = try await Self.dispatcher(compressMinBytes: 256)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (channel, handler) = try Self.channelAndHandler(dispatcher)
        let set = try #require(dispatcher.engine.entry(tenant: "acme", provider: "disk")?.snapshot.record?.keySet)
        let requests = try set.kids.map { try Self.getKey(tenant: "acme", kid: $0) }
        for call in 1...10_000 {
            let frame = Frame.request(
                .getKey, callID: UInt32(call), payload: requests[call % requests.count], flags: .acceptCompressed)
            try channel.writeInbound(Self.bytes(frame))
            let reply = try #require(try Self.drainOutbound(channel).frames.first)
            #expect(reply.status == .ok && reply.flags.contains(.compressed))
        }
        // Every compressed reply was the one prepared at publication: the connection compressed nothing.
        #expect(handler.compressedHere == 0)
        #expect(try channel.finish().isClean)
    }

    @Test("frames that arrive in one read are answered in order in one write; a large payload follows by itself")
    func batch() async throws {
        let (dispatcher, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let channel = try Self.channel(dispatcher)
        let set = try #require(dispatcher.engine.entry(tenant: "acme", provider: "disk")?.snapshot.record?.keySet)
        var keySet = Jwksd_V1_GetKeySetRequest()
        keySet.tenant = "acme"
        keySet.provider = "disk"
        var bytes = ByteBuffer()
        bytes.writeFrame(.request(.getKey, callID: 5, payload: try Self.getKey(tenant: "acme", kid: set.kids[0])))
        bytes.writeFrame(Frame(kind: .ping, callID: 0, payload: ByteBuffer(string: "hi")))
        bytes.writeFrame(
            .request(.getKeySet, callID: 6, payload: ByteBuffer(bytes: try keySet.serializedBytes() as [UInt8])))
        bytes.writeFrame(.request(.getKey, callID: 7, payload: try Self.getKey(tenant: "nope", kid: "k")))
        try channel.writeInbound(bytes)
        let (buffers, frames) = try Self.drainOutbound(channel)
        #expect(frames.map(\.callID) == [5, 0, 6, 7])
        #expect(frames.map(\.kind) == [.response, .pong, .response, .response])
        #expect(frames[1].text == "hi")
        #expect(frames[2].status == .ok && frames[2].payload.readableBytes >= 1_024)
        let message = try Jwksd_V1_GetKeySetResponse(serializedBytes: Array(buffer: frames[2].payload))
        #expect(message.keyCount == UInt32(set.keys.count))
        #expect(frames[3].status == .notFound && frames[3].text == "unknown tenant \"nope\"")
        // reply 5, the pong and 6's header batched; 6's payload by itself (no copy); 7 in a third buffer.
        #expect(buffers == 3)
        #expect(try channel.finish().isClean)
    }

    @Test("a frame split across reads is answered once its last byte arrives; the rest of the read is kept")
    func split() async throws {
        let (dispatcher, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let channel = try Self.channel(dispatcher)
        let kid = try #require(
            dispatcher.engine.entry(tenant: "acme", provider: "disk")?.snapshot.record?.keySet.kids.first)
        var bytes = ByteBuffer()
        bytes.writeFrame(.request(.getKey, callID: 1, payload: try Self.getKey(tenant: "acme", kid: kid)))
        bytes.writeFrame(.request(.getKey, callID: 2, payload: try Self.getKey(tenant: "acme", kid: kid)))
        let first = bytes.readableBytes / 2  // both frames have the same size
        for cut in [2, 9, first - 1] {
            let piece = bytes.readSlice(length: cut - (bytes.readerIndex))!
            try channel.writeInbound(piece)
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        }
        // The rest of frame 1 and the first 3 bytes of frame 2.
        try channel.writeInbound(bytes.readSlice(length: first + 3 - bytes.readerIndex)!)
        #expect(try Self.drainOutbound(channel).frames.map(\.callID) == [1])
        try channel.writeInbound(bytes)
        let second = try Self.drainOutbound(channel).frames
        #expect(second.map(\.callID) == [2] && second[0].status == .ok)
        #expect(channel.isActive)
        #expect(try channel.finish().isClean)
    }

    @Test("a bad version gets GOAWAY FAILED_PRECONDITION and the channel closes")
    func goaway() async throws {
        let (dispatcher, directory) = try await Self.dispatcher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let channel = try Self.channel(dispatcher)
        #expect(channel.isActive)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 8, 9, 1, 0, 8, 0, 0, 0, 1]))
        let goaway = try #require(try Self.readFrame(channel))
        #expect(goaway.kind == .goaway && goaway.status == .failedPrecondition)
        #expect(goaway.text == "protocol version 9 is not supported (this server speaks 1)")
        #expect(!channel.isActive)
    }

    @Test("an idle connection gets GOAWAY after idle_timeout")
    func idle() async throws {
        let (dispatcher, directory) = try await Self.dispatcher(idleTimeout: "2s")
        defer { try? FileManager.default.removeItem(at: directory) }
        let channel = try Self.channel(dispatcher)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_999))
        #expect(channel.isActive)
        try channel.writeInbound(Self.bytes(Frame(kind: .ping, callID: 0, payload: ByteBuffer(string: "x"))))
        #expect(try Self.readFrame(channel)?.kind == .pong)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        let goaway = try #require(try Self.readFrame(channel))
        #expect(goaway.kind == .goaway && goaway.status == .ok && goaway.text.hasPrefix("idle for"))
        #expect(!channel.isActive)
    }

    @Test("the in-flight cap answers RESOURCE_EXHAUSTED; a CANCEL ends a waiting call with CANCELLED")
    func capAndCancel() async throws {
        let gate = GatedTransport(body: try Fixture.bytes("google-jwks-v3-2026-08-20.json"))
        let (dispatcher, directory) = try await Self.dispatcher(
            provider: "disk: { jwks_uri: \"https://keys.test/jwks\" }", transport: gate)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Misses complete on the engine's tasks, off the channel's loop: a testing channel that takes work from
        // other threads, which EmbeddedChannel must not be given.
        let connection = try await TestingConnection.open(dispatcher)
        var miss = Jwksd_V1_GetKeyRequest()
        miss.tenant = "acme"
        miss.provider = "disk"
        miss.kid = "not-there"
        let payload = ByteBuffer(bytes: try miss.serializedBytes() as [UInt8])
        for id in 1...3 as ClosedRange<UInt32> {
            try await connection.send(.request(.getKey, callID: id, payload: payload))
        }
        try await connection.send(Frame(kind: .cancel, code: Method.getKey.rawValue, callID: 1, payload: ByteBuffer()))
        // Calls 1 and 2 wait for the kid-miss refetch, held until now.
        #expect(await eventually { gate.held > 0 })
        gate.open()
        let answers = Dictionary(uniqueKeysWithValues: try await connection.frames(3).map { ($0.callID, $0.status) })
        // Call 3 found two calls in flight; call 1 was cancelled; call 2 ran its kid miss to the end.
        #expect(answers == [3: .resourceExhausted, 1: .cancelled, 2: .notFound])
        #expect(try await connection.finish())
    }
}

extension ConnectionHandlerTests {
    @Test("waiting calls are bounded per uid across connections, and a closed connection's calls end and count no more")
    func waitingPerUID() async throws {
        let gate = GatedTransport(body: try Fixture.bytes("google-jwks-v3-2026-08-20.json"))
        let (dispatcher, directory) = try await Self.dispatcher(
            server: "max_waiting_calls_per_uid: 2, max_calls_per_connection: 8",
            tenants: "acme: { providers: { disk: { jwks_uri: \"https://keys.test/jwks\" } } }", transport: gate)
        defer { try? FileManager.default.removeItem(at: directory) }
        let quotas = SharedQuotas(settings: dispatcher.settings)
        var miss = Jwksd_V1_GetKeyRequest()
        miss.tenant = "acme"
        miss.provider = "disk"
        miss.kid = "not-there"
        let payload = ByteBuffer(bytes: try miss.serializedBytes() as [UInt8])
        let first = try await TestingConnection.open(dispatcher, uid: 1000, quotas: quotas)
        for id in 1...2 as ClosedRange<UInt32> { try await first.send(.request(.getKey, callID: id, payload: payload)) }
        #expect(await eventually { quotas.held(by: 1000).waiting == 2 })
        // Another connection of the same uid: over the quota at once. Another uid is not affected.
        let second = try await TestingConnection.open(dispatcher, uid: 1000, quotas: quotas)
        try await second.send(.request(.getKey, callID: 1, payload: payload))
        let refused = try await second.frame()
        #expect(refused.status == .resourceExhausted && refused.text.contains("max_waiting_calls_per_uid"))
        let other = try await TestingConnection.open(dispatcher, uid: 2000, quotas: quotas)
        try await other.send(.request(.getKey, callID: 1, payload: payload))
        #expect(await eventually { quotas.held(by: 2000).waiting == 1 })
        // The first connection closes with its calls still waiting (the refetch is held): their work is
        // cancelled and ends, and the uid may wait again.
        try await first.channel.close()
        #expect(await eventually { quotas.held(by: 1000).waiting == 0 })
        try await second.send(.request(.getKey, callID: 2, payload: payload))
        #expect(await eventually { quotas.held(by: 1000).waiting == 1 })
        gate.open()
        #expect(try await second.frame().status == .notFound)
        #expect(try await other.frame().status == .notFound)
        #expect(await eventually { quotas.held(by: 1000).waiting == 0 && quotas.held(by: 2000).waiting == 0 })
        #expect(try await second.finish())
        #expect(try await other.finish())
    }
}

/// A transport that serves a key set to its first request and holds every later one until `open()`.
final class GatedTransport: HTTPTransport {
    private struct State {
        var served = 0
        var isOpen = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }
    private let body: [UInt8]
    private let passFirst: Bool
    private let state = NIOLockedValueBox(State())

    /// A gate serving `body`; the first request passes at once unless `passFirst` is false.
    init(body: [UInt8], passFirst: Bool = true) {
        self.body = body
        self.passFirst = passFirst
    }

    /// Requests waiting for `open()`.
    var held: Int { state.withLockedValue { $0.waiting.count } }

    /// Lets every held request, and every later one, through.
    func open() {
        let waiting = state.withLockedValue { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        let first = state.withLockedValue { state in
            state.served += 1
            return state.served == 1
        }
        if !first || !passFirst {
            await withCheckedContinuation { continuation in
                let passes = state.withLockedValue { state in
                    if !state.isOpen { state.waiting.append(continuation) }
                    return state.isOpen
                }
                if passes { continuation.resume() }
            }
        }
        return HTTPGetResponse(
            status: 200, headers: ["cache-control": "max-age=300"], body: body,
            receivedAt: Int64(Date().timeIntervalSince1970))
    }
}

/// Every name resolves to a public address (no DNS in tests).
struct PublicResolver: HostResolver {
    func addresses(of host: String) async throws(FetchFailure) -> [NetworkAddress] {
        [NetworkAddress(literal: "93.184.215.14")].compactMap { $0 }
    }
}

/// A transport for engines whose providers are all files.
struct NoNetwork: HTTPTransport {
    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        throw FetchFailure(code: .transport, message: "no network in this test")
    }
}

import Benchmark
import Foundation
import JWKS
import JWKSCache
import JWKSConfig
import JWKSServer
import JWKSWire
import NIOCore
import Synchronization

// The hot and the heavy paths of jwksd, with allocation counts:
//   frame encode/decode, GetKey dispatch on a published snapshot, JWKS parse + validation of the 15 KB
//   Microsoft set, publishing a snapshot (building its prepared replies), parsing a 10,000-provider config,
//   and diffing + swapping two 10,000-provider registries; VerifyJWT's verification against the bare
//   signature check (VerifyBenchmarks.swift).
let benchmarks: @Sendable () -> Void = {
    // The per-call benchmarks run 1,000 calls per sample (figures are per 1,000 calls: divide by 1,000), so
    // the harness's own allocations per sample do not hide that a call allocates nothing or one buffer.
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], scalingFactor: .kilo,
        maxDuration: .seconds(2), maxIterations: 1_000_000)

    Benchmark("Frame encode: GetKey reply (300 B payload)") { benchmark in
        let payload = ByteBuffer(repeating: 0x2A, count: 300)
        var buffer = ByteBuffer()
        buffer.reserveCapacity(512)
        for _ in benchmark.scaledIterations {
            buffer.clear()
            blackHole(buffer.writeFrame(.response(.ok, callID: 7, payload: payload)))
        }
    }

    Benchmark("Frame decode: GetKey request") { benchmark in
        var encoded = ByteBuffer()
        encoded.writeFrame(.request(.getKey, callID: 1, payload: Fixtures.getKeyPayload))
        var decoder = FrameDecoder(maximumPayloadBytes: 1 << 20)
        for _ in benchmark.scaledIterations {
            var input = encoded
            blackHole(try? decoder.decode(buffer: &input))
        }
    }

    Benchmark(
        "GetKey dispatch: hit on a published snapshot",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], scalingFactor: .kilo),
        closure: { benchmark in
            let dispatcher = Loaded.shared!.dispatcher
            let payload = Fixtures.getKeyPayload
            for _ in benchmark.scaledIterations {
                guard case .reply(let reply) = dispatcher.dispatch(.getKey, payload: payload, peer: nil),
                    reply.status == .ok
                else { fatalError("GetKey did not hit") }
                blackHole(reply)
            }
        }, setup: { Loaded.shared = try await Loaded.load() })

    Benchmark(
        "JWKS parse + validate: Microsoft set (15 KB, 9 RSA keys)",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput])
    ) { benchmark in
        let document = Fixtures.microsoft
        for _ in benchmark.scaledIterations {
            blackHole(try? JWKSet(parsing: document))
        }
    }

    Benchmark(
        "Snapshot publish: prepared replies for the Microsoft set",
        configuration: .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput]),
        closure: { benchmark in
            let loaded = Loaded.shared!
            let prepare: SnapshotPreparer = PreparedReplies.preparer(compressMinBytes: 1024)
            for _ in benchmark.scaledIterations {
                blackHole(prepare(loaded.key, loaded.record))
            }
        }, setup: { Loaded.shared = try await Loaded.load() })

    Benchmark(
        "Config parse: 10,000 providers",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], scalingFactor: .one,
            maxDuration: .seconds(5), maxIterations: 20)
    ) { benchmark in
        let text = Fixtures.registry(providers: 10_000, changedEvery: nil)
        benchmark.startMeasurement()
        blackHole(try? ConfigLoader.load(text: text))
        benchmark.stopMeasurement()
    }

    Benchmark(
        "Registry diff + swap: 10,000 providers, 100 changed",
        configuration: .init(
            metrics: [.wallClock, .mallocCountTotal], scalingFactor: .one, maxDuration: .seconds(5), maxIterations: 40),
        closure: { _ in
            // Alternate between the two registries across samples, so every apply has 100 sources to restart.
            let next = Fixtures.applied.add(1, ordering: .relaxed).newValue
            blackHole(Fixtures.reloadEngine.apply(next % 2 == 1 ? Fixtures.registryB : Fixtures.registryA))
        },
        setup: {
            // Parse both registries and build the engine before measuring.
            blackHole(Fixtures.reloadEngine.apply(Fixtures.registryA))
            blackHole(Fixtures.registryB)
        })

    verifyBenchmarks()
    keyCacheBenchmarks()
}

/// Inputs shared by the benchmarks.
enum Fixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let microsoftPath = repository.appendingPathComponent("Tests/JWKSServerTests/Fixtures/microsoft-jwks.json")
        .path
    static let microsoft: [UInt8] = Array(FileManager.default.contents(atPath: microsoftPath)!)
    static let kid = "nOo3ZDrODXEK1jKWhXslHR_KXEg"

    static let getKeyPayload: ByteBuffer = {
        var request = Jwksd_V1_GetKeyRequest()
        request.tenant = "acme"
        request.provider = "microsoft"
        request.kid = kid
        return ByteBuffer(bytes: try! request.serializedBytes() as [UInt8])
    }()

    /// A registry of `providers` jwks_uri providers, 10 per tenant; every `changedEvery`-th one points elsewhere.
    static func registry(providers: Int, changedEvery: Int?) -> String {
        var lines = ["version: 1", "defaults:", "  require_https: true", "tenants:"]
        for index in 0..<providers {
            if index % 10 == 0 {
                lines.append("  t\(index / 10):")
                lines.append("    providers:")
            }
            let host = changedEvery.map { index % $0 == 0 } == true ? "moved" : "idp\(index)"
            lines.append("      p\(index): { jwks_uri: \"https://\(host).example.com/jwks\" }")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let registryA = try! ConfigLoader.load(text: registry(providers: 10_000, changedEvery: nil))
    static let registryB = try! ConfigLoader.load(text: registry(providers: 10_000, changedEvery: 100))
    static let reloadEngine = JWKSEngine(config: registryA, clock: SystemClock(), transport: Offline())
    static let applied = Atomic<Int>(0)
}

/// A transport for benchmarks that must not touch the network: every GET fails at once.
struct Offline: HTTPTransport {
    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        throw FetchFailure(code: .transport, message: "offline benchmark")
    }
}

/// An engine that has loaded the Microsoft set from a file, with the server's prepared replies.
final class Loaded: Sendable {
    nonisolated(unsafe) static var shared: Loaded?

    let dispatcher: RequestDispatcher
    let key: ProviderKey
    let record: KeySetRecord<EngineInstant>

    private init(
        dispatcher: RequestDispatcher, key: ProviderKey, record: KeySetRecord<EngineInstant>
    ) {
        self.dispatcher = dispatcher
        self.key = key
        self.record = record
    }

    static func load() async throws -> Loaded {
        if let shared { return shared }
        let (engine, config) = try await engine()
        let entry = engine.entry(tenant: "acme", provider: "microsoft")!
        return Loaded(
            dispatcher: RequestDispatcher(engine: engine, settings: ServerSettings(config: config)), key: entry.key,
            record: entry.snapshot.record!)
    }

    /// An engine with the Microsoft set as tenant acme's provider `microsoft` (a key file), published.
    /// - Parameter server: the config's `server:` section (empty: the defaults).
    static func engine(server: String = "") async throws -> (JWKSEngine, JWKSDConfig) {
        let config = try ConfigLoader.load(
            text: """
                version: 1
                \(server.isEmpty ? "" : "server: \(server)")
                tenants:
                  acme:
                    providers:
                      microsoft: { file: "\(Fixtures.microsoftPath)" }
                """)
        let engine = JWKSEngine(
            config: config, clock: SystemClock(), transport: Offline(),
            prepare: PreparedReplies.preparer(compressMinBytes: 1024))
        let events = engine.events()
        engine.start()
        for await event in events {
            if case .published = event.kind { break }
        }
        return (engine, config)
    }
}

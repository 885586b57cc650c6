import Benchmark
import Foundation
import JWKSCache
import JWKSClient
import JWKSConfig
import JWKSServer
import JWKSWire

// A JWKSKeyCache hit against a server in this process (the Microsoft set): the key already looked up once is
// answered from the cache's memory, with no round trip. `cachedKey` is the synchronous read; `getKey` is the
// same read through the async lookup a verifier calls (it only leaves the process on a miss).
func keyCacheBenchmarks() {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], scalingFactor: .kilo,
        maxDuration: .seconds(2), maxIterations: 1_000_000)

    Benchmark("KeyCache hit: cachedKey (lock + dictionary read)", configuration: configuration) { benchmark in
        let cache = CacheFixture.shared!.cache
        for _ in benchmark.scaledIterations {
            guard let key = cache.cachedKey(tenant: "acme", provider: "microsoft", kid: Fixtures.kid) else {
                fatalError("the key left the cache")
            }
            blackHole(key)
        }
    } setup: {
        CacheFixture.shared = try await CacheFixture.start()
    }

    Benchmark("KeyCache hit: getKey (async lookup answered from memory)", configuration: configuration) {
        benchmark in
        let cache = CacheFixture.shared!.cache
        for _ in benchmark.scaledIterations {
            blackHole(try await cache.getKey(tenant: "acme", provider: "microsoft", kid: Fixtures.kid))
        }
    } setup: {
        CacheFixture.shared = try await CacheFixture.start()
    }
}

/// A server on a temporary socket with the loaded Microsoft set, and a live cache holding one of its keys.
final class CacheFixture: Sendable {
    nonisolated(unsafe) static var shared: CacheFixture?

    let server: JWKSServer
    let cache: JWKSKeyCache

    private init(server: JWKSServer, cache: JWKSKeyCache) {
        self.server = server
        self.cache = cache
    }

    static func start() async throws -> CacheFixture {
        if let shared { return shared }
        let socket = NSTemporaryDirectory() + "jwksd-bench-\(getpid()).sock"
        let (engine, config) = try await Loaded.engine(server: "{ socket: \"\(socket)\" }")
        let server = JWKSServer(
            dispatcher: RequestDispatcher(engine: engine, settings: ServerSettings(config: config)))
        try await server.start()
        let cache = JWKSKeyCache(socketPath: socket)
        while !cache.isLive { try await Task.sleep(for: .milliseconds(1)) }
        _ = try await cache.getKey(tenant: "acme", provider: "microsoft", kid: Fixtures.kid)
        guard cache.cachedKey(tenant: "acme", provider: "microsoft", kid: Fixtures.kid) != nil else {
            fatalError("the first lookup was not kept")
        }
        return CacheFixture(server: server, cache: cache)
    }
}

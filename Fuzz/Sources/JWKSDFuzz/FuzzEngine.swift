import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer

/// The engine the server-side targets run against: two tenants (one readable by everyone, one only by uid
/// 4242) whose provider is a key file in a temporary directory, loaded before the first input.
enum FuzzEngine {
    /// Runs a server's async start to completion before the first input (the fuzzer's callbacks are synchronous).
    static func startBlocking(_ start: @escaping @Sendable () async throws -> Void) {
        let started = DispatchSemaphore(value: 0)
        Task {
            try! await start()
            started.signal()
        }
        started.wait()
    }

    static func make(name: String, server: String) -> (JWKSEngine, JWKSDConfig) {
        let directory = NSTemporaryDirectory() + "jwksd-fuzz-\(name)-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try! FuzzKeys.document.write(toFile: directory + "/keys.json", atomically: true, encoding: .utf8)
        let config = try! ConfigLoader.load(
            text: """
                version: 1
                server: \(server)
                tenants:
                  acme:
                    providers:
                      disk: { file: keys.json, kid_miss_cooldown: 1s }
                  locked:
                    allowed_uids: [4242]
                    providers:
                      disk: { file: keys.json }
                """, baseDirectory: directory)
        let engine = JWKSEngine(
            config: config, clock: SystemClock(), transport: FuzzNoNetwork(),
            prepare: PreparedReplies.preparer(compressMinBytes: 256))
        engine.start()
        Thread.sleep(forTimeInterval: 0.2)  // the providers' first load
        return (engine, config)
    }
}

/// No HTTP in the fuzzed server: its provider is a file.
struct FuzzNoNetwork: HTTPTransport {
    func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        throw FetchFailure(code: .transport, message: "no network while fuzzing")
    }
}

/// A small real key set (Ed25519, P-256) for the fuzzed server.
enum FuzzKeys {
    static let document = """
        {"keys":[{"kty":"OKP","crv":"Ed25519","kid":"disk-1","use":"sig","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},\
        {"kty":"EC","crv":"P-256","kid":"disk-2","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}
        """
}

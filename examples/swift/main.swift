// A service's view of jwksd: look up the key a token names, and follow key changes.
//
//   swift run jwksd-example-client acme acme-0            # one lookup, then watch the tenant for 30 s
//   JWKSD_SOCKET=/tmp/jwksd-demo-.../jwksd.sock swift run jwksd-example-client globex globex-0
//
// A verifier calls getKey with the token header's kid (and alg, so a key of the wrong type never matches),
// verifies the signature with the returned JWK, and treats NOT_FOUND as "unknown signer" and UNAVAILABLE
// as "try again later". jwksd answers in microseconds; a JWKSKeyCache in front of the client answers a key
// seen before from this process's memory in about 100 ns, kept current by a Watch.
import Foundation
import JWKSClient
import JWKSWire

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else {
    print("usage: jwksd-example-client TENANT KID [ALG]")
    exit(2)
}
let tenant = arguments[arguments.startIndex]
let kid = arguments[arguments.startIndex + 1]
let alg = arguments.count > 2 ? arguments[arguments.startIndex + 2] : nil
let socketPath = ProcessInfo.processInfo.environment["JWKSD_SOCKET"] ?? "./jwksd.sock"

let client = JWKSClient(socketPath: socketPath)
do {
    let started = ContinuousClock.now
    let key = try await client.getKey(tenant: tenant, kid: kid, alg: alg)
    let elapsed = ContinuousClock.now - started
    print(
        "\(key.kid): \(key.kty) \(key.alg) from \(tenant)/\(key.provider)\(key.stale ? " (stale)" : "") in \(elapsed)")
    print(String(decoding: key.jwkJson, as: UTF8.self))

    // The same lookup through a local cache: the first asks the daemon, the second is answered from memory.
    let cache = JWKSKeyCache(client: client, tenants: [tenant])
    // Lookups are answered from memory once its Watch is subscribed (until then they go to the daemon).
    for _ in 0..<1_000 where !cache.isLive { try? await Task.sleep(for: .milliseconds(1)) }
    _ = try await cache.getKey(tenant: tenant, kid: kid, alg: alg)
    let hitStarted = ContinuousClock.now
    let hit = try await cache.getKey(tenant: tenant, kid: kid, alg: alg)
    print("again through JWKSKeyCache: \(hit.response.kid) from memory in \(ContinuousClock.now - hitStarted)")
    await cache.close()
} catch {
    // RPCError carries the status and the server's message: what, where and why.
    print("\(error.code.name): \(error.message)")
    await client.close()
    exit(error.code == .notFound ? 1 : 2)
}

print("watching \(tenant) for 30 s (rotate or reload to see events)")
let watching = Task {
    do {
        for try await event in client.watch(tenants: [tenant]) {
            print("\(event.tenant)/\(event.provider): \(event.kind) kids=\(event.kids) \(event.error)")
        }
    } catch {
        print("watch ended: \(error)")
    }
}
try? await Task.sleep(for: .seconds(30))
watching.cancel()
await client.close()

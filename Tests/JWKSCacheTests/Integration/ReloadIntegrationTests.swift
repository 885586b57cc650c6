import DevIssuer
import Foundation
import JWKS
import JWKSCache
import JWKSConfig
import JWKSTestSupport
import Synchronization
import Testing

/// Applying a new registry to a running engine: the diff, the carried keys, and lookups during the swap.
@Suite("Engine reload against DevIssuer", .serialized)
struct ReloadIntegrationTests {
    static func config(_ providers: String, base: String) throws -> JWKSDConfig {
        try ConfigLoader.load(
            text: RefreshIntegrationTests.yaml(providers).replacingOccurrences(of: "{{BASE}}", with: base))
    }

    @Test("unchanged providers are kept, policy changes keep keys, changed sources reload, removed stop, added load")
    func diff() async throws {
        let first = """
            same: { jwks_uri: "{{BASE}}/a/jwks" }
            policy: { jwks_uri: "{{BASE}}/b/jwks" }
            moved: { jwks_uri: "{{BASE}}/c/jwks" }
            gone: { jwks_uri: "{{BASE}}/d/jwks" }
            """
        try await withHarness(
            try await EngineHarness(yaml: RefreshIntegrationTests.yaml(first)) { issuer in
                for name in ["a", "b", "c", "d", "e"] { issuer.addIssuer(name, kinds: [.ed25519], maxAge: 600) }
            }
        ) { harness in
            _ = await harness.recorder.count(from: 0, reaching: 4) { $0.isPublished }
            let engine = harness.engine
            let sameBefore = try #require(engine.entry(tenant: "acme", provider: "same"))
            let requestsBefore = harness.issuer.requestLog.count
            let mark = harness.recorder.count
            let second = try Self.config(
                """
                same: { jwks_uri: "{{BASE}}/a/jwks" }
                policy: { jwks_uri: "{{BASE}}/b/jwks", refresh_early: 5m }
                moved: { jwks_uri: "{{BASE}}/e/jwks" }
                added: { jwks_uri: "{{BASE}}/e/jwks" }
                """, base: harness.issuer.baseURL)
            let summary = engine.apply(second)
            let again = engine.apply(second)
            #expect(again.generation == 2 && again.unchanged == 4 && again.added == 0 && again.changed == 0)
            #expect(summary.generation == 2 && summary.added == 1 && summary.removed == 1)
            #expect(summary.changed == 2 && summary.unchanged == 1)
            #expect(engine.generation == 2)
            #expect(engine.entry(tenant: "acme", provider: "same") === sameBefore)
            let policy = try #require(engine.entry(tenant: "acme", provider: "policy"))
            #expect(policy.snapshot.record?.keySet.kids == ["b-0"], "keys carried over without a fetch")
            #expect(engine.scheduler.deadline(of: policy.key) == harness.clock.now.advanced(by: .seconds(300)))
            #expect(engine.entry(tenant: "acme", provider: "gone") == nil)
            let loads = await harness.recorder.count(from: mark, reaching: 2) { $0.isPublished }
            #expect(loads)
            let newEvents = harness.recorder.events.dropFirst(mark)
            #expect(Set(newEvents.filter(\.isPublished).map(\.key.provider)) == ["moved", "added"])
            #expect(newEvents.contains { $0.key.provider == "gone" && $0.kind == .removed })
            #expect(!newEvents.contains { $0.key.provider == "policy" && $0.kind == .removed })
            let moved = await engine.lookup(
                tenant: "acme", provider: "moved", kid: "e-0", alg: nil, deadline: harness.farDeadline)
            guard case .found = moved else { Issue.record("moved provider: \(moved)"); return }
            let fetched = harness.issuer.requestLog.dropFirst(requestsBefore).map(\.path)
            #expect(fetched.sorted() == ["/e/jwks", "/e/jwks"])
            let gone = await engine.lookup(
                tenant: "acme", provider: "gone", kid: "d-0", alg: nil, deadline: harness.farDeadline)
            guard case .failed(.unknownProvider) = gone else { Issue.record("removed provider: \(gone)"); return }
        }
    }

    @Test("no lookup fails while reloads swap the registry")
    func lookupsDuringReload() async throws {
        let providers = (0..<50).map { "p\($0): { jwks_uri: \"{{BASE}}/i\($0 % 5)/jwks\" }" }.joined(separator: "\n")
        try await withHarness(
            try await EngineHarness(yaml: RefreshIntegrationTests.yaml(providers)) { issuer in
                for index in 0..<5 { issuer.addIssuer("i\(index)", kinds: [.p256], maxAge: 600) }
            }
        ) { harness in
            _ = await harness.recorder.count(from: 0, reaching: 50) { $0.isPublished }
            let engine = harness.engine
            let deadline = harness.farDeadline
            let base = harness.issuer.baseURL
            let stop = RunningCounter()
            let failures = await withTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var failures = 0
                        var index = worker
                        while stop.add(0) == 0 {
                            let provider = "p\(index % 50)"
                            let outcome = await engine.lookup(
                                tenant: "acme", provider: provider, kid: "i\(index % 50 % 5)-0", alg: nil,
                                deadline: deadline)
                            if case .found = outcome {} else { failures += 1 }
                            index += 4
                            await Task.yield()
                        }
                        return failures
                    }
                }
                group.addTask {
                    for round in 0..<20 {
                        let early = round % 2 == 0 ? "1m" : "2m"
                        let text = (0..<50).map {
                            "p\($0): { jwks_uri: \"{{BASE}}/i\($0 % 5)/jwks\", refresh_early: \(early) }"
                        }
                        .joined(separator: "\n")
                        _ = engine.apply(try! Self.config(text, base: base))
                        await Task.yield()
                    }
                    _ = stop.add(1)
                    return 0
                }
                return await group.reduce(0, +)
            }
            #expect(failures == 0)
            #expect(engine.generation == 21)
        }
    }
}

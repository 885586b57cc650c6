import DevIssuer
import Foundation
import JWKSServer
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

/// Graceful shutdown: calls in flight are answered, new ones refused, streams ended, then GOAWAY OK.
@Suite("Graceful drain", .serialized)
struct DrainTests {
    @Test("shutdown answers the call in flight, refuses new calls, ends Watch, then says GOAWAY OK")
    func drain() async throws {
        try await withHarness(try await MethodTests.harness()) { harness in
            let raw = try await RawConnection.connect(harness.socketPath, timeout: .seconds(30))
            defer { raw.close() }
            let watch = ByteBuffer(bytes: try Jwksd_V1_WatchRequest().serializedBytes() as [UInt8])
            try raw.send(.request(.watch, callID: 1, payload: watch))
            // A kid miss makes the server refetch beta's keys (the third request there: tenants beta and locked
            // both load from it); the issuer holds that response for 3 s, long after the drain has started.
            harness.issuer.inject(.delay(.seconds(3)), at: "/beta/jwks", times: 1)
            try raw.send(.request(.getKey, callID: 3, payload: getKeyPayload("beta", "idp", "brand-new")))
            #expect(await eventually { harness.issuer.requests(to: "/beta/jwks").count >= 3 })

            // The drain timeout is far longer than the held response: this test is about what a drain answers
            // and in which order, not how long it waits (the next test cuts a call off), and a loaded CI machine
            // once took more than 5 s to deliver the held response.
            let shutdown = Task { await harness.server.shutdown(drainTimeout: .seconds(30)) }
            let ended = try #require(try await raw.readFrame())
            #expect(ended.kind == .response && ended.callID == 1 && ended.status == .unavailable)
            #expect(!FileManager.default.fileExists(atPath: harness.socketPath))
            try raw.send(.request(.getKey, callID: 5, payload: getKeyPayload("acme", "idp", "acme-0")))
            let refused = try #require(try await raw.readFrame())
            #expect(refused.callID == 5 && refused.status == .unavailable)
            let answered = try #require(try await raw.readFrame())
            #expect(answered.kind == .response && answered.callID == 3 && answered.status == .notFound)
            let goaway = try #require(try await raw.readFrame())
            #expect(goaway.kind == .goaway && goaway.status == .ok)
            #expect(try await raw.readFrame() == nil)
            await shutdown.value
            #expect(harness.server.openConnections == 0)
        }
    }

    @Test("a call that outlasts the drain timeout is cut off when it expires")
    func drainTimeout() async throws {
        try await withHarness(try await MethodTests.harness()) { harness in
            let raw = try await RawConnection.connect(harness.socketPath)
            defer { raw.close() }
            harness.issuer.inject(.delay(.seconds(5)), at: "/beta/jwks", times: 1)
            try raw.send(.request(.getKey, callID: 3, payload: getKeyPayload("beta", "idp", "brand-new")))
            #expect(await eventually { harness.issuer.requests(to: "/beta/jwks").count >= 3 })
            let started = ContinuousClock.now
            await harness.server.shutdown(drainTimeout: .milliseconds(200))
            #expect(ContinuousClock.now - started < .seconds(4))
            #expect(try await raw.readFrame() == nil)
        }
    }
}

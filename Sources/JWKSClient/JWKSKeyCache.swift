public import JWKSWire
import NIOConcurrencyHelpers
import NIOCore
import SwiftProtobuf

/// A local copy of the keys this process has looked up, kept current by a Watch: a repeated lookup is answered
/// from memory with no round trip (a lock and a dictionary read), the way Redis client-side caching works.
///
/// - A lookup the copy holds is answered from it; a miss is a GetKey to the daemon (so its kid-miss rule
///   runs), whose answer is kept when it is fresh (a `stale` answer is never kept: it goes to the daemon
///   every time, which stops serving it at its stale limit).
/// - The copy is filled only while its Watch is subscribed, and over the Watch's own connection, behind the
///   Watch REQUEST, so the daemon has subscribed it before it answers (PROTOCOL.md §3, Watch).
/// - A Watch event (KEYS_CHANGED, FAILED, REMOVED) for a provider drops the entries it could change (that
///   provider's, and the tenant's lookups that named no provider) on the connection's event loop as the event
///   is read, before any later reply on that connection is delivered; an answer whose GetKey was sent before
///   an event is not kept.
/// - When the Watch ends or its connection drops, the whole copy is dropped at once; lookups go to the daemon
///   until a new Watch is subscribed (retried with backoff from 50 ms to 5 s).
///
/// Call ``close()`` when done: the following task holds the cache until then.
public final class JWKSKeyCache: Sendable {
    /// The client that answers what the copy cannot: tenants not followed, and every lookup while the copy is
    /// being rebuilt.
    public let client: JWKSClient
    /// The tenants followed; empty: every tenant the peer may read.
    public let tenants: [String]
    /// The most lookups kept; past it the oldest-inserted is dropped.
    public let maximumEntries: Int
    /// The connection that carries the Watch and the misses that fill the copy.
    private let feed: JWKSClient
    private let state = NIOLockedValueBox(KeyCacheState())
    private let following = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// Creates a cache in front of `client`; it subscribes at once.
    /// - Parameters:
    ///   - client: answers lookups the copy does not hold (its connection is shared with the caller's calls).
    ///   - tenants: the tenants to follow; empty follows every tenant the peer may read.
    ///   - maximumEntries: the most lookups kept (each a key's JSON and a few fields).
    public init(client: JWKSClient, tenants: [String] = [], maximumEntries: Int = 10_000) {
        self.client = client
        self.tenants = tenants
        self.maximumEntries = max(1, maximumEntries)
        self.feed = JWKSClient(socketPath: client.socketPath, maximumReplyBytes: client.maximumReplyBytes)
        following.withLockedValue { $0 = Task { await self.follow() } }
    }

    /// Creates a cache with a client of its own for `socketPath`.
    public convenience init(socketPath: String, tenants: [String] = [], maximumEntries: Int = 10_000) {
        self.init(client: JWKSClient(socketPath: socketPath), tenants: tenants, maximumEntries: maximumEntries)
    }

    /// Stops following, drops the copy and closes the cache's connection (not `client`'s).
    public func close() async {
        let task = following.withLockedValue { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
        state.withLockedValue { $0.stop() }
        await feed.close()
    }

    /// Whether the copy is live (its Watch subscribed), so hits can be answered from memory.
    public var isLive: Bool { state.withLockedValue { $0.live } }

    /// The lookups held.
    public var count: Int { state.withLockedValue { $0.count } }

    /// GetKey through the copy: the held answer of an identical earlier lookup, else the daemon's (kept when
    /// fresh). Same parameters and errors as ``JWKSClient/getKey(tenant:provider:kid:alg:timeout:)``; the reply
    /// is the answer's `response`.
    public func getKey(
        tenant: String, provider: String? = nil, kid: String, alg: String? = nil, timeout: Duration = .seconds(5)
    ) async throws(RPCError) -> KeyAnswer {
        let key = KeyCacheState.Lookup(tenant: tenant, provider: provider ?? "", kid: kid, alg: alg ?? "")
        let (hit, ticket) = state.withLockedValue { state in
            (state.answer(key), state.ticket(tenant: tenant, followed: tenants))
        }
        if let hit { return hit }
        guard let ticket else {
            let response = try await client.getKey(
                tenant: tenant, provider: provider, kid: kid, alg: alg, timeout: timeout)
            return KeyAnswer(response, tenant: tenant, provider: key.provider, alg: key.alg)
        }
        let response = try await feed.getKey(tenant: tenant, provider: provider, kid: kid, alg: alg, timeout: timeout)
        let answer = KeyAnswer(response, tenant: tenant, provider: key.provider, alg: key.alg)
        if !response.stale {
            let limit = maximumEntries
            state.withLockedValue { $0.keep(answer, kid: kid, ticket: ticket, limit: limit) }
        }
        return answer
    }

    /// The held answer of an identical earlier lookup, or nil; never a call to the daemon.
    public func cachedKey(tenant: String, provider: String? = nil, kid: String, alg: String? = nil) -> KeyAnswer? {
        let key = KeyCacheState.Lookup(tenant: tenant, provider: provider ?? "", kid: kid, alg: alg ?? "")
        return state.withLockedValue { $0.answer(key) }
    }

    // MARK: - Following

    /// Subscribes a Watch, marks the copy live, waits for the Watch to end, drops the copy, and starts over
    /// with backoff, until cancelled.
    private func follow() async {
        var backoff = Self.firstBackoff
        while !Task.isCancelled {
            let started = ContinuousClock.now
            await followOnce()
            if ContinuousClock.now - started > Self.maximumBackoff { backoff = Self.firstBackoff }
            do {
                try await Task.sleep(for: backoff)
            } catch {
                return
            }
            backoff = min(backoff * 2, Self.maximumBackoff)
        }
    }

    /// One Watch subscription: returns when it ends (error, daemon gone, cancellation).
    private func followOnce() async {
        let epoch = state.withLockedValue { $0.begin() }
        let (ended, endedContinuation) = AsyncStream.makeStream(of: Void.self)
        var request = Jwksd_V1_WatchRequest()
        request.tenants = tenants
        let state = self.state
        let cancel: @Sendable () -> Void
        do {
            cancel = try await feed.subscribe(.watch, request) { delivery in
                switch delivery {
                case .message(let frame):
                    if let event = try? Jwksd_V1_WatchEvent(serializedBytes: Array(buffer: frame.payload)) {
                        state.withLockedValue { $0.apply(event, epoch: epoch) }
                    } else {
                        // An event that does not decode might have been a change: nothing held can be trusted.
                        state.withLockedValue { $0.end(epoch) }
                        endedContinuation.finish()
                    }
                case .ended:
                    state.withLockedValue { $0.end(epoch) }
                    endedContinuation.finish()
                }
            }
        } catch {
            state.withLockedValue { $0.end(epoch) }
            return
        }
        state.withLockedValue { $0.goLive(epoch) }
        await withTaskCancellationHandler {
            for await _ in ended {}
        } onCancel: {
            cancel()
            endedContinuation.finish()
        }
        cancel()
        state.withLockedValue { $0.end(epoch) }
    }

    static let firstBackoff = Duration.milliseconds(50)
    static let maximumBackoff = Duration.seconds(5)
}

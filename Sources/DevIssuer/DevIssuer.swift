import Foundation
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A small OpenID Connect issuer on the loopback for tests, benchmarks and `jwksd demo`: discovery documents
/// and JWKS for any number of issuers (one path each), real keys from swift-crypto, `ETag`, `Last-Modified`
/// and `Cache-Control: max-age`, key rotation, scriptable faults, verbatim documents, and a request log.
public final class DevIssuer: Sendable {
    private let state: NIOLockedValueBox<DevIssuerState>
    private let channel: (any Channel)?
    private let fillerBytes = NIOLockedValueBox<Int>(0)
    private let rotationTasks = NIOLockedValueBox<[String: Task<Void, Never>]>([:])
    /// The port it listens on.
    public let port: Int

    private init(port: Int, channel: (any Channel)?, state: DevIssuerState) {
        self.port = port
        self.state = NIOLockedValueBox(state)
        self.channel = channel
    }

    /// Starts an issuer on `host`, port 0 (any free port) by default.
    /// - Parameters:
    ///   - host: the address to bind; the loopback by default.
    ///   - port: the port; 0 picks a free one.
    ///   - tls: serve HTTPS with these certificates instead of HTTP.
    ///   - group: the event loops that serve the requests; nil for NIO's shared ones.
    /// - Returns: the running issuer.
    public static func start(
        host: String = "127.0.0.1", port: Int = 0, tls: DevCertificates? = nil,
        group: (any EventLoopGroup)? = nil
    ) async throws -> DevIssuer {
        let box = IssuerBox()
        let sslContext = try tls.map { certificates in
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: [
                        .certificate(try NIOSSLCertificate(bytes: Array(certificates.serverPEM.utf8), format: .pem))
                    ],
                    privateKey: .privateKey(
                        try NIOSSLPrivateKey(bytes: Array(certificates.serverKeyPEM.utf8), format: .pem))))
        }
        let channel = try await ServerBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(DevIssuerHandler(issuer: box.issuer!))
                }
            }
            .bind(host: host, port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        var state = DevIssuerState()
        state.baseURL = "\(tls == nil ? "http" : "https")://\(host):\(boundPort)"
        let issuer = DevIssuer(port: boundPort, channel: channel, state: state)
        box.issuer = issuer
        return issuer
    }

    /// Stops listening and ends rotation timers.
    public func shutdown() async throws {
        for task in rotationTasks.withLockedValue({ Array($0.values) }) { task.cancel() }
        if let channel {
            try await channel.close()
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` when serving TLS).
    public var baseURL: String { state.withLockedValue { $0.baseURL } }

    /// The issuer URL of `name` (`http://127.0.0.1:PORT/name`).
    public func issuerURL(_ name: String) -> String { "\(baseURL)/\(name)" }

    /// The JWKS URL of `name`.
    public func jwksURL(_ name: String) -> String { "\(baseURL)/\(name)/jwks" }

    /// The discovery path of `name`.
    public func discoveryPath(_ name: String) -> String { "/\(name)/.well-known/openid-configuration" }

    /// Adds (or replaces) an issuer with fresh keys.
    /// - Parameters:
    ///   - name: its path segment.
    ///   - kinds: the keys to generate, in order.
    ///   - maxAge: `Cache-Control: max-age`, or `nil` to send none.
    /// - Returns: the generated keys.
    @discardableResult
    public func addIssuer(_ name: String, kinds: [DevKey.Kind] = [.rsa2048, .p256, .ed25519], maxAge: Int? = 300)
        -> [DevKey]
    {
        let keys = kinds.enumerated().map { DevKey(kind: $0.element, kid: "\(name)-\($0.offset)") }
        state.withLockedValue { state in
            state.issuers[name] = DevIssuerState.Issuer(
                keys: keys, kinds: kinds, maxAge: maxAge, lastModified: Int64(Date.now.timeIntervalSince1970),
                generation: kinds.count)
        }
        return keys
    }

    /// Rotates an issuer's keys: a new key of the first kind is added in front and the oldest is dropped.
    /// - Returns: the new key.
    @discardableResult
    public func rotate(_ name: String) -> DevKey? {
        guard
            let (kind, generation) = state.withLockedValue({ state -> (DevKey.Kind, Int)? in
                guard let issuer = state.issuers[name] else { return nil }
                return (issuer.kinds.first ?? .p256, issuer.generation)
            })
        else { return nil }
        let key = DevKey(kind: kind, kid: "\(name)-\(generation)")
        state.withLockedValue { state in
            guard var issuer = state.issuers[name] else { return }
            issuer.keys.insert(key, at: 0)
            if issuer.keys.count > max(1, issuer.kinds.count) { issuer.keys.removeLast() }
            issuer.generation += 1
            issuer.lastModified = max(issuer.lastModified + 1, Int64(Date.now.timeIntervalSince1970))
            state.issuers[name] = issuer
        }
        return key
    }

    /// Rotates an issuer's keys every `interval` on `clock` until shutdown; `nil` stops it.
    public func rotate<C: Clock>(_ name: String, every interval: Duration?, clock: C) where C.Duration == Duration {
        let task = interval.map { interval in
            Task { [weak self] in
                var next = clock.now.advanced(by: interval)
                while !Task.isCancelled {
                    try? await clock.sleep(until: next, tolerance: nil)
                    if Task.isCancelled { return }
                    self?.rotate(name)
                    next = next.advanced(by: interval)
                }
            }
        }
        rotationTasks.withLockedValue { tasks in
            tasks[name]?.cancel()
            tasks[name] = task
        }
    }

    /// Rotates an issuer's keys every `interval` of real time until shutdown; `nil` stops it.
    public func rotate(_ name: String, every interval: Duration?) {
        rotate(name, every: interval, clock: ContinuousClock())
    }

    /// The keys an issuer publishes now.
    public func keys(_ name: String) -> [DevKey] { state.withLockedValue { $0.issuers[name]?.keys ?? [] } }

    /// Sets an issuer's `max-age` (`nil` sends no Cache-Control).
    public func setMaxAge(_ name: String, _ maxAge: Int?) {
        state.withLockedValue { $0.issuers[name]?.maxAge = maxAge }
    }

    /// Serves `body` verbatim at `path` (with an ETag, and these extra headers).
    public func serve(path: String, body: [UInt8], headers: [(String, String)] = []) {
        state.withLockedValue { $0.documents[path] = DevIssuerState.Document(body: body, headers: headers) }
    }

    /// Makes `path` misbehave: the next `times` requests, or every request until cleared when `times` is nil.
    /// Faults queue in order.
    public func inject(_ fault: DevFault, at path: String, times: Int? = nil) {
        state.withLockedValue {
            $0.faults[path, default: []].append(DevIssuerState.FaultRule(fault: fault, remaining: times))
        }
    }

    /// Removes every fault of `path` (all paths when nil).
    public func clearFaults(at path: String? = nil) {
        state.withLockedValue { state in
            if let path { state.faults[path] = nil } else { state.faults.removeAll() }
        }
    }

    /// Every request so far, in arrival order.
    public var requestLog: [DevRequestRecord] { state.withLockedValue { $0.log } }

    /// Requests to `path` so far.
    public func requests(to path: String) -> [DevRequestRecord] { requestLog.filter { $0.path == path } }

    /// Forgets the request log.
    public func clearLog() { state.withLockedValue { $0.log.removeAll() } }

    /// Whether requests are recorded in ``requestLog`` (on by default; turn it off for long runs under load).
    public var logsRequests: Bool {
        get { state.withLockedValue { $0.logsRequests } }
        set { state.withLockedValue { $0.logsRequests = newValue } }
    }

    /// The names of every issuer.
    public var issuerNames: [String] { state.withLockedValue { Array($0.issuers.keys) } }

    /// Filler bytes of oversized bodies actually written to sockets.
    public var fillerBytesSent: Int { fillerBytes.withLockedValue { $0 } }

    func respond(method: String, path: String, headers: [String: String]) -> DevResponse {
        state.withLockedValue { $0.respond(method: method, path: path, headers: headers) }
    }

    func noteFillerSent(_ count: Int) { fillerBytes.withLockedValue { $0 += count } }
}

/// Hands the issuer to handlers created before it exists (the bootstrap needs the initializer first).
private final class IssuerBox: Sendable {
    private let value = NIOLockedValueBox<DevIssuer?>(nil)

    var issuer: DevIssuer? {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}

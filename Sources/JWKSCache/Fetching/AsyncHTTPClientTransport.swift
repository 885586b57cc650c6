import AsyncHTTPClient
import Foundation
import JWKSConfig
public import NIOCore
import NIOHTTP1
import NIOSSL

/// The production ``HTTPTransport``: one shared AsyncHTTPClient for every provider, with redirects left to
/// ``HTTPFetcher`` and bodies read as a stream that stops at the cap.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient

    /// Creates the shared client.
    /// - Parameters:
    ///   - connectTimeout: the time allowed to establish a connection (`defaults.retry.connect_timeout`).
    ///   - group: the event loops for its I/O (NIO's shared loops when nil).
    public init(connectTimeout: Duration, group: (any EventLoopGroup)? = nil) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: TimeAmount(connectTimeout))
        // A refused or failed connection fails the attempt at once: jwksd's own backoff decides when to retry.
        // (The pool's default retries connecting until the request deadline, which held a fetch permit for the
        // whole attempt_timeout per provider when a host was down.)
        configuration.connectionPool.retryConnectionEstablishment = false
        // jwksd records no traces; without a tracer the client skips building a span per request (≈ 7 % of a
        // refresh's CPU in the rotation storm profile).
        configuration.tracing.tracer = nil
        self.client = HTTPClient(
            eventLoopGroupProvider: group.map { .shared($0) } ?? .singleton, configuration: configuration)
    }

    /// Shuts the client down; call once when the engine stops.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Performs one GET within `request.timeout` as a whole: connecting, the head and every byte of the body.
    /// (AsyncHTTPClient's deadline covers the head only; a body that drips a byte a second would otherwise hold
    /// the fetch, and its permit, forever.)
    public func get(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        let timeout = request.timeout
        do {
            return try await withThrowingTaskGroup(of: HTTPGetResponse?.self) { group in
                group.addTask { try await self.perform(request) }
                group.addTask {
                    // Cancelled when the response wins: its timer must not stay queued for the whole timeout.
                    try await CancellableSleep.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw FetchFailure(
                        code: .timeout, message: "GET \(request.url): no complete response within \(timeout)")
                }
                return response
            }
        } catch let failure as FetchFailure {
            throw failure
        } catch {
            throw FetchFailure(code: .transport, message: "GET \(request.url): \(error)")
        }
    }

    private func perform(_ request: HTTPGetRequest) async throws(FetchFailure) -> HTTPGetResponse {
        var outgoing = HTTPClientRequest(url: request.url.text)
        outgoing.method = .GET
        for field in request.headers { outgoing.headers.add(name: field.name, value: field.value) }
        if let caFile = request.caFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(caFile)]
            outgoing.tlsConfiguration = tls
        }
        let deadline = NIODeadline.now() + TimeAmount(request.timeout)
        do {
            let response = try await client.execute(outgoing, deadline: deadline)
            let receivedAt = Int64(Date().timeIntervalSince1970)
            if let length = response.headers.first(name: "content-length").flatMap(Int.init),
                length > request.maxBodyBytes
            {
                throw FetchFailure.tooLarge(request, announced: length)
            }
            var body: [UInt8] = []
            for try await chunk in response.body {
                guard body.count + chunk.readableBytes <= request.maxBodyBytes else {
                    throw FetchFailure.tooLarge(request, announced: nil)
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
            var headers: [String: String] = [:]
            for field in response.headers {
                let name = field.name.lowercased()
                headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
            }
            return HTTPGetResponse(
                status: Int(response.status.code), headers: headers, body: body, receivedAt: receivedAt)
        } catch let failure as FetchFailure {
            throw failure
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw FetchFailure(
                code: .timeout, message: "GET \(request.url): no complete response within \(request.timeout)")
        } catch {
            throw FetchFailure(code: .transport, message: "GET \(request.url): \(error)")
        }
    }
}

extension FetchFailure {
    static func tooLarge(_ request: HTTPGetRequest, announced: Int?) -> FetchFailure {
        let detail = announced.map { "announces \($0) bytes" } ?? "exceeded the cap while streaming"
        return FetchFailure(
            code: .bodyTooLarge,
            message: "GET \(request.url): the body \(detail); max_response_bytes is \(request.maxBodyBytes)")
    }
}

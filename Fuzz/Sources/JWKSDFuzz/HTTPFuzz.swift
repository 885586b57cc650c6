import Foundation
import JWKSConfig
import JWKSServer
import NIOPosix

/// The HTTP JWKS endpoint, started once on a Unix socket (peer ACLs apply) with a key-file provider; each input
/// is what one client sends on a new connection before half-closing it: request lines, targets, queries,
/// headers, pipelined requests, bodies, garbage. The connection must end within a few seconds whatever the bytes.
final class HTTPFuzz: Sendable {
    static let shared = HTTPFuzz()

    let socketPath: String
    let server: JWKSHTTPServer

    private init() {
        let (engine, config) = FuzzEngine.make(name: "http", server: "{ socket: ./s.sock }")
        socketPath = config.resolve("./http.sock")
        var http = HTTPEndpointConfig(listen: .unix(path: socketPath))
        http.requestTimeout = .seconds(1)
        http.kidWait = .milliseconds(50)
        http.maxHeaderBytes = 4_096
        server = JWKSHTTPServer(engine: engine, config: http, group: MultiThreadedEventLoopGroup(numberOfThreads: 1))
        let server = self.server
        FuzzEngine.startBlocking { try await server.start() }
    }

    func run(_ bytes: [UInt8]) {
        UnixPeer.exchange(bytes, with: socketPath)
    }
}

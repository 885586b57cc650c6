import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle

/// Serves the HTTP JWKS endpoint at `server.http` until shutdown.
struct HTTPEndpointService: Service {
    let server: JWKSHTTPServer
    let logger: Logger

    func run() async throws {
        try await server.start()
        let address: String
        switch server.config.listen {
        case .tcp(let host, let port): address = "http://\(host):\(server.boundPort ?? port)/v1/jwks/"
        case .unix(let path): address = "unix:\(path) /v1/jwks/"
        }
        logger.info("HTTP JWKS endpoint listening", metadata: ["address": "\(address)"])
        try? await gracefulShutdown()
        await server.shutdown()
    }
}

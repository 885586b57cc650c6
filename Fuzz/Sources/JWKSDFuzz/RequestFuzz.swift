import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import JWKSWire
import NIOCore

/// Request payloads of every method through the dispatcher, as a peer outside every access list and as an
/// admin: the first byte picks the method and the peer, the rest is the payload. Nothing traps, and a reply
/// answered now carries a status the protocol defines.
final class RequestFuzz: Sendable {
    static let shared = RequestFuzz()

    let dispatcher: RequestDispatcher

    private init() {
        let (engine, config) = FuzzEngine.make(name: "request", server: "{ socket: ./s.sock }")
        dispatcher = RequestDispatcher(engine: engine, settings: ServerSettings(config: config))
    }

    func run(_ bytes: [UInt8]) {
        guard let first = bytes.first, let method = Method(rawValue: (first & 0x7F) % 9 + 1) else { return }
        let peer =
            first & 0x80 == 0
            ? PeerCredentials(pid: 1, uid: 1_000, gid: 1_000) : PeerCredentials(pid: 1, uid: 0, gid: 0)
        switch dispatcher.dispatch(method, payload: ByteBuffer(bytes: bytes.dropFirst()), peer: peer) {
        case .reply(let reply):
            guard StatusCode(rawValue: reply.status.rawValue) != nil else { fuzzFailure("undefined status") }
        case .deferred, .watch:
            break
        }
    }
}

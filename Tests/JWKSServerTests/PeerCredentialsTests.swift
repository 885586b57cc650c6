import Foundation
import JWKSServer
import JWKSWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SO_PEERCRED read from a plain descriptor.
@Suite("Peer credentials")
struct PeerCredentialsTests {
    @Test("a socketpair's peer is this process, with its uid and gid; a non-socket gives nil")
    func socketPair() throws {
        var pair: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { for descriptor in pair { close(descriptor) } }
        let peer = try #require(PeerCredentials.read(descriptor: pair[0]))
        #expect(peer == PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid()))
        #expect(PeerCredentials.read(descriptor: -1) == nil)
    }
}

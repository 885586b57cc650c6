import Crypto
import Foundation
import JWKSTestSupport
import Testing

/// `jwksd verify` and the Python example client's `verify` against a running daemon whose provider is RFC 8037's Ed25519 key (`disk-1`).
@Suite("jwksd verify")
struct VerifyCommandTests {
    /// RFC 8037 §A.1's private key, the pair of the `disk-1` key in `keys.json`.
    static let privateKey = try! Curve25519.Signing.PrivateKey(
        rawRepresentation: base64URLDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))

    static func base64URLDecode(_ text: String) -> Data {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)!
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func token(_ claims: String) throws -> String {
        let input =
            base64URL(Data(#"{"alg":"EdDSA","kid":"disk-1"}"#.utf8)) + "." + base64URL(Data(claims.utf8))
        return input + "." + base64URL(try privateKey.signature(for: Data(input.utf8)))
    }

    @Test("prints the claims of a token that verifies; a refused one prints UNAUTHENTICATED: reason and exits 26")
    func verify() async throws {
        let directory = try DaemonDirectory(
            config: """
                version: 1
                server: { socket: ./jwksd.sock }
                tenants:
                  acme:
                    providers:
                      disk: { file: ./keys.json, verify: { audiences: [api] } }
                """)
        defer { directory.remove() }
        let daemon = try await ServeEndToEndTests.startDaemon(
            config: directory.config, environment: directory.environment)
        defer { if daemon.isRunning { daemon.terminate() } }
        let exp = Int(Date().timeIntervalSince1970) + 3_600
        let claims = #"{"aud":"api","exp":\#(exp),"sub":"u1"}"#
        let verified = try await ServeEndToEndTests.run(
            ["verify", "--tenant", "acme", "--provider", "disk", try Self.token(claims)],
            environment: directory.environment)
        #expect(verified.status == 0, "\(verified.errors)")
        #expect(verified.output == claims + "\n")
        let expired = try await ServeEndToEndTests.run(
            ["verify", "--tenant", "acme", "--provider", "disk", try Self.token(#"{"aud":"api","exp":1000}"#)],
            environment: directory.environment)
        #expect(expired.status == 26)
        #expect(expired.errors.hasPrefix("UNAUTHENTICATED: expired: "), "\(expired.errors)")
        let otherAudience = try await ServeEndToEndTests.run(
            ["verify", "--tenant", "acme", "--provider", "disk", "--audience", "web", try Self.token(claims)],
            environment: directory.environment)
        #expect(otherAudience.status == 26)
        #expect(otherAudience.errors.hasPrefix("UNAUTHENTICATED: bad_audience: "), "\(otherAudience.errors)")

        // The Python client's verify (python -m jwksd), on the same daemon.
        try #require(
            FileManager.default.isExecutableFile(atPath: PythonClientEndToEndTests.python.path),
            "no Python environment: run scripts/python-env.sh (scripts/test.sh does)")
        let socket = ["--socket", directory.socket]
        let python = try await PythonClientEndToEndTests.run(
            socket + ["verify", "--tenant", "acme", "--provider", "disk", try Self.token(claims)])
        #expect(python.status == 0, "\(python.errors)")
        #expect(python.output == claims + "\n")
        let pythonExpired = try await PythonClientEndToEndTests.run(
            socket + ["verify", "--tenant", "acme", "--provider", "disk", try Self.token(#"{"aud":"api","exp":1000}"#)])
        #expect(pythonExpired.status == 26)
        #expect(pythonExpired.errors.hasPrefix("UNAUTHENTICATED: expired: "), "\(pythonExpired.errors)")
        daemon.terminate()
        await daemon.exited()
    }
}

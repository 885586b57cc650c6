import Crypto
import DevIssuer
import Foundation
import JWKSTestSupport
import Testing

/// PyJWT's own `jwt.PyJWKClient` (the library from PyPI, unmodified) pointed at the daemon's HTTP JWKS endpoint:
/// it verifies tokens of a DevIssuer provider's key, and after a rotation at the issuer and the daemon's refresh,
/// tokens of the new key.
@Suite("PyJWT's PyJWKClient against the HTTP endpoint", .serialized)
struct PyJWKClientEndToEndTests {
    /// Verifies each token with one PyJWKClient (in order; its cache is PyJWT's own) and prints `sub` or the
    /// error's class for each.
    static let script = """
        import sys, jwt
        client = jwt.PyJWKClient(sys.argv[1])
        for token in sys.argv[2:]:
            try:
                key = client.get_signing_key_from_jwt(token)
                print(jwt.decode(token, key.key, algorithms=["ES256"], audience="api")["sub"])
            except Exception as error:
                print(type(error).__name__)
        """

    /// A P-256 signing key and its public JWK.
    struct SigningKey {
        let kid: String
        let key = P256.Signing.PrivateKey()

        var jwk: String {
            let raw = key.publicKey.rawRepresentation
            return
                #"{"kty":"EC","crv":"P-256","kid":"\#(kid)","alg":"ES256","use":"sig","x":"\#(VerifyCommandTests.base64URL(raw.prefix(32)))","y":"\#(VerifyCommandTests.base64URL(raw.suffix(32)))"}"#
        }

        func token(sub: String) throws -> String {
            let exp = Int(Date().timeIntervalSince1970) + 3_600
            let input =
                VerifyCommandTests.base64URL(Data(#"{"alg":"ES256","typ":"JWT","kid":"\#(kid)"}"#.utf8)) + "."
                + VerifyCommandTests.base64URL(Data(#"{"sub":"\#(sub)","aud":"api","exp":\#(exp)}"#.utf8))
            return input + "."
                + VerifyCommandTests.base64URL(try key.signature(for: Data(input.utf8)).rawRepresentation)
        }
    }

    static func serve(_ keys: [SigningKey], on issuer: DevIssuer) {
        let body = #"{"keys":["# + keys.map(\.jwk).joined(separator: ",") + "]}"
        issuer.serve(path: "/acme/jwks", body: Array(body.utf8), headers: [("Cache-Control", "max-age=300")])
    }

    @Test("verifies tokens of the served key, then of the rotated key after the daemon's refresh")
    func rotation() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: PythonClientEndToEndTests.python.path),
            "no Python environment: run scripts/python-env.sh (scripts/test.sh does)")
        let issuer = try await DevIssuer.start()
        try await withCleanup {
            let first = SigningKey(kid: "first")
            let second = SigningKey(kid: "second")
            Self.serve([first], on: issuer)
            let directory = try DaemonDirectory(
                config: """
                    version: 1
                    server: { socket: ./jwksd.sock, http: { listen: "127.0.0.1:0" } }
                    defaults: { require_https: false, allow_private_networks: true }
                    tenants:
                      acme:
                        providers:
                          login: { jwks_uri: "\(issuer.baseURL)/acme/jwks" }
                    """)
            defer { directory.remove() }
            let daemon = try await ServeEndToEndTests.startDaemon(
                config: directory.config, environment: directory.environment, log: directory.log)
            defer { if daemon.isRunning { daemon.terminate() } }
            // The endpoint's port (0 in the config) is in the daemon's log.
            let portIn: @Sendable (String) -> Int? = { log in
                guard let range = log.range(of: #"http://127\.0\.0\.1:[0-9]+/v1/jwks/"#, options: .regularExpression)
                else { return nil }
                return Int(log[range].dropFirst("http://127.0.0.1:".count).prefix { $0.isNumber })
            }
            _ = await eventually { portIn(directory.logText) != nil }
            let port = portIn(directory.logText)
            let url =
                "http://127.0.0.1:\(try #require(port, "no endpoint in the log: \(directory.logText)"))/v1/jwks/acme/login"
            let python = PythonClientEndToEndTests.python

            let before = try await ServeEndToEndTests.run(
                ["-c", Self.script, url, try first.token(sub: "alice"), try second.token(sub: "bob")],
                executable: python)
            #expect(before.status == 0, "\(before.errors)")
            #expect(before.output == "alice\nPyJWKClientError\n", "the second key is not served yet")

            // Rotation at the issuer, then the daemon's refresh: the first key leaves, the second arrives.
            Self.serve([second], on: issuer)
            let refresh = try await ServeEndToEndTests.run(
                ["refresh", "--tenant", "acme"], environment: directory.environment)
            #expect(refresh.status == 0, "\(refresh.errors)")
            let after = try await ServeEndToEndTests.run(
                ["-c", Self.script, url, try second.token(sub: "bob"), try first.token(sub: "alice")],
                executable: python)
            #expect(after.status == 0, "\(after.errors)")
            #expect(after.output == "bob\nPyJWKClientError\n")
            daemon.terminate()
            await daemon.exited()
        } cleanup: {
            try? await issuer.shutdown()
        }
    }
}

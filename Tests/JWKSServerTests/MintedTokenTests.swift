import Foundation
import JWKS
import JWKSTestSupport
import JWKSWire
import NIOCore
import SwiftProtobuf
import Testing

@testable import JWKSServer

/// VerifyJWT against tokens minted at test time by two independent libraries, PyJWT and joserfc
/// (scripts/mint-tokens.py, in the Python environment scripts/python-env.sh prepares): every algorithm valid,
/// and broken every way the protocol names (bad signatures, alg confusion, `none`, claims, `crit`, shapes).
@Suite("Tokens minted by PyJWT and joserfc")
struct MintedTokenTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Case: Decodable {
        var name: String
        var token: String
        var expect: String
        var audiences: [String]?
        var expectUnnamed: String?

        enum CodingKeys: String, CodingKey {
            case name, token, expect, audiences
            case expectUnnamed = "expect_unnamed"
        }
    }

    /// Runs the mint script into a fresh directory, on a thread of its own: the script takes a second or more
    /// (RSA key generation), and blocking a thread of Swift's cooperative pool (two on this machine) would stall
    /// the tests running beside this one.
    static func mint() async throws -> URL {
        try await onOwnThread { try mintNow() }
    }

    private static func mintNow() throws -> URL {
        let python = repository.appendingPathComponent(".build-python/bin/python3")
        try #require(
            FileManager.default.isExecutableFile(atPath: python.path),
            "no Python environment: run scripts/python-env.sh (scripts/test.sh does)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwksd-mint-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = python
        process.arguments = [repository.appendingPathComponent("scripts/mint-tokens.py").path, directory.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "mint-tokens.py: \(String(decoding: message, as: UTF8.self))")
        return directory
    }

    @Test("every case answers as the rules say, with the provider named and chosen by iss")
    func cases() async throws {
        let minted = try await Self.mint()
        defer { try? FileManager.default.removeItem(at: minted) }
        let cases = try JSONDecoder().decode(
            [Case].self, from: Data(contentsOf: minted.appendingPathComponent("cases.json")))
        #expect(cases.count >= 80)
        let algorithms = Set(
            cases.filter { $0.expect == "ok" }.compactMap { testCase -> String? in
                guard let header = testCase.token.split(separator: ".").first,
                    let bytes = try? Base64URL.decode(String(header)),
                    let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
                else { return nil }
                return object["alg"] as? String
            })
        #expect(
            algorithms.isSuperset(of: [
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
            ]), "\(algorithms.sorted())")
        let jwks = try Data(contentsOf: minted.appendingPathComponent("jwks.json"))
        let (dispatcher, directory) = try await ConnectionHandlerTests.dispatcher(
            server: "max_calls_per_connection: 8",
            tenants: """
                mint: { providers: { keys: { file: jwks.json, verify: { issuer: "https://mint.example", audiences: ["api://mint"] } } } }
                """, transport: NoNetwork(), files: ["jwks.json": Array(jwks)])
        defer { try? FileManager.default.removeItem(at: directory) }
        for testCase in cases {
            for provider in ["keys", ""] {
                var request = Jwksd_V1_VerifyJWTRequest()
                request.tenant = "mint"
                request.provider = provider
                request.token = testCase.token
                request.audiences = testCase.audiences ?? []
                let reply = try await VerifiedTokenCacheTests.verify(
                    dispatcher, ByteBuffer(bytes: try request.serializedBytes() as [UInt8]))
                let expected = provider.isEmpty ? testCase.expectUnnamed ?? testCase.expect : testCase.expect
                let text = String(buffer: reply.payload)
                if expected == "ok" {
                    #expect(reply.status == .ok, "\(testCase.name) [\(provider)]: \(text)")
                } else {
                    #expect(
                        reply.status == .unauthenticated && text.hasPrefix(expected + ": "),
                        "\(testCase.name) [\(provider)]: expected \(expected), got \(reply.status): \(text)")
                }
            }
        }
    }
}

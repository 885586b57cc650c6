import ArgumentParser
import Foundation
import JWKS
import JWKSClient
import JWKSWire
import NIOCore
import SwiftProtobuf

/// The encoded request payloads a bench cycles through.
enum BenchTargets {
    static func payloads(
        method: BenchCommand.BenchMethod, probe: JWKSClient, tenant: String?, provider: String?, kid: String?,
        mixAll: Bool, missRatio: Double
    ) async throws -> [ByteBuffer] {
        switch method {
        case .health, .verifyJWT:
            return [ByteBuffer()]
        case .getKeySet:
            var pairs: [(String, String)] = []
            if mixAll {
                for item in try await probe.listTenants().tenants { pairs += item.providers.map { (item.id, $0) } }
            } else if let tenant, let provider {
                pairs = [(tenant, provider)]
            }
            return try pairs.map { pair in
                var request = Jwksd_V1_GetKeySetRequest()
                request.tenant = pair.0
                request.provider = pair.1
                return ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
            }
        case .getKey:
            var keys: [(String, String, String)] = []
            if mixAll {
                for item in try await probe.listTenants().tenants {
                    for provider in item.providers {
                        guard let set = try? await probe.getKeySet(tenant: item.id, provider: provider),
                            let parsed = try? JWKSet(parsing: Array(set.jwksJson))
                        else { continue }
                        keys += parsed.kids.map { (item.id, provider, $0) }
                    }
                }
            } else if let tenant, let kid {
                keys = [(tenant, provider ?? "", kid)]
            }
            var payloads: [ByteBuffer] = []
            for key in keys {
                var request = Jwksd_V1_GetKeyRequest()
                request.tenant = key.0
                request.provider = key.1
                request.kid = key.2
                payloads.append(ByteBuffer(bytes: try request.serializedBytes() as [UInt8]))
            }
            // Unknown kids in proportion: misses / (hits + misses) = missRatio.
            if missRatio > 0, let key = keys.first {
                let misses =
                    missRatio >= 1
                    ? keys.count : max(1, Int((missRatio * Double(keys.count) / (1 - missRatio)).rounded()))
                if missRatio >= 1 { payloads.removeAll() }
                for index in 0..<misses {
                    var request = Jwksd_V1_GetKeyRequest()
                    request.tenant = key.0
                    request.provider = key.1
                    request.kid = "bench-miss-\(index)"
                    payloads.append(ByteBuffer(bytes: try request.serializedBytes() as [UInt8]))
                }
            }
            return payloads
        }
    }

    /// VerifyJWT requests, one per token of `tokensFile` (one compact JWS per line; blank lines skipped).
    static func verifyRequests(
        tenant: String, provider: String, audiences: [String], tokensFile: String
    ) throws -> [ByteBuffer] {
        let text = try String(contentsOfFile: tokensFile, encoding: .utf8)
        let tokens = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !tokens.isEmpty else { throw ValidationError("\(tokensFile) has no token") }
        return try tokens.map { token in
            var request = Jwksd_V1_VerifyJWTRequest()
            request.tenant = tenant
            request.provider = provider
            request.token = token
            request.audiences = audiences
            return ByteBuffer(bytes: try request.serializedBytes() as [UInt8])
        }
    }
}

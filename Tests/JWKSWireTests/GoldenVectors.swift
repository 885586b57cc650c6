import Foundation
import NIOCore
import SwiftProtobuf

@testable import JWKSWire

/// One golden frame: a name, what it shows, the frame, and the payload's message type (nil for text).
struct GoldenVector {
    var name: String
    var summary: String
    var method: Method?
    var frame: Frame
    var messageType: (any SwiftProtobuf.Message.Type)?
    var text: String = ""
}

enum GoldenVectors {
    static func payload(_ message: some SwiftProtobuf.Message) -> ByteBuffer {
        ByteBuffer(bytes: try! message.serializedBytes() as [UInt8])
    }

    static func request<M: SwiftProtobuf.Message>(
        _ name: String, _ method: Method, _ message: M, id: UInt32, flags: FrameFlags = []
    ) -> GoldenVector {
        GoldenVector(
            name: name, summary: "\(method) request, call id \(id)", method: method,
            frame: .request(method, callID: id, payload: payload(message), flags: flags), messageType: M.self)
    }

    static func response<M: SwiftProtobuf.Message>(_ name: String, _ method: Method, _ message: M, id: UInt32)
        -> GoldenVector
    {
        GoldenVector(
            name: name, summary: "\(method) OK response, call id \(id)", method: method,
            frame: .response(.ok, callID: id, payload: payload(message)), messageType: M.self)
    }

    static let ecKey =
        #"{"kty":"EC","kid":"acme-1","use":"sig","alg":"ES256","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}"#

    /// RFC 8037 §A.4's Ed25519 example, as a compact JWS.
    static let rfc8037Token =
        "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

    static var all: [GoldenVector] {
        var verify = Jwksd_V1_VerifyJWTRequest()
        verify.tenant = "acme"
        verify.token = rfc8037Token
        verify.audiences = ["api"]
        verify.timeoutMs = 250
        var verified = Jwksd_V1_VerifyJWTResponse()
        verified.provider = "auth0"
        verified.kid = "acme-1"
        verified.alg = "ES256"
        verified.header = Data(#"{"alg":"ES256","kid":"acme-1"}"#.utf8)
        verified.claims = Data(#"{"iss":"https://acme.example.com/","aud":"api","exp":1795953900}"#.utf8)
        var getKey = Jwksd_V1_GetKeyRequest()
        getKey.tenant = "acme"
        getKey.provider = "auth0"
        getKey.kid = "acme-1"
        getKey.alg = "ES256"
        getKey.timeoutMs = 250
        var getKeyReply = Jwksd_V1_GetKeyResponse()
        getKeyReply.jwkJson = Data(ecKey.utf8)
        getKeyReply.kid = "acme-1"
        getKeyReply.kty = "EC"
        getKeyReply.alg = "ES256"
        getKeyReply.use = "sig"
        getKeyReply.provider = "auth0"
        getKeyReply.fetchedAt = 1_795_953_600
        getKeyReply.expiresAt = 1_795_953_900
        getKeyReply.matches = 1
        var getKeySet = Jwksd_V1_GetKeySetRequest()
        getKeySet.tenant = "acme"
        getKeySet.provider = "auth0"
        var keySet = Jwksd_V1_GetKeySetResponse()
        keySet.jwksJson = Data("{\"keys\":[\(ecKey)]}".utf8)
        keySet.provider = "auth0"
        keySet.fetchedAt = 1_795_953_600
        keySet.expiresAt = 1_795_953_900
        keySet.keyCount = 1
        var bigSet = keySet
        bigSet.jwksJson = Data("{\"keys\":[\(Array(repeating: ecKey, count: 12).joined(separator: ","))]}".utf8)
        bigSet.keyCount = 12
        var tenants = Jwksd_V1_ListTenantsResponse()
        var acme = Jwksd_V1_ListTenantsResponse.Tenant()
        acme.id = "acme"
        acme.providers = ["google", "auth0"]
        tenants.tenants = [acme]
        var statusRequest = Jwksd_V1_StatusRequest()
        statusRequest.tenant = "acme"
        var provider = Jwksd_V1_ProviderStatus()
        provider.tenant = "acme"
        provider.provider = "auth0"
        provider.source = "jwks_uri https://acme.eu.auth0.com/.well-known/jwks.json"
        provider.state = "ready"
        provider.standing = "fresh"
        provider.keyCount = 1
        provider.etag = "\"v1\""
        provider.lastRefresh = 1_795_953_600
        provider.fetchedAt = 1_795_953_600
        provider.nextRefresh = 1_795_953_870
        provider.expiresAt = 1_795_953_900
        provider.staleUntil = 1_795_957_500
        var status = Jwksd_V1_StatusResponse()
        status.providers = [provider]
        status.configGeneration = 1
        var refresh = Jwksd_V1_RefreshRequest()
        refresh.tenant = "acme"
        refresh.provider = "auth0"
        var refreshReply = Jwksd_V1_RefreshResponse()
        refreshReply.providers = [provider]
        var reloadReply = Jwksd_V1_ReloadResponse()
        reloadReply.result.ok = true
        reloadReply.result.generation = 2
        reloadReply.result.at = 1_795_953_600
        reloadReply.result.added = 1
        reloadReply.result.unchanged = 3
        var watch = Jwksd_V1_WatchRequest()
        watch.tenants = ["acme"]
        var event = Jwksd_V1_WatchEvent()
        event.tenant = "acme"
        event.provider = "auth0"
        event.kind = .keysChanged
        event.kids = ["acme-1", "acme-2"]
        event.at = 1_795_953_600
        event.keyCount = 2
        var health = Jwksd_V1_HealthResponse()
        health.serving = true
        health.providers = 2
        health.ready = 2
        let compressedPayload = WireCompression.compress(payload(bigSet))
        return [
            request("01-get-key-request", .getKey, getKey, id: 1),
            response("01-get-key-response", .getKey, getKeyReply, id: 1),
            request("02-get-key-set-request", .getKeySet, getKeySet, id: 2, flags: .acceptCompressed),
            response("02-get-key-set-response", .getKeySet, keySet, id: 2),
            GoldenVector(
                name: "02-get-key-set-response-compressed", summary: "GetKeySet OK response, zlib-compressed payload",
                method: .getKeySet,
                frame: .response(.ok, callID: 22, payload: compressedPayload, flags: .compressed),
                messageType: Jwksd_V1_GetKeySetResponse.self),
            request("03-list-tenants-request", .listTenants, Jwksd_V1_ListTenantsRequest(), id: 3),
            response("03-list-tenants-response", .listTenants, tenants, id: 3),
            request("04-status-request", .status, statusRequest, id: 4),
            response("04-status-response", .status, status, id: 4),
            request("05-refresh-request", .refresh, refresh, id: 5),
            response("05-refresh-response", .refresh, refreshReply, id: 5),
            request("06-reload-request", .reload, Jwksd_V1_ReloadRequest(), id: 6),
            response("06-reload-response", .reload, reloadReply, id: 6),
            request("07-watch-request", .watch, watch, id: 7),
            GoldenVector(
                name: "07-watch-message", summary: "Watch stream item (MESSAGE)", method: .watch,
                frame: Frame(kind: .message, callID: 7, payload: payload(event)), messageType: Jwksd_V1_WatchEvent.self),
            GoldenVector(
                name: "07-watch-end", summary: "Watch final RESPONSE after CANCEL: CANCELLED", method: .watch,
                frame: .error(.cancelled, callID: 7, message: "cancelled by the client"), messageType: nil,
                text: "cancelled by the client"),
            request("08-health-request", .health, Jwksd_V1_HealthRequest(), id: 8),
            response("08-health-response", .health, health, id: 8),
            GoldenVector(
                name: "09-error-not-found", summary: "GetKey error response NOT_FOUND with UTF-8 text", method: .getKey,
                frame: .error(.notFound, callID: 9, message: "kid \"nope\" not found in acme/auth0"), messageType: nil,
                text: "kid \"nope\" not found in acme/auth0"),
            GoldenVector(
                name: "10-cancel", summary: "CANCEL of call 7 (Watch)", method: .watch,
                frame: Frame(kind: .cancel, code: Method.watch.rawValue, callID: 7, payload: ByteBuffer()),
                messageType: nil),
            GoldenVector(
                name: "11-goaway", summary: "GOAWAY RESOURCE_EXHAUSTED with a reason", method: nil,
                frame: .goaway(
                    .resourceExhausted, reason: "frame length 16777224 exceeds max_frame_bytes (1048576) + 8"),
                messageType: nil, text: "frame length 16777224 exceeds max_frame_bytes (1048576) + 8"),
            GoldenVector(
                name: "12-ping", summary: "PING with 8 opaque bytes", method: nil,
                frame: Frame(kind: .ping, callID: 0, payload: ByteBuffer(bytes: [0, 1, 2, 3, 4, 5, 6, 7])),
                messageType: nil,
                text: String(decoding: [0, 1, 2, 3, 4, 5, 6, 7] as [UInt8], as: UTF8.self)),
            GoldenVector(
                name: "12-pong", summary: "PONG echoing the PING", method: nil,
                frame: Frame(kind: .pong, callID: 0, payload: ByteBuffer(bytes: [0, 1, 2, 3, 4, 5, 6, 7])),
                messageType: nil,
                text: String(decoding: [0, 1, 2, 3, 4, 5, 6, 7] as [UInt8], as: UTF8.self)),
            request("13-verify-jwt-request", .verifyJWT, verify, id: 13),
            response("13-verify-jwt-response", .verifyJWT, verified, id: 13),
            GoldenVector(
                name: "13-verify-jwt-unauthenticated", summary: "VerifyJWT refused: UNAUTHENTICATED, REASON: detail",
                method: .verifyJWT,
                frame: .error(
                    .unauthenticated, callID: 14, message: "expired: exp 1795953900 is 120 s before now (leeway 60 s)"),
                messageType: nil, text: "expired: exp 1795953900 is 120 s before now (leeway 60 s)"),
        ]
    }

    static func hexFile(_ vector: GoldenVector, bytes: [UInt8]) -> String {
        var lines = ["# \(vector.name): \(vector.summary)", "# \(bytes.count) bytes; header (12) then payload"]
        let header = bytes.prefix(12).map { String(format: "%02x", $0) }
        lines.append(
            "\(header[0...3].joined()) \(header[4]) \(header[5]) \(header[6]) \(header[7]) \(header[8...11].joined())")
        let payload = Array(bytes.dropFirst(12))
        for start in stride(from: 0, to: payload.count, by: 32) {
            lines.append(payload[start..<min(start + 32, payload.count)].map { String(format: "%02x", $0) }.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func parseHex(_ text: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let digits = line.filter { !$0.isWhitespace }
            var index = digits.startIndex
            while index < digits.endIndex {
                let next = digits.index(index, offsetBy: 2)
                guard let byte = UInt8(digits[index..<next], radix: 16) else { throw HexError() }
                bytes.append(byte)
                index = next
            }
        }
        return bytes
    }

    struct HexError: Error {}
}

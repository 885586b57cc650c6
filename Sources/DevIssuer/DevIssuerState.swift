import Crypto
import Foundation
import JWKS
import JWKSCache

/// What the dev issuer serves, its scripted faults and its request log. Pure data behind the server's
/// lock: the NIO handler asks it for a ``DevResponse`` and performs it.
struct DevIssuerState {
    struct Issuer {
        var keys: [DevKey]
        var kinds: [DevKey.Kind]
        var maxAge: Int?
        var lastModified: Int64
        var generation = 0
    }

    struct Document {
        var body: [UInt8]
        var headers: [(String, String)]
    }

    struct FaultRule {
        var fault: DevFault
        var remaining: Int?
    }

    var baseURL = ""
    var issuers: [String: Issuer] = [:]
    var documents: [String: Document] = [:]
    var faults: [String: [FaultRule]] = [:]
    var log: [DevRequestRecord] = []
    /// Whether requests are recorded in `log` (off for long runs under load, where it would only grow).
    var logsRequests = true

    /// The response to one request.
    mutating func respond(method: String, path: String, headers: [String: String]) -> DevResponse {
        let response = route(method: method, path: path, headers: headers)
        guard logsRequests else { return response }
        log.append(
            DevRequestRecord(
                method: method, path: path, ifNoneMatch: headers["if-none-match"],
                ifModifiedSince: headers["if-modified-since"], userAgent: headers["user-agent"],
                accept: headers["accept"], status: response.status, receivedAt: .now))
        return response
    }

    private mutating func route(method: String, path: String, headers: [String: String]) -> DevResponse {
        guard method == "GET" || method == "HEAD" else { return .plain(405, "method not allowed") }
        if let fault = takeFault(path) {
            switch fault {
            case .status(let status, let retryAfter):
                var response = DevResponse.plain(status, "fault: HTTP \(status)")
                if let retryAfter, case .send(let code, var fields, let body) = response {
                    fields.append(("Retry-After", String(retryAfter)))
                    response = .send(status: code, headers: fields, body: body)
                }
                return response
            case .delay(let duration):
                return .delayed(duration, normal(path: path, headers: headers, badKey: false))
            case .reset:
                return .reset
            case .truncated:
                let full = normal(path: path, headers: headers, badKey: false)
                guard case .send(_, let fields, let body) = full else { return full }
                return .truncated(headers: fields, body: body)
            case .oversized(let bytes, let announced):
                return .oversized(bytes: bytes, announced: announced)
            case .drip(let every):
                let full = normal(path: path, headers: headers, badKey: false)
                guard case .send(_, let fields, let body) = full else { return full }
                return .drip(headers: fields, body: body, every: every)
            case .invalidJSON:
                return .send(
                    status: 200, headers: [("Content-Type", "application/json")], body: Array("{\"keys\": [".utf8))
            case .oneBadKey:
                return normal(path: path, headers: headers, badKey: true)
            case .noUsableKeys:
                let body =
                    #"{"keys":[{"kty":"EC","crv":"P-256","kid":"secret","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}]}"#
                return .send(status: 200, headers: [("Content-Type", "application/json")], body: Array(body.utf8))
            case .redirect(let target):
                return .send(status: 302, headers: [("Location", target)], body: [])
            case .issuerMismatch:
                guard let name = issuerName(path), issuers[name] != nil else { return .plain(404, "not found") }
                let body = discoveryDocument(name: name, issuer: "\(baseURL)/someone-else")
                return .send(status: 200, headers: [("Content-Type", "application/json")], body: body)
            }
        }
        return normal(path: path, headers: headers, badKey: false)
    }

    private func normal(path: String, headers: [String: String], badKey: Bool) -> DevResponse {
        if let document = documents[path] {
            return conditional(
                body: document.body, extra: document.headers, lastModified: nil, maxAge: nil, request: headers)
        }
        guard let name = issuerName(path), let issuer = issuers[name] else { return .plain(404, "not found") }
        if path.hasSuffix("/.well-known/openid-configuration") {
            var fields = [("Content-Type", "application/json")]
            if let maxAge = issuer.maxAge { fields.append(("Cache-Control", "public, max-age=\(maxAge)")) }
            return .send(
                status: 200, headers: fields, body: discoveryDocument(name: name, issuer: "\(baseURL)/\(name)"))
        }
        var keys = issuer.keys.map(\.json)
        if badKey { keys.insert(#"{"kty":"EC","crv":"P-256","kid":"broken","x":"AAAA"}"#, at: 0) }
        let body = Array("{\"keys\":[\(keys.joined(separator: ","))]}".utf8)
        return conditional(
            body: body, extra: [], lastModified: issuer.lastModified, maxAge: issuer.maxAge, request: headers)
    }

    private func conditional(
        body: [UInt8], extra: [(String, String)], lastModified: Int64?, maxAge: Int?, request: [String: String]
    ) -> DevResponse {
        let digest = SHA256.hash(data: body).prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let etag = "\"\(digest)\""
        var fields: [(String, String)] = [("ETag", etag)]
        if let lastModified { fields.append(("Last-Modified", HTTPDate.format(lastModified))) }
        if let maxAge { fields.append(("Cache-Control", "public, max-age=\(maxAge)")) }
        fields += extra
        if let match = request["if-none-match"] {
            if match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
                return .send(status: 304, headers: fields, body: [])
            }
        } else if let since = request["if-modified-since"], let lastModified, let date = HTTPDate.parse(since),
            date >= lastModified
        {
            return .send(status: 304, headers: fields, body: [])
        }
        return .send(status: 200, headers: [("Content-Type", "application/jwk-set+json")] + fields, body: body)
    }

    func discoveryDocument(name: String, issuer: String) -> [UInt8] {
        Array(
            """
            {"issuer":"\(issuer)","jwks_uri":"\(baseURL)/\(name)/jwks",\
            "authorization_endpoint":"\(baseURL)/\(name)/authorize","response_types_supported":["code"],\
            "subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256","ES256","EdDSA"]}
            """.utf8)
    }

    private func issuerName(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let first = parts.first else { return nil }
        let rest = parts.dropFirst().joined(separator: "/")
        guard rest == "jwks" || rest == ".well-known/openid-configuration" else { return nil }
        return String(first)
    }

    private mutating func takeFault(_ path: String) -> DevFault? {
        guard var rules = faults[path], let first = rules.first else { return nil }
        if let remaining = first.remaining {
            if remaining <= 1 { rules.removeFirst() } else { rules[0].remaining = remaining - 1 }
        }
        faults[path] = rules.isEmpty ? nil : rules
        return first.fault
    }
}

/// What the handler must do for one request.
indirect enum DevResponse {
    /// Send a complete response.
    case send(status: Int, headers: [(String, String)], body: [UInt8])
    /// Wait, then do the inner response.
    case delayed(Duration, DevResponse)
    /// Close the connection without a response.
    case reset
    /// Send the head with the full length and half the body, then close.
    case truncated(headers: [(String, String)], body: [UInt8])
    /// Send a body of this many bytes.
    case oversized(bytes: Int, announced: Bool)
    /// Send the head with the full length at once, then the body one byte per interval.
    case drip(headers: [(String, String)], body: [UInt8], every: Duration)

    static func plain(_ status: Int, _ text: String) -> DevResponse {
        .send(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
    }

    /// The status this response carries (0 for a reset).
    var status: Int {
        switch self {
        case .send(let status, _, _): status
        case .delayed(_, let inner): inner.status
        case .reset: 0
        case .truncated, .oversized, .drip: 200
        }
    }
}

/// A validated JSON Web Key Set: the usable keys, what was dropped and why, and the document it came from.
public struct JWKSet: Sendable, Equatable {
    /// The usable keys in document order. Duplicate kids are kept.
    public let keys: [JWK]
    /// The keys that were left out, with reasons.
    public let dropped: [DroppedKey]
    /// The document exactly as received.
    public let document: [UInt8]
    /// Positions in ``keys`` by kid.
    private let positionsByKid: [String: [Int]]

    /// Parses and validates a JWK Set document.
    /// - Parameters:
    ///   - document: the response body or file contents.
    ///   - options: the key validation policy.
    /// - Throws: ``JWKSError`` with `.invalidJSON`, `.notAJWKSet` or `.noUsableKeys`.
    public init(parsing document: [UInt8], options: JWKValidationOptions = JWKValidationOptions()) throws(JWKSError) {
        let root: JSONValue
        do {
            root = try JSONParser.parse(document)
        } catch {
            throw JWKSError(code: .invalidJSON, message: "not a JWK Set: \(error)")
        }
        let elements = try Self.keyArray(of: root)
        guard !elements.isEmpty else {
            throw JWKSError(code: .noUsableKeys, message: "the JWK Set has an empty \"keys\" array")
        }
        let validator = JWKValidator(options: options)
        var keys: [JWK] = []
        var dropped: [DroppedKey] = []
        for (index, element) in elements.enumerated() {
            switch validator.validate(element, in: document) {
            case .success(let key): keys.append(key)
            case .failure(let reason):
                dropped.append(DroppedKey(index: index, kid: element[member: "kid"]?.stringValue, reason: reason))
            }
        }
        guard !keys.isEmpty else {
            let reasons = dropped.map(\.description).joined(separator: "; ")
            throw JWKSError(
                code: .noUsableKeys,
                message: "none of the \(elements.count) keys in the JWK Set is usable: \(reasons)",
                dropped: dropped)
        }
        self.init(keys: keys, dropped: dropped, document: document)
    }

    /// Creates a set from keys validated elsewhere (for example a snapshot on disk).
    /// - Parameters:
    ///   - keys: the usable keys.
    ///   - dropped: what was dropped when the keys were first parsed.
    ///   - document: the original document.
    public init(keys: [JWK], dropped: [DroppedKey], document: [UInt8]) {
        self.keys = keys
        self.dropped = dropped
        self.document = document
        var positions: [String: [Int]] = [:]
        for (position, key) in keys.enumerated() {
            if let kid = key.kid { positions[kid, default: []].append(position) }
        }
        self.positionsByKid = positions
    }

    /// The keys with this kid, in document order, optionally narrowed to those usable with `alg`.
    /// - Parameters:
    ///   - kid: the key id from a token header.
    ///   - alg: the token's algorithm; `nil` to return every key with the kid.
    /// - Returns: the matching keys; empty when none matches.
    public func keys(kid: String, alg: String? = nil) -> [JWK] {
        guard let positions = positionsByKid[kid] else { return [] }
        let found = positions.map { keys[$0] }
        guard let alg else { return found }
        return found.filter { $0.accepts(alg: alg) }
    }

    /// The distinct kids of the usable keys, in document order.
    public var kids: [String] {
        var seen = Set<String>()
        return keys.compactMap(\.kid).filter { seen.insert($0).inserted }
    }

    private static func keyArray(of root: JSONValue) throws(JWKSError) -> [JSONValue] {
        guard let members = root.objectMembers else {
            throw JWKSError(
                code: .notAJWKSet, message: "not a JWK Set: the document is \(root.typeDescription), not an object")
        }
        let keyMembers = members.filter { $0.name == "keys" }
        guard let keysMember = keyMembers.first else {
            let names = Set(members.map(\.name))
            let hint: String
            if names.contains("kty") {
                hint = "it is a single JWK; a JWK Set wraps keys as {\"keys\": [...]}"
            } else if names.contains("jwks_uri") {
                hint = "it looks like an OpenID Connect discovery document; configure it with issuer:"
            } else if members.isEmpty {
                hint = "the object is empty"
            } else {
                let shown = members.prefix(5).map { "\"\($0.name)\"" }.joined(separator: ", ")
                hint = "its members are \(shown)\(members.count > 5 ? ", ..." : "")"
            }
            throw JWKSError(code: .notAJWKSet, message: "not a JWK Set: no \"keys\" member (\(hint))")
        }
        guard keyMembers.count == 1 else {
            throw JWKSError(code: .notAJWKSet, message: "not a JWK Set: \"keys\" appears \(keyMembers.count) times")
        }
        guard let elements = keysMember.value.arrayElements else {
            throw JWKSError(
                code: .notAJWKSet,
                message: "not a JWK Set: \"keys\" is \(keysMember.value.typeDescription), not an array")
        }
        return elements
    }
}

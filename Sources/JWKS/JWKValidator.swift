import Crypto

/// Validates one JWK object on its own: the set around it never fails because of it.
public struct JWKValidator: Sendable {
    /// Members that only private keys have (RFC 7518 §6.2.2, §6.3.2; RFC 8037 `d`; the draft AKP `priv`).
    static let privateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "priv"]
    /// `key_ops` values that belong to signing keys (RFC 7517 §4.3).
    static let signatureOperations: Set<String> = ["sign", "verify"]
    /// `key_ops` values that belong to encryption / key agreement keys.
    static let encryptionOperations: Set<String> = [
        "encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits",
    ]

    /// The policy in force.
    public var options: JWKValidationOptions

    /// Creates a validator.
    /// - Parameter options: the validation policy.
    public init(options: JWKValidationOptions = JWKValidationOptions()) {
        self.options = options
    }

    /// Validates one key.
    /// - Parameters:
    ///   - value: the parsed key object.
    ///   - document: the document bytes that `value.range` points into.
    /// - Returns: the usable key, or why it is dropped.
    public func validate(_ value: JSONValue, in document: [UInt8]) -> Result<JWK, DropReason> {
        do throws(DropReason) {
            return .success(try check(value, in: document))
        } catch {
            return .failure(error)
        }
    }

    private func check(_ value: JSONValue, in document: [UInt8]) throws(DropReason) -> JWK {
        guard let members = value.objectMembers else {
            throw .malformed("a key must be a JSON object, not \(value.typeDescription)")
        }
        var seen = Set<String>()
        for member in members where !seen.insert(member.name).inserted {
            throw .malformed("member \"\(member.name)\" appears more than once")
        }
        let fields = KeyFields(members: members)
        let privateFound = Self.privateMembers.filter { fields[$0] != nil }
        if !privateFound.isEmpty { throw .privateKeyMaterial(members: privateFound) }
        guard let ktyValue = fields["kty"] else { throw .malformed("missing \"kty\"") }
        guard let kty = ktyValue.stringValue else {
            throw .malformed("\"kty\" must be a string, not \(ktyValue.typeDescription)")
        }
        if kty == "oct" { throw .symmetricKey }
        guard let keyType = KeyType(rawValue: kty) else { throw .unsupportedKeyType(kty) }

        let kid = try fields.optionalString("kid")
        let alg = try fields.optionalString("alg")
        let use = try fields.optionalString("use")
        let keyOps = try keyOperations(fields)
        try checkCertificateMembers(fields)

        let curve: Curve?
        let bits: Int
        switch keyType {
        case .rsa:
            curve = nil
            bits = try checkRSA(fields)
        case .ec:
            let found = try checkCurve(fields, keyType: .ec)
            try checkEC(fields, curve: found)
            curve = found
            bits = found == .p521 ? 521 : found.coordinateSize * 8
        case .okp:
            let found = try checkCurve(fields, keyType: .okp)
            try checkOKP(fields, curve: found)
            curve = found
            bits = found.coordinateSize * 8
        }
        try checkConsistency(keyType: keyType, curve: curve, alg: alg, use: use, keyOps: keyOps)
        return JWK(
            kid: kid, keyType: keyType, alg: alg, use: use, keyOps: keyOps, curve: curve, sizeInBits: bits,
            json: Array(document[value.range]))
    }

    private func keyOperations(_ fields: KeyFields) throws(DropReason) -> [String]? {
        guard let value = fields["key_ops"] else { return nil }
        guard let elements = value.arrayElements else {
            throw .malformed("\"key_ops\" must be an array of strings, not \(value.typeDescription)")
        }
        var operations: [String] = []
        for element in elements {
            guard let operation = element.stringValue else {
                throw .malformed("\"key_ops\" must contain only strings")
            }
            if operations.contains(operation) {
                throw .malformed("\"key_ops\" lists \"\(operation)\" twice")
            }
            operations.append(operation)
        }
        return operations
    }

    private func checkCertificateMembers(_ fields: KeyFields) throws(DropReason) {
        _ = try fields.optionalString("x5u")
        _ = try fields.optionalString("x5t")
        _ = try fields.optionalString("x5t#S256")
        guard let chain = fields["x5c"] else { return }
        guard let certificates = chain.arrayElements, !certificates.isEmpty else {
            throw .malformed("\"x5c\" must be a non-empty array of base64 certificates")
        }
        for (position, certificate) in certificates.enumerated() {
            guard let text = certificate.stringValue, (try? Base64URL.decode(text)) != nil else {
                throw .malformed("\"x5c\"[\(position)] is not a base64 DER certificate")
            }
        }
    }

    private func checkRSA(_ fields: KeyFields) throws(DropReason) -> Int {
        // One leading zero byte is the signed-integer form some libraries emit (RFC 7518 §6.3.1.1 asks them not
        // to); more is not an encoding any library produces, only padding that costs memory and parse time.
        let encodedModulus = try fields.base64("n")
        let modulus = Self.strippingLeadingZeros(encodedModulus)
        guard encodedModulus.count - modulus.count <= 1 else {
            throw .malformed(
                "\"n\" has \(encodedModulus.count - modulus.count) leading zero bytes; at most one is accepted")
        }
        let encodedExponent = try fields.base64("e")
        guard encodedExponent.count <= 8 else {
            throw .malformed("\"e\" is \(encodedExponent.count) bytes long; an exponent is at most 8 bytes")
        }
        let exponent = Self.strippingLeadingZeros(encodedExponent)
        guard let top = modulus.first else { throw .malformed("\"n\" is zero") }
        let bits = (modulus.count - 1) * 8 + (8 - top.leadingZeroBitCount)
        guard modulus.last! & 1 == 1 else { throw .malformed("\"n\" is even, so it is not an RSA modulus") }
        guard exponent.count <= 8 else { throw .malformed("\"e\" is longer than 64 bits") }
        let exponentValue = exponent.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard exponentValue >= 3, exponentValue & 1 == 1 else {
            throw .malformed("\"e\" must be an odd integer of at least 3, not \(exponentValue)")
        }
        guard bits >= options.minimumRSABits else {
            throw .weakKey(bits: bits, minimumBits: options.minimumRSABits)
        }
        guard bits <= options.maximumRSABits else {
            throw .malformed("a \(bits)-bit modulus is above the maximum of \(options.maximumRSABits) bits")
        }
        return bits
    }

    private func checkCurve(_ fields: KeyFields, keyType: KeyType) throws(DropReason) -> Curve {
        guard let name = try fields.optionalString("crv") else { throw .malformed("missing \"crv\"") }
        guard let curve = Curve(rawValue: name) else { throw .unsupportedCurve(name) }
        guard curve.keyType == keyType else {
            throw .malformed("curve \"\(name)\" belongs to kty \(curve.keyType.rawValue), not \(keyType.rawValue)")
        }
        return curve
    }

    /// A coordinate at its curve's exact size. Unnormalised big-endian values seen in the wild (a leading
    /// zero byte too many, as Gluu served, or one too few) are normalised; the on-curve check that follows
    /// decides whether the point is real.
    private func coordinate(_ name: String, _ fields: KeyFields, curve: Curve) throws(DropReason) -> [UInt8] {
        var bytes = try fields.base64(name)
        let size = curve.coordinateSize
        if curve.keyType == .ec {
            while bytes.count > size, bytes.first == 0 { bytes.removeFirst() }
            if bytes.count < size, bytes.count >= size - 2 {
                bytes = Array(repeating: 0, count: size - bytes.count) + bytes
            }
        }
        guard bytes.count == size else {
            throw .malformed("\"\(name)\" has \(bytes.count) bytes; \(curve.rawValue) needs \(size)")
        }
        return bytes
    }

    private func checkEC(_ fields: KeyFields, curve: Curve) throws(DropReason) {
        let point = [0x04] + (try coordinate("x", fields, curve: curve)) + (try coordinate("y", fields, curve: curve))
        let onCurve: Bool
        switch curve {
        case .p256: onCurve = (try? P256.Signing.PublicKey(x963Representation: point)) != nil
        case .p384: onCurve = (try? P384.Signing.PublicKey(x963Representation: point)) != nil
        case .p521: onCurve = (try? P521.Signing.PublicKey(x963Representation: point)) != nil
        case .ed25519, .x25519: onCurve = false
        }
        guard onCurve else { throw .malformed("the point (x, y) is not on curve \(curve.rawValue)") }
    }

    private func checkOKP(_ fields: KeyFields, curve: Curve) throws(DropReason) {
        if fields["y"] != nil { throw .malformed("an OKP key has no \"y\"") }
        let x = try coordinate("x", fields, curve: curve)
        switch curve {
        case .ed25519:
            guard (try? Curve25519.Signing.PublicKey(rawRepresentation: x)) != nil else {
                throw .malformed("\"x\" is not an Ed25519 public key")
            }
        case .x25519:
            guard (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: x)) != nil else {
                throw .malformed("\"x\" is not an X25519 public key")
            }
        case .p256, .p384, .p521:
            throw .malformed("curve \(curve.rawValue) is not an OKP curve")
        }
    }

    private func checkConsistency(keyType: KeyType, curve: Curve?, alg: String?, use: String?, keyOps: [String]?)
        throws(DropReason)
    {
        var purpose: Algorithm.Purpose?
        if let alg {
            guard let requirement = Algorithm.requirement(of: alg) else { throw .unknownAlgorithm(alg) }
            guard Algorithm.fits(requirement, keyType: keyType, curve: curve) else {
                let what = curve.map { "\(keyType.rawValue) \($0.rawValue)" } ?? keyType.rawValue
                throw .algorithmMismatch(alg: alg, detail: "\(alg) cannot be used with a \(what) key")
            }
            purpose = requirement.purpose
        }
        if curve == .x25519, purpose == nil, use == "sig" {
            throw .useMismatch("an X25519 key cannot sign, but use is \"sig\"")
        }
        if curve == .ed25519, use == "enc" {
            throw .useMismatch("an Ed25519 key cannot encrypt, but use is \"enc\"")
        }
        if let purpose, let use, use == "sig" || use == "enc", use != purpose.rawValue {
            throw .useMismatch("use is \"\(use)\" but alg \(alg ?? "") is for \(purpose.rawValue)")
        }
        if let keyOps {
            let declared = Set(keyOps)
            if use == "sig", !declared.isSubset(of: Self.signatureOperations.union(Self.unknownOperations(declared))) {
                throw .useMismatch("use is \"sig\" but key_ops has \(keyOps.joined(separator: ", "))")
            }
            if use == "enc",
                !declared.isSubset(of: Self.encryptionOperations.union(Self.unknownOperations(declared)))
            {
                throw .useMismatch("use is \"enc\" but key_ops has \(keyOps.joined(separator: ", "))")
            }
            if purpose == .signature, !declared.isDisjoint(with: Self.encryptionOperations) {
                throw .useMismatch("alg \(alg ?? "") signs but key_ops has \(keyOps.joined(separator: ", "))")
            }
            if purpose == .encryption, !declared.isDisjoint(with: Self.signatureOperations) {
                throw .useMismatch("alg \(alg ?? "") encrypts but key_ops has \(keyOps.joined(separator: ", "))")
            }
        }
    }

    /// Operations outside both registered groups (RFC 7517 allows private values); they never conflict.
    private static func unknownOperations(_ operations: Set<String>) -> Set<String> {
        operations.subtracting(signatureOperations).subtracting(encryptionOperations)
    }

    private static func strippingLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.drop { $0 == 0 })
    }
}

/// Member lookup over a key object whose names are already known to be unique.
private struct KeyFields {
    private let values: [String: JSONValue]

    init(members: [JSONValue.Member]) {
        var values: [String: JSONValue] = [:]
        for member in members { values[member.name] = member.value }
        self.values = values
    }

    subscript(name: String) -> JSONValue? { values[name] }

    func optionalString(_ name: String) throws(DropReason) -> String? {
        guard let value = values[name] else { return nil }
        guard let text = value.stringValue else {
            throw .malformed("\"\(name)\" must be a string, not \(value.typeDescription)")
        }
        return text
    }

    func base64(_ name: String) throws(DropReason) -> [UInt8] {
        guard let text = try optionalString(name) else { throw .malformed("missing \"\(name)\"") }
        do {
            return try Base64URL.decode(text)
        } catch {
            throw .malformed("\"\(name)\" is not base64url (\(error))")
        }
    }
}

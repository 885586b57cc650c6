import JWKS

/// JWKS documents: parsing never traps; every key kept is served as its original JSON, which is a valid key on
/// its own with the same kid.
enum JWKSFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let set = try? JWKSet(parsing: bytes) else { return }
        for key in set.keys {
            let alone = Array("{\"keys\":[".utf8) + key.json + Array("]}".utf8)
            guard let again = try? JWKSet(parsing: alone), again.keys.count == 1, again.keys[0].kid == key.kid else {
                fuzzFailure("a key kept from a set is not a valid key by itself")
            }
        }
    }
}

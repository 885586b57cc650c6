import Foundation
import JWKS

/// The JWS verification vectors copied from `../shared/fixtures/jws-vectors` (see Fixtures/SOURCES.md).
enum JWSFixture {
    static func json(_ name: String) throws -> Any {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    /// A JWK given as a decoded JSON object, validated like a key in a served set (private members removed
    /// first: the cookbook's keys are key pairs).
    static func jwk(_ object: [String: Any]) -> JWK? {
        var publicPart = object
        for name in ["d", "p", "q", "dp", "dq", "qi"] { publicPart[name] = nil }
        guard let data = try? JSONSerialization.data(withJSONObject: publicPart, options: [.sortedKeys]) else {
            return nil
        }
        let bytes = [UInt8](data)
        guard let value = try? JSONParser.parse(bytes) else { return nil }
        return try? JWKValidator().validate(value, in: bytes).get()
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

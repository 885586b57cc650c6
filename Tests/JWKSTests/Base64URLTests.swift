import Testing

@testable import JWKS

@Suite("Base64URL")
struct Base64URLTests {
    @Test("base64url and padded standard base64 decode to the same bytes")
    func alphabets() throws {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x01]
        #expect(try Base64URL.decode("-_-_AQ") == bytes)
        #expect(try Base64URL.decode("+/+/AQ==") == bytes)
        #expect(Base64URL.encode(bytes) == "-_-_AQ")
        #expect(try Base64URL.decode("AQAB") == [1, 0, 1])
    }

    @Test(
        "malformed values are rejected",
        arguments: [
            ("", Base64URL.DecodingError.empty),
            ("AQ A", .invalidCharacter(offset: 2)),
            ("A", .invalidLength),
            ("AQ===", .invalidPadding),
            ("AR", .invalidPadding),
            ("AQ=B", .invalidCharacter(offset: 2)),
        ])
    func malformed(_ text: String, _ error: Base64URL.DecodingError) {
        #expect(throws: error) { try Base64URL.decode(text) }
    }

    @Test("round trip of every length up to 70 bytes")
    func roundTrip() throws {
        for length in 0...70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            if length == 0 { continue }
            #expect(try Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test("the strict form (a JWS part) takes only the URL-safe alphabet without padding, and round-trips")
    func strict() {
        #expect(Base64URL.decodeStrict(ArraySlice("-_8".utf8)) == [0xFB, 0xFF])
        #expect(Base64URL.decodeStrict(ArraySlice<UInt8>()) == [])
        for refused in ["+/8", "AQ==", "AQ=", "A", "AR", "AQ A"] {
            #expect(Base64URL.decodeStrict(ArraySlice(refused.utf8)) == nil, "\(refused)")
        }
        for length in 0...70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decodeStrict(ArraySlice(Base64URL.encode(bytes).utf8)) == bytes)
        }
    }
}

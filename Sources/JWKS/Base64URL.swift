/// Decoding of the base64url members of a JWK (`n`, `e`, `x`, `y`).
///
/// RFC 7515 asks for base64url without padding. Real providers have served standard base64 with `+`, `/`
/// and `=` padding (Google's v2 certs, Microsoft in 2015, PayPal), so both alphabets and optional
/// padding are accepted; anything else (whitespace, stray characters, impossible lengths, non-zero
/// trailing bits) is rejected.
public enum Base64URL {
    /// Why a base64url value does not decode.
    public enum DecodingError: Error, Sendable, Equatable {
        /// The value is empty.
        case empty
        /// A character outside both base64 alphabets, at this offset.
        case invalidCharacter(offset: Int)
        /// A length no base64 encoding can have (one character left over).
        case invalidLength
        /// Padding in the middle, too much padding, or unused bits that are not zero.
        case invalidPadding
    }

    /// Decodes base64url (or standard base64), with or without padding.
    /// - Parameter text: the encoded value.
    /// - Returns: the decoded bytes.
    /// - Throws: ``DecodingError`` saying what is wrong.
    public static func decode(_ text: String) throws(DecodingError) -> [UInt8] {
        var utf8 = Array(text.utf8)
        guard !utf8.isEmpty else { throw .empty }
        var padding = 0
        while let last = utf8.last, last == UInt8(ascii: "=") {
            utf8.removeLast()
            padding += 1
        }
        guard padding <= 2, !utf8.isEmpty else { throw .invalidPadding }
        if padding > 0, (utf8.count + padding) % 4 != 0 { throw .invalidPadding }
        guard utf8.count % 4 != 1 else { throw .invalidLength }
        return try utf8.withUnsafeBufferPointer { (buffer) throws(DecodingError) -> [UInt8] in
            try sextets(buffer, urlSafeOnly: false)
        }
    }

    /// Decodes base64url exactly as a compact JWS carries it (RFC 7515 §2): the URL-safe alphabet, no padding,
    /// unused trailing bits zero; nil for anything else. Stricter than ``decode(_:)``, which takes the forms
    /// providers serve inside key sets: a token's encoding is what was signed, so two spellings of the same
    /// bytes must not both pass.
    /// - Parameter text: the encoded bytes (may be empty).
    /// - Returns: the decoded bytes, or nil.
    public static func decodeStrict(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        return text.withUnsafeBufferPointer { try? sextets($0, urlSafeOnly: true) }
    }

    /// The bytes that base64 characters (no padding) encode; the one loop behind both decoders. Concrete (a
    /// buffer, not a generic collection), so a caller in another module does not run it unspecialised; a
    /// table lookup per character, and the output written in place (a token's three parts pass through here
    /// on every verification).
    private static func sextets(
        _ text: UnsafeBufferPointer<UInt8>, urlSafeOnly: Bool
    ) throws(DecodingError) -> [UInt8] {
        let table = urlSafeOnly ? urlSafeTable : eitherTable
        var failure: DecodingError?
        let output = [UInt8](unsafeUninitializedCapacity: text.count * 3 / 4 + 1) { buffer, initialized in
            var accumulator: UInt32 = 0
            var bits: UInt32 = 0
            var written = 0
            for offset in 0..<text.count {
                let sextet = table[Int(text[offset])]
                guard sextet != invalid else {
                    failure = .invalidCharacter(offset: offset)
                    break
                }
                accumulator = accumulator << 6 | UInt32(sextet)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    buffer[written] = UInt8(truncatingIfNeeded: accumulator >> bits)
                    written += 1
                }
            }
            if failure == nil, bits > 0, accumulator & ((1 << bits) - 1) != 0 { failure = .invalidPadding }
            initialized = written
        }
        if let failure { throw failure }
        return output
    }

    /// Marks a byte that is not a base64 character in the tables.
    private static let invalid: UInt8 = 0xFF

    /// Sextet values by byte: the URL-safe alphabet only.
    private static let urlSafeTable: [UInt8] = table(urlSafeOnly: true)
    /// Sextet values by byte: both alphabets.
    private static let eitherTable: [UInt8] = table(urlSafeOnly: false)

    private static func table(urlSafeOnly: Bool) -> [UInt8] {
        (0...255).map { value(of: UInt8($0), urlSafeOnly: urlSafeOnly) ?? invalid }
    }

    /// Encodes bytes as base64url without padding.
    /// - Parameter bytes: the bytes to encode.
    /// - Returns: the base64url text.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var output: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in bytes {
            accumulator = accumulator << 8 | UInt32(byte)
            bits += 8
            while bits >= 6 {
                bits -= 6
                output.append(alphabet[Int((accumulator >> UInt32(bits)) & 0x3F)])
            }
        }
        if bits > 0 { output.append(alphabet[Int((accumulator << UInt32(6 - bits)) & 0x3F)]) }
        return String(decoding: output, as: UTF8.self)
    }

    private static func value(of character: UInt8, urlSafeOnly: Bool) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        case UInt8(ascii: "+") where !urlSafeOnly: 62
        case UInt8(ascii: "/") where !urlSafeOnly: 63
        default: nil
        }
    }
}

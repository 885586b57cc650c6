import Testing

@testable import JWKS

@Suite("JSONParser")
struct JSONParserTests {
    func parse(_ text: String) throws(JSONParseError) -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test("values keep their byte ranges")
    func ranges() throws {
        let text = #"{ "a" : [1, "x", true] , "b": null }"#
        let root = try parse(text)
        let a = try #require(root[member: "a"])
        #expect(String(decoding: Array(text.utf8)[a.range], as: UTF8.self) == #"[1, "x", true]"#)
        #expect(root.range == 0..<text.utf8.count)
        #expect(root[member: "b"]?.kind == .null)
    }

    @Test("escapes and surrogate pairs decode")
    func escapes() throws {
        let root = try parse(#"["a\"b\\c\/d\n\u00e9\ud83d\ude00"]"#)
        #expect(root.arrayElements?.first?.stringValue == "a\"b\\c/d\né😀")
    }

    @Test(
        "invalid documents are rejected with their position",
        arguments: [
            ("", 1, 1, "the document is empty"),
            ("{\"a\":1,}", 1, 8, "expected a member name in double quotes"),
            ("[1,]", 1, 4, "unexpected character ']'; expected a value"),
            ("[01]", 1, 2, "numbers must not have leading zeros"),
            ("{\"a\" 1}", 1, 6, "expected ':' after member name \"a\""),
            ("[\"a\nb\"]", 1, 4, "control character 0xA in a string must be escaped"),
            ("[\"\\ud800\"]", 1, 3, "lone high surrogate in a \\u escape"),
            ("[\"\\x\"]", 1, 3, "invalid escape '\\x' in a string"),
            ("{}\n  x", 2, 3, "unexpected data after the top-level value"),
            ("[tru]", 1, 2, "invalid literal; expected 'true'"),
            ("[1.]", 1, 2, "invalid number: expected digits after '.'"),
            ("{\"a\":[1,2", 1, 10, "unterminated array"),
        ])
    func invalid(_ text: String, _ line: Int, _ column: Int, _ reason: String) {
        #expect(throws: JSONParseError(offset: 0, line: line, column: column, reason: reason).withOffset(of: text)) {
            try parse(text)
        }
    }

    @Test("invalid UTF-8 inside a string is rejected")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D]) }
    }

    @Test("nesting is bounded")
    func depth() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try parse(deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try parse(fine)
    }
}

extension JSONParseError {
    /// The same error with the offset computed from line and column in `text`.
    func withOffset(of text: String) -> JSONParseError {
        var copy = self
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        copy.offset = lines.prefix(line - 1).reduce(0) { $0 + $1.count + 1 } + column - 1
        return copy
    }
}

import JWKS
import Testing

@Suite("Printable text")
struct PrintableTests {
    @Test("control characters are escaped; other text is unchanged")
    func escaping() {
        #expect(Printable.escaped("plain kid-1 ÿ ✓") == "plain kid-1 ÿ ✓")
        #expect(Printable.escaped("a\nb\r\tc") == "a\\nb\\r\\tc")
        #expect(Printable.escaped("\u{1B}[31mred\u{7F}\u{85}") == "\\u{1b}[31mred\\u{7f}\\u{85}")
        #expect(Printable.escaped("x\u{2028}y\u{202E}z") == "x\\u{2028}y\\u{202e}z")
        #expect(!Printable.escaped("line\nforged: level=error").contains("\n"))
    }

    @Test("quoting cuts long text")
    func quoting() {
        #expect(
            Printable.quoted(String(repeating: "a", count: 100), limit: 10) == String(repeating: "a", count: 10) + "…")
        #expect(Printable.quoted("short", limit: 10) == "short")
    }
}

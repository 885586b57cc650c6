import NIOCore
import NIOHTTP1

/// One answer of the HTTP endpoint: status, headers and body (for HEAD the handler sends the headers only, with
/// the body's Content-Length).
struct JWKSHTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var headers: [(String, String)]
    var body: ByteBuffer

    /// An error answer with a JSON body `{"error": code, "message": message}`.
    static func error(_ status: HTTPResponseStatus, _ code: String, _ message: String, headers: [(String, String)] = [])
        -> JWKSHTTPAnswer
    {
        var body = ByteBuffer()
        body.writeString(#"{"error":""#)
        body.writeString(code)
        body.writeString(#"","message":""#)
        writeEscaped(message, to: &body)
        body.writeString("\"}\n")
        return JWKSHTTPAnswer(
            status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")] + headers,
            body: body)
    }

    /// `text` as the inside of a JSON string.
    static func writeEscaped(_ text: String, to buffer: inout ByteBuffer) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(byte)
            case 0..<0x20:
                buffer.writeString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0x0F)])
            default:
                buffer.writeInteger(byte)
            }
        }
    }
}

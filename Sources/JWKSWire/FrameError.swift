/// Why bytes on the socket are not a valid frame. The connection gets a GOAWAY with ``status`` and
/// ``reason``, then closes.
public struct FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Code: String, Sendable, Equatable {
        /// `length` under 8.
        case lengthTooSmall = "length_too_small"
        /// `length` over `max_frame_bytes + 8`.
        case lengthTooLarge = "length_too_large"
        /// A version other than 1.
        case badVersion = "bad_version"
        /// An unknown kind.
        case badKind = "bad_kind"
        /// Undefined flag bits, or COMPRESSED on a frame that may not carry it.
        case badFlags = "bad_flags"
        /// A COMPRESSED payload that is not a zlib stream.
        case badCompression = "bad_compression"
        /// A COMPRESSED payload that inflates past the limit.
        case decompressedTooLarge = "decompressed_too_large"
        /// A frame of a kind this side never accepts (a client sending RESPONSE, say).
        case unexpectedKind = "unexpected_kind"
        /// A REQUEST whose call id is already in flight on the connection (replies could not be told apart).
        case duplicateCallID = "duplicate_call_id"
        /// The connection holds more than its share of a limit shared by every connection (partial frames,
        /// connections or Watch streams of one peer).
        case overQuota = "over_quota"
    }

    /// What is wrong.
    public var code: Code
    /// Details for the GOAWAY reason.
    public var reason: String

    /// Creates an error.
    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The status sent in the GOAWAY.
    public var status: StatusCode {
        switch code {
        case .lengthTooLarge, .decompressedTooLarge, .overQuota: .resourceExhausted
        case .badVersion: .failedPrecondition
        case .lengthTooSmall, .badKind, .badFlags, .badCompression, .unexpectedKind, .duplicateCallID:
            .invalidArgument
        }
    }

    public var description: String { "\(status.name): \(reason)" }
}

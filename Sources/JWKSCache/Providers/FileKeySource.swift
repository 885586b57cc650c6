import Crypto
import Foundation
import JWKS
import JWKSConfig

/// Keys from a local JWKS file. Each fetch re-reads the file; an ETag derived from its content lets the
/// engine treat an unchanged file as "not modified". The file is checked every `min_ttl` (it is served
/// with `no-cache`); a missing or unreadable file is a failure, so stale-while-error applies as for HTTP.
public struct FileKeySource: KeySource {
    /// The resolved path.
    public let path: String
    let maxBytes: Int

    /// Creates a source.
    /// - Parameters:
    ///   - path: the file, already resolved against the config directory.
    ///   - maxBytes: files larger than this are refused (`max_response_bytes`).
    public init(path: String, maxBytes: Int) {
        self.path = path
        self.maxBytes = maxBytes
    }

    public var summary: String { KeySourceConfig.file(path).summary { $0 } }

    public func fetch(validators: Validators) async -> SourceResult {
        let now = WallClock.now()
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            return .failed(FetchFailure(code: .file, message: "file \(path): cannot be read (\(Self.reason(error)))"))
        }
        if let size = attributes[.size] as? Int, size > maxBytes {
            return .failed(
                FetchFailure(
                    code: .bodyTooLarge, message: "file \(path): \(size) bytes; max_response_bytes is \(maxBytes)"))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failed(FetchFailure(code: .file, message: "file \(path): cannot be read"))
        }
        let bytes = Array(data)
        let digest = SHA256.hash(data: bytes).prefix(12).map { String($0, radix: 16).leftPadded() }.joined()
        let modified = (attributes[.modificationDate] as? Date).map { HTTPDate.format(Int64($0.timeIntervalSince1970)) }
        let headers = CacheHeaders(cacheControl: "no-cache", etag: "\"\(digest)\"", lastModified: modified)
        if validators.etag == headers.etag { return .notModified(headers: headers, responseTime: now) }
        return .document(bytes, headers: headers, responseTime: now)
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError { return "no such file" }
        return nsError.localizedDescription
    }
}

extension String {
    fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}

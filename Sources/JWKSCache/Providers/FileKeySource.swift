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

    /// Reads the file once through one descriptor (`fstat` on it, at most the cap + 1 bytes read), so a symlink
    /// (a Kubernetes ConfigMap mount is one) swapped between a size check and the read cannot bring a larger file.
    public func fetch(validators: Validators) async -> SourceResult {
        let now = WallClock.now()
        let bytes: [UInt8]
        let modified: Int64
        do throws(BoundedFile.Failure) {
            switch try BoundedFile.read(path, limit: maxBytes, followSymlinks: true) {
            case .contents(let contents, let mtime):
                bytes = contents
                modified = mtime
            case .missing:
                return .failed(FetchFailure(code: .file, message: "file \(path): cannot be read (no such file)"))
            case .tooLarge(let size):
                return .failed(
                    FetchFailure(
                        code: .bodyTooLarge,
                        message: "file \(path): \(size) bytes or more; max_response_bytes is \(maxBytes)"))
            }
        } catch {
            return .failed(FetchFailure(code: .file, message: "file \(path): cannot be read (\(error.reason))"))
        }
        let digest = SHA256.hash(data: bytes).prefix(12).map { String($0, radix: 16).leftPadded() }.joined()
        let headers = CacheHeaders(
            cacheControl: "no-cache", etag: "\"\(digest)\"", lastModified: HTTPDate.format(modified))
        if validators.etag == headers.etag { return .notModified(headers: headers, responseTime: now) }
        return .document(bytes, headers: headers, responseTime: now)
    }
}

extension String {
    fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}

public import JWKSConfig
import NIOSSL

/// The `ca_file` bundles of a registry, loaded the way a fetch will load them, so `jwksd check` and the
/// daemon's start report a missing or unreadable bundle before a fetch fails on it.
public enum CAFile {
    /// Loads one PEM bundle.
    /// - Parameter path: the resolved path.
    /// - Returns: the number of certificates in it.
    /// - Throws: a message saying why it cannot be used (unreadable, not PEM, no certificate).
    public static func load(_ path: String) throws(CAFileError) -> Int {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw CAFileError(path: path, reason: "cannot be loaded as a PEM bundle (\(error))")
        }
        guard !certificates.isEmpty else { throw CAFileError(path: path, reason: "holds no certificate") }
        return certificates.count
    }

    /// Every provider's `ca_file` that cannot be loaded, as `key.path: file: reason` lines.
    /// - Parameter config: a validated registry.
    /// - Returns: one line per provider whose bundle fails to load (empty when all load).
    public static func problems(in config: JWKSDConfig) -> [String] {
        var checked: [String: String?] = [:]
        var lines: [String] = []
        for tenant in config.tenants {
            for provider in tenant.providers {
                guard let caFile = provider.policy.caFile else { continue }
                let path = config.resolve(caFile)
                if checked[path] == nil {
                    do throws(CAFileError) {
                        _ = try load(path)
                        checked[path] = .some(nil)
                    } catch {
                        checked[path] = .some(error.description)
                    }
                }
                if case .some(.some(let problem)) = checked[path] {
                    lines.append("tenants.\(tenant.id).providers.\(provider.id).ca_file: \(problem)")
                }
            }
        }
        return lines
    }
}

/// Why a `ca_file` cannot be used.
public struct CAFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The resolved path.
    public var path: String
    /// Why.
    public var reason: String

    public var description: String { "\(path) \(reason)" }
}

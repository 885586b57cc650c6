/// The `server.export:` section: every provider's served keys written as JWK Set files for proxies and anything
/// that reads a file (Envoy's `local_jwks`), off unless set.
public struct ExportConfig: Sendable, Equatable {
    /// The directory (resolved against the config file's directory): `{tenant}/{provider}.json` and
    /// `{tenant}.json` (the tenant's providers merged) go there.
    public var dir: String
    /// Permission bits of the files (directories get the same bits plus search where read is given).
    public var fileMode: UInt16 = 0o644
    /// A uid to give the files, or nil to keep the daemon's.
    public var owner: UInt32?
    /// A gid to give the files, or nil to keep the daemon's.
    public var group: UInt32?

    /// Creates the section with its defaults.
    public init(dir: String) {
        self.dir = dir
    }
}

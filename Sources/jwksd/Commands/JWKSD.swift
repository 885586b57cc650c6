import ArgumentParser
import JWKSCache

/// The `jwksd` command line.
@main
struct JWKSD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwksd",
        abstract: "A JWKS cache daemon: one place per host that keeps identity providers' signing keys fresh.",
        version: JWKSDVersion.current,
        subcommands: [
            ServeCommand.self, CheckCommand.self, GetCommand.self, VerifyCommand.self, KeysCommand.self,
            StatusCommand.self,
            RefreshCommand.self, ReloadCommand.self, WatchCommand.self, HealthCommand.self, BenchCommand.self,
            DemoCommand.self, DevIssuerCommand.self,
        ]
    )
}

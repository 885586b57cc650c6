import ArgumentParser
import JWKSCache
import JWKSConfig
import JWKSServer

/// `jwksd check`: validate a config file without starting anything.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a tenant registry and report every problem in it.",
        discussion: """
            Prints "ok: N tenants, M providers" and exits 0 when the file is valid. Otherwise prints one line \
            per problem as FILE:LINE:COL: key.path: message and exits 1.

            Examples:
              jwksd check --config examples/tenants.yaml
              jwksd check examples/tenants.yaml --print
            """
    )

    @Option(name: .long, help: "The config file to check.")
    var config: String?

    @Argument(help: "The config file to check (alternative to --config).")
    var file: String?

    @Flag(name: .long, help: "Also print the effective configuration with every default filled in.")
    var print = false

    func validate() throws {
        if config == nil, file == nil { throw ValidationError("give the config file with --config FILE") }
        if config != nil, file != nil {
            throw ValidationError("give the config file once, with --config or as an argument")
        }
    }

    func run() throws {
        let report = CheckReport.run(path: config ?? file ?? "", printEffective: print)
        if !report.output.isEmpty { Swift.print(report.output) }
        if !report.errors.isEmpty { StandardError.write(report.errors + "\n") }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}

/// What `jwksd check` prints and returns, computed without touching the process so tests can call it.
struct CheckReport: Equatable {
    /// Text for standard output.
    var output: String
    /// Text for standard error.
    var errors: String
    /// The exit status.
    var exitCode: Int32

    static func run(path: String, printEffective: Bool) -> CheckReport {
        do {
            let config = try ConfigLoader.load(file: path)
            // Files the registry names are loaded as the daemon will load them.
            let problems = CAFile.problems(in: config)
            guard problems.isEmpty else {
                let count = problems.count
                let summary = "\(path): \(count) problem\(count == 1 ? "" : "s"); nothing was applied"
                return CheckReport(
                    output: "", errors: (problems.map { "\(path): \($0)" } + [summary]).joined(separator: "\n"),
                    exitCode: 1)
            }
            var output = "ok: \(config.tenants.count) tenants, \(config.providerCount) providers"
            if printEffective { output = ConfigRenderer.render(config) + output }
            return CheckReport(
                output: output, errors: warnings(config, path: path).joined(separator: "\n"), exitCode: 0)
        } catch {
            let count = error.diagnostics.count
            let summary = "\(path): \(count) problem\(count == 1 ? "" : "s"); nothing was applied"
            return CheckReport(output: "", errors: (error.lines + [summary]).joined(separator: "\n"), exitCode: 1)
        }
    }

    /// Valid settings that do not do what their author may think, one line each (standard error; exit 0).
    static func warnings(_ config: JWKSDConfig, path: String) -> [String] {
        var lines: [String] = []
        if let http = config.server.http, case .tcp = http.listen {
            let restricted = config.tenants.filter { $0.allowedUIDs != nil || $0.allowedGIDs != nil }.map(\.id)
            if !restricted.isEmpty {
                lines.append(
                    "\(path): warning: server.http listens on TCP, which cannot tell callers apart: tenants with "
                        + "allowed_uids/allowed_gids are not served there (404): \(restricted.joined(separator: ", ")); "
                        + "use listen: unix:/path for them")
            }
        }
        if config.server.export != nil {
            let restricted = config.tenants.filter { !DocumentExporter.isPublic($0) }.map(\.id)
            if !restricted.isEmpty {
                lines.append(
                    "\(path): warning: server.export does not write tenants with allowed_uids/allowed_gids (a file's "
                        + "mode cannot say who they admit): \(restricted.joined(separator: ", "))")
            }
            let unnamable = config.tenants.map(\.id).filter { !DocumentExporter.isExportable(tenant: $0) }
            if !unnamable.isEmpty {
                lines.append(
                    "\(path): warning: server.export does not write tenants whose id is . or .. or ends in .json (no "
                        + "file name for them): \(unnamable.joined(separator: ", "))")
            }
        }
        return lines
    }
}

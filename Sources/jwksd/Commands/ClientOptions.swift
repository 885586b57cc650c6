import ArgumentParser
import Foundation
import JWKSClient
import JWKSConfig
import JWKSWire

/// The `--socket` option of every client command.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's socket (default: $JWKSD_SOCKET, else ./jwksd.sock).")
    var socket: String?

    @Option(name: .long, help: "How long to wait for the answer, e.g. 2s or 500ms.")
    var timeout: String = "5s"

    /// The socket path in force.
    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["JWKSD_SOCKET"] ?? "./jwksd.sock"
    }

    /// The timeout as a duration.
    func timeoutDuration() throws -> Duration {
        do {
            return try DurationText.parse(timeout)
        } catch {
            throw ValidationError("--timeout \"\(timeout)\" is not a duration such as 500ms or 5s")
        }
    }
}

/// How client commands end when a call fails: `STATUS_NAME: message` on standard error and exit code
/// 10 + the status code (NOT_FOUND 15, PERMISSION_DENIED 17, UNAVAILABLE 24, DEADLINE_EXCEEDED 14, ...).
enum ClientFailure {
    static func exit(_ error: RPCError) -> ExitCode {
        StandardError.write("\(error.code.name): \(error.message)\n")
        return ExitCode(10 + Int32(error.code.rawValue))
    }
}

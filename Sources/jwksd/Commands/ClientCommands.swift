import ArgumentParser
import Foundation
import JWKSClient
import JWKSWire
import SwiftProtobuf

/// `jwksd get`: one key's JSON.
struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print one key's JSON, looked up by tenant, provider and kid.",
        discussion: """
            Prints the key exactly as the provider served it and exits 0. On failure prints \
            "STATUS_NAME: message" on standard error and exits with 10 + the status code \
            (NOT_FOUND 15, PERMISSION_DENIED 17, UNAVAILABLE 24, DEADLINE_EXCEEDED 14).

            Examples:
              jwksd get --tenant acme --provider google --kid 0e345fd7e4a97271dffa991f5a893cd16b8e0827
              jwksd get --tenant acme --kid abc123 --alg RS256      # search the tenant's providers
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "The tenant.") var tenant: String
    @Option(help: "The provider (default: search the tenant's providers in config order).") var provider: String?
    @Option(help: "The key id.") var kid: String
    @Option(help: "Only keys usable with this algorithm.") var alg: String?

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            let reply = try await connection.getKey(
                tenant: tenant, provider: provider, kid: kid, alg: alg, timeout: try client.timeoutDuration())
            print(String(decoding: reply.jwkJson, as: UTF8.self))
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd verify`: a token verified by the daemon.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a JWT with a provider's keys and verify: rules; print its claims.",
        discussion: """
            Prints the token's claims JSON (byte for byte) and exits 0. A token that does not verify prints \
            "UNAUTHENTICATED: reason: detail" on standard error and exits 26; other failures exit with 10 + the \
            status code, as for jwksd get.

            Examples:
              jwksd verify --tenant acme --audience api eyJhbGciOiJFUzI1NiIs...
              echo "$TOKEN" | jwksd verify --tenant acme --provider auth0 -
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "The tenant.") var tenant: String
    @Option(help: "The provider (default: the tenant's provider whose issuer is the token's iss).")
    var provider: String?
    @Option(name: .customLong("audience"), help: "An audience to accept instead of the configured ones (repeatable).")
    var audiences: [String] = []
    @Argument(help: "The token, or - to read it from standard input.") var token: String = "-"

    func run() async throws {
        let text =
            token == "-"
            ? (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces) : token
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            let reply = try await connection.verifyJWT(
                text, tenant: tenant, provider: provider, audiences: audiences, timeout: try client.timeoutDuration())
            print(String(decoding: reply.claims, as: UTF8.self))
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd keys`: a provider's JWKS.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Print a provider's JWK Set as served.",
        discussion: """
            Examples:
              jwksd keys --tenant acme --provider auth0
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "The tenant.") var tenant: String
    @Option(help: "The provider.") var provider: String

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            let reply = try await connection.getKeySet(
                tenant: tenant, provider: provider, timeout: try client.timeoutDuration())
            print(String(decoding: reply.jwksJson, as: UTF8.self))
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd status`: every provider's state.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every provider's state, keys, freshness and last error.",
        discussion: """
            Examples:
              jwksd status
              jwksd status --tenant acme --json
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "Only this tenant.") var tenant: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            let reply = try await connection.status(tenant: tenant, timeout: try client.timeoutDuration())
            if json {
                print(try reply.jsonString())
            } else {
                print(StatusTable.render(reply, now: Int64(Date().timeIntervalSince1970)))
            }
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd refresh`: refetch now.
struct RefreshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Refetch a tenant's keys now (admin) and show the result.",
        discussion: """
            Examples:
              jwksd refresh --tenant acme
              jwksd refresh --tenant acme --provider google
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "The tenant.") var tenant: String
    @Option(help: "Only this provider.") var provider: String?

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            var status = Jwksd_V1_StatusResponse()
            status.providers = try await connection.refresh(
                tenant: tenant, provider: provider, timeout: try client.timeoutDuration()
            ).providers
            print(StatusTable.render(status, now: Int64(Date().timeIntervalSince1970)))
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd reload`: re-read the config.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Ask the daemon to re-read its config file (admin).",
        discussion: """
            Exits 0 when the new file was applied; prints its problems and exits 1 when it was not (the
            running registry stays).

            Examples:
              jwksd reload --socket /run/jwksd/jwksd.sock
            """)

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            let result = try await connection.reload(timeout: try client.timeoutDuration()).result
            if result.ok {
                print(
                    "reloaded: generation \(result.generation), +\(result.added) -\(result.removed) ~\(result.changed) =\(result.unchanged)"
                )
                if !result.restartPending.isEmpty {
                    print(StatusTable.restartPending(result.restartPending))
                }
            } else {
                StandardError.write("reload failed (generation \(result.generation) stays):\n\(result.error)\n")
                throw ExitCode(1)
            }
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd watch`: one line per key-set change.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print one line per key-set change until interrupted.",
        discussion: """
            Examples:
              jwksd watch
              jwksd watch --tenant acme
            """)

    @OptionGroup var client: ClientOptions
    @Option(help: "Only this tenant (repeatable).") var tenant: [String] = []

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        do {
            for try await event in connection.watch(tenants: tenant) {
                print(WatchLine.render(event))
            }
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

/// `jwksd health`: readiness.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Exit 0 when the daemon is serving, 1 while providers are still loading.",
        discussion: """
            Examples:
              jwksd health && echo ready
            """)

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let connection = JWKSClient(socketPath: client.socketPath)
        defer { Task { await connection.close() } }
        do {
            let health = try await connection.health(timeout: try client.timeoutDuration())
            print(
                health.serving
                    ? "serving: \(health.ready)/\(health.providers) providers ready"
                    : "loading: \(health.loading.joined(separator: ", "))")
            if !health.serving { throw ExitCode(1) }
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
    }
}

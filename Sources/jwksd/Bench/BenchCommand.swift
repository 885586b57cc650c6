import ArgumentParser
import Foundation
import Histogram
import JWKS
import JWKSClient
import JWKSConfig
import JWKSWire
import NIOCore
import SwiftProtobuf

/// `jwksd bench`: drives a running daemon and reports throughput and latency percentiles.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure lookup throughput and latency against a running daemon.",
        discussion: """
            Opens --connections connections, keeps --pipeline calls in flight on each, and reports requests per
            second and latency p50/p90/p99/p99.9/max (HdrHistogram), with errors by status.

            Examples:
              jwksd bench --tenant acme --provider google --kid 0e345f --connections 16 --pipeline 16 --duration 10s
              jwksd bench --mix all --miss-ratio 0.01 --json
              jwksd bench --method health --requests 100000
              jwksd bench --method verify-jwt --tenant bench --provider keys --tokens es256-distinct.txt
              jwksd bench --tenant acme --provider idp --kid acme-1 --floor --duration 10s
              jwksd bench --redis /tmp/redis.sock --value-bytes 352 --connections 16   # Redis, same client

            The bench's connections are non-blocking sockets driven by --threads poll loops (1 by default, like
            redis-benchmark) that do no protobuf work and allocate nothing per call, so the figures are the
            daemon's. --floor runs, in the same process right after, a ping-pong between two threads
            over a socketpair with the same request and reply sizes, one call at a time: the machine's limit.
            --method verify-jwt cycles through the tokens of --tokens (one compact JWS per line): one line measures a
            repeated token (the daemon's verified-token cache), N lines N distinct tokens; with at least as many
            tokens as requests (warm-up included) every call is a full verification.
            --redis drives a Redis server instead (RESP GET of a --value-bytes value, SET first) with the same
            connections, pipelining and measurement, so a comparison with Redis measures the servers.
            """)

    enum BenchMethod: String, ExpressibleByArgument, CaseIterable {
        case getKey = "get-key"
        case getKeySet = "get-key-set"
        case health
        case verifyJWT = "verify-jwt"

        /// The protocol method.
        var wireMethod: Method {
            switch self {
            case .getKey: .getKey
            case .getKeySet: .getKeySet
            case .health: .health
            case .verifyJWT: .verifyJWT
            }
        }
    }

    @OptionGroup var client: ClientOptions
    @Option(help: "Connections to open.") var connections = 1
    @Option(help: "Calls in flight per connection.") var pipeline = 1
    @Option(help: "Client threads driving the connections (poll-based, like redis-benchmark).") var threads = 1
    @Option(help: "How long to measure, e.g. 10s (ignored with --requests).") var duration = "5s"
    @Option(help: "Stop after this many measured requests instead of after --duration.") var requests: Int?
    @Option(help: "Unmeasured run before measuring.") var warmup = "1s"
    @Option(help: "The method: get-key, get-key-set, health or verify-jwt.") var method: BenchMethod = .getKey
    @Option(help: "Tenant of the one key to look up.") var tenant: String?
    @Option(help: "Provider of the one key.") var provider: String?
    @Option(help: "Kid of the one key.") var kid: String?
    @Option(help: "verify-jwt: a file of compact JWS tokens, one per line.") var tokens: String?
    @Option(help: "verify-jwt: an audience to check instead of the configured ones (repeatable).")
    var audience: [String] = []
    @Option(help: "'all' to spread lookups over every tenant, provider and kid the daemon reports.") var mix: String?
    @Option(help: "Fraction of lookups for unknown kids (0 to 1).") var missRatio = 0.0
    @Flag(help: "Set ACCEPT_COMPRESSED on requests.") var compressed = false
    @Flag(
        help: """
            Also measure the floor: a raw Unix-socket ping-pong with the same sizes, and the same ping-pong \
            against a minimal SwiftNIO server (the event loop's floor); print ratios to them.
            """)
    var floor = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Drive the Redis server on this Unix socket instead of jwksd (GET of a --value-bytes value).")
    var redis: String?
    @Option(help: "With --redis: the size of the value GET reads (use the jwksd reply's size).") var valueBytes = 512

    func validate() throws {
        guard connections >= 1, pipeline >= 1, threads >= 1 else {
            throw ValidationError("--connections, --pipeline and --threads must be at least 1")
        }
        guard (0...1).contains(missRatio) else { throw ValidationError("--miss-ratio must be between 0 and 1") }
        if redis != nil { return }
        if method == .verifyJWT {
            guard tenant != nil, tokens != nil else { throw ValidationError("verify-jwt needs --tenant and --tokens") }
            return
        }
        if method != .health, mix == nil, tenant == nil {
            throw ValidationError("give --tenant (with --provider and --kid for get-key) or --mix all")
        }
        if let mix, mix != "all" { throw ValidationError("--mix takes 'all' (a mix file is not supported yet)") }
    }

    func run() async throws {
        let timeout = try client.timeoutDuration()
        if let redis {
            try await runRedis(socketPath: redis, timeout: timeout)
            return
        }
        let probe = JWKSClient(socketPath: client.socketPath)
        let targets: [ByteBuffer]
        do {
            if method == .verifyJWT, let tenant, let tokens {
                targets = try BenchTargets.verifyRequests(
                    tenant: tenant, provider: provider ?? "", audiences: audience, tokensFile: tokens)
            } else {
                targets = try await BenchTargets.payloads(
                    method: method, probe: probe, tenant: tenant, provider: provider, kid: kid, mixAll: mix == "all",
                    missRatio: missRatio)
            }
        } catch let error as RPCError {
            throw ClientFailure.exit(error)
        }
        await probe.close()
        let run = BenchRun(
            socketPath: client.socketPath,
            method: method.wireMethod,
            targets: targets, connections: connections, pipeline: pipeline,
            flags: compressed ? .acceptCompressed : [], timeout: timeout, threads: threads)
        let measured = try DurationText.parse(duration)
        let warmupDuration = try DurationText.parse(warmup)
        let report: BenchReport
        var floorReport: BenchReport?
        var eventLoopFloor: BenchReport?
        do throws(BenchError) {
            _ = try await run.measure(duration: warmupDuration, requests: nil)
            report = try await run.measure(duration: measured, requests: requests)
            if floor, let request = run.frames.first {
                let replyBytes = try BenchFloor.replyBytes(socketPath: client.socketPath, request: request)
                floorReport = try await BenchFloor.measure(
                    request: request, replyBytes: replyBytes, duration: measured, requests: requests)
                eventLoopFloor = try await BenchEventLoopFloor.measure(
                    request: request, replyBytes: replyBytes, duration: measured, requests: requests)
            }
        } catch {
            StandardError.write("bench: \(error)\n")
            throw ExitCode(1)
        }
        let replyBytes = run.frames.first.flatMap {
            try? BenchFloor.replyBytes(socketPath: client.socketPath, request: $0)
        }
        let header = BenchReport.Header(
            method: method.rawValue, connections: connections, pipeline: pipeline, replyBytes: replyBytes)
        let floors = BenchReport.Floors(socketPair: floorReport, eventLoop: eventLoopFloor)
        print(json ? report.json(header, floors: floors) : report.table(header, floors: floors))
        if report.requests == 0 { throw ExitCode(1) }
    }

    /// The same measurement against Redis: GET of a value of `--value-bytes` bytes, through the same driver.
    private func runRedis(socketPath: String, timeout: Duration) async throws {
        let run = BenchRun(
            socketPath: socketPath, method: .getKey, targets: [], connections: connections, pipeline: pipeline,
            flags: [], timeout: timeout, threads: threads, wire: .redis)
        let measured = try DurationText.parse(duration)
        let warmupDuration = try DurationText.parse(warmup)
        let report: BenchReport
        do throws(BenchError) {
            try BenchRun.prepareRedis(socketPath: socketPath, bytes: valueBytes)
            _ = try await run.measure(duration: warmupDuration, requests: nil)
            report = try await run.measure(duration: measured, requests: requests)
        } catch {
            StandardError.write("bench: \(error)\n")
            throw ExitCode(1)
        }
        let replyBytes = valueBytes + "$\(valueBytes)\r\n\r\n".utf8.count
        let header = BenchReport.Header(
            method: "redis-get", connections: connections, pipeline: pipeline, replyBytes: replyBytes)
        print(json ? report.json(header) : report.table(header))
        if report.requests == 0 { throw ExitCode(1) }
    }
}

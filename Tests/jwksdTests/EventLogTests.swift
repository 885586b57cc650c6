import JWKSCache
import Logging
import NIOConcurrencyHelpers
import Testing

@testable import jwksd

/// The event log writes one line per outcome at its level, and nothing below the logger's level.
@Suite("Event log")
struct EventLogTests {
    /// Keeps what the loggers it makes write.
    final class Capture: Sendable {
        struct Line: Sendable {
            var level: Logger.Level
            var message: String
            var metadata: Logger.Metadata
        }

        let lines = NIOLockedValueBox<[Line]>([])

        func logger(level: Logger.Level) -> Logger {
            Logger(label: "test") { _ in CapturingHandler(capture: self, logLevel: level) }
        }
    }

    /// A log handler that appends every line to its ``Capture``.
    struct CapturingHandler: LogHandler {
        let capture: Capture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let line = Capture.Line(
                level: event.level, message: "\(event.message)",
                metadata: metadata.merging(event.metadata ?? [:]) { $1 })
            capture.lines.withLockedValue { $0.append(line) }
        }
    }

    static let key = ProviderKey(tenant: "acme", provider: "login")

    @Test("published at info with tenant, provider and duration; a 304 only at debug")
    func infoLevel() {
        let capture = Capture()
        let logger = capture.logger(level: .info)
        EventLog.log(EngineEvent(key: Self.key, kind: .notModified, duration: .milliseconds(12)), to: logger)
        EventLog.log(
            EngineEvent(key: Self.key, kind: .published(changed: true, keys: 2, dropped: 0), duration: .seconds(1.5)),
            to: logger)
        let lines = capture.lines.withLockedValue { $0 }
        #expect(lines.map(\.message) == ["keys published"])
        #expect(lines.first?.metadata["tenant"] == "acme")
        #expect(lines.first?.metadata["provider"] == "login")
        #expect(lines.first?.metadata["duration_ms"] == "1500")
        #expect(lines.first?.metadata["keys"] == "2")
    }

    @Test("at warning only dropped keys and failures are written")
    func warningLevel() {
        let capture = Capture()
        let logger = capture.logger(level: .warning)
        EventLog.log(EngineEvent(key: Self.key, kind: .published(changed: true, keys: 2, dropped: 0)), to: logger)
        EventLog.log(EngineEvent(key: Self.key, kind: .removed), to: logger)
        EventLog.log(EngineEvent(key: Self.key, kind: .published(changed: true, keys: 1, dropped: 1)), to: logger)
        let failure = FetchFailure(code: .transport, message: "connection refused")
        EventLog.log(EngineEvent(key: Self.key, kind: .failed(failure, keptKeys: true)), to: logger)
        let lines = capture.lines.withLockedValue { $0 }
        #expect(lines.map(\.message) == ["keys dropped from the set", "fetch failed"])
        #expect(lines.map(\.level) == [.warning, .warning])
        #expect(lines.last?.metadata["error"] == "connection refused")
        #expect(EventLog.mostSevereLevel(of: .fetchStarted) == .debug)
    }
}

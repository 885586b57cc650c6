import Foundation
import JWKSCache
import JWKSConfig
import JWKSServer
import Logging
import ServiceLifecycle
import UnixSignals

/// One log line per load or refresh outcome.
enum EventLog {
    static func log(_ event: EngineEvent, to logger: Logger) {
        // A rotation storm brings thousands of events a second: below the logger's level, build nothing.
        guard logger.logLevel <= mostSevereLevel(of: event.kind) else { return }
        var logger = logger
        logger[metadataKey: "tenant"] = "\(event.key.tenant)"
        logger[metadataKey: "provider"] = "\(event.key.provider)"
        if let duration = event.duration {
            logger[metadataKey: "duration_ms"] = "\(DurationText.milliseconds(of: duration))"
        }
        switch event.kind {
        case .fetchStarted:
            logger.debug("fetch started")
        case .published(let changed, let keys, let dropped):
            logger.info(
                "keys published",
                metadata: ["status": "200", "changed": "\(changed)", "keys": "\(keys)", "dropped": "\(dropped)"])
            if dropped > 0 { logger.warning("keys dropped from the set", metadata: ["dropped": "\(dropped)"]) }
        case .notModified:
            logger.debug("keys revalidated (not modified)", metadata: ["status": "304"])
        case .failed(let failure, let kept):
            logger.warning(
                "fetch failed",
                metadata: [
                    "status": "error", "error": "\(failure.message)", "code": "\(failure.code.rawValue)",
                    "keys_kept": "\(kept)",
                ])
        case .removed:
            logger.info("provider removed")
        }
    }

    /// The most severe level `log` writes for an event of this kind.
    static func mostSevereLevel(of kind: EngineEvent.Kind) -> Logger.Level {
        switch kind {
        case .fetchStarted, .notModified: .debug
        case .published(_, _, let dropped): dropped > 0 ? .warning : .info
        case .removed: .info
        case .failed: .warning
        }
    }
}

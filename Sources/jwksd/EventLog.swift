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
        var logger = logger
        logger[metadataKey: "tenant"] = "\(event.key.tenant)"
        logger[metadataKey: "provider"] = "\(event.key.provider)"
        if let duration = event.duration {
            logger[metadataKey: "duration_ms"] =
                "\(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)"
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
}

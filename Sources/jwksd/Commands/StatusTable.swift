import Foundation
import JWKSWire

/// The readable table of `jwksd status` and `jwksd refresh`.
enum StatusTable {
    /// Renders providers as aligned columns, times relative to `now` (`in 4m`, `2h ago`).
    static func render(_ status: Jwksd_V1_StatusResponse, now: Int64) -> String {
        let header = ["TENANT", "PROVIDER", "STATE", "KEYS", "FRESHNESS", "EXPIRES", "NEXT", "ERRORS", "LAST ERROR"]
        var rows = [header]
        for provider in status.providers {
            rows.append([
                provider.tenant, provider.provider, provider.state, "\(provider.keyCount)", provider.standing,
                relative(provider.expiresAt, now: now), relative(provider.nextRefresh, now: now),
                "\(provider.consecutiveErrors)", provider.lastError.isEmpty ? "-" : provider.lastError,
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { column, text in
                column == row.count - 1 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        if status.configGeneration > 0 { lines.append("config generation \(status.configGeneration)") }
        if status.hasLastReload {
            let reload = status.lastReload
            lines.append(
                "last reload: \(reload.ok ? "ok" : "failed") \(relative(reload.at, now: now))\(reload.ok ? "" : ": " + reload.error)"
            )
            if reload.ok, !reload.restartPending.isEmpty { lines.append(restartPending(reload.restartPending)) }
        }
        return lines.joined(separator: "\n")
    }

    /// The line naming `server:` keys changed in the file that apply at the next start.
    static func restartPending(_ keys: [String]) -> String {
        "server settings changed in the file, applied at the next start: \(keys.joined(separator: ", "))"
    }

    /// `in 4m`, `2h ago`, `-` for 0.
    static func relative(_ time: Int64, now: Int64) -> String {
        guard time > 0 else { return "-" }
        let delta = time - now
        let magnitude = abs(delta)
        let text: String
        switch magnitude {
        case ..<60: text = "\(magnitude)s"
        case ..<3_600: text = "\(magnitude / 60)m"
        case ..<172_800: text = "\(magnitude / 3_600)h"
        default: text = "\(magnitude / 86_400)d"
        }
        return delta >= 0 ? "in \(text)" : "\(text) ago"
    }
}

/// One line of `jwksd watch`.
enum WatchLine {
    static func render(_ event: Jwksd_V1_WatchEvent) -> String {
        let what: String
        switch event.kind {
        case .keysChanged: what = "keys changed: \(event.kids.joined(separator: ", "))"
        case .failed: what = "refresh failed (\(event.keyCount) keys still served): \(event.error)"
        case .removed: what = "removed"
        default: what = "event \(event.kind.rawValue)"
        }
        return "\(event.at) \(event.tenant)/\(event.provider) \(what)"
    }
}

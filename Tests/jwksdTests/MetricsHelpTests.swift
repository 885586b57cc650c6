import Foundation
import Testing

@testable import jwksd

@Suite("Metrics help text")
struct MetricsHelpTests {
    static func annotate(_ text: String) -> String {
        String(decoding: MetricsHelp.annotate(Array(text.utf8)), as: UTF8.self)
    }

    @Test("a HELP line goes before each known family's TYPE line; the rest is unchanged")
    func annotates() {
        let text = """
            # TYPE other_total counter
            other_total 1
            # TYPE jwksd_key_hits_total counter
            jwksd_key_hits_total 3
            # HELP jwksd_config_generation already there
            # TYPE jwksd_config_generation gauge
            jwksd_config_generation 2

            """
        // Only the known family without a HELP line gains one; the unknown family and the one that has its
        // own HELP line stay as they were.
        let help = "# HELP jwksd_key_hits_total GetKey calls answered at once from the published keys.\n"
        let type = "# TYPE jwksd_key_hits_total"
        #expect(Self.annotate(text) == text.replacingOccurrences(of: type, with: help + type))
        #expect(Self.annotate("") == "")
        #expect(Self.annotate("x 1") == "x 1")
    }
}

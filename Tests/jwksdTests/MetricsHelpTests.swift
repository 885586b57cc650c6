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
            # TYPE jwksd_key_hits_total counter
            jwksd_key_hits_total 3
            # TYPE other_total counter
            other_total 1
            # HELP jwksd_config_generation already there
            # TYPE jwksd_config_generation gauge
            jwksd_config_generation 2

            """
        #expect(
            Self.annotate(text) == """
                # HELP jwksd_key_hits_total GetKey calls answered at once from the published keys.
                # TYPE jwksd_key_hits_total counter
                jwksd_key_hits_total 3
                # TYPE other_total counter
                other_total 1
                # HELP jwksd_config_generation already there
                # TYPE jwksd_config_generation gauge
                jwksd_config_generation 2

                """)
        #expect(Self.annotate("") == "")
        #expect(Self.annotate("x 1") == "x 1")
    }
}

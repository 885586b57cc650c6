/// Reading Prometheus text exposition in tests.
public enum PrometheusText {
    /// The value of one sample line (`name{labels} value`), or nil when the series is absent.
    /// - Parameters:
    ///   - text: the exposition text.
    ///   - series: the series exactly as printed, labels included.
    public static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

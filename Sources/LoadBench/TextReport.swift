import CellbookHTTP
import CellbookJSON
import ServingKit

/// Plain-text views of a summary. Rendering only: every number comes from `LoadTestSummary`.
public enum TextReport {
    /// The lines the tutorial's step 5 prints from the summary, with its labels (its
    /// "Thorughput" spelling included, so a replay reads like the post), from the same keys:
    /// `mean_input_tokens`, `mean_output_tokens` (configured means), `results_ttft_s_mean`,
    /// `results_mean_output_throughput_token_per_s`, `results_inter_token_latency_s_mean`.
    public static func tutorialLines(_ summary: LoadTestSummary) -> [String] {
        let json = summary.json
        return [
            "Concurrent requests: \(json["num_concurrent_requests"]?.intValue ?? 0)",
            "Avg. Input token length: \(plain(json["mean_input_tokens"]))",
            "Avg. Output token length: \(plain(json["mean_output_tokens"]))",
            "Avg. First-Time-To-Token: \(TextFormat.fixed(ms(json["results_ttft_s_mean"]), 2))ms",
            "Avg. Thorughput: \(TextFormat.fixed(json["results_mean_output_throughput_token_per_s"]?.doubleValue ?? .nan, 2)) tokens/sec",
            "Avg. Latency: \(TextFormat.fixed(ms(json["results_inter_token_latency_s_mean"]), 2))ms/token",
        ]
    }

    /// What the tutorial's lines leave out: the measured token lengths, the corrected per-token
    /// latency, errors and the run's shape.
    public static func measuredLines(_ summary: LoadTestSummary) -> [String] {
        let json = summary.json
        var lines = [
            "Measured input token length: \(TextFormat.fixed(json["measured_mean_input_tokens"]?.doubleValue ?? .nan, 1)) (\(json["input_token_count_method"]?.stringValue ?? "?"))",
            "Measured output token length: \(TextFormat.fixed(json["measured_mean_output_tokens"]?.doubleValue ?? .nan, 1)) (\(json["output_token_count_method"]?.stringValue ?? "?"))",
            "Time per output token after the first (TPOT): \(TextFormat.fixed(ms(json["results_time_per_output_token_s_mean"]), 2))ms/token",
            "Requests: \(json["results_num_completed_requests"]?.intValue ?? 0) completed, \(json["results_number_errors"]?.intValue ?? 0) failed of \(json["results_num_requests_started"]?.intValue ?? 0) sent in \(TextFormat.fixed(json["results_wall_time_s"]?.doubleValue ?? .nan, 1)) s",
        ]
        if let frequency = json["results_error_code_frequency"]?.stringValue, frequency != "{}" {
            lines.append("Error codes: \(frequency)")
        }
        if let share = json["client_batched_read_share"]?.doubleValue, share > 0,
           let window = json["client_read_batching_widest_window_ms"]?.doubleValue {
            lines.append("Timing resolution: \(TextFormat.fixed(share * 100, 1))% of the stream data came faster than "
                + "\(TextFormat.fixed((json["client_read_batching_threshold_bytes_per_s"]?.doubleValue ?? .nan) / 1e6, 0)) MB/s "
                + "and was read in batches up to \(TextFormat.fixed(window, 1)) ms apart to keep the client's CPU low, so those chunks' times can be "
                + "up to \(TextFormat.fixed(window, 1)) ms late (read_batching_ms: 0 reads every chunk on arrival)")
        }
        return lines
    }

    /// Rows shown in the percentile table: (summary metric key, label, unit scale, unit).
    static let tableRows: [(key: String, label: String, scale: Double, unit: String)] = [
        ("ttft_s", "Time to first token", 1000, "ms"),
        ("end_to_end_latency_s", "End-to-end latency", 1000, "ms"),
        ("inter_token_latency_s", "Inter-token latency (llmperf, incl. TTFT)", 1000, "ms"),
        ("time_per_output_token_s", "Time per output token (TPOT)", 1000, "ms"),
        ("inter_chunk_latency_s", "Gap between chunks", 1000, "ms"),
        ("request_output_throughput_token_per_s", "Output throughput per request", 1, "tok/s"),
        ("number_input_tokens", "Input tokens", 1, "tok"),
        ("number_output_tokens", "Output tokens", 1, "tok"),
        ("ttft_from_intended_start_s", "TTFT from intended send", 1000, "ms"),
        ("end_to_end_latency_from_intended_start_s", "Latency from intended send", 1000, "ms"),
    ]

    /// A fixed-width table of p50 / p90 / p99 / mean per metric.
    public static func percentileTable(_ summary: LoadTestSummary) -> String {
        let header = ["metric", "unit", "p50", "p90", "p99", "mean"]
        var rows: [[String]] = []
        for row in tableRows {
            guard let distribution = summary.distributions[row.key] else { continue }
            let decimals = row.unit == "tok" ? 1 : 2
            let cell = { (value: Double) in TextFormat.fixed(value * row.scale, decimals) }
            rows.append([row.label, row.unit, cell(distribution.quantile("p50")), cell(distribution.quantile("p90")),
                         cell(distribution.quantile("p99")), cell(distribution.mean)])
        }
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column < 2 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    /// Tutorial lines, measured lines and the table, as the cell shows them.
    public static func render(_ summary: LoadTestSummary) -> String {
        (tutorialLines(summary) + [""] + measuredLines(summary) + ["", percentileTable(summary)]).joined(separator: "\n")
    }

    private static func ms(_ value: JSONValue?) -> Double { (value?.doubleValue ?? .nan) * 1000 }

    /// Python's `f"{value}"` for the configured means, which are ints.
    private static func plain(_ value: JSONValue?) -> String {
        switch value {
        case .int(let number): return String(number)
        case .double(let number): return JSONValue.formatNumber(number)
        case .string(let text): return text
        default: return "None"
        }
    }
}

enum TextFormat {
    /// `value` with exactly `decimals` decimals (Python's `f"{value:.2f}"`), "nan" when not finite.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrEven)
        guard scaled < 9.0e18 else { return value.description }
        let integer = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = String(integer / divisor)
        if decimals > 0 {
            let fraction = String(integer % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return (value < 0 && integer != 0 ? "-" : "") + text
    }
}

import CellbookHTTP
import CellbookJSON
import ServingKit

/// The contents of `{model}_{in}_{out}_summary.json`: llmperf's keys, flattening and formulas
/// (`token_benchmark_ray.py`, `metrics_summary` and `LLMPerfResults.to_dict`), then new keys.
///
/// llmperf keys keep llmperf's meaning: top-level `mean_input_tokens` is the CONFIGURED mean,
/// `results_inter_token_latency_s_*` is llmperf's TTFT-inclusive figure. What llmperf gets wrong
/// or leaves out is added under new names (`measured_mean_input_tokens`,
/// `results_time_per_output_token_s_*`, `results_inter_chunk_latency_s_*`, ...).
/// Differences in form: numbers are always JSON numbers (llmperf writes some token min/max as
/// strings through `default=str`), and NaN (no samples) is written as null.
public struct LoadTestSummary: Sendable, Equatable {
    public static let resultsVersion = "2023-08-31"

    /// Appends a request's samples of one metric to a pooled buffer.
    typealias SampleExtractor = @Sendable (RequestMetrics, inout [Double]) -> Void

    /// The metrics llmperf summarises, in its order, as (key, sample extractor).
    static let llmperfMetrics: [(String, SampleExtractor)] = [
        ("inter_token_latency_s", { $1.append($0.llmperfInterTokenLatency) }),
        ("ttft_s", { $1.append($0.ttft) }),
        ("end_to_end_latency_s", { $1.append($0.endToEndLatency) }),
        ("request_output_throughput_token_per_s", { $1.append($0.requestOutputThroughput) }),
        ("number_input_tokens", { $1.append(Double($0.inputTokens)) }),
        ("number_output_tokens", { $1.append(Double($0.outputTokens)) }),
    ]

    /// Metrics llmperf does not have. Inter-chunk latencies pool every gap of every successful
    /// request, as vLLM's ITL percentiles do.
    static let additionalMetrics: [(String, SampleExtractor)] = [
        ("time_per_output_token_s", { if let value = $0.timePerOutputToken { $1.append(value) } }),
        ("inter_chunk_latency_s", { $0.appendInterChunkLatencies(to: &$1) }),
        ("ttft_from_intended_start_s", { $1.append($0.ttftFromIntendedStart) }),
        ("end_to_end_latency_from_intended_start_s", { $1.append($0.endToEndLatencyFromIntendedStart) }),
        ("start_delay_s", { $1.append($0.startDelay) }),
    ]

    /// The flattened summary, in file order.
    public var json: JSONObject
    /// Distributions by metric key (llmperf's and the new ones), over successful requests.
    public var distributions: [String: Distribution]
    public var name: String

    public init(config: LoadTestConfig, requests: [RequestMetrics], wallSeconds: Double,
                lengthModel: TokenLengthModel, timestamp: Int, clientReads: HTTPReadStatistics? = nil) {
        let successful = requests.filter(\.succeeded)
        var distributions: [String: Distribution] = [:]
        for (key, extract) in LoadTestSummary.llmperfMetrics + LoadTestSummary.additionalMetrics {
            var samples: [Double] = []
            for request in successful { extract(request, &samples) }
            distributions[key] = Distribution(sortingInPlace: &samples)
        }
        self.distributions = distributions
        name = ResultFiles.baseName(model: config.model, meanInputTokens: config.meanInputTokens,
                                    meanOutputTokens: config.meanOutputTokens) + "_summary"

        var results = JSONObject()
        for (key, _) in LoadTestSummary.llmperfMetrics {
            results[key] = .object(LoadTestSummary.block(distributions[key]!))
        }
        results["num_requests_started"] = .int(requests.count)
        let errorCodes = requests.compactMap(\.errorCode)
        results["error_rate"] = .double(requests.isEmpty ? 0 : Double(errorCodes.count) / Double(requests.count))
        results["number_errors"] = .int(errorCodes.count)
        results["error_code_frequency"] = .string(LoadTestSummary.pythonDictRepr(errorCodes))
        let outputTokens = successful.reduce(0) { $0 + $1.outputTokens }
        results["mean_output_throughput_token_per_s"] = .double(wallSeconds > 0 ? Double(outputTokens) / wallSeconds : .nan)
        results["num_completed_requests"] = .int(successful.count)
        results["num_completed_requests_per_min"] = .double(wallSeconds > 0 ? Double(successful.count) / wallSeconds * 60 : .nan)
        // New result keys follow llmperf's.
        for (key, _) in LoadTestSummary.additionalMetrics {
            results[key] = .object(LoadTestSummary.block(distributions[key]!))
        }
        results["wall_time_s"] = .double(wallSeconds)
        results["total_output_tokens"] = .int(outputTokens)

        var top = JSONObject()
        top["version"] = .string(LoadTestSummary.resultsVersion)
        top["name"] = .string(name)
        top["model"] = .string(config.model)
        top["mean_input_tokens"] = .int(config.meanInputTokens)
        top["stddev_input_tokens"] = .int(config.stddevInputTokens)
        top["mean_output_tokens"] = .int(config.meanOutputTokens)
        top["stddev_output_tokens"] = .int(config.stddevOutputTokens)
        top["num_concurrent_requests"] = .int(config.concurrentRequests)
        top["additional_sampling_params"] = .object(config.additionalSamplingParams)
        top["results"] = .object(results)

        // New top-level keys.
        top["measured_mean_input_tokens"] = .double(Statistics.mean(successful.map { Double($0.inputTokens) }))
        top["measured_mean_output_tokens"] = .double(Statistics.mean(successful.map { Double($0.outputTokens) }))
        top["input_token_count_method"] = .string(LoadTestSummary.method(successful.map(\.inputTokenSource)))
        top["output_token_count_method"] = .string(LoadTestSummary.method(successful.map(\.outputTokenSource)))
        top["prompt_length_calibration"] = .string(lengthModel.source.rawValue)
        top["prompt_tokens_fixed"] = .double(lengthModel.fixedTokens)
        top["prompt_tokens_per_character"] = .double(lengthModel.tokensPerCharacter)
        top["max_num_completed_requests"] = .int(config.maxCompletedRequests)
        top["timeout_s"] = .double(config.timeoutSeconds)
        top["seed"] = .int(Int(truncatingIfNeeded: config.seed))
        switch config.arrivalMode {
        case .closedLoop:
            top["load_mode"] = .string("closed_loop")
        case .openLoop(let rate):
            top["load_mode"] = .string("open_loop")
            top["request_rate_per_s"] = .double(rate)
        }
        top["client"] = .string("cellbook-loadbench")
        // Timing resolution: under heavy inbound load the client reads in batches, and a chunk's
        // receive time can then be late by up to the window (0 = every chunk read on arrival).
        let batching = config.readBatching
        top["client_read_batching_max_window_ms"] = .double(batching.isEnabled ? Double(batching.maxWindowNanoseconds) / 1e6 : 0)
        top["client_read_batching_threshold_bytes_per_s"] = batching.isEnabled ? .double(batching.thresholdBytesPerSecond) : .null
        top["client_batched_read_share"] = clientReads.map { .double($0.batchedShare) } ?? .null
        top["client_read_batching_widest_window_ms"] = clientReads.map { .double(Double($0.widestWindowNanoseconds) / 1e6) } ?? .null

        // llmperf: summary.update(user_metadata), then LLMPerfResults adds the timestamp.
        for (key, value) in config.metadata { top[key] = .string(value) }
        top["timestamp"] = .int(timestamp)
        json = top.flattened()
    }

    static func block(_ distribution: Distribution) -> JSONObject {
        var quantiles = JSONObject()
        for (position, entry) in Distribution.reportedQuantiles.enumerated() {
            quantiles[entry.key] = .double(distribution.quantiles[position])
        }
        return [
            "quantiles": .object(quantiles),
            "mean": .double(distribution.mean),
            "min": .double(distribution.min),
            "max": .double(distribution.max),
            "stddev": .double(distribution.stddev),
        ]
    }

    /// `str(dict(series.value_counts()))`: most frequent first, ties in first-seen order.
    static func pythonDictRepr(_ codes: [Int]) -> String {
        var counts: [(Int, Int)] = []
        for code in codes {
            if let index = counts.firstIndex(where: { $0.0 == code }) { counts[index].1 += 1 } else { counts.append((code, 1)) }
        }
        let ordered = counts.enumerated().sorted { lhs, rhs in
            lhs.element.1 != rhs.element.1 ? lhs.element.1 > rhs.element.1 : lhs.offset < rhs.offset
        }
        return "{" + ordered.map { "\($0.element.0): \($0.element.1)" }.joined(separator: ", ") + "}"
    }

    static func method(_ sources: [TokenCountSource]) -> String {
        let distinct = Set(sources.map(\.rawValue))
        if distinct.count == 1 { return distinct.first! }
        if distinct.isEmpty { return "none" }
        return "mixed(" + distinct.sorted().joined(separator: ",") + ")"
    }

    // Convenience accessors for renderers.
    public func number(_ key: String) -> Double? { json[key]?.doubleValue }
}

@testable import ServingKit
import CellbookJSON
import CellbookHTTP
import Testing
@testable import LoadBench

struct SummaryTests {
    /// Three successful requests and one failure, with known numbers.
    static func sampleRequests() -> [RequestMetrics] {
        let origin: UInt64 = 5_000_000_000
        func ms(_ value: Double) -> UInt64 { origin + UInt64(value * 1_000_000) }
        let specs: [(chunks: [Double], end: Double, prompt: Int, completion: Int)] = [
            ([100, 110, 120], 130, 500, 3),
            ([200, 220, 240, 260], 270, 520, 4),
            ([300, 330], 340, 540, 2),
        ]
        var requests = specs.enumerated().map { index, spec in
            RequestMetrics(RequestTimeline(index: index, intendedStartNs: origin, startNs: origin,
                                           chunkTimesNs: spec.chunks.map(ms), endNs: ms(spec.end),
                                           usagePromptTokens: spec.prompt, usageCompletionTokens: spec.completion,
                                           targetInputTokens: 550, estimatedInputTokens: 550, targetOutputTokens: 4),
                           runStartNs: origin)
        }
        requests.append(RequestMetrics(RequestTimeline(index: 3, intendedStartNs: origin, startNs: origin,
                                                       chunkTimesNs: [], endNs: ms(5), targetInputTokens: 550,
                                                       estimatedInputTokens: 550, targetOutputTokens: 4,
                                                       failure: .httpStatus(500, message: "boom")),
                                       runStartNs: origin))
        return requests
    }

    static func sampleSummary(metadata: [(key: String, value: String)] = [],
                              sampling: JSONObject = ["temperature": .double(0.7)]) -> LoadTestSummary {
        let config = LoadTestConfig(model: "meta-llama/Meta-Llama-3-70B-Instruct", concurrentRequests: 25,
                                    maxCompletedRequests: 4, additionalSamplingParams: sampling, metadata: metadata)
        return LoadTestSummary(config: config, requests: sampleRequests(), wallSeconds: 2,
                               lengthModel: TokenLengthModel(fixedTokens: 30, tokensPerCharacter: 0.25, source: .usage),
                               timestamp: 1_718_206_755)
    }

    static let llmperfMetricKeys = ["inter_token_latency_s", "ttft_s", "end_to_end_latency_s",
                                    "request_output_throughput_token_per_s", "number_input_tokens", "number_output_tokens"]

    @Test("every key of llmperf's summary is there, with llmperf's value types")
    func llmperfKeySetAndTypes() {
        let json = Self.sampleSummary().json
        var expected = ["version", "name", "model", "mean_input_tokens", "stddev_input_tokens", "mean_output_tokens",
                        "stddev_output_tokens", "num_concurrent_requests", "results_num_requests_started",
                        "results_error_rate", "results_number_errors", "results_error_code_frequency",
                        "results_mean_output_throughput_token_per_s", "results_num_completed_requests",
                        "results_num_completed_requests_per_min", "timestamp"]
        for metric in Self.llmperfMetricKeys {
            for quantile in ["p25", "p50", "p75", "p90", "p95", "p99"] { expected.append("results_\(metric)_quantiles_\(quantile)") }
            for stat in ["mean", "min", "max", "stddev"] { expected.append("results_\(metric)_\(stat)") }
        }
        for key in expected { #expect(json[key] != nil, "missing \(key)") }

        for key in json.keys where key.hasPrefix("results_") && (key.contains("_quantiles_") || key.hasSuffix("_mean")
                                                                 || key.hasSuffix("_stddev")) {
            guard case .double = json[key]! else { Issue.record("\(key) is \(json[key]!), not a number"); continue }
        }
        #expect(json["version"] == .string("2023-08-31"))
        #expect(json["name"] == .string("meta-llama-Meta-Llama-3-70B-Instruct_550_150_summary"))
        #expect(json["model"] == .string("meta-llama/Meta-Llama-3-70B-Instruct"))
        #expect(json["num_concurrent_requests"] == .int(25))
        #expect(json["results_num_requests_started"] == .int(4))
        #expect(json["results_number_errors"] == .int(1))
        #expect(json["results_error_rate"] == .double(0.25))
        #expect(json["results_error_code_frequency"] == .string("{500: 1}"))
        #expect(json["timestamp"] == .int(1_718_206_755))
        // llmperf's order: version and name first, the timestamp last.
        #expect(Array(json.keys.prefix(3)) == ["version", "name", "model"])
        #expect(json.keys.last == "timestamp")
    }

    @Test("the configured means keep llmperf's meaning; measured ones get new keys")
    func configuredVersusMeasured() {
        let json = Self.sampleSummary().json
        #expect(json["mean_input_tokens"] == .int(550))
        #expect(json["mean_output_tokens"] == .int(150))
        #expect(json["measured_mean_input_tokens"] == .double(520))  // (500 + 520 + 540) / 3, failures excluded
        #expect(json["measured_mean_output_tokens"] == .double(3))
        #expect(json["input_token_count_method"] == .string("usage"))
        #expect(json["output_token_count_method"] == .string("usage"))
        #expect(json["results_number_input_tokens_mean"] == .double(520))
    }

    @Test("llmperf's formulas: throughput over wall time, completed per minute, stats over successes")
    func formulas() {
        let json = Self.sampleSummary().json
        // (3 + 4 + 2) output tokens of successful requests / 2 s wall time.
        #expect(json["results_mean_output_throughput_token_per_s"] == .double(4.5))
        #expect(json["results_num_completed_requests"] == .int(3))
        #expect(json["results_num_completed_requests_per_min"] == .double(90))
        // TTFTs 0.1, 0.2, 0.3: mean 0.2, median 0.2, p25 0.15, sample stddev 0.1.
        #expect(abs(json["results_ttft_s_mean"]!.doubleValue! - 0.2) < 1e-12)
        #expect(abs(json["results_ttft_s_quantiles_p25"]!.doubleValue! - 0.15) < 1e-12)
        #expect(abs(json["results_ttft_s_stddev"]!.doubleValue! - 0.1) < 1e-12)
        #expect(abs(json["results_ttft_s_min"]!.doubleValue! - 0.1) < 1e-12)
        // llmperf ITL per request: 0.12/3, 0.26/4, 0.33/2; mean of those.
        let itl = (0.12 / 3 + 0.26 / 4 + 0.33 / 2) / 3
        #expect(abs(json["results_inter_token_latency_s_mean"]!.doubleValue! - itl) < 1e-12)
        // Pooled gaps between chunks: 10, 10, 20, 20, 20, 30 ms.
        #expect(abs(json["results_inter_chunk_latency_s_mean"]!.doubleValue! - 0.11 / 6) < 1e-12)
    }

    @Test("sampling params flatten as llmperf flattens them, and metadata merges over the summary")
    func flatteningAndMetadata() {
        let json = Self.sampleSummary(metadata: [("name", "custom"), ("team", "infra")],
                                      sampling: ["temperature": .double(0.7), "extra": .object(["top_k": .int(5)])]).json
        #expect(json["additional_sampling_params_temperature"] == .double(0.7))
        #expect(json["additional_sampling_params_extra_top_k"] == .int(5))
        #expect(json["additional_sampling_params"] == nil)
        #expect(json["team"] == .string("infra"))
        #expect(json["name"] == .string("custom"))  // llmperf's summary.update(user_metadata) overrides
        let empty = Self.sampleSummary(sampling: [:]).json
        #expect(!empty.keys.contains { $0.hasPrefix("additional_sampling_params") })
    }

    @Test("error code frequency reads like Python's str(dict(value_counts()))")
    func errorFrequencyRepr() {
        #expect(LoadTestSummary.pythonDictRepr([]) == "{}")
        #expect(LoadTestSummary.pythonDictRepr([500, -3, 500, 424, -3, 500]) == "{500: 3, -3: 2, 424: 1}")
    }

    @Test("file names are sanitised as llmperf sanitises them")
    func fileNames() {
        #expect(ResultFiles.baseName(model: "meta-llama/Meta-Llama-3-70B-Instruct", meanInputTokens: 550, meanOutputTokens: 150)
                == "meta-llama-Meta-Llama-3-70B-Instruct_550_150")
        #expect(ResultFiles.baseName(model: "01-ai/Yi-1.5-34B-Chat", meanInputTokens: 550, meanOutputTokens: 150)
                == "01-ai-Yi-1-5-34B-Chat_550_150")
        #expect(ResultFiles.baseName(model: "huggingface-pytorch-tgi-inference-2024-05-01-12-00-00-123", meanInputTokens: 1, meanOutputTokens: 2)
                == "huggingface-pytorch-tgi-inference-2024-05-01-12-00-00-123_1_2")
        #expect(ResultFiles.baseName(model: "my model (v2)", meanInputTokens: 10, meanOutputTokens: 5) == "my-model-v2-_10_5")
        #expect(ResultFiles.baseName(model: "a--/--b", meanInputTokens: 1, meanOutputTokens: 1) == "a-b_1_1")
    }

    @Test("the summary file parses back to the same values")
    func serialisesAndParses() throws {
        let summary = Self.sampleSummary()
        let text = JSONValue.object(summary.json).serialized(indent: 4)
        #expect(text.hasPrefix("{\n    \"version\": \"2023-08-31\",\n    \"name\": "))
        let parsed = try JSONValue.parse(text)
        #expect(parsed == .object(summary.json))
    }
}

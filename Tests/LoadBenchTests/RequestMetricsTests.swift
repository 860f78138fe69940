@testable import ServingKit
import CellbookJSON
import Testing
@testable import LoadBench

/// Metric formulas on hand-made timelines (times in ms after a 1 s origin).
struct RequestMetricsTests {
    static let origin: UInt64 = 1_000_000_000
    static func at(_ milliseconds: Double) -> UInt64 { origin + UInt64(milliseconds * 1_000_000) }

    static func timeline(chunksAt: [Double], endAt: Double, intendedAt: Double = 0,
                         promptTokens: Int? = 50, completionTokens: Int? = nil,
                         failure: RequestFailure? = nil) -> RequestTimeline {
        RequestTimeline(index: 0, intendedStartNs: at(intendedAt), startNs: at(0),
                        chunkTimesNs: chunksAt.map(at), endNs: at(endAt),
                        usagePromptTokens: promptTokens, usageCompletionTokens: completionTokens,
                        targetInputTokens: 48, estimatedInputTokens: 47, targetOutputTokens: 6,
                        finishReason: failure == nil ? "length" : nil, failure: failure)
    }

    @Test("TTFT, latency, throughput and token totals")
    func basicFormulas() {
        let metrics = RequestMetrics(Self.timeline(chunksAt: [100, 120, 140, 190], endAt: 200, completionTokens: 4),
                                     runStartNs: Self.origin)
        #expect(abs(metrics.ttft - 0.100) < 1e-12)
        #expect(abs(metrics.endToEndLatency - 0.200) < 1e-12)
        #expect(abs(metrics.requestOutputThroughput - 20) < 1e-9)  // 4 tokens / 0.2 s
        #expect(metrics.inputTokens == 50)
        #expect(metrics.outputTokens == 4)
        #expect(metrics.totalTokens == 54)
        #expect(metrics.errorCode == nil)
        #expect(metrics.errorMessage == "")
    }

    @Test("llmperf's inter-token latency folds the time to first token in; TPOT does not")
    func llmperfQuirkAndCorrectedFigures() {
        let metrics = RequestMetrics(Self.timeline(chunksAt: [100, 120, 140, 190], endAt: 200, completionTokens: 4),
                                     runStartNs: Self.origin)
        // llmperf: (ttft + every gap) / tokens = (last chunk - start) / tokens = 0.19 / 4.
        #expect(abs(metrics.llmperfInterTokenLatency - 0.0475) < 1e-12)
        // vLLM TPOT: (latency - ttft) / (tokens - 1) = 0.1 / 3.
        #expect(abs(metrics.timePerOutputToken! - 0.1 / 3) < 1e-12)
        // Gaps between chunks.
        #expect(metrics.interChunkLatencies.count == 3)
        for (gap, expected) in zip(metrics.interChunkLatencies, [0.020, 0.020, 0.050]) {
            #expect(abs(gap - expected) < 1e-12)
        }
        #expect(abs(metrics.interChunkLatencyMean! - 0.030) < 1e-12)
        // The quirk matters: with a long TTFT, llmperf's figure is several times the real gap.
        let slowStart = RequestMetrics(Self.timeline(chunksAt: [1000, 1010, 1020, 1030], endAt: 1030, completionTokens: 4),
                                       runStartNs: Self.origin)
        #expect(slowStart.llmperfInterTokenLatency > 0.25)
        #expect(abs(slowStart.timePerOutputToken! - 0.010) < 1e-12)
    }

    @Test("output tokens come from usage when the server reports it, else from the chunks")
    func outputTokenSource() {
        let withUsage = RequestMetrics(Self.timeline(chunksAt: [10, 20, 30], endAt: 40, completionTokens: 6),
                                       runStartNs: Self.origin)
        #expect(withUsage.outputTokens == 6)
        #expect(withUsage.outputTokenSource == .usage)
        #expect(withUsage.contentChunks == 3)
        #expect(abs(withUsage.llmperfInterTokenLatency - 0.030 / 6) < 1e-12)

        let counted = RequestMetrics(Self.timeline(chunksAt: [10, 20, 30], endAt: 40, promptTokens: nil),
                                     runStartNs: Self.origin)
        #expect(counted.outputTokens == 3)
        #expect(counted.outputTokenSource == .streamChunks)
        #expect(counted.inputTokens == 47)  // the estimate, since the server gave no usage
        #expect(counted.inputTokenSource == .estimate)
    }

    @Test("intended-start figures include the time a request waited to be sent")
    func intendedStart() {
        var timeline = Self.timeline(chunksAt: [100, 150], endAt: 200, completionTokens: 2)
        timeline.intendedStartNs = Self.origin - 50_000_000  // meant to go 50 ms earlier
        let metrics = RequestMetrics(timeline, runStartNs: Self.origin - 1_000_000_000)
        #expect(abs(metrics.ttft - 0.100) < 1e-12)
        #expect(abs(metrics.ttftFromIntendedStart - 0.150) < 1e-12)
        #expect(abs(metrics.endToEndLatencyFromIntendedStart - 0.250) < 1e-12)
        #expect(abs(metrics.startDelay - 0.050) < 1e-12)
        #expect(abs(metrics.requestStartOffset - 0.950) < 1e-12)
    }

    @Test("a request with no tokens has zero TTFT and ITL, no TPOT, and its failure recorded")
    func failedRequest() {
        let metrics = RequestMetrics(Self.timeline(chunksAt: [], endAt: 30, promptTokens: nil,
                                                   failure: .httpStatus(503, message: "loading")),
                                     runStartNs: Self.origin)
        #expect(metrics.ttft == 0)
        #expect(metrics.llmperfInterTokenLatency == 0)
        #expect(metrics.timePerOutputToken == nil)
        #expect(metrics.interChunkLatencyMean == nil)
        #expect(metrics.errorCode == 503)
        #expect(metrics.errorKind == "http_status")
        #expect(metrics.errorMessage == "HTTP 503: loading")
        #expect(!metrics.succeeded)
    }

    @Test("each failure kind has its own code")
    func failureCodes() {
        let failures: [RequestFailure] = [
            .httpStatus(500, message: ""), .inStream(code: 424, message: "x"), .inStream(code: nil, message: "x"),
            .disconnected(message: "x"), .timedOut(afterSeconds: 1), .connection(message: "x"), .malformed(message: "x"),
            .cancelled,
        ]
        let codes = failures.map(\.code)
        #expect(codes == [500, 424, -4, -2, -3, -1, -5, -6])
        #expect(Set(failures.map(\.kind)).count == 7)
    }

    @Test("the individual-response object has llmperf's keys first, in llmperf's order")
    func jsonKeyOrder() {
        let object = RequestMetrics(Self.timeline(chunksAt: [100, 120], endAt: 200, completionTokens: 2),
                                    runStartNs: Self.origin).jsonObject
        #expect(Array(object.keys.prefix(9)) == [
            "error_code", "error_msg", "inter_token_latency_s", "ttft_s", "end_to_end_latency_s",
            "request_output_throughput_token_per_s", "number_total_tokens", "number_output_tokens", "number_input_tokens",
        ])
        #expect(object["error_code"] == .null)
        #expect(object["number_input_tokens"] == .int(50))
        #expect(object["time_per_output_token_s"]?.doubleValue != nil)
        #expect(object["output_token_count_method"] == .string("usage"))
    }
}

@testable import ServingKit
import CellbookJSON
import CellbookHTTP
import Testing
@testable import LoadBench

@Suite("Read batching in the load test's results")
struct ReadBatchingReportTests {
    static func summary(batching: ReadBatching, reads: HTTPReadStatistics?) -> LoadTestSummary {
        var config = LoadTestConfig(model: "m", concurrentRequests: 2, maxCompletedRequests: 4)
        config.readBatching = batching
        return LoadTestSummary(config: config, requests: SummaryTests.sampleRequests(), wallSeconds: 2,
                               lengthModel: TokenLengthModel(fixedTokens: 30, tokensPerCharacter: 0.25, source: .usage),
                               timestamp: 1, clientReads: reads)
    }

    @Test("the summary gives the windows, the threshold and the share read in batches, under new keys")
    func summaryKeys() {
        let json = Self.summary(batching: LoadTestConfig.defaultReadBatching,
                                reads: HTTPReadStatistics(bytes: 4000, batchedBytes: 1000, widestWindowNanoseconds: 16_000_000)).json
        #expect(json["client_read_batching_max_window_ms"] == .double(50))
        #expect(json["client_read_batching_threshold_bytes_per_s"] == .double(32_000_000))
        #expect(json["client_batched_read_share"] == .double(0.25))
        #expect(json["client_read_batching_widest_window_ms"] == .double(16))
        #expect(json.keys.last == "timestamp", "llmperf's timestamp stays last")

        let off = Self.summary(batching: .off, reads: nil).json
        #expect(off["client_read_batching_max_window_ms"] == .double(0))
        #expect(off["client_read_batching_threshold_bytes_per_s"] == .null)
        #expect(off["client_batched_read_share"] == .null, "unknown when the transport cannot tell")
        #expect(off["client_read_batching_widest_window_ms"] == .null)
    }

    @Test("the text report warns about timing resolution only when something was read in batches")
    func textNote() {
        let batched = TextReport.render(Self.summary(batching: LoadTestConfig.defaultReadBatching,
                                                     reads: HTTPReadStatistics(bytes: 4000, batchedBytes: 3000,
                                                                               widestWindowNanoseconds: 8_000_000)))
        #expect(batched.contains("Timing resolution: 75.0% of the stream data came faster than 32 MB/s"))
        #expect(batched.contains("up to 8.0 ms late"))
        let prompt = TextReport.render(Self.summary(batching: LoadTestConfig.defaultReadBatching,
                                                    reads: HTTPReadStatistics(bytes: 4000, batchedBytes: 0)))
        #expect(!prompt.contains("Timing resolution"))
    }

    @Test("a widest window in milliseconds maps to the batching setting; 0 is off; out of range is a config problem")
    func configuration() {
        #expect(LoadTestConfig.readBatching(maxWindowMilliseconds: 0) == .off)
        #expect(LoadTestConfig.readBatching(maxWindowMilliseconds: 2.5).maxWindowNanoseconds == 2_500_000)
        #expect(LoadTestConfig.readBatching(maxWindowMilliseconds: 2.5).thresholdBytesPerSecond
                == LoadTestConfig.defaultReadBatching.thresholdBytesPerSecond)
        var config = LoadTestConfig(model: "m")
        #expect(config.problems().isEmpty)
        config.readBatching = LoadTestConfig.readBatching(maxWindowMilliseconds: 5000)
        #expect(config.problems().contains { $0.contains("read batching window") })
        config.readBatching = LoadTestConfig.readBatching(maxWindowMilliseconds: -1)
        #expect(config.problems().contains { $0.contains("read batching window") })
    }
}

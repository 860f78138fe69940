@testable import ServingKit
import CellbookJSON
import Foundation
import Testing
@testable import LoadBench

struct ReportTests {
    @Test("the tutorial's summary lines come from the tutorial's keys")
    func tutorialLines() {
        let summary = SummaryTests.sampleSummary()
        let lines = TextReport.tutorialLines(summary)
        #expect(lines == [
            "Concurrent requests: 25",
            "Avg. Input token length: 550",
            "Avg. Output token length: 150",
            "Avg. First-Time-To-Token: 200.00ms",
            "Avg. Thorughput: 4.50 tokens/sec",
            "Avg. Latency: \(TextFormat.fixed(summary.json["results_inter_token_latency_s_mean"]!.doubleValue! * 1000, 2))ms/token",
        ])
        let measured = TextReport.measuredLines(summary)
        #expect(measured.contains("Measured input token length: 520.0 (usage)"))
        #expect(measured.contains("Error codes: {500: 1}"))
    }

    @Test("the percentile table has p50/p90/p99/mean for each metric")
    func percentileTable() throws {
        let table = TextReport.percentileTable(SummaryTests.sampleSummary())
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("metric"))
        #expect(lines[0].range(of: #"p50 +p90 +p99 +mean$"#, options: .regularExpression) != nil, "header was \(lines[0])")
        let ttft = try #require(lines.first { $0.hasPrefix("Time to first token") })
        // TTFTs 100, 200, 300 ms: p50 200, p90 280, p99 298, mean 200.
        #expect(ttft.hasSuffix("200.00  280.00  298.00  200.00"), "row was \(ttft)")
    }

    @Test("numbers format like Python's :.2f")
    func fixedFormatting() {
        #expect(TextFormat.fixed(1301.2849, 2) == "1301.28")
        #expect(TextFormat.fixed(0.005, 2) == "0.01" || TextFormat.fixed(0.005, 2) == "0.00")
        #expect(TextFormat.fixed(-2.5, 1) == "-2.5")
        #expect(TextFormat.fixed(7, 0) == "7")
        #expect(TextFormat.fixed(.nan, 2) == "nan")
    }

    @Test("the HTML report is self-contained and holds the charts and the table")
    func htmlReport() async {
        let transport = ScriptedTransport(ttftNs: 10_000_000, gapNs: 2_000_000, tokens: 6, promptTokens: 40)
        let config = LoadTestConfig(model: "org/model <x>", concurrentRequests: 2, maxCompletedRequests: 6)
        let result = await LoadTest.execute(plan: LoadTestRunnerTests.plan(6, maxTokens: 6), config: config,
                                            lengthModel: .heuristic, transport: transport)
        let html = HTMLReport.render(result)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script"))
        #expect(!html.contains("src="))
        #expect(!html.contains("href="))
        #expect(!html.contains("https://"))
        // The only URL is the SVG namespace, which is a name, not a fetch.
        #expect(html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://") == false)
        #expect(html.components(separatedBy: "<svg ").count - 1 == 4)
        #expect(html.contains("Time to first token (ms)"))
        #expect(html.contains("Output throughput over time"))
        #expect(html.contains("Avg. First-Time-To-Token"))
        #expect(html.contains("org/model &lt;x&gt;"))
        #expect(!html.contains("org/model <x>"))
        #expect(html.contains("<rect"))  // histogram bars were drawn
    }

    @Test("histograms and throughput series count what they are given")
    func chartData() {
        let histogram = Histogram([1, 2, 2, 3, 10], binCount: 9)
        #expect(histogram.counts.reduce(0, +) == 5)
        #expect(histogram.lowerBound <= 1)
        #expect(histogram.lowerBound + histogram.binWidth * Double(histogram.counts.count) > 10)
        #expect(Histogram([]).counts.isEmpty)

        let start: UInt64 = 1_000_000_000
        let timeline = RequestTimeline(index: 0, intendedStartNs: start, startNs: start,
                                       chunkTimesNs: (0..<100).map { start + UInt64($0) * 10_000_000 },
                                       endNs: start + 1_000_000_000, targetInputTokens: 1, estimatedInputTokens: 1,
                                       targetOutputTokens: 100)
        let series = ThroughputSeries(timelines: [timeline], runStartNs: start, runEndNs: start + 1_000_000_000, targetBuckets: 10)
        #expect(series.bucketSeconds == 0.1)
        #expect(series.tokensPerSecond.count == 10)
        #expect(series.tokensPerSecond.allSatisfy { abs($0 - 100) < 1e-9 })
    }
}

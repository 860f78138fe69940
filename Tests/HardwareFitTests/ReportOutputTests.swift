import Foundation
import Testing
@testable import HardwareFit

@Suite struct ReportOutputTests {
    static func tutorialDefault() throws -> HardwareReport {
        try HardwareCheck.evaluate(HardwareRequest(model: .id("meta-llama/Meta-Llama-3-70B-Instruct"), smNumGPUs: 8,
                                                   tokenLimits: .tutorial, instanceType: "ml.p4d.24xlarge"))
    }

    @Test func textReportHasTableChosenRowCheapestArithmeticAndCaveat() throws {
        let report = try Self.tutorialDefault()
        let text = report.renderText()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.firstIndex { $0.contains("Model") && $0.contains("Instance") && $0.contains("Verdict") })
        let chosen = lines[header + 2]
        #expect(chosen.hasPrefix("*"))
        #expect(chosen.contains("ml.p4d.24xlarge"))
        #expect(chosen.contains(formatGB(report.estimate.perGPUTotalGB)))
        // One table row per candidate.
        let rowCount = lines[(header + 2)...].prefix { !$0.isEmpty && !$0.hasPrefix("* =") }.count
        #expect(rowCount == report.candidates.count)
        #expect(lines.contains { $0.hasPrefix("Cheapest that fits unquantized: ml.g5.48xlarge") })
        #expect(lines.contains { $0.hasPrefix("Cheapest with quantization allowed: ml.g5.12xlarge") })
        for line in report.estimate.arithmetic { #expect(text.contains(line)) }
        #expect(text.contains("ESTIMATES"))
        #expect(text.contains("2024-04"))
        #expect(text.contains("GB = 1e9 bytes"))
    }

    @Test func reportRoundTripsThroughJSON() throws {
        let report = try Self.tutorialDefault()
        let data = try JSONEncoder().encode(report)
        let decoded = try JSONDecoder().decode(HardwareReport.self, from: data)
        #expect(decoded == report)
        let quantized = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-70B"), smNumGPUs: 4, tokenLimits: .tutorial,
                                                   instanceType: "ml.g5.12xlarge", candidates: ["ml.g5.12xlarge"])
        let again = try JSONDecoder().decode(HardwareReport.self, from: JSONEncoder().encode(quantized))
        #expect(again.verdict == quantized.verdict)
    }

    @Test func flatSummaryCarriesVerdictNumbersAndPrice() throws {
        let report = try Self.tutorialDefault()
        let summary = report.summary
        #expect(summary.verdict == "fits")
        #expect(summary.instance == "ml.p4d.24xlarge")
        #expect(summary.priceUSDPerHour == 37.688)
        #expect(summary.priceIsEstimate)
        #expect(abs(summary.perGPUGB - report.estimate.perGPUTotalGB) <= 0.005)
        #expect(summary.cheapestFit == "ml.g5.48xlarge")
        #expect(summary.errors == 0)

        let object = try #require(try JSONSerialization.jsonObject(with: summary.jsonData()) as? [String: Any])
        #expect(object["verdict"] as? String == "fits")
        #expect(object["sm_num_gpus"] as? Int == 8)
        #expect(object["price_usd_per_hour"] as? Double == 37.688)
        // Flat: no nested objects or arrays.
        #expect(object.values.allSatisfy { !($0 is [Any]) && !($0 is [String: Any]) })
    }

    @Test func summaryOfAQuantizationAdvice() throws {
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-70B"), smNumGPUs: 4, tokenLimits: .tutorial,
                                                instanceType: "ml.g5.12xlarge", candidates: ["ml.g5.12xlarge"])
        let summary = report.summary
        #expect(summary.verdict == "fits_with_quantization")
        #expect(summary.suggestedQuantization == "gptq / awq (4-bit)")
        let suggested = try #require(summary.suggestedPerGPUGB)
        #expect(suggested < summary.usablePerGPUGB)
        #expect(summary.perGPUGB > summary.usablePerGPUGB)
        #expect(summary.firstError?.contains("does not fit") == true)
    }
}

import Foundation
import Testing
@testable import HardwareFit

/// The tutorial's "Hardware requirements" table, replayed.
@Suite struct TutorialTableTests {
    static let llama8B = "meta-llama/Meta-Llama-3-8B-Instruct"
    static let llama70B = "meta-llama/Meta-Llama-3-70B-Instruct"

    @Test func llama8BFitsOneA10GOnG5_2xlarge() throws {
        let report = try HardwareCheck.evaluate(model: .id(Self.llama8B), smNumGPUs: 1, tokenLimits: .tutorial, instanceType: "ml.g5.2xlarge")
        #expect(report.verdict == .fits)
        #expect(report.chosen.gpusPerReplica == 1)
        #expect(report.chosen.instance.acceleratorCount == 1)
        #expect(report.estimate.shards == 1)
        #expect(report.estimate.perGPUTotalGB < report.estimate.usablePerGPUGB)
        #expect(!report.hasErrors)
    }

    @Test func llama70BOnG5_12xlargeNeeds4BitGPTQOrAWQ() throws {
        let report = try HardwareCheck.evaluate(model: .id(Self.llama70B), smNumGPUs: 4, tokenLimits: .tutorial, instanceType: "ml.g5.12xlarge")
        guard case let .fitsWithQuantization(choice) = report.verdict else {
            Issue.record("expected fitsWithQuantization, got \(report.verdict)")
            return
        }
        #expect(choice.bitsPerWeight == 4)
        #expect(Set(choice.options) == [.gptq, .awq])
        #expect(report.chosen.estimate.fits)
        #expect(report.chosen.estimate.quantization.bitsPerWeight == 4)
        // Unquantized and 8-bit both overflow the four 24 GB A10Gs: that is why the tutorial says gptq / awq.
        #expect(!report.estimate.fits)
        let model = try ModelProfile.resolve(.id(Self.llama70B))
        let eightBit = MemoryEstimate.compute(model: model, quantization: .eetq, shards: 4, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        #expect(!eightBit.fits)
        #expect(report.findings.contains { $0.code == .needsQuantization && $0.message.contains("gptq or awq") })
    }

    @Test(arguments: ["ml.g5.48xlarge", "ml.p4d.24xlarge"])
    func llama70BUnquantizedFitsOnEightGPUs(instance: String) throws {
        let report = try HardwareCheck.evaluate(model: .id(Self.llama70B), smNumGPUs: 8, tokenLimits: .tutorial, instanceType: instance)
        #expect(report.verdict == .fits)
        #expect(report.chosen.instance.acceleratorCount == 8)
        #expect(report.estimate.shards == 8)
        #expect(report.estimate.quantization == .none)
        #expect(!report.hasErrors)
    }

    @Test func llama70BOnHalfTheA10GsDoesNotFitUnquantized() throws {
        // The same instance with SM_NUM_GPUS=4: weights per GPU double and no longer fit.
        let report = try HardwareCheck.evaluate(model: .id(Self.llama70B), smNumGPUs: 4, tokenLimits: .tutorial, instanceType: "ml.g5.48xlarge")
        #expect(report.verdict != .fits)
        #expect(report.findings.contains { $0.code == .smNumGPUsBelowInstance && $0.severity == .warning })
    }

    /// The tutorial's four rows exactly as printed, GPU counts included.
    static let tutorialRows: [(model: String, instance: String, quantization: Quantization, gpus: Int)] = [
        (llama8B, "ml.g5.2xlarge", .none, 1),
        (llama70B, "ml.g5.12xlarge", .gptq, 8),
        (llama70B, "ml.g5.48xlarge", .none, 8),
        (llama70B, "ml.p4d.24xlarge", .none, 8),
    ]

    static func tutorialReports() throws -> [HardwareReport] {
        try tutorialRows.map {
            try HardwareCheck.evaluate(model: .id($0.model), quantization: $0.quantization, smNumGPUs: $0.gpus,
                                       tokenLimits: .tutorial, instanceType: $0.instance, candidates: [$0.instance])
        }
    }

    @Test func tutorialTableFlagsOnlyTheG5_12xlargeRowForEightGPUs() throws {
        let reports = try Self.tutorialReports()
        let rowsWithGPUCountErrors = reports.filter { report in
            report.findings.contains { $0.severity == .error && $0.code == .smNumGPUsExceedsInstance }
        }.map(\.chosen.instance.name)
        #expect(rowsWithGPUCountErrors == ["ml.g5.12xlarge"])

        let flagged = try #require(reports.first { $0.chosen.instance.name == "ml.g5.12xlarge" })
        let finding = try #require(flagged.findings.first { $0.code == .smNumGPUsExceedsInstance })
        #expect(finding.message.contains("SM_NUM_GPUS=8"))
        #expect(finding.message.contains("only 4"))
        #expect(finding.message.contains("Set SM_NUM_GPUS=4"))
        #expect(flagged.chosen.isBlocked)

        // The other three rows carry no error at all.
        let clean = reports.filter { !$0.hasErrors }.map(\.chosen.instance.name)
        #expect(clean == ["ml.g5.2xlarge", "ml.g5.48xlarge", "ml.p4d.24xlarge"])
    }

    @Test func tutorialTableRendersTheMismatch() throws {
        let text = HardwareTable(reports: try Self.tutorialReports()).render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)  // header, rule, four rows
        #expect(lines[0].contains("GPUs per replica") && lines[0].contains("$/h est."))
        let row = try #require(lines.first { $0.contains("ml.g5.12xlarge") })
        #expect(row.hasPrefix("!"))
        #expect(row.contains("8 (has 4)"))
        #expect(row.contains("gptq"))
        #expect(row.contains("SM_NUM_GPUS too high"))
        let p4d = try #require(lines.first { $0.contains("ml.p4d.24xlarge") })
        #expect(p4d.contains("$37.688"))
        #expect(p4d.contains("fits"))
        #expect(!p4d.hasPrefix("!"))
    }
}

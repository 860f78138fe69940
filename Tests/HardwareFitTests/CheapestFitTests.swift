import Foundation
import Testing
@testable import HardwareFit

@Suite struct CheapestFitTests {
    @Test func tutorialDefaultFindsCheaperInstancesThanP4d() throws {
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-70B-Instruct"), smNumGPUs: 8,
                                                tokenLimits: .tutorial, instanceType: "ml.p4d.24xlarge")
        #expect(report.verdict == .fits)
        // Among the priced instances where 70B fits unquantized, none may be cheaper than the pick.
        let fit = try #require(report.cheapestFit)
        let price = try #require(fit.pricePerHourUSD)
        let pricedFits = report.candidates.filter { $0.verdict == .fits && $0.pricePerHourUSD != nil && !$0.isBlocked }
        #expect(pricedFits.allSatisfy { $0.pricePerHourUSD! >= price })
        #expect(fit.instance.name == "ml.g5.48xlarge")
        #expect(price < report.pricePerHourUSD!)

        let quantized = try #require(report.cheapestFitWithQuantization)
        #expect(quantized.instance.name == "ml.g5.12xlarge")
        if case let .fitsWithQuantization(choice) = quantized.verdict { #expect(choice.bitsPerWeight == 4) } else { Issue.record("\(quantized.verdict)") }
        // Unpriced instances where it fits are named rather than silently dropped.
        #expect(report.unpricedFits.contains("ml.p5.48xlarge"))
        #expect(report.candidates.count == (try InstanceCatalog.builtIn()).instances.count)
    }

    @Test func cheapestIsPickedFromTheCandidatesGiven() throws {
        let catalog = InstanceCatalog(instances: [
            InstanceType(name: "ml.a.big", acceleratorModel: "Big", acceleratorCount: 1, memoryPerAcceleratorGB: 80, vcpus: 8, hostMemoryGiB: 64, pricePerHourUSD: 9),
            InstanceType(name: "ml.a.mid", acceleratorModel: "Mid", acceleratorCount: 1, memoryPerAcceleratorGB: 48, vcpus: 8, hostMemoryGiB: 64, pricePerHourUSD: 4),
            InstanceType(name: "ml.a.small", acceleratorModel: "Small", acceleratorCount: 1, memoryPerAcceleratorGB: 16, vcpus: 8, hostMemoryGiB: 64, pricePerHourUSD: 1),
            InstanceType(name: "ml.a.free", acceleratorModel: "Unpriced", acceleratorCount: 1, memoryPerAcceleratorGB: 80, vcpus: 8, hostMemoryGiB: 64, pricePerHourUSD: nil),
        ])
        // 8B bf16 needs ~19.9 GB: fits mid and big; at 8-bit (~12 GB) it also fits small.
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: .tutorial,
                                                instanceType: "ml.a.big", catalog: catalog)
        #expect(report.cheapestFit?.instance.name == "ml.a.mid")
        #expect(report.cheapestFitWithQuantization?.instance.name == "ml.a.small")
        #expect(report.unpricedFits == ["ml.a.free"])

        // Leaving mid out of the candidates moves the pick to big.
        let narrowed = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: .tutorial,
                                                  instanceType: "ml.a.big", candidates: ["ml.a.big", "ml.a.small"], catalog: catalog)
        #expect(narrowed.cheapestFit?.instance.name == "ml.a.big")
        #expect(narrowed.candidates.map(\.instance.name) == ["ml.a.big", "ml.a.small"])
    }

    @Test func misconfiguredChosenInstanceStillCountsWithTheRightGPUCount() throws {
        // SM_NUM_GPUS=8 on a 4-GPU instance is wrong, but the instance itself is a fine 4-bit option.
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-70B"), smNumGPUs: 8, tokenLimits: .tutorial,
                                                instanceType: "ml.g5.12xlarge", candidates: ["ml.g5.12xlarge", "ml.g5.48xlarge"])
        #expect(report.chosen.isBlocked)
        #expect(report.cheapestFitWithQuantization?.instance.name == "ml.g5.12xlarge")
        #expect(report.cheapestFitWithQuantization?.gpusPerReplica == 4)
        #expect(report.cheapestFit?.instance.name == "ml.g5.48xlarge")
    }

    @Test func emptyCandidateListIsAnError() {
        #expect(throws: HardwareCheckError.noCandidates) {
            _ = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: .tutorial,
                                           instanceType: "ml.g5.2xlarge", candidates: [])
        }
    }
}

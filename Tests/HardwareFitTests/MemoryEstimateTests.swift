import Testing
@testable import HardwareFit

@Suite struct MemoryEstimateTests {
    let llama70B = try! ModelProfile.resolve(.id("meta-llama/Meta-Llama-3-70B"))
    let llama8B = try! ModelProfile.resolve(.id("meta-llama/Meta-Llama-3-8B"))

    @Test func unquantizedWeightsAreTwoBytesPerParameter() {
        let e = MemoryEstimate.compute(model: llama8B, quantization: .none, shards: 1, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        #expect(abs(e.weightsGB - llama8B.parameters * 2 / 1e9) < 1e-9)
        #expect(e.sixteenBitParameters == 0)
    }

    @Test func kvCacheFollowsTheFormula() throws {
        let arch = try #require(llama70B.architecture)
        let e = MemoryEstimate.compute(model: llama70B, quantization: .none, shards: 8, kvCacheTokens: 8192, memoryPerAcceleratorGB: 40)
        let expected = 2.0 * Double(arch.layers * arch.kvHeads * arch.headDim) * 2 * 8192 / 1e9
        #expect(abs(try #require(e.kvCacheGB) - expected) < 1e-9)
        #expect(abs(e.perGPUKVCacheGB - expected / 8) < 1e-9)
        #expect(e.arithmetic.contains { $0.contains("2 (K,V) x 80 layers x 8 KV heads x 128 head dim x 2 B x 8192 tokens") })
    }

    @Test func shardingDividesWeightsAndAddsOverheadPerGPU() {
        let rules = MemoryRules.standard
        let one = MemoryEstimate.compute(model: llama8B, quantization: .none, shards: 1, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        let four = MemoryEstimate.compute(model: llama8B, quantization: .none, shards: 4, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        #expect(abs(four.perGPUWeightsGB * 4 - one.perGPUWeightsGB) < 1e-9)
        let base = four.perGPUWeightsGB + four.perGPUKVCacheGB
        #expect(abs(four.perGPUOverheadGB - (rules.overheadFraction * base + rules.overheadPerGPUGB)) < 1e-9)
        #expect(abs(four.perGPUTotalGB - (base + four.perGPUOverheadGB)) < 1e-9)
        #expect(abs(four.totalGB - 4 * four.perGPUTotalGB) < 1e-9)
        // The fixed per-GPU cost means four shards together need more than one.
        #expect(four.totalGB > one.perGPUTotalGB)
    }

    @Test func usableMemoryIsNinetyPercentOfNominal() {
        let e = MemoryEstimate.compute(model: llama8B, quantization: .none, shards: 1, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        #expect(abs(e.usablePerGPUGB - 21.6) < 1e-9)
        #expect(e.fits == (e.perGPUTotalGB <= 21.6))
        #expect(e.arithmetic.last?.contains("90% x 24 GB = 21.60 GB") == true)
    }

    @Test func quantizationKeepsEmbeddingsAtSixteenBit() throws {
        let arch = try #require(llama70B.architecture)
        let embed = Double(arch.vocabSize!) * Double(arch.hiddenSize) * 2
        let q4 = MemoryEstimate.compute(model: llama70B, quantization: .awq, shards: 4, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        #expect(q4.sixteenBitParameters == embed)
        let expected = ((llama70B.parameters - embed) * 0.5 * 1.04 + embed * 2) / 1e9
        #expect(abs(q4.weightsGB - expected) < 1e-9)
        let q8 = MemoryEstimate.compute(model: llama70B, quantization: .eetq, shards: 4, kvCacheTokens: 8192, memoryPerAcceleratorGB: 24)
        #expect(abs(q8.weightsGB - ((llama70B.parameters - embed) + embed * 2) / 1e9) < 1e-9)
        #expect(q4.weightsGB < q8.weightsGB)
        #expect(q8.weightsGB < llama70B.parameters * 2 / 1e9)
    }

    @Test func statedRulesMentionUnitsAndFractions() {
        let text = MemoryRules.standard.statements.joined(separator: "\n")
        #expect(text.contains("GB = 1e9 bytes"))
        #expect(text.contains("90% of nominal"))
        #expect(text.contains("10% of its weights + KV, plus 1 GB"))
    }

    @Test func customRulesChangeTheVerdict() throws {
        // A stricter usable fraction turns a fit into a quantization advice: the rules are really used.
        let strict = MemoryRules(usableFraction: 0.7)
        let report = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: .tutorial,
                                                instanceType: "ml.g5.2xlarge", rules: strict)
        #expect(report.verdict != .fits)
        #expect(abs(report.estimate.usablePerGPUGB - 16.8) < 1e-9)
    }
}

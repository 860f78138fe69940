import Testing
@testable import HardwareFit

@Suite struct ConsistencyCheckTests {
    func report(_ model: String = "meta-llama/Meta-Llama-3-70B", _ q: Quantization = .none, gpus: Int, on instance: String) throws -> HardwareReport {
        try HardwareCheck.evaluate(model: .id(model), quantization: q, smNumGPUs: gpus, tokenLimits: .tutorial, instanceType: instance, candidates: [instance])
    }

    @Test func moreGPUsThanTheInstanceHasIsAnError() throws {
        let r = try report(gpus: 16, on: "ml.p4d.24xlarge")
        let finding = try #require(r.findings.first { $0.code == .smNumGPUsExceedsInstance })
        #expect(finding.severity == .error)
        #expect(finding.message.contains("SM_NUM_GPUS=16") && finding.message.contains("only 8"))
        #expect(r.estimate.shards == 8)  // estimated on the GPUs that exist
    }

    @Test func fewerGPUsThanTheInstanceHasIsAWarning() throws {
        let r = try report("meta-llama/Meta-Llama-3-8B", gpus: 1, on: "ml.g5.12xlarge")
        let finding = try #require(r.findings.first { $0.code == .smNumGPUsBelowInstance })
        #expect(finding.severity == .warning)
        #expect(finding.message.contains("other 3 are paid for and idle"))
        #expect(r.verdict == .fits)
        #expect(!r.hasErrors)
    }

    @Test func zeroGPUsIsAnError() throws {
        let r = try report(gpus: 0, on: "ml.p4d.24xlarge")
        #expect(r.findings.contains { $0.code == .smNumGPUsInvalid && $0.severity == .error })
    }

    @Test func headsThatDoNotDivideOverTheShardsAreErrors() throws {
        let r = try report(gpus: 3, on: "ml.g5.48xlarge")
        let heads = try #require(r.findings.first { $0.code == .headsNotDivisible })
        #expect(heads.severity == .error)
        #expect(heads.message.contains("64 attention heads"))
        #expect(heads.message.contains("{1, 2, 4, 8}"))
        #expect(r.findings.contains { $0.code == .kvHeadsNotDivisible })
        #expect(r.chosen.isBlocked)
    }

    @Test func fullPrecisionCheckpointWithGPTQIsAnError() throws {
        let r = try report("meta-llama/Meta-Llama-3-70B", .gptq, gpus: 4, on: "ml.g5.12xlarge")
        let finding = try #require(r.findings.first { $0.code == .prequantizedCheckpoint })
        #expect(finding.severity == .error)
        #expect(finding.message.contains("GPTQ-quantized build"))
        #expect(r.verdict == .fits)  // memory-wise the 4-bit model fits
    }

    @Test func explicitPrequantizedProfileIsNotFlagged() throws {
        let arch = try #require(ModelProfile.resolve(.id("meta-llama/Meta-Llama-3-70B")).architecture)
        let profile = try ModelProfile(id: "someone/Meta-Llama-3-70B-Instruct-AWQ", parametersBillions: 70.55, architecture: arch)
        let r = try HardwareCheck.evaluate(model: .profile(profile), quantization: .awq, smNumGPUs: 4, tokenLimits: .tutorial,
                                           instanceType: "ml.g5.12xlarge", candidates: ["ml.g5.12xlarge"])
        #expect(!r.findings.contains { $0.code == .prequantizedCheckpoint })
        #expect(r.verdict == .fits)
        #expect(!r.hasErrors)
    }

    @Test func fp8OnAnAmpereGPUIsAWarning() throws {
        let a10g = try report("meta-llama/Meta-Llama-3-8B", .fp8, gpus: 1, on: "ml.g5.2xlarge")
        #expect(a10g.findings.contains { $0.code == .fp8NotNative && $0.severity == .warning })
        let l4 = try report("meta-llama/Meta-Llama-3-8B", .fp8, gpus: 1, on: "ml.g6.2xlarge")
        #expect(!l4.findings.contains { $0.code == .fp8NotNative })
    }

    @Test func eightBitIsSuggestedBeforeFourBitWhenItFits() throws {
        // 8B at bf16 overflows one 24 GB GPU once the KV cache is large; 8-bit is the lighter fix.
        let limits = TokenLimits(maxInputLength: 4096, maxTotalTokens: 8192, maxBatchTotalTokens: 32768)
        let r = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: limits,
                                           instanceType: "ml.g5.2xlarge", candidates: ["ml.g5.2xlarge", "ml.g6.2xlarge"])
        guard case let .fitsWithQuantization(choice) = r.verdict else {
            Issue.record("expected a quantization advice, got \(r.verdict)")
            return
        }
        #expect(choice.bitsPerWeight == 8)
        #expect(choice.options.first == .eetq)  // A10G has no FP8 tensor cores
        let l4 = try #require(r.candidates.first { $0.instance.name == "ml.g6.2xlarge" })
        if case let .fitsWithQuantization(l4Choice) = l4.verdict { #expect(l4Choice.options.first == .fp8) } else { Issue.record("L4 row: \(l4.verdict)") }
    }

    @Test func tooBigEvenAtFourBitDoesNotFit() throws {
        let r = try report("meta-llama/Llama-3.1-405B", gpus: 1, on: "ml.g5.2xlarge")
        #expect(r.verdict == .doesNotFit)
        let finding = try #require(r.findings.first { $0.code == .doesNotFit && $0.severity == .error })
        #expect(finding.message.contains("Even at 4-bit"))
    }

    @Test func environmentOfTheTutorialParses() throws {
        let request = try HardwareRequest(environment: [
            "HF_MODEL_ID": "meta-llama/Meta-Llama-3-70B-Instruct", "SM_NUM_GPUS": "8", "MAX_INPUT_LENGTH": "2048",
            "MAX_TOTAL_TOKENS": "4096", "MAX_BATCH_TOTAL_TOKENS": "8192", "MESSAGES_API_ENABLED": "true",
        ], instanceType: "ml.p4d.24xlarge")
        #expect(request.smNumGPUs == 8)
        #expect(request.tokenLimits == .tutorial)
        #expect(request.quantization == .none)
        #expect(request.model == .id("meta-llama/Meta-Llama-3-70B-Instruct"))
    }

    @Test func badEnvironmentValuesAreNamed() throws {
        #expect(throws: HardwareCheckError.invalidSetting(name: "SM_NUM_GPUS", value: "eight", expected: "a whole number")) {
            _ = try HardwareRequest(environment: ["HF_MODEL_ID": "m/x", "SM_NUM_GPUS": "eight", "MAX_INPUT_LENGTH": "1",
                                                  "MAX_TOTAL_TOKENS": "2", "MAX_BATCH_TOTAL_TOKENS": "3"], instanceType: "ml.g5.xlarge")
        }
        #expect(throws: HardwareCheckError.missingSetting(name: "MAX_BATCH_TOTAL_TOKENS")) {
            _ = try HardwareRequest(environment: ["HF_MODEL_ID": "m/x", "SM_NUM_GPUS": "1", "MAX_INPUT_LENGTH": "1",
                                                  "MAX_TOTAL_TOKENS": "2"], instanceType: "ml.g5.xlarge")
        }
        #expect(throws: HardwareCheckError.self) { _ = try Quantization(hfModelQuantize: "int3") }
        #expect(try Quantization(hfModelQuantize: "bitsandbytes-nf4") == .bitsandbytesNF4)
        #expect(try Quantization(hfModelQuantize: "") == Quantization.none)
    }
}

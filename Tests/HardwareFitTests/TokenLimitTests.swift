import Testing
@testable import HardwareFit

@Suite struct TokenLimitTests {
    func findings(_ limits: TokenLimits) throws -> [Finding] {
        try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1, tokenLimits: limits,
                                   instanceType: "ml.g5.2xlarge", candidates: ["ml.g5.2xlarge"]).findings
    }

    @Test func tutorialLimitsRaiseNothing() throws {
        let codes = try findings(.tutorial).map(\.code)
        #expect(!codes.contains(.inputNotBelowTotal))
        #expect(!codes.contains(.totalExceedsBatch))
        #expect(!codes.contains(.tokenLimitInvalid))
    }

    @Test func inputAtOrAboveTotalIsAnError() throws {
        let found = try findings(TokenLimits(maxInputLength: 4096, maxTotalTokens: 2048, maxBatchTotalTokens: 8192))
        let finding = try #require(found.first { $0.code == .inputNotBelowTotal })
        #expect(finding.severity == .error)
        #expect(finding.message.contains("MAX_INPUT_LENGTH (4096) must be less than MAX_TOTAL_TOKENS (2048)"))
        #expect(finding.message.contains("Raise MAX_TOTAL_TOKENS above 4096"))

        // Equal is just as wrong: no room for a single generated token.
        let equal = try findings(TokenLimits(maxInputLength: 2048, maxTotalTokens: 2048, maxBatchTotalTokens: 8192))
        #expect(equal.contains { $0.code == .inputNotBelowTotal })
    }

    @Test func totalAboveBatchTotalIsAnError() throws {
        let found = try findings(TokenLimits(maxInputLength: 2048, maxTotalTokens: 8192, maxBatchTotalTokens: 4096))
        let finding = try #require(found.first { $0.code == .totalExceedsBatch })
        #expect(finding.severity == .error)
        #expect(finding.message.contains("MAX_TOTAL_TOKENS (8192) exceeds MAX_BATCH_TOTAL_TOKENS (4096)"))
        #expect(finding.message.contains("at least 8192"))
        #expect(!found.contains { $0.code == .inputNotBelowTotal })
    }

    @Test func totalEqualToBatchTotalIsAllowed() throws {
        let found = try findings(TokenLimits(maxInputLength: 1024, maxTotalTokens: 4096, maxBatchTotalTokens: 4096))
        #expect(!found.contains { $0.code == .totalExceedsBatch })
    }

    @Test func bothInversionsAreReportedTogether() throws {
        let found = try findings(TokenLimits(maxInputLength: 4096, maxTotalTokens: 2048, maxBatchTotalTokens: 1024))
        #expect(found.contains { $0.code == .inputNotBelowTotal })
        #expect(found.contains { $0.code == .totalExceedsBatch })
    }

    @Test func nonPositiveLimitsAreErrors() throws {
        let found = try findings(TokenLimits(maxInputLength: 0, maxTotalTokens: 4096, maxBatchTotalTokens: 8192))
        let finding = try #require(found.first { $0.code == .tokenLimitInvalid })
        #expect(finding.message.contains("MAX_INPUT_LENGTH=0"))
    }

    @Test func batchTokensSizeTheKVCache() throws {
        let small = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1,
            tokenLimits: TokenLimits(maxInputLength: 1024, maxTotalTokens: 2048, maxBatchTotalTokens: 4096), instanceType: "ml.g5.2xlarge")
        let large = try HardwareCheck.evaluate(model: .id("meta-llama/Meta-Llama-3-8B"), smNumGPUs: 1,
            tokenLimits: TokenLimits(maxInputLength: 1024, maxTotalTokens: 2048, maxBatchTotalTokens: 8192), instanceType: "ml.g5.2xlarge")
        let smallKV = try #require(small.estimate.kvCacheGB)
        let largeKV = try #require(large.estimate.kvCacheGB)
        #expect(abs(largeKV - 2 * smallKV) < 1e-9)
    }
}

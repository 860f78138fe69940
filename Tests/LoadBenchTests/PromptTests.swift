@testable import ServingKit
import CellbookJSON
import Testing
@testable import LoadBench

struct PromptTests {
    static let model = TokenLengthModel(fixedTokens: 32, tokensPerCharacter: 0.26, source: .usage)

    static func plan(seed: UInt64, count: Int = 20) throws -> [PlannedRequest] {
        PromptPlanner(corpus: try SonnetCorpus.bundled(), lengthModel: model)
            .plan(count: count, meanInputTokens: 550, stddevInputTokens: 150,
                  meanOutputTokens: 150, stddevOutputTokens: 80, seed: seed)
    }

    @Test("the bundled corpus is Shakespeare's sonnets, not llmperf's paraphrase")
    func corpusIsTheRealSonnets() throws {
        let corpus = try SonnetCorpus.bundled()
        #expect(corpus.lines.first == "From fairest creatures we desire increase,\n")
        #expect(corpus.lines.contains("Shall I compare thee to a summer’s day?\n"))
        #expect(corpus.lines.contains("Let me not to the marriage of true minds\n"))
        // 154 sonnets of (almost all) 14 lines.
        #expect(corpus.lines.count > 2100)
        #expect(corpus.lines.allSatisfy { $0.hasSuffix("\n") && $0.count > 1 })
    }

    @Test("the same seed plans the same prompts; another seed plans different ones")
    func seededDeterminism() throws {
        let first = try Self.plan(seed: 11111)
        let again = try Self.plan(seed: 11111)
        let other = try Self.plan(seed: 11112)
        #expect(first == again)
        #expect(first.map(\.prompt) != other.map(\.prompt))
        #expect(first.map(\.maxTokens) != other.map(\.maxTokens))
    }

    @Test("prompts are llmperf's instruction followed by sonnet lines, sized by the length model")
    func promptShape() throws {
        let corpus = try SonnetCorpus.bundled()
        let lines = Set(corpus.lines)
        for request in try Self.plan(seed: 4, count: 50) {
            let instruction = "Randomly stream lines from the following text with \(request.maxTokens) output tokens. Don't generate eos tokens:\n\n"
            #expect(request.prompt.hasPrefix(instruction))
            #expect(request.maxTokens > 0)
            #expect(request.targetInputTokens >= 32)
            // Every whole line of the body is a sonnet line (the last may be cut short).
            let body = request.prompt.dropFirst(instruction.count).split(separator: "\n", omittingEmptySubsequences: false)
            for line in body.dropLast() { #expect(lines.contains(String(line) + "\n"), "not a sonnet line: \(line)") }
            // The model's estimate for the text it built is the target, give or take a cut character.
            #expect(abs(request.estimatedInputTokens - request.targetInputTokens) <= 1)
        }
    }

    @Test("lengths follow the configured normal distributions, redrawn until positive")
    func lengthDistribution() throws {
        let plan = try Self.plan(seed: 21, count: 2000)
        let outputs = plan.map { Double($0.maxTokens) }
        let inputs = plan.map { Double($0.targetInputTokens) }
        #expect(outputs.allSatisfy { $0 >= 1 })
        #expect(abs(Statistics.mean(inputs) - 550) < 15)
        #expect(abs(Statistics.sampleStandardDeviation(inputs) - 150) < 15)
        // Redrawing non-positive draws pulls the output mean a little above 150 (sd 80).
        #expect(abs(Statistics.mean(outputs) - 152) < 8)
    }

    @Test("open-loop arrivals are seeded Poisson: same seed same times, mean gap 1/rate")
    func arrivals() throws {
        let a = try #require(LoadTest.arrivalOffsets(count: 4000, mode: .openLoop(requestsPerSecond: 20), seed: 9))
        let b = try #require(LoadTest.arrivalOffsets(count: 4000, mode: .openLoop(requestsPerSecond: 20), seed: 9))
        let c = try #require(LoadTest.arrivalOffsets(count: 4000, mode: .openLoop(requestsPerSecond: 20), seed: 10))
        #expect(a == b)
        #expect(a != c)
        #expect(a.first == 0)
        let gaps = zip(a.dropFirst(), a).map { Double($0 - $1) / 1e9 }
        #expect(abs(Statistics.mean(gaps) - 0.05) < 0.004)
        // Exponential gaps: the standard deviation equals the mean.
        #expect(abs(Statistics.sampleStandardDeviation(gaps) - 0.05) < 0.005)
        #expect(LoadTest.arrivalOffsets(count: 3, mode: .closedLoop, seed: 1) == nil)
    }

    @Test("the length model is fitted from two probe counts")
    func calibrationFit() throws {
        let model = try #require(Calibrator.fit(short: (tokens: 60, characters: 100), long: (tokens: 310, characters: 1100),
                                                source: .usage))
        #expect(abs(model.tokensPerCharacter - 0.25) < 1e-12)
        #expect(abs(model.fixedTokens - 35) < 1e-12)
        #expect(model.estimatedTokens(sonnetCharacters: 2000) == 535)
        #expect(model.sonnetCharacters(forTokens: 535) == 2000)
        #expect(Calibrator.fit(short: (tokens: 60, characters: 100), long: (tokens: 60, characters: 1100), source: .usage) == nil)
    }

    @Test("config problems are reported together")
    func configValidation() throws {
        let config = LoadTestConfig(model: " ", concurrentRequests: 0, maxCompletedRequests: 0, timeoutSeconds: 0,
                                    meanOutputTokens: 0, arrivalMode: .openLoop(requestsPerSecond: -1))
        #expect(config.problems().count == 6)
        #expect(LoadTestConfig(model: "m").problems().isEmpty)
        #expect(try LoadTestConfig.parseSamplingParams("{\"temperature\": 0.5}") == ["temperature": .double(0.5)])
        #expect(throws: LoadBenchError.self) { try LoadTestConfig.parseSamplingParams("[1]") }
        let metadata = try LoadTestConfig.parseMetadata("name=foo,bar=1")
        #expect(metadata.map(\.key) == ["name", "bar"])
        #expect(metadata.map(\.value) == ["foo", "1"])
        #expect(throws: LoadBenchError.self) { try LoadTestConfig.parseMetadata("novalue") }
    }
}

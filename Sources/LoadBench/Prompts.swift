import CellbookJSON
import ServingKit
import Foundation

/// The lines prompts are cut from: Shakespeare's sonnets 1–154 (public domain), the text of
/// Project Gutenberg ebook 1041. llmperf's own `sonnet.txt` is a machine paraphrase, so it is
/// not used; the real text keeps prompts what the llmperf README says they are.
public struct SonnetCorpus: Sendable, Equatable {
    /// Non-empty lines, each ending in "\n" as Python's `readlines()` gives them.
    public let lines: [String]
    /// Unicode scalar count of each line, cached because planning measures lines often.
    let lineLengths: [Int]

    public init(text: String) {
        let kept = text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.trimmingWhitespace.isEmpty }
            .map { String($0) + "\n" }
        lines = kept
        lineLengths = kept.map { $0.unicodeScalars.count }
    }

    /// The copy that ships in LoadBench's resource bundle.
    public static func bundled() throws(LoadBenchError) -> SonnetCorpus {
        guard let url = Bundle.module.url(forResource: "sonnets", withExtension: "txt") else {
            throw .corpusMissing("sonnets.txt is not in the bundle at \(Bundle.module.bundlePath)")
        }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw .corpusMissing("reading \(url.path) failed: \(error.localizedDescription)")
        }
        let corpus = SonnetCorpus(text: text)
        guard corpus.lines.count >= 100 else {
            throw .corpusMissing("\(url.path) has only \(corpus.lines.count) lines")
        }
        return corpus
    }
}

/// How many prompt tokens the server will count for a prompt:
/// `fixedTokens + tokensPerCharacter × (characters of sonnet text)`.
///
/// `fixedTokens` covers the instruction and, when measured from the server's usage, the chat
/// template too, so prompts land on the requested length as the server counts it.
public struct TokenLengthModel: Sendable, Equatable {
    public var fixedTokens: Double
    public var tokensPerCharacter: Double
    /// How the two numbers were obtained.
    public var source: TokenCountSource

    public init(fixedTokens: Double, tokensPerCharacter: Double, source: TokenCountSource) {
        self.fixedTokens = fixedTokens
        self.tokensPerCharacter = tokensPerCharacter
        self.source = source
    }

    /// Used when the server reports no usage and has no tokenizer route: about four
    /// characters per token, typical of BPE vocabularies on English verse.
    public static let heuristic = TokenLengthModel(fixedTokens: 30, tokensPerCharacter: 0.27, source: .estimate)

    public func estimatedTokens(sonnetCharacters: Int) -> Int {
        Int((fixedTokens + tokensPerCharacter * Double(sonnetCharacters)).rounded())
    }

    public func sonnetCharacters(forTokens tokens: Int) -> Int {
        guard tokensPerCharacter > 0 else { return 0 }
        return max(0, Int(((Double(tokens) - fixedTokens) / tokensPerCharacter).rounded()))
    }
}

/// One request as planned before the run starts.
public struct PlannedRequest: Sendable, Equatable {
    public var index: Int
    public var prompt: String
    /// Input length drawn for this request (as the server counts, given the length model).
    public var targetInputTokens: Int
    /// What the length model expects the server to count for `prompt`.
    public var estimatedInputTokens: Int
    /// Output length drawn for this request, sent as `max_tokens`.
    public var maxTokens: Int

    public init(index: Int, prompt: String, targetInputTokens: Int, estimatedInputTokens: Int, maxTokens: Int) {
        self.index = index
        self.prompt = prompt
        self.targetInputTokens = targetInputTokens
        self.estimatedInputTokens = estimatedInputTokens
        self.maxTokens = maxTokens
    }
}

/// Builds prompts the way llmperf's `randomly_sample_sonnet_lines_prompt` does, from a seeded
/// generator: draw the output length, draw the input length (redrawn until it can hold the
/// instruction), then append shuffled sonnet lines until the input length is reached, cutting
/// the last line short.
public struct PromptPlanner: Sendable {
    public var corpus: SonnetCorpus
    public var lengthModel: TokenLengthModel

    public init(corpus: SonnetCorpus, lengthModel: TokenLengthModel) {
        self.corpus = corpus
        self.lengthModel = lengthModel
    }

    /// llmperf's instruction, word for word.
    public static func instruction(outputTokens: Int) -> String {
        "Randomly stream lines from the following text with \(outputTokens) output tokens. Don't generate eos tokens:\n\n"
    }

    public func plan(count: Int, meanInputTokens: Int, stddevInputTokens: Int,
                     meanOutputTokens: Int, stddevOutputTokens: Int, seed: UInt64) -> [PlannedRequest] {
        var generator = SeededGenerator(seed: seed, stream: 1)
        let minimumInput = Int(lengthModel.fixedTokens.rounded(.up))
        var shuffled = Array(corpus.lines.indices)
        var planned: [PlannedRequest] = []
        planned.reserveCapacity(count)
        for index in 0..<count {
            let maxTokens = generator.nextPositiveInt(mean: Double(meanOutputTokens), stddev: Double(stddevOutputTokens))
            var target = generator.nextPositiveInt(mean: Double(meanInputTokens), stddev: Double(stddevInputTokens))
            var redraws = 0
            // llmperf redraws until the length can hold the instruction; the cap keeps a mean far
            // below the instruction's length from spinning forever.
            while target < minimumInput && redraws < 1000 {
                target = generator.nextPositiveInt(mean: Double(meanInputTokens), stddev: Double(stddevInputTokens))
                redraws += 1
            }
            target = max(target, minimumInput)

            var prompt = PromptPlanner.instruction(outputTokens: maxTokens)
            var remaining = lengthModel.sonnetCharacters(forTokens: target)
            var used = 0
            var position = 0
            while remaining > 0 {
                // Fisher–Yates one step at a time: a prompt needs tens of lines, not all 2,000+.
                // Past the end, the same order repeats, as llmperf's loop over its shuffled list does.
                if position < shuffled.count {
                    let pick = position + generator.nextInt(below: shuffled.count - position)
                    if pick != position { shuffled.swapAt(position, pick) }
                }
                let line = shuffled[position % shuffled.count]
                let length = corpus.lineLengths[line]
                if length > remaining {
                    // Cut mid-line, as llmperf does; the model copes with a broken last line.
                    let cut = String(String.UnicodeScalarView(corpus.lines[line].unicodeScalars.prefix(remaining)))
                    prompt += cut
                    used += remaining
                    remaining = 0
                } else {
                    prompt += corpus.lines[line]
                    used += length
                    remaining -= length
                }
                position += 1
            }
            planned.append(PlannedRequest(index: index, prompt: prompt, targetInputTokens: target,
                                          estimatedInputTokens: lengthModel.estimatedTokens(sonnetCharacters: used),
                                          maxTokens: maxTokens))
        }
        return planned
    }
}

/// How the planner learns the server's token counts before the run.
public enum PromptLengthCalibration: Sendable {
    /// Two probe requests (max_tokens 1) whose `usage.prompt_tokens` give the line through
    /// (characters, tokens). Counts include the chat template. Falls back to `heuristic`
    /// when the server reports no usage.
    case probe
    /// The server's tokenizer route (llama.cpp or TGI `/tokenize`); counts exclude the template.
    case tokenizer(any PromptTokenCounter)
    /// A model measured earlier.
    case fixed(TokenLengthModel)
}

enum Calibrator {
    /// Short and long probe texts that differ only in sonnet characters. The long one samples
    /// lines evenly across the whole corpus, since prompts draw from all of it and the
    /// characters-per-token ratio drifts between sonnets; it stays near 900 tokens so servers
    /// with small input limits accept it.
    static func probeTexts(corpus: SonnetCorpus, outputTokens: Int) -> (short: (String, Int), long: (String, Int)) {
        let instruction = PromptPlanner.instruction(outputTokens: outputTokens)
        let stride = max(1, corpus.lines.count / 80)
        let sample = Swift.stride(from: 0, to: corpus.lines.count, by: stride).prefix(80).map { corpus.lines[$0] }
        let shortLines = sample.prefix(4)
        let longLines = sample
        let shortText = shortLines.joined()
        let longText = longLines.joined()
        return ((instruction + shortText, shortText.unicodeScalars.count),
                (instruction + longText, longText.unicodeScalars.count))
    }

    static func fit(short: (tokens: Int, characters: Int), long: (tokens: Int, characters: Int),
                    source: TokenCountSource) -> TokenLengthModel? {
        let deltaCharacters = long.characters - short.characters
        let deltaTokens = long.tokens - short.tokens
        guard deltaCharacters > 0, deltaTokens > 0 else { return nil }
        let perCharacter = Double(deltaTokens) / Double(deltaCharacters)
        let fixed = Double(short.tokens) - perCharacter * Double(short.characters)
        return TokenLengthModel(fixedTokens: max(0, fixed), tokensPerCharacter: perCharacter, source: source)
    }

    static func calibrate(_ calibration: PromptLengthCalibration, corpus: SonnetCorpus, config: LoadTestConfig,
                          transport: some ChatStreamTransport, endpoint: String) async throws(LoadBenchError) -> TokenLengthModel {
        let texts = probeTexts(corpus: corpus, outputTokens: config.meanOutputTokens)
        switch calibration {
        case .fixed(let model):
            return model
        case .tokenizer(let counter):
            do {
                let short = try await counter.countTokens(texts.short.0)
                let long = try await counter.countTokens(texts.long.0)
                guard let model = fit(short: (short, texts.short.1), long: (long, texts.long.1), source: .tokenizer) else {
                    throw LoadBenchError.calibrationFailed(endpoint: endpoint,
                        reason: "the tokenizer counted \(short) tokens for the short probe and \(long) for the long one")
                }
                return model
            } catch let error as LoadBenchError {
                throw error
            } catch {
                throw .calibrationFailed(endpoint: endpoint, reason: "tokenizer route failed: \(error)")
            }
        case .probe:
            let short = try await probePromptTokens(texts.short.0, index: 0, config: config, transport: transport, endpoint: endpoint)
            let long = try await probePromptTokens(texts.long.0, index: 1, config: config, transport: transport, endpoint: endpoint)
            guard let short, let long else { return .heuristic }
            guard let model = fit(short: (short, texts.short.1), long: (long, texts.long.1), source: .usage) else {
                throw .calibrationFailed(endpoint: endpoint,
                    reason: "usage.prompt_tokens was \(short) for a short probe and \(long) for a longer one; it should grow with the text")
            }
            return model
        }
    }

    /// Sends one probe; nil when the server streams fine but reports no usage.
    static func probePromptTokens(_ prompt: String, index: Int, config: LoadTestConfig,
                                  transport: some ChatStreamTransport, endpoint: String) async throws(LoadBenchError) -> Int? {
        var params = config.additionalSamplingParams
        params["max_tokens"] = .int(1)
        let request = CompletionRequest(requestID: "loadbench-probe-\(config.seed)-\(index)", model: config.model,
                                        prompt: prompt, maxTokens: 1, samplingParams: params)
        var promptTokens: Int?
        do {
            for try await event in transport.stream(request) {
                if case .usage(let prompt, _) = event, let prompt { promptTokens = prompt }
            }
        } catch let error as CompletionStreamError {
            throw .calibrationFailed(endpoint: endpoint, reason: "probe request failed: \(error)")
        } catch {
            throw .calibrationFailed(endpoint: endpoint, reason: "probe request failed: \(error)")
        }
        return promptTokens
    }
}

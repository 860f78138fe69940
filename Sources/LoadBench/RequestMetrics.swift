import CellbookHTTP
import CellbookJSON
import ServingKit

/// How a request ended when it did not succeed; each kind gets its own `error_code`.
///
/// HTTP statuses keep their number (as llmperf records them). Failures with no
/// HTTP status get negative codes so they can never be mistaken for one.
public enum RequestFailure: Sendable, Equatable {
    case httpStatus(Int, message: String)
    case inStream(code: Int?, message: String)
    case disconnected(message: String)
    case timedOut(afterSeconds: Double)
    case connection(message: String)
    case malformed(message: String)
    /// The load test itself was cancelled while the request was in flight.
    case cancelled

    public static let connectionCode = -1
    public static let disconnectCode = -2
    public static let timeoutCode = -3
    public static let inStreamCodeWhenServerGaveNone = -4
    public static let malformedCode = -5
    public static let cancelledCode = -6

    public var code: Int {
        switch self {
        case .httpStatus(let status, _): return status
        case .inStream(let code, _): return code ?? RequestFailure.inStreamCodeWhenServerGaveNone
        case .disconnected: return RequestFailure.disconnectCode
        case .timedOut: return RequestFailure.timeoutCode
        case .connection: return RequestFailure.connectionCode
        case .malformed: return RequestFailure.malformedCode
        case .cancelled: return RequestFailure.cancelledCode
        }
    }

    /// Short stable name, written as `error_kind`.
    public var kind: String {
        switch self {
        case .httpStatus: return "http_status"
        case .inStream: return "in_stream_error"
        case .disconnected: return "disconnect"
        case .timedOut: return "timeout"
        case .connection: return "connection"
        case .malformed: return "malformed_stream"
        case .cancelled: return "cancelled"
        }
    }

    public var message: String {
        switch self {
        case .httpStatus(let status, let message):
            return "HTTP \(status)" + (message.isEmpty ? "" : ": \(message)")
        case .inStream(_, let message): return "error in stream: \(message)"
        case .disconnected(let message): return "disconnected mid-stream: \(message)"
        case .timedOut(let seconds):
            return "no complete answer within the request timeout of \(JSONValue.formatNumber(seconds)) s; the transfer was aborted"
        case .connection(let message): return "connection failed: \(message)"
        case .malformed(let message): return "malformed stream: \(message)"
        case .cancelled: return "the load test was cancelled while this request was in flight"
        }
    }

    public init(_ error: CompletionStreamError) {
        switch error {
        case .httpStatus(let code, let body): self = .httpStatus(code, message: body)
        case .inStream(let code, let message): self = .inStream(code: code, message: message)
        case .disconnected(let detail): self = .disconnected(message: detail)
        case .connection(let detail): self = .connection(message: detail)
        case .malformed(let detail): self = .malformed(message: detail)
        }
    }
}

/// Where a token count came from; written beside the counts so readers know what they compare.
public enum TokenCountSource: String, Sendable, Equatable {
    /// The server's `usage` numbers.
    case usage
    /// Counted from the stream: one token per content-bearing chunk.
    case streamChunks = "stream_chunks"
    /// The server's tokenizer route counted the prompt text (no chat template).
    case tokenizer
    /// Estimated from characters with the calibrated tokens-per-character ratio.
    case estimate
}

/// Everything observed about one request, in monotonic nanoseconds. Metrics are derived
/// from this by pure functions, so they can be checked on synthetic timelines.
public struct RequestTimeline: Sendable, Equatable {
    public var index: Int
    /// When the schedule meant to send it (open loop), or when the run decided to send it (closed
    /// loop: a user became free); the request task starts a moment later, at `startNs`.
    public var intendedStartNs: UInt64
    /// Just before the transport was asked to send.
    public var startNs: UInt64
    /// Receive time of every content-bearing chunk, in order.
    public var chunkTimesNs: [UInt64]
    /// When the stream finished or failed.
    public var endNs: UInt64
    public var usagePromptTokens: Int?
    public var usageCompletionTokens: Int?
    /// The input length the prompt was built for, and its pre-send estimate with its source.
    public var targetInputTokens: Int
    public var estimatedInputTokens: Int
    public var estimatedInputSource: TokenCountSource
    /// `max_tokens` sent.
    public var targetOutputTokens: Int
    public var finishReason: String?
    public var failure: RequestFailure?

    public init(index: Int, intendedStartNs: UInt64, startNs: UInt64, chunkTimesNs: [UInt64], endNs: UInt64,
                usagePromptTokens: Int? = nil, usageCompletionTokens: Int? = nil,
                targetInputTokens: Int, estimatedInputTokens: Int, estimatedInputSource: TokenCountSource = .estimate,
                targetOutputTokens: Int, finishReason: String? = nil, failure: RequestFailure? = nil) {
        self.index = index
        self.intendedStartNs = intendedStartNs
        self.startNs = startNs
        self.chunkTimesNs = chunkTimesNs
        self.endNs = endNs
        self.usagePromptTokens = usagePromptTokens
        self.usageCompletionTokens = usageCompletionTokens
        self.targetInputTokens = targetInputTokens
        self.estimatedInputTokens = estimatedInputTokens
        self.estimatedInputSource = estimatedInputSource
        self.targetOutputTokens = targetOutputTokens
        self.finishReason = finishReason
        self.failure = failure
    }
}

/// One line of `*_individual_responses.json`: llmperf's fields with llmperf's meanings,
/// followed by the corrected and additional measurements under new keys.
public struct RequestMetrics: Sendable, Equatable {
    // llmperf's keys
    public var ttft: Double
    public var endToEndLatency: Double
    /// llmperf's definition: (time of last content chunk - start) / output tokens, which
    /// folds the time to first token into every token.
    public var llmperfInterTokenLatency: Double
    public var requestOutputThroughput: Double
    public var inputTokens: Int
    public var outputTokens: Int
    public var totalTokens: Int
    public var errorCode: Int?
    public var errorMessage: String

    // new keys
    /// vLLM's TPOT: (latency - ttft) / (output tokens - 1); nil with fewer than two tokens.
    public var timePerOutputToken: Double?
    /// Receive times of the content chunks (shared with the timeline, not copied); the gaps
    /// are derived from them on demand so a long run keeps 8 bytes per token, not 16.
    public var chunkTimesNs: [UInt64]
    /// Mean gap between chunks: the gaps telescope, so it is (last - first) / (chunks - 1).
    public var interChunkLatencyMean: Double?

    /// Gaps between consecutive content chunks (vLLM's ITL list).
    public var interChunkLatencies: [Double] {
        var gaps: [Double] = []
        appendInterChunkLatencies(to: &gaps)
        return gaps
    }

    /// Appends the gaps to `buffer`, for pooling every request's gaps without intermediate arrays.
    public func appendInterChunkLatencies(to buffer: inout [Double]) {
        guard chunkTimesNs.count > 1 else { return }
        var previous = chunkTimesNs[0]
        for time in chunkTimesNs.dropFirst() {
            buffer.append(time >= previous ? Double(time - previous) / 1e9 : -Double(previous - time) / 1e9)
            previous = time
        }
    }
    public var ttftFromIntendedStart: Double
    public var endToEndLatencyFromIntendedStart: Double
    /// Actual send minus intended send: how long the client held the request back.
    public var startDelay: Double
    /// Intended send time relative to the start of the run.
    public var requestStartOffset: Double
    public var inputTokenSource: TokenCountSource
    public var outputTokenSource: TokenCountSource
    public var targetInputTokens: Int
    public var targetOutputTokens: Int
    public var contentChunks: Int
    public var finishReason: String?
    public var errorKind: String?

    public var succeeded: Bool { errorCode == nil }

    /// Derives the metrics from a timeline. `runStartNs` anchors `requestStartOffset`.
    public init(_ timeline: RequestTimeline, runStartNs: UInt64) {
        let seconds = { (from: UInt64, to: UInt64) -> Double in
            to >= from ? Double(to - from) / 1e9 : -Double(from - to) / 1e9
        }
        let start = timeline.startNs
        let chunks = timeline.chunkTimesNs
        let firstChunk = chunks.first
        let lastChunk = chunks.last

        ttft = firstChunk.map { seconds(start, $0) } ?? 0
        endToEndLatency = seconds(start, timeline.endNs)
        contentChunks = chunks.count

        if let completion = timeline.usageCompletionTokens {
            outputTokens = completion
            outputTokenSource = .usage
        } else {
            outputTokens = chunks.count
            outputTokenSource = .streamChunks
        }
        if let prompt = timeline.usagePromptTokens {
            inputTokens = prompt
            inputTokenSource = .usage
        } else {
            inputTokens = timeline.estimatedInputTokens
            inputTokenSource = timeline.estimatedInputSource
        }
        totalTokens = inputTokens + outputTokens

        if outputTokens > 0, let lastChunk {
            llmperfInterTokenLatency = seconds(start, lastChunk) / Double(outputTokens)
        } else {
            llmperfInterTokenLatency = 0
        }
        requestOutputThroughput = endToEndLatency > 0 ? Double(outputTokens) / endToEndLatency : 0
        timePerOutputToken = outputTokens > 1 && firstChunk != nil
            ? (endToEndLatency - ttft) / Double(outputTokens - 1) : nil

        chunkTimesNs = chunks
        if let firstChunk, let lastChunk, chunks.count > 1 {
            interChunkLatencyMean = seconds(firstChunk, lastChunk) / Double(chunks.count - 1)
        } else {
            interChunkLatencyMean = nil
        }

        ttftFromIntendedStart = firstChunk.map { seconds(timeline.intendedStartNs, $0) } ?? 0
        endToEndLatencyFromIntendedStart = seconds(timeline.intendedStartNs, timeline.endNs)
        startDelay = seconds(timeline.intendedStartNs, start)
        requestStartOffset = seconds(runStartNs, timeline.intendedStartNs)
        targetInputTokens = timeline.targetInputTokens
        targetOutputTokens = timeline.targetOutputTokens
        finishReason = timeline.finishReason

        errorCode = timeline.failure?.code
        errorMessage = timeline.failure?.message ?? ""
        errorKind = timeline.failure?.kind
    }

    /// The JSON object written for this request: llmperf's keys first, in llmperf's order.
    public var jsonObject: JSONObject {
        var object = JSONObject()
        object["error_code"] = errorCode.map(JSONValue.int) ?? .null
        object["error_msg"] = .string(errorMessage)
        object["inter_token_latency_s"] = .double(llmperfInterTokenLatency)
        object["ttft_s"] = .double(ttft)
        object["end_to_end_latency_s"] = .double(endToEndLatency)
        object["request_output_throughput_token_per_s"] = .double(requestOutputThroughput)
        object["number_total_tokens"] = .int(totalTokens)
        object["number_output_tokens"] = .int(outputTokens)
        object["number_input_tokens"] = .int(inputTokens)
        object["time_per_output_token_s"] = timePerOutputToken.map(JSONValue.double) ?? .null
        object["inter_chunk_latency_mean_s"] = interChunkLatencyMean.map(JSONValue.double) ?? .null
        object["inter_chunk_latencies_s"] = .array(interChunkLatencies.map(JSONValue.double))
        object["ttft_from_intended_start_s"] = .double(ttftFromIntendedStart)
        object["end_to_end_latency_from_intended_start_s"] = .double(endToEndLatencyFromIntendedStart)
        object["start_delay_s"] = .double(startDelay)
        object["request_start_offset_s"] = .double(requestStartOffset)
        object["input_token_count_method"] = .string(inputTokenSource.rawValue)
        object["output_token_count_method"] = .string(outputTokenSource.rawValue)
        object["target_input_tokens"] = .int(targetInputTokens)
        object["target_output_tokens"] = .int(targetOutputTokens)
        object["number_content_chunks"] = .int(contentChunks)
        object["finish_reason"] = finishReason.map(JSONValue.string) ?? .null
        object["error_kind"] = errorKind.map(JSONValue.string) ?? .null
        return object
    }
}

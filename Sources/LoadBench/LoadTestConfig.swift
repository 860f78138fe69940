import CellbookHTTP
import CellbookJSON
import ServingKit

/// How requests are put on the server.
public enum ArrivalMode: Sendable, Equatable {
    /// llmperf's model: `num_concurrent_requests` users, each sending its next request as soon
    /// as the previous one finishes. A slow server slows the senders, which hides queueing.
    case closedLoop
    /// Requests arrive at `requestsPerSecond` on average, with exponential (Poisson) gaps drawn
    /// from the seed, whether or not earlier ones have finished. `num_concurrent_requests`
    /// still caps how many are in flight; a request waiting for a slot keeps its intended
    /// send time, so the wait shows up in the `*_from_intended_start_s` figures.
    case openLoop(requestsPerSecond: Double)
}

/// A load test, with llmperf's parameter names and defaults where llmperf has them.
public struct LoadTestConfig: Sendable, Equatable {
    /// `--model`: the model id sent in each request and used for the file names.
    public var model: String
    /// `--num-concurrent-requests` (llmperf default 10).
    public var concurrentRequests: Int
    /// `--max-num-completed-requests` (llmperf default 10): requests to send; errors count as completed.
    public var maxCompletedRequests: Int
    /// `--timeout` in seconds (llmperf default 90): no request starts after it; in-flight ones finish.
    public var timeoutSeconds: Double
    /// Abort a single request that has not finished after this many seconds (llmperf's OpenAI client uses 180).
    public var requestTimeoutSeconds: Double
    public var meanInputTokens: Int
    public var stddevInputTokens: Int
    public var meanOutputTokens: Int
    public var stddevOutputTokens: Int
    /// `--additional-sampling-params`: merged over `{"max_tokens": n}` in every request.
    public var additionalSamplingParams: JSONObject
    /// `--results-dir`; nil writes no files.
    public var resultsDirectory: String?
    /// `--metadata` key/values, merged into the summary (they override keys of the same name, as in llmperf).
    public var metadata: [(key: String, value: String)]
    /// Seeds prompt lengths, line shuffles and open-loop arrivals; llmperf always uses 11111.
    public var seed: UInt64
    public var arrivalMode: ArrivalMode
    /// How the HTTP client that carries the test batches its reads under heavy inbound load
    /// (see `ReadBatching`); the transport's client must be made with it.
    public var readBatching: ReadBatching = LoadTestConfig.defaultReadBatching

    public init(model: String,
                concurrentRequests: Int = 10,
                maxCompletedRequests: Int = 10,
                timeoutSeconds: Double = 90,
                requestTimeoutSeconds: Double = 180,
                meanInputTokens: Int = 550,
                stddevInputTokens: Int = 150,
                meanOutputTokens: Int = 150,
                stddevOutputTokens: Int = 80,
                additionalSamplingParams: JSONObject = JSONObject(),
                resultsDirectory: String? = nil,
                metadata: [(key: String, value: String)] = [],
                seed: UInt64 = 11111,
                arrivalMode: ArrivalMode = .closedLoop) {
        self.model = model
        self.concurrentRequests = concurrentRequests
        self.maxCompletedRequests = maxCompletedRequests
        self.timeoutSeconds = timeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.meanInputTokens = meanInputTokens
        self.stddevInputTokens = stddevInputTokens
        self.meanOutputTokens = meanOutputTokens
        self.stddevOutputTokens = stddevOutputTokens
        self.additionalSamplingParams = additionalSamplingParams
        self.resultsDirectory = resultsDirectory
        self.metadata = metadata
        self.seed = seed
        self.arrivalMode = arrivalMode
    }

    public static func == (lhs: LoadTestConfig, rhs: LoadTestConfig) -> Bool {
        lhs.model == rhs.model && lhs.concurrentRequests == rhs.concurrentRequests
            && lhs.maxCompletedRequests == rhs.maxCompletedRequests && lhs.timeoutSeconds == rhs.timeoutSeconds
            && lhs.requestTimeoutSeconds == rhs.requestTimeoutSeconds
            && lhs.meanInputTokens == rhs.meanInputTokens && lhs.stddevInputTokens == rhs.stddevInputTokens
            && lhs.meanOutputTokens == rhs.meanOutputTokens && lhs.stddevOutputTokens == rhs.stddevOutputTokens
            && lhs.additionalSamplingParams == rhs.additionalSamplingParams
            && lhs.resultsDirectory == rhs.resultsDirectory
            && lhs.metadata.elementsEqual(rhs.metadata, by: { $0.key == $1.key && $0.value == $1.value })
            && lhs.seed == rhs.seed && lhs.arrivalMode == rhs.arrivalMode && lhs.readBatching == rhs.readBatching
    }

    /// Parses llmperf's `--additional-sampling-params` text (a JSON object).
    public static func parseSamplingParams(_ text: String) throws(LoadBenchError) -> JSONObject {
        let trimmed = text.trimmingWhitespace
        if trimmed.isEmpty { return JSONObject() }
        let value: JSONValue
        do { value = try JSONValue.parse(trimmed) } catch {
            throw .invalidConfig(["additional sampling params: \(error.description); give a JSON object such as {\"temperature\": 0.7}"])
        }
        guard case .object(let object) = value else {
            throw .invalidConfig(["additional sampling params must be a JSON object such as {\"temperature\": 0.7}, not \(trimmed.prefix(40))"])
        }
        return object
    }

    /// Parses llmperf's `--metadata` text: `name=foo,bar=1`.
    public static func parseMetadata(_ text: String) throws(LoadBenchError) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw .invalidConfig(["metadata item '\(item)' is not key=value; write e.g. name=foo,bar=1"])
            }
            result.append((String(parts[0]), String(parts[1])))
        }
        return result
    }

    /// Every problem with the config at once, so a user fixes them in one go.
    public func problems() -> [String] {
        var found: [String] = []
        if model.trimmingWhitespace.isEmpty { found.append("model is empty; give the model id the server expects") }
        if concurrentRequests < 1 { found.append("num_concurrent_requests is \(concurrentRequests); it must be at least 1") }
        if maxCompletedRequests < 1 { found.append("max_num_completed_requests is \(maxCompletedRequests); it must be at least 1") }
        if !(timeoutSeconds > 0) { found.append("timeout is \(timeoutSeconds) s; it must be positive") }
        if !(requestTimeoutSeconds > 0) { found.append("request timeout is \(requestTimeoutSeconds) s; it must be positive") }
        if meanInputTokens < 1 { found.append("mean_input_tokens is \(meanInputTokens); it must be at least 1") }
        if meanOutputTokens < 1 { found.append("mean_output_tokens is \(meanOutputTokens); it must be at least 1") }
        if stddevInputTokens < 0 { found.append("stddev_input_tokens is \(stddevInputTokens); it cannot be negative") }
        if stddevOutputTokens < 0 { found.append("stddev_output_tokens is \(stddevOutputTokens); it cannot be negative") }
        if case .openLoop(let rate) = arrivalMode, !(rate > 0 && rate.isFinite) {
            found.append("open-loop request rate is \(rate) per second; it must be a positive number")
        }
        if readBatching.maxWindow < .zero || readBatching.maxWindow > .milliseconds(1000) {
            found.append("read batching window is \(readBatching.maxWindow); give 0 (read every chunk on arrival) up to 1000 ms")
        }
        return found
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}

extension LoadTestConfig {
    /// How LoadBench's HTTP client reads: every chunk on arrival up to 32 MB/s of stream data
    /// (about 115,000 OpenAI chunks a second, where reading each one alone already takes half a
    /// core of a small machine). Above that it reads in batches, in windows that widen (up to
    /// 50 ms) only while reading takes more than a quarter of its thread's time, which keeps the
    /// client from becoming the bottleneck of what it measures (scripts/bench/README.md has the
    /// figures). The summary says how much of a run was read in batches and the widest window.
    public static let defaultReadBatching = ReadBatching(maxWindow: .milliseconds(50), thresholdBytesPerSecond: 32_000_000)

    /// The default batching with its widest window in milliseconds (0: every read on arrival).
    public static func readBatching(maxWindowMilliseconds ms: Double) -> ReadBatching {
        guard ms.isFinite, ms != 0 else { return .off }
        var batching = defaultReadBatching
        batching.maxWindow = .nanoseconds(Int64((ms * 1e6).rounded()))
        return batching
    }
}

import Foundation
import CellbookHTTP
import CellbookJSON
import ServingKit

/// Drives the load generator for the accuracy and overhead benchmarks in `scripts/bench/`.
///
/// It runs the same path a user's load test runs (`LoadTest.execute` over `OpenAIChatTransport`
/// and one shared `HTTPClient`) with fixed prompts, and can write every request's chunk receive
/// times so `scripts/bench/compare_clients.py` can compare them with the fake server's write log.
/// A small executable calls `main(arguments:transports:)`; see `scripts/bench/driver/main.swift`,
/// which adds the transports LoadBench cannot depend on (SageMaker's response stream).
public enum LoadBenchHarness {
    /// Makes the transport of a run from its options and its HTTP client (`--transport NAME`).
    public typealias TransportMaker = @Sendable (Options, HTTPClient) throws -> any ChatTranscriptTransport

    public struct Options: Sendable, Equatable {
        /// The chat completions URL; for another transport, what it takes (a SageMaker runtime base URL).
        public var url: String
        /// "openai" (SSE over HTTP), or a name given to `main(arguments:transports:)`.
        public var transport: String = "openai"
        /// The endpoint a transport that names one sends to (SageMaker's).
        public var endpointName: String = "loadbench"
        public var model: String = "fake/tgi-model"
        /// Closed-loop users.
        public var streams: Int = 32
        /// Requests each user sends, one after another.
        public var requestsPerStream: Int = 4
        public var maxTokens: Int = 100
        /// JSON-lines file of per-request chunk times; nil writes none.
        public var timelineFile: String?
        /// Directory for llmperf's two JSON files and the HTML report; nil writes none.
        public var resultsDirectory: String?
        /// Extra fields for every request body (the fake server reads a `fake` object).
        public var samplingParams: JSONObject = [:]
        public var includeUsage: Bool = true
        /// How the HTTP client batches reads under heavy load (LoadBench's default unless told).
        public var readBatching: ReadBatching = LoadTestConfig.defaultReadBatching

        public init(url: String) { self.url = url }
    }

    public struct Report: Sendable, Equatable {
        public var requests: Int
        public var failed: Int
        public var chunks: Int
        public var wallSeconds: Double
        /// The share of stream bytes read after a batching hold (`ReadBatching`).
        public var batchedReadShare: Double
        /// The widest batching window the client used, in milliseconds.
        public var widestWindowMilliseconds: Double

        public var json: JSONObject {
            ["requests": .int(requests), "failed": .int(failed), "chunks": .int(chunks),
             "wall_s": .double(wallSeconds), "batched_read_share": .double(batchedReadShare),
             "widest_window_ms": .double(widestWindowMilliseconds),
             "chunks_per_s": .double(wallSeconds > 0 ? Double(chunks) / wallSeconds : 0)]
        }
    }

    public static func run(_ options: Options, transports: [String: TransportMaker] = [:]) async throws(LoadBenchError) -> Report {
        var config = LoadTestConfig(model: options.model, concurrentRequests: options.streams,
                                    maxCompletedRequests: options.streams * options.requestsPerStream,
                                    timeoutSeconds: 3600, requestTimeoutSeconds: 600,
                                    additionalSamplingParams: options.samplingParams, seed: 1)
        config.readBatching = options.readBatching
        let problems = config.problems()
        guard problems.isEmpty else { throw .invalidConfig(problems) }
        let plan = (0..<config.maxCompletedRequests).map {
            PlannedRequest(index: $0, prompt: "Randomly stream lines from the following text with \(options.maxTokens) output tokens.",
                           targetInputTokens: 16, estimatedInputTokens: 16, maxTokens: options.maxTokens)
        }
        let client = HTTPClient(readBatching: config.readBatching)
        let transport: any ChatTranscriptTransport
        if let make = transports[options.transport] {
            do { transport = try make(options, client) } catch {
                throw .invalidConfig(["transport \(options.transport): \(error)"])
            }
        } else if options.transport == "openai" {
            transport = OpenAIChatTransport(client: client, url: options.url, includeUsage: options.includeUsage)
        } else {
            throw .invalidConfig(["unknown transport \(options.transport) (known: \((["openai"] + transports.keys.sorted()).joined(separator: ", ")))"])
        }
        let result = await LoadTest.execute(plan: plan, config: config, lengthModel: .heuristic, transport: transport)
        if let path = options.timelineFile {
            var text = ""
            for timeline in result.timelines {
                var line = JSONObject()
                line["id"] = .string("loadbench-\(config.seed)-\(timeline.index)")
                line["start_ns"] = .int(Int(truncatingIfNeeded: timeline.startNs))
                line["chunks_ns"] = .array(timeline.chunkTimesNs.map { .int(Int(truncatingIfNeeded: $0)) })
                line["error"] = timeline.failure.map { .string($0.message) } ?? .null
                text += JSONValue.object(line).serialized() + "\n"
            }
            try ResultFiles.writeText(text, to: path)
        }
        if let directory = options.resultsDirectory {
            _ = try ResultFiles.write(result, to: directory)
            _ = try ResultFiles.writeHTMLReport(result, to: directory)
            print(TextReport.render(result.summary))
        }
        return Report(requests: result.requests.count, failed: result.requests.filter { !$0.succeeded }.count,
                      chunks: result.timelines.reduce(0) { $0 + $1.chunkTimesNs.count },
                      wallSeconds: result.wallSeconds,
                      batchedReadShare: result.summary.json["client_batched_read_share"]?.doubleValue ?? 0,
                      widestWindowMilliseconds: result.summary.json["client_read_batching_widest_window_ms"]?.doubleValue ?? 0)
    }

    /// Times the per-chunk parsing on the HTTP thread (SSE framing and the chunk scan) over
    /// reads of `eventsPerRead` OpenAI chunk events, as the transcript path does them; returns
    /// nanoseconds per chunk (best of five rounds of `chunks`).
    public static func parseCost(chunks: Int = 1_000_000, eventsPerRead: Int = 8) -> Double {
        let event = "data:{\"id\":\"chatcmpl-loadbench-1-17\",\"object\":\"chat.completion.chunk\",\"created\":1795820419,"
            + "\"model\":\"fake/tgi-model\",\"system_fingerprint\":\"fake\",\"choices\":[{\"index\":0,\"delta\":"
            + "{\"role\":\"assistant\",\"content\":\" quick\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
        let read = Array(String(repeating: event, count: eventsPerRead).utf8)
        var best = Double.infinity
        for _ in 0..<5 {
            let parser = ChatStreamParser()
            var transcript = CompletionTranscript()
            transcript.chunkTimes.reserveCapacity(chunks + eventsPerRead)
            let start = MonotonicClock.nanoseconds()
            var sent = 0
            read.withUnsafeBytes { bytes in
                while sent < chunks {
                    _ = try? parser.feed(bytes, receivedAt: 1, into: &transcript)
                    sent += eventsPerRead
                }
            }
            best = min(best, Double(MonotonicClock.nanoseconds() - start) / Double(sent))
        }
        return best
    }

    /// Command-line entry: `--url U --streams N --requests-per-stream R --max-tokens T
    /// [--timeline FILE] [--results-dir DIR] [--params JSON] [--no-usage] [--read-batching-ms W]
    /// [--transport NAME] [--endpoint-name E]`. Prints the report as one JSON line (last line of output).
    /// `transports` adds transports by name besides "openai".
    /// Returns the process exit code (0 ok, 1 failed run, 2 bad arguments).
    public static func main(arguments: [String], transports: [String: TransportMaker] = [:]) async -> Int32 {
        var options = Options(url: "")
        var index = 0
        func value() -> String? {
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--url": options.url = value() ?? ""
            case "--model": options.model = value() ?? options.model
            case "--transport": options.transport = value() ?? ""
            case "--endpoint-name": options.endpointName = value() ?? ""
            case "--streams": options.streams = Int(value() ?? "") ?? -1
            case "--requests-per-stream": options.requestsPerStream = Int(value() ?? "") ?? -1
            case "--max-tokens": options.maxTokens = Int(value() ?? "") ?? -1
            case "--timeline": options.timelineFile = value()
            case "--results-dir": options.resultsDirectory = value()
            case "--no-usage": options.includeUsage = false
            case "--parse-cost":
                print("parse cost: \(parseCost()) ns per chunk (SSE framing and chunk scan, 8 events per read)")
                return 0
            case "--read-batching-ms":
                // 0 reads every chunk on arrival; otherwise the widest window, at the default threshold.
                guard let ms = Double(value() ?? ""), ms >= 0 else {
                    FileHandle.standardError.write(Data("--read-batching-ms needs a number of milliseconds, 0 or more\n".utf8))
                    return 2
                }
                options.readBatching = LoadTestConfig.readBatching(maxWindowMilliseconds: ms)
            case "--params":
                do { options.samplingParams = try LoadTestConfig.parseSamplingParams(value() ?? "") } catch {
                    FileHandle.standardError.write(Data((error.description + "\n").utf8))
                    return 2
                }
            default:
                FileHandle.standardError.write(Data("unknown argument \(flag); see LoadBenchHarness.main\n".utf8))
                return 2
            }
            index += 1
        }
        guard !options.url.isEmpty, options.streams > 0, options.requestsPerStream > 0, options.maxTokens > 0 else {
            FileHandle.standardError.write(Data("need --url and positive --streams, --requests-per-stream, --max-tokens\n".utf8))
            return 2
        }
        do {
            let report = try await run(options, transports: transports)
            print(JSONValue.object(report.json).serialized())
            return report.failed == 0 ? 0 : 1
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return 1
        }
    }
}

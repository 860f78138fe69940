import CellbookHTTP
import CellbookJSON
import ServingKit

/// Everything a finished load test produced.
public struct LoadTestResult: Sendable {
    public var config: LoadTestConfig
    /// How prompt lengths were calibrated against the server.
    public var lengthModel: TokenLengthModel
    /// Raw observations, ordered by request index.
    public var timelines: [RequestTimeline]
    /// Per-request metrics, in the same order.
    public var requests: [RequestMetrics]
    public var runStartNs: UInt64
    public var runEndNs: UInt64
    /// The timeout stopped the run before every planned request was sent.
    public var stoppedByTimeout: Bool
    public var summary: LoadTestSummary
    /// Set when `config.resultsDirectory` was given and the files were written.
    public var files: ResultFiles?

    public var wallSeconds: Double { Double(runEndNs - runStartNs) / 1e9 }
}

/// Runs load tests. One task per in-flight request over the caller's transport; no threads of its own.
public enum LoadTest {
    /// Plans the prompts, calibrates their lengths against the server, sends the requests,
    /// and (when `config.resultsDirectory` is set) writes llmperf's two JSON files.
    ///
    /// Failed requests are recorded, never thrown; this throws only when the run cannot
    /// start (bad config, calibration failed) or its files cannot be written.
    public static func run(config: LoadTestConfig,
                           transport: some ChatStreamTransport,
                           calibration: PromptLengthCalibration = .probe,
                           endpointDescription: String = "the endpoint",
                           progress: LoadProgressReporter? = nil) async throws(LoadBenchError) -> LoadTestResult {
        let problems = config.problems()
        guard problems.isEmpty else { throw .invalidConfig(problems) }
        let corpus = try SonnetCorpus.bundled()
        let lengthModel = try await Calibrator.calibrate(calibration, corpus: corpus, config: config,
                                                         transport: transport, endpoint: endpointDescription)
        let plan = PromptPlanner(corpus: corpus, lengthModel: lengthModel)
            .plan(count: config.maxCompletedRequests,
                  meanInputTokens: config.meanInputTokens, stddevInputTokens: config.stddevInputTokens,
                  meanOutputTokens: config.meanOutputTokens, stddevOutputTokens: config.stddevOutputTokens,
                  seed: config.seed)
        var result = await execute(plan: plan, config: config, lengthModel: lengthModel,
                                   transport: transport, progress: progress)
        if let directory = config.resultsDirectory {
            result.files = try ResultFiles.write(result, to: directory)
        }
        return result
    }

    /// Sends an already planned set of requests. Exposed for harnesses that plan their own prompts.
    public static func execute(plan: [PlannedRequest], config: LoadTestConfig, lengthModel: TokenLengthModel,
                               transport: some ChatStreamTransport,
                               progress: LoadProgressReporter? = nil) async -> LoadTestResult {
        let readsBefore = transport.readStatistics()
        let runStart = RunClock.now()
        let deadline = runStart &+ UInt64(config.timeoutSeconds * 1e9)
        let tally = RunTally(target: plan.count, startNs: runStart)
        let arrivals = arrivalOffsets(count: plan.count, mode: config.arrivalMode, seed: config.seed)

        let ticker: Task<Void, Never>? = progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: 250_000_000)
                    if Task.isCancelled { break }
                    report(tally.snapshot(now: RunClock.now(), finished: false))
                }
            }
        }

        let requestTimeoutNs = UInt64(config.requestTimeoutSeconds * 1e9)
        var stoppedByTimeout = false
        var timelines: [RequestTimeline] = []
        timelines.reserveCapacity(plan.count)

        await withTaskGroup(of: RequestTimeline.self) { group in
            var inFlight = 0
            for planned in plan {
                // A cancelled run stops sending; what is in flight ends as `.cancelled`.
                if Task.isCancelled { break }
                var intended: UInt64? = nil
                if let offset = arrivals?[planned.index] {
                    let due = runStart &+ offset
                    if due >= deadline { stoppedByTimeout = true; break }
                    await RunClock.sleep(until: due)
                    intended = due
                    if Task.isCancelled { break }
                }
                // Wait for a free slot; in the closed loop this is "the next user becomes free".
                while inFlight >= config.concurrentRequests, let finished = await group.next() {
                    timelines.append(finished)
                    inFlight -= 1
                }
                // Cancelled while waiting for a slot: start nothing more.
                if Task.isCancelled { break }
                let launchAt = RunClock.now()
                if launchAt >= deadline { stoppedByTimeout = true; break }
                // A closed loop means to send now; the task may start a little later.
                let intendedStart = intended ?? launchAt
                var params = JSONObject()
                params["max_tokens"] = .int(planned.maxTokens)
                params.merge(config.additionalSamplingParams)
                let request = CompletionRequest(requestID: "loadbench-\(config.seed)-\(planned.index)",
                                                model: config.model, prompt: planned.prompt,
                                                maxTokens: planned.maxTokens, samplingParams: params)
                tally.requestStarted()
                inFlight += 1
                group.addTask {
                    let timeline = await sendOne(request, planned: planned, intendedNs: intendedStart,
                                                 lengthModel: lengthModel, transport: transport,
                                                 timeoutNs: requestTimeoutNs, tally: tally)
                    tally.requestFinished(failed: timeline.failure != nil)
                    return timeline
                }
            }
            for await finished in group { timelines.append(finished) }
        }
        let runEnd = RunClock.now()
        ticker?.cancel()
        progress?(tally.snapshot(now: runEnd, finished: true))

        timelines.sort { $0.index < $1.index }
        let requests = timelines.map { RequestMetrics($0, runStartNs: runStart) }
        let reads = transport.readStatistics().map { after in readsBefore.map { after - $0 } ?? after }
        let summary = LoadTestSummary(config: config, requests: requests,
                                      wallSeconds: Double(runEnd - runStart) / 1e9,
                                      lengthModel: lengthModel, timestamp: RunClock.unixTime(), clientReads: reads)
        return LoadTestResult(config: config, lengthModel: lengthModel, timelines: timelines, requests: requests,
                              runStartNs: runStart, runEndNs: runEnd, stoppedByTimeout: stoppedByTimeout,
                              summary: summary, files: nil)
    }

    /// Open-loop send times (ns after the start): cumulative exponential gaps from the seed.
    /// The first request goes at time zero. Nil for a closed loop.
    static func arrivalOffsets(count: Int, mode: ArrivalMode, seed: UInt64) -> [UInt64]? {
        guard case .openLoop(let rate) = mode else { return nil }
        var generator = SeededGenerator(seed: seed, stream: 2)
        var offsets: [UInt64] = []
        offsets.reserveCapacity(count)
        var elapsed = 0.0
        for index in 0..<count {
            if index > 0 { elapsed += generator.nextExponential(rate: rate) }
            offsets.append(UInt64(elapsed * 1e9))
        }
        return offsets
    }

    private enum Outcome: Sendable {
        case streamEnded(Observation)
        case timedOut
    }

    private struct Observation: Sendable {
        var chunkTimes: [UInt64] = []
        var promptTokens: Int?
        var completionTokens: Int?
        var finishReason: String?
        var failure: RequestFailure?
        var endNs: UInt64 = 0
    }

    static func sendOne(_ request: CompletionRequest, planned: PlannedRequest, intendedNs: UInt64?,
                        lengthModel: TokenLengthModel, transport: some ChatStreamTransport,
                        timeoutNs: UInt64, tally: RunTally) async -> RequestTimeline {
        let start = RunClock.now()
        let observed: Observation = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                if let collecting = transport as? any ChatTranscriptTransport {
                    // The cheap path: the transport parses on its own thread and reports once.
                    let transcript = await collecting.transcript(request) { tally.chunksReceived($0) }
                    var observation = Observation(chunkTimes: transcript.chunkTimes,
                                                  promptTokens: transcript.promptTokens,
                                                  completionTokens: transcript.completionTokens,
                                                  finishReason: transcript.finishReason,
                                                  failure: transcript.failure.map(RequestFailure.init))
                    observation.endNs = transcript.endedAt
                    if Task.isCancelled && observation.failure == nil { observation.failure = .cancelled }
                    return .streamEnded(observation)
                }
                var observation = Observation()
                observation.chunkTimes.reserveCapacity((request.maxTokens ?? 256) + 1)
                // Progress counts are flushed every 50 ms of stream time rather than per chunk,
                // keeping the shared lock off the per-token path.
                var unreported = 0
                var reportedAt: UInt64 = 0
                defer { if unreported > 0 { tally.chunksReceived(unreported) } }
                do {
                    for try await event in transport.stream(request) {
                        switch event {
                        case .chunk(let chunk):
                            observation.chunkTimes.append(chunk.receivedAt)
                            unreported += 1
                            if chunk.receivedAt &- reportedAt >= 50_000_000 {
                                tally.chunksReceived(unreported)
                                unreported = 0
                                reportedAt = chunk.receivedAt
                            }
                        case .usage(let prompt, let completion):
                            if let prompt { observation.promptTokens = prompt }
                            if let completion { observation.completionTokens = completion }
                        case .finish(let reason):
                            observation.finishReason = reason
                        case .responseHead:
                            break
                        }
                    }
                } catch let error as CompletionStreamError {
                    observation.failure = RequestFailure(error)
                } catch {
                    observation.failure = .connection(message: String(describing: error))
                }
                observation.endNs = RunClock.now()
                // Cancellation ends a stream quietly; it must not pass for a complete answer.
                if Task.isCancelled && observation.failure == nil { observation.failure = .cancelled }
                return .streamEnded(observation)
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: timeoutNs)
                return .timedOut
            }
            var ended: Observation?
            var timedOut = false
            // The first outcome decides; cancelling the other makes it return promptly. A stream
            // cut short by the timer still reports the chunks it saw.
            for await outcome in group {
                switch outcome {
                case .streamEnded(let observation):
                    ended = observation
                    group.cancelAll()
                case .timedOut:
                    if ended == nil {
                        timedOut = true
                        group.cancelAll()
                    }
                }
            }
            var result = ended ?? Observation()
            if timedOut && Task.isCancelled {
                result.failure = .cancelled
                result.endNs = RunClock.now()
            } else if timedOut {
                result.failure = .timedOut(afterSeconds: Double(timeoutNs) / 1e9)
                result.endNs = start &+ timeoutNs
            }
            return result
        }
        return RequestTimeline(index: planned.index, intendedStartNs: intendedNs ?? start, startNs: start,
                               chunkTimesNs: observed.chunkTimes, endNs: observed.endNs,
                               usagePromptTokens: observed.promptTokens,
                               usageCompletionTokens: observed.completionTokens,
                               targetInputTokens: planned.targetInputTokens,
                               estimatedInputTokens: planned.estimatedInputTokens,
                               estimatedInputSource: lengthModel.source == .usage ? .estimate : lengthModel.source,
                               targetOutputTokens: planned.maxTokens,
                               finishReason: observed.finishReason, failure: observed.failure)
    }
}

@testable import ServingKit
import CellbookJSON
import Foundation
import Testing
import CellbookHTTP
@testable import LoadBench

/// End-to-end runs against the fake TGI server, started as a subprocess on a free loopback port.
@Suite("Runs against the fake TGI server", .serialized)
struct FakeServerRunTests {
    @Test("a run writes llmperf's two files and the tutorial's printing code reads them")
    func tutorialCodeReadsTheSummary() async throws {
        let server = try await FakeTGIServer.start(["--ttft-ms", "15", "--itl-ms", "2"])
        let directory = temporaryDirectory("tutorial")
        let config = LoadTestConfig(model: "meta-llama/Meta-Llama-3-70B-Instruct", concurrentRequests: 3,
                                    maxCompletedRequests: 6, timeoutSeconds: 60,
                                    meanInputTokens: 120, stddevInputTokens: 20,
                                    meanOutputTokens: 12, stddevOutputTokens: 4,
                                    resultsDirectory: directory, metadata: [("run", "ci")], seed: 7)
        let transport = OpenAIChatTransport(client: sharedHTTPClient, url: server.chatURL)
        let result = try await LoadTest.run(config: config, transport: transport)

        #expect(result.requests.count == 6)
        #expect(result.requests.allSatisfy { $0.succeeded })
        let files = try #require(result.files)
        #expect(files.summary.hasSuffix("/meta-llama-Meta-Llama-3-70B-Instruct_120_12_summary.json"))
        #expect(FileManager.default.fileExists(atPath: files.individualResponses))

        // The tutorial's cell, verbatim apart from the results directory.
        let snippet = """
        import glob
        import json
        with open(glob.glob(f'\(directory)/*summary.json')[0], 'r') as file:
            data = json.load(file)
        print("Concurrent requests: 25")
        print(f"Avg. Input token length: {data['mean_input_tokens']}")
        print(f"Avg. Output token length: {data['mean_output_tokens']}")
        print(f"Avg. First-Time-To-Token: {data['results_ttft_s_mean']*1000:.2f}ms")
        print(f"Avg. Thorughput: {data['results_mean_output_throughput_token_per_s']:.2f} tokens/sec")
        print(f"Avg. Latency: {data['results_inter_token_latency_s_mean']*1000:.2f}ms/token")
        responses = json.load(open(glob.glob(f'\(directory)/*individual_responses.json')[0]))
        print("responses", len(responses), sorted(set(type(r['ttft_s']).__name__ for r in responses)))
        """
        let (status, output) = try await runProcess(["python3", "-c", snippet])
        #expect(status == 0, "python failed: \(output)")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.contains("Avg. Input token length: 120"))
        #expect(lines.contains("Avg. Output token length: 12"))
        let ttft = try #require(result.summary.number("results_ttft_s_mean"))
        #expect(lines.contains("Avg. First-Time-To-Token: \(TextFormat.fixed(ttft * 1000, 2))ms"))
        // The fake server waits 15 ms before the first token; the upper bound only catches a
        // gross error (a loaded CI machine stretches the rest).
        #expect(ttft > 0.014 && ttft < 2.0)
        #expect(lines.contains("responses 6 ['float']"))
        #expect(result.summary.json["run"] == .string("ci"))
        await server.shutdown()
    }

    @Test("500s, in-stream errors, disconnects and timeouts each get their own code and message")
    func errorAccounting() async throws {
        let server = try await FakeTGIServer.start(["--ttft-ms", "5", "--itl-ms", "1", "--fault-after", "2", "--hang-seconds", "20"])
        let transport = OpenAIChatTransport(client: sharedHTTPClient, url: server.chatURL)
        let faults: [(String, JSONObject)] = [
            ("ok", [:]),
            ("500", ["fail_status": .int(500)]),
            ("in-stream", ["error_after": .int(2)]),
            ("disconnect", ["disconnect_after": .int(2)]),
            ("hang", ["hang_after": .int(2)]),
        ]
        var timelines: [String: RequestTimeline] = [:]
        let tally = RunTally(target: faults.count, startNs: RunClock.now())
        for (index, (name, fake)) in faults.enumerated() {
            let planned = PlannedRequest(index: index, prompt: "Hello there", targetInputTokens: 10,
                                         estimatedInputTokens: 10, maxTokens: 5)
            let request = CompletionRequest(requestID: "fault-\(name)", model: "m", prompt: planned.prompt, maxTokens: 5,
                                            samplingParams: ["max_tokens": .int(5), "fake": .object(fake)])
            timelines[name] = await LoadTest.sendOne(request, planned: planned, intendedNs: nil,
                                                     lengthModel: .heuristic, transport: transport,
                                                     timeoutNs: 1_500_000_000, tally: tally)
        }
        let metrics = timelines.mapValues { RequestMetrics($0, runStartNs: $0.startNs) }

        #expect(metrics["ok"]?.errorCode == nil)
        #expect(metrics["ok"]?.outputTokens == 5)
        #expect(metrics["500"]?.errorCode == 500)
        #expect(metrics["500"]?.errorKind == "http_status")
        #expect(metrics["500"]?.errorMessage.contains("injected failure") == true)
        #expect(metrics["in-stream"]?.errorCode == 424)
        #expect(metrics["in-stream"]?.errorKind == "in_stream_error")
        #expect(metrics["in-stream"]?.errorMessage.contains("injected in-stream error") == true)
        #expect(metrics["in-stream"]?.contentChunks == 2)
        #expect(metrics["disconnect"]?.errorCode == RequestFailure.disconnectCode)
        #expect(metrics["disconnect"]?.errorKind == "disconnect")
        #expect(metrics["disconnect"]?.contentChunks == 2)
        #expect(metrics["hang"]?.errorCode == RequestFailure.timeoutCode)
        #expect(metrics["hang"]?.errorKind == "timeout")
        #expect(metrics["hang"]?.contentChunks == 2)
        let hang = try #require(metrics["hang"])
        #expect(abs(hang.endToEndLatency - 1.5) < 0.01)

        // In a summary, failures are counted and kept out of the latency statistics.
        let summary = LoadTestSummary(config: LoadTestConfig(model: "m"), requests: Array(metrics.values),
                                      wallSeconds: 3, lengthModel: .heuristic, timestamp: 0)
        #expect(summary.json["results_number_errors"] == .int(4))
        #expect(summary.json["results_num_completed_requests"] == .int(1))
        #expect(summary.json["results_error_rate"] == .double(0.8))
        let frequency = try #require(summary.json["results_error_code_frequency"]?.stringValue)
        for code in [500, 424, RequestFailure.disconnectCode, RequestFailure.timeoutCode] {
            #expect(frequency.contains("\(code): 1"))
        }
        await server.shutdown()
    }

    @Test("a connection refused is recorded as a failed request, not thrown")
    func connectionRefused() async throws {
        // Bind and release a port so nothing listens there.
        let server = try await FakeTGIServer.start()
        let url = server.chatURL
        await server.shutdown()
        let transport = OpenAIChatTransport(client: sharedHTTPClient, url: url)
        let config = LoadTestConfig(model: "m", concurrentRequests: 2, maxCompletedRequests: 3,
                                    meanInputTokens: 50, stddevInputTokens: 0, meanOutputTokens: 5, stddevOutputTokens: 0)
        let result = await LoadTest.execute(plan: PromptPlanner(corpus: try SonnetCorpus.bundled(), lengthModel: .heuristic)
                                                .plan(count: 3, meanInputTokens: 50, stddevInputTokens: 0,
                                                      meanOutputTokens: 5, stddevOutputTokens: 0, seed: 1),
                                            config: config, lengthModel: .heuristic, transport: transport)
        #expect(result.requests.count == 3)
        #expect(result.requests.allSatisfy { $0.errorCode == RequestFailure.connectionCode })
        #expect(result.summary.json["results_error_rate"] == .double(1))
    }

    @Test("calibrated prompts land near the requested input length as the server counts it")
    func calibrationHitsTheTarget() async throws {
        let server = try await FakeTGIServer.start(["--ttft-ms", "1", "--itl-ms", "0"])
        let transport = OpenAIChatTransport(client: sharedHTTPClient, url: server.chatURL)
        let config = LoadTestConfig(model: "m", concurrentRequests: 8, maxCompletedRequests: 40,
                                    meanInputTokens: 550, stddevInputTokens: 150,
                                    meanOutputTokens: 10, stddevOutputTokens: 2, seed: 3)
        let result = try await LoadTest.run(config: config, transport: transport)
        #expect(result.lengthModel.source == .usage)
        #expect(result.requests.allSatisfy { $0.inputTokenSource == .usage })
        // Each request's real count (from usage) is close to the length drawn for it; lines differ in
        // tokens per character, so single prompts scatter by a few percent around the target.
        for request in result.requests {
            let relative = abs(Double(request.inputTokens - request.targetInputTokens)) / Double(request.targetInputTokens)
            #expect(relative < 0.08, "request wanted \(request.targetInputTokens) tokens, server counted \(request.inputTokens)")
        }
        // And there is no systematic bias: the mean signed error is small.
        let bias = result.requests.reduce(0.0) { $0 + Double($1.inputTokens - $1.targetInputTokens) }
            / result.requests.reduce(0.0) { $0 + Double($1.targetInputTokens) }
        #expect(abs(bias) < 0.02, "input lengths are off by \(bias * 100)% on average")
        // The output length comes from usage, and equals what the fake server sent (max_tokens).
        #expect(result.requests.allSatisfy { $0.outputTokenSource == .usage && $0.outputTokens == $0.targetOutputTokens })
        let measured = try #require(result.summary.json["measured_mean_input_tokens"]?.doubleValue)
        #expect(abs(measured - 550) < 80)
        #expect(result.summary.json["mean_input_tokens"] == .int(550))
        await server.shutdown()
    }

    @Test("without usage, output tokens are counted from the stream and the summary says so")
    func countsFromTheStreamWithoutUsage() async throws {
        let server = try await FakeTGIServer.start(["--ttft-ms", "1", "--itl-ms", "0", "--no-usage"])
        let transport = OpenAIChatTransport(client: sharedHTTPClient, url: server.chatURL)
        let tokenizer = ServerTokenizer(client: sharedHTTPClient, url: server.baseURL + "/tokenize")
        let config = LoadTestConfig(model: "m", concurrentRequests: 4, maxCompletedRequests: 8,
                                    meanInputTokens: 200, stddevInputTokens: 30,
                                    meanOutputTokens: 9, stddevOutputTokens: 3, seed: 5)
        let result = try await LoadTest.run(config: config, transport: transport, calibration: .tokenizer(tokenizer))
        #expect(result.lengthModel.source == .tokenizer)
        #expect(result.requests.allSatisfy { $0.outputTokenSource == .streamChunks })
        #expect(result.requests.allSatisfy { $0.outputTokens == $0.targetOutputTokens })
        #expect(result.summary.json["output_token_count_method"] == .string("stream_chunks"))
        #expect(result.summary.json["input_token_count_method"] == .string("tokenizer"))
        await server.shutdown()
    }
}

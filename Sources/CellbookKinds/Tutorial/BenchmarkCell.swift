import SystemKit
import CellbookEngine
import CellbookHTTP
import CellbookJSON
import Foundation
import LoadBench
import PlaybookModel
import ServingKit

/// The tutorial's step 5: an llmperf-compatible load test run natively against the endpoint.
/// Writes llmperf's summary and individual-responses files (so the tutorial's printing code
/// reads them unchanged), prints the tutorial's lines and a percentile table, and writes a
/// self-contained HTML report with charts.
public struct BenchmarkCell: CellKind {
    public static let schema = KindSchema(
        name: "benchmark",
        summary: "Load-tests the endpoint like llmperf and reports latency and throughput",
        inputs: [
            .init("endpoint", .string, required: true, "the endpoint name (from the deploy cell)"),
            .init("url", .string, required: true, "the endpoint's URL (from the deploy cell)"),
            .init("model", .string, "the model id sent in requests and used in file names (llmperf --model)"),
            .init("num_concurrent_requests", .int, "concurrent users (llmperf default 10; the tutorial uses 25)"),
            .init("max_num_completed_requests", .int, "requests to complete (llmperf default 10; the tutorial uses 500)"),
            .init("timeout", .number, "seconds after which no new request starts (llmperf default 90; the tutorial uses 600)"),
            .init("mean_input_tokens", .int, "llmperf default 550"),
            .init("stddev_input_tokens", .int, "llmperf default 150"),
            .init("mean_output_tokens", .int, "llmperf default 150"),
            .init("stddev_output_tokens", .int, "llmperf default 80"),
            .init("additional_sampling_params", .object, "merged into every request (e.g. temperature)"),
            .init("metadata", .object, "key/values added to the summary"),
            .init("seed", .int, "seeds prompt lengths and shuffles: the same seed sends the same prompts"),
            .init("request_rate", .number, "requests per second for an open-loop test (Poisson arrivals); empty = closed loop like llmperf"),
            .init("read_batching_ms", .number, "above 32 MB/s of stream data the client reads in batches at most this many ms apart, widening only while reading is costly (default 50; 0 reads every chunk on arrival)"),
            .init("results_dir", .string, "where the JSON files go (default: the cell's folder under outputs/, results/)"),
        ],
        outputs: ["results_dir", "summary_file", "individual_responses_file", "report_html", "num_concurrent_requests",
                  "mean_input_tokens", "mean_output_tokens", "measured_mean_input_tokens", "measured_mean_output_tokens",
                  "ttft_s_mean", "mean_output_throughput_token_per_s", "inter_token_latency_s_mean",
                  "time_per_output_token_s_mean", "error_rate", "completed_requests"],
        check: { inputs in
            BenchmarkCell.config(inputs, defaultModel: "endpoint").problems().map { SchemaProblem(key: nil, "benchmark: \($0)") }
        })

    public init() {}

    /// The load test the inputs ask for; validation runs the same on the inputs it knows.
    static func config(_ inputs: [String: Value], defaultModel: String) -> LoadTestConfig {
        func text(_ key: String) -> String? { inputs[key].flatMap { $0.isNull ? nil : $0.interpolationText } }
        func int(_ key: String) -> Int? { inputs[key]?.intValue ?? text(key).flatMap { Int($0) } }
        func double(_ key: String) -> Double? { inputs[key]?.doubleValue ?? text(key).flatMap { Double($0) } }
        var config = LoadTestConfig(model: text("model").flatMap { $0.isEmpty ? nil : $0 } ?? defaultModel)
        if let v = int("num_concurrent_requests") { config.concurrentRequests = v }
        if let v = int("max_num_completed_requests") { config.maxCompletedRequests = v }
        if let v = double("timeout") { config.timeoutSeconds = v }
        if let v = int("mean_input_tokens") { config.meanInputTokens = v }
        if let v = int("stddev_input_tokens") { config.stddevInputTokens = v }
        if let v = int("mean_output_tokens") { config.meanOutputTokens = v }
        if let v = int("stddev_output_tokens") { config.stddevOutputTokens = v }
        if let v = int("seed") { config.seed = UInt64(max(0, v)) }
        if let rate = double("request_rate"), rate > 0 { config.arrivalMode = .openLoop(requestsPerSecond: rate) }
        if let ms = double("read_batching_ms") { config.readBatching = LoadTestConfig.readBatching(maxWindowMilliseconds: ms) }
        for (k, v) in (inputs["additional_sampling_params"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            config.additionalSamplingParams[k] = JSONValue(v)
        }
        config.metadata = (inputs["metadata"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
            .map { (key: $0.key, value: $0.value.interpolationText) }
        return config
    }

    public func run(_ context: CellContext) async throws -> [String: Value] {
        let console = context.console
        let deployment = try ServingTargets.deployment(context)
        let resultsDir = context.string("results_dir").flatMap { $0.isEmpty ? nil : $0 } ?? "\(context.workDirectory)/results"
        // A previous run's files would be picked up by the tutorial's glob: start clean.
        try? FileManager.default.removeItem(atPath: resultsDir)
        try FileManager.default.createDirectory(atPath: resultsDir, withIntermediateDirectories: true)

        var config = Self.config(context.inputs, defaultModel: deployment.endpointName)
        // The summary names the target that actually served (a playbook cannot get it wrong).
        config.metadata.removeAll { $0.key == "target" || $0.key == "runtime" }
        config.metadata.append((key: "target", value: context.target.name))
        config.metadata.append((key: "runtime", value: context.setting("runtime")?.stringValue ?? "local"))
        config.resultsDirectory = resultsDir
        let problems = config.problems()
        guard problems.isEmpty else {
            throw CellFailure("the benchmark settings of cell '\(context.cell.id)' are not usable: \(problems.joined(separator: "; "))")
        }

        let target = try ServingTargets.make(context, client: ServingTargets.client(context, readBatching: config.readBatching))
        let transport = try ServingTargets.call { try target.chatTransport(for: deployment) }
        let calibration: PromptLengthCalibration = target.tokenCounter(for: deployment).map { .tokenizer($0) } ?? .probe
        let mode: String
        switch config.arrivalMode {
        case .closedLoop: mode = "closed loop, \(config.concurrentRequests) concurrent users"
        case .openLoop(let rate): mode = "open loop, \(rate) requests/s (at most \(config.concurrentRequests) in flight)"
        }
        console.line("Benchmarking \(deployment.endpointName): \(config.maxCompletedRequests) requests, \(mode), "
            + "~\(config.meanInputTokens)±\(config.stddevInputTokens) input and ~\(config.meanOutputTokens)±\(config.stddevOutputTokens) output tokens, seed \(config.seed)")
        let result: LoadTestResult
        do {
            result = try await LoadTest.run(config: config, transport: transport, calibration: calibration,
                                            endpointDescription: "endpoint \(deployment.endpointName) at \(deployment.url)") { p in
                console.progress(ProgressBarRenderer.render(p), final: p.finished)
            }
        } catch {
            throw CellFailure("the benchmark could not run against \(deployment.endpointName): \(error)",
                              detail: "is the endpoint deployed? Run the deploy cell again (cellbook run … --from deploy)")
        }
        try Task.checkCancellation()
        console.line()
        console.line(TextReport.render(result.summary))
        let html = "\(context.workDirectory)/report.html"
        try AtomicFile.write(HTMLReport.render(result, title: "\(context.playbook.title): benchmark of \(deployment.endpointName)"), to: html)
        console.line()
        console.line("llmperf files: \(result.files?.summary ?? "-")")
        console.line("               \(result.files?.individualResponses ?? "-")")
        console.line("HTML report (opens offline): \(html)")

        let json = result.summary.json
        func number(_ key: String) -> Value { json[key]?.doubleValue.map(Value.double) ?? .null }
        let completed = json["results_num_completed_requests"]?.intValue ?? 0
        if completed == 0 || (json["results_error_rate"]?.doubleValue ?? 0) >= 1 {
            throw CellFailure("every benchmark request failed (\(json["results_error_code_frequency"]?.stringValue ?? "no codes"))",
                              detail: "see \(result.files?.individualResponses ?? resultsDir) for each request's error")
        }
        return [
            "results_dir": .string(resultsDir),
            "summary_file": .string(result.files?.summary ?? ""),
            "individual_responses_file": .string(result.files?.individualResponses ?? ""),
            "report_html": .string(html),
            "num_concurrent_requests": .int(config.concurrentRequests),
            "mean_input_tokens": number("mean_input_tokens"),
            "mean_output_tokens": number("mean_output_tokens"),
            "measured_mean_input_tokens": number("measured_mean_input_tokens"),
            "measured_mean_output_tokens": number("measured_mean_output_tokens"),
            "ttft_s_mean": number("results_ttft_s_mean"),
            "mean_output_throughput_token_per_s": number("results_mean_output_throughput_token_per_s"),
            "inter_token_latency_s_mean": number("results_inter_token_latency_s_mean"),
            "time_per_output_token_s_mean": number("results_time_per_output_token_s_mean"),
            "error_rate": number("results_error_rate"),
            "completed_requests": .int(completed),
        ]
    }
}

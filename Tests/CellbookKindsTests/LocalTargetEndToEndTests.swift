import SystemKit
import CellbookEngine
import CellbookHTTP
import CellbookKinds
import Foundation
import LocalServing
import PlaybookModel
import Testing

/// End to end on the real local runtime: llama.cpp's llama-server with SmolLM2-135M.
/// The first run installs the runtime into the shared cache (about 8 minutes on 2 cores).
@Suite(.serialized)
struct LocalTargetEndToEndTests {
    static let playbook = """
        name: e2e-local
        title: End-to-end on the local target
        params:
          max_tokens: 48
        default_target: local
        targets:
          local:
            settings:
              runtime: local
              model_path: "MODEL_PATH"
              slots: 2
              stop_grace: 5
        cells:
          - id: setup
            kind: setup
            with:
              model_id: meta-llama/Meta-Llama-3-8B-Instruct
          - id: deploy
            kind: deploy
            with:
              endpoint_name: e2e-local
              model_id: meta-llama/Meta-Llama-3-8B-Instruct
              health_check_timeout: 120
              setup:
                local_server_binary: "{{ cells.setup.local_server_binary }}"
                local_model_path: "{{ cells.setup.local_model_path }}"
              env:
                MAX_TOTAL_TOKENS: 1024
                MAX_BATCH_TOTAL_TOKENS: 2048
          - id: chat
            kind: chat
            with:
              endpoint: "{{ cells.deploy.endpoint_name }}"
              url: "{{ cells.deploy.url }}"
              messages:
                - {role: system, content: You are a helpful assistant.}
                - {role: user, content: What is deep learning?}
              parameters:
                max_tokens: "{{ params.max_tokens }}"
                temperature: 0.9
                top_p: 0.6
                stop: ["<|eot_id|>"]
          - id: benchmark
            kind: benchmark
            with:
              endpoint: "{{ cells.deploy.endpoint_name }}"
              url: "{{ cells.deploy.url }}"
              model: meta-llama/Meta-Llama-3-8B-Instruct
              num_concurrent_requests: 2
              max_num_completed_requests: 6
              mean_input_tokens: 64
              stddev_input_tokens: 8
              mean_output_tokens: 24
              stddev_output_tokens: 4
              seed: 7
          - id: cleanup
            kind: cleanup
            with:
              endpoint: "{{ cells.deploy.endpoint_name }}"
              deployment: "{{ cells.deploy.deployment }}"
        """

    struct Fixture {
        let dir: String
        let runner: PlaybookRunner

        init(modelPath: String = "") throws {
            dir = NSTemporaryDirectory() + "cellbook-e2e-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = "\(dir)/e2e-local.yaml"
            try LocalTargetEndToEndTests.playbook.replacingOccurrences(of: "MODEL_PATH", with: modelPath)
                .write(toFile: path, atomically: true, encoding: .utf8)
            let env = ProcessInfo.processInfo.environment
            let config = try PlaybookValidation(kinds: cellKindSchemas, targets: servingTargetSchemas, environment: env).load(path: path, target: nil, overrides: [])
            runner = PlaybookRunner(config: config, kinds: allCellKinds, outputsRoot: "\(dir)/outputs",
                                    cacheDirectory: sharedCache, environment: env)
        }

        func run(_ configure: (inout RunOptions) -> Void = { _ in }) async throws -> RunSummary {
            var o = RunOptions()
            configure(&o)
            return try await runner.run(o)
        }

        func state() throws -> SessionState { try runner.store.load(playbook: "e2e-local", target: "local") }

        func outcome(_ s: RunSummary, _ id: String) -> CellOutcome? { s.cells.first { $0.id == id } }
    }

    static var sharedCacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let c = env["CELLBOOK_CACHE"] { return c }
        return "\(env["XDG_CACHE_HOME"] ?? "\(env["HOME"] ?? "/tmp")/.cache")/cellbook"
    }

    @Test("deploy, chat and cleanup against the real llama.cpp server")
    func deployChatCleanup() async throws {
        let f = try Fixture()
        let s = try await f.run()
        #expect(s.exitCode == 0)
        let state = try f.state()
        let deploy = try #require(state.cells["deploy"]?.outputs)
        let chat = try #require(state.cells["chat"]?.outputs)
        let cleanup = try #require(state.cells["cleanup"]?.outputs)
        // The answer is real text, counted by the server, with a finish reason.
        #expect((chat["content"]?.stringValue ?? "").count > 10)
        #expect((chat["completion_tokens"]?.intValue ?? 0) > 0)
        #expect((chat["prompt_tokens"]?.intValue ?? 0) > 5)
        #expect(["stop", "length"].contains(chat["finish_reason"]?.stringValue ?? ""))
        #expect(chat["usage_source"] == "server usage")
        #expect((chat["ttft_s"]?.doubleValue ?? 0) > 0)
        // Cleanup stopped the server and its port is closed.
        let pid = Int32(try #require(deploy["deployment"]?["pid"]?.intValue))
        let port = try #require(deploy["deployment"]?["port"]?.intValue)
        #expect(cleanup["was_running"] == true)
        #expect(cleanup["local_port_closed"] == true)
        #expect(!ChildProcess.isAlive(pid))
        #expect(!LlamaServer.isPortOpen(port))
        // Cleanup cleared the deployment from state: the record is kept but marked released,
        // and the next run deploys again instead of trusting it.
        #expect(state.cells["deploy"]?.releasedBy == "cleanup")
        let rows = try SessionInspector(config: f.runner.config, outputsRoot: "\(f.dir)/outputs").rows()
        #expect(rows.first { $0.id == "deploy" }?.status == .released)
        #expect(rows.first { $0.id == "chat" }?.status == .cached)
        // Running cleanup again is fine.
        let again = try await f.run { $0.only = "cleanup"; $0.force = true }
        #expect(again.exitCode == 0)
        #expect(try f.state().cells["cleanup"]?.outputs["was_running"] == false)
    }

    @Test("the benchmark runs against the real server and the tutorial's printing code reads its summary")
    func benchmarkAndTutorialCode() async throws {
        let f = try Fixture()
        let s = try await f.run { $0.until = "benchmark" }
        // Stop the server before asserting, so a failed expectation leaves nothing running.
        #expect(try await f.run { $0.only = "cleanup" }.exitCode == 0)
        #expect(s.exitCode == 0, "\(f.outcome(s, "benchmark")?.error ?? "")")
        let out = try #require(f.state().cells["benchmark"]?.outputs)
        #expect(out["completed_requests"] == 6)
        #expect(out["error_rate"]?.doubleValue == 0)
        // Real input counts come from the server, not the configured mean.
        #expect((out["measured_mean_input_tokens"]?.doubleValue ?? 0) > 30)
        #expect((out["ttft_s_mean"]?.doubleValue ?? 0) > 0)
        let html = try #require(out["report_html"]?.stringValue)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg"))
        #expect(!page.contains("<script src"), "the report opens offline")

        // A real model server streams far below the batching threshold: every chunk was read on arrival.
        let summaryFile = try #require(out["summary_file"]?.stringValue)
        let summary = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryFile))) as? [String: Any])
        #expect(summary["client_read_batching_max_window_ms"] as? Double == 50)
        #expect(summary["client_batched_read_share"] as? Double == 0)
        #expect(summary["client_read_batching_widest_window_ms"] as? Double == 0)

        // The tutorial's own code, unchanged, run in the results folder.
        let dir = try #require(out["results_dir"]?.stringValue)
        let code = """
            import glob
            import json
            with open(glob.glob(f'results/*summary.json')[0], 'r') as file:
                data = json.load(file)
            print("Concurrent requests: 25")
            print(f"Avg. Input token length: {data['mean_input_tokens']}")
            print(f"Avg. Output token length: {data['mean_output_tokens']}")
            print(f"Avg. First-Time-To-Token: {data['results_ttft_s_mean']*1000:.2f}ms")
            print(f"Avg. Thorughput: {data['results_mean_output_throughput_token_per_s']:.2f} tokens/sec")
            print(f"Avg. Latency: {data['results_inter_token_latency_s_mean']*1000:.2f}ms/token")
            """
        let outPipe = Pipe()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", code]
        p.currentDirectoryURL = URL(fileURLWithPath: (dir as NSString).deletingLastPathComponent)
        p.standardOutput = outPipe
        try p.run()
        p.waitUntilExit()
        let printed = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 0)
        #expect(printed.contains("Avg. Input token length: 64"))
        #expect(printed.contains("Avg. Output token length: 24"))
        #expect(printed.range(of: #"Avg\. First-Time-To-Token: [0-9]+\.[0-9]{2}ms"#, options: .regularExpression) != nil)
        #expect(printed.range(of: #"Avg\. Thorughput: [0-9]+\.[0-9]{2} tokens/sec"#, options: .regularExpression) != nil)
    }

    @Test("a live deploy is reused from cache; a dead one is deployed again")
    func liveDeployReused() async throws {
        let f = try Fixture()
        let first = try await f.run { $0.until = "deploy" }
        #expect(first.exitCode == 0)
        let pid1 = try #require(f.state().cells["deploy"]?.outputs["deployment"]?["pid"]?.intValue)
        defer { kill(Int32(pid1), SIGKILL) }

        let second = try await f.run { $0.until = "deploy" }
        #expect(f.outcome(second, "deploy")?.status == .cached)
        #expect(try f.state().cells["deploy"]?.outputs["deployment"]?["pid"]?.intValue == pid1)

        // The server dies behind cellbook's back: the cached deploy is no longer valid.
        kill(Int32(pid1), SIGKILL)
        for _ in 0..<50 where ChildProcess.isAlive(Int32(pid1)) { try await Task.sleep(for: .milliseconds(100)) }
        let third = try await f.run { $0.until = "deploy" }
        #expect(f.outcome(third, "deploy")?.status == .ran)
        let pid2 = try #require(f.state().cells["deploy"]?.outputs["deployment"]?["pid"]?.intValue)
        #expect(pid2 != pid1)
        #expect(ChildProcess.isAlive(Int32(pid2)))
        let done = try await f.run { $0.only = "cleanup" }
        #expect(done.exitCode == 0)
        #expect(!ChildProcess.isAlive(Int32(pid2)))
    }

    @Test("a server left behind by a run killed during deploy is stopped by the next deploy, and cleanup stops what it finds")
    func orphanedServerIsFound() async throws {
        let f = try Fixture()
        #expect(try await f.run { $0.until = "deploy" }.exitCode == 0)
        let pid1 = try #require(f.state().cells["deploy"]?.outputs["deployment"]?["pid"]?.intValue)
        defer { kill(Int32(pid1), SIGKILL) }
        // What `kill -9` right after "Started llama-server" leaves: a server running and a state
        // that records no deployment (the record was still `running`).
        var state = try f.state()
        state.cells["deploy"] = nil
        try f.runner.store.save(state)
        #expect(ChildProcess.isAlive(Int32(pid1)))

        let again = try await f.run { $0.until = "deploy" }
        #expect(f.outcome(again, "deploy")?.status == .ran)
        let pid2 = try #require(f.state().cells["deploy"]?.outputs["deployment"]?["pid"]?.intValue)
        defer { kill(Int32(pid2), SIGKILL) }
        #expect(pid2 != pid1)
        for _ in 0..<50 where ChildProcess.isAlive(Int32(pid1)) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!ChildProcess.isAlive(Int32(pid1)), "the orphaned server was stopped, not left listening")
        #expect(try await f.run { $0.only = "cleanup" }.exitCode == 0)
        #expect(!ChildProcess.isAlive(Int32(pid2)))
    }

    @Test("a server that dies at start fails the deploy with its log")
    func serverDiesAtStart() async throws {
        let bogus = NSTemporaryDirectory() + "not-a-model-\(UUID().uuidString).gguf"
        try "this is not a GGUF file".write(toFile: bogus, atomically: true, encoding: .utf8)
        let f = try Fixture(modelPath: bogus)
        let s = try await f.run()
        #expect(s.exitCode == 1)
        let deploy = try #require(f.outcome(s, "deploy"))
        #expect(deploy.status == .failed)
        let error = deploy.error ?? ""
        #expect(error.contains("exited during start-up"))
        // The tail of llama-server's own log explains why.
        #expect(error.lowercased().contains("gguf") || error.lowercased().contains("model"))
        #expect(f.outcome(s, "chat") == nil)
        #expect(try f.state().cells["deploy"]?.status == .failed)
    }

    @Test("chat against a stopped server fails with a clear message")
    func chatAgainstStoppedServer() async throws {
        let f = try Fixture()
        #expect(try await f.run { $0.until = "deploy" }.exitCode == 0)
        #expect(try await f.run { $0.only = "cleanup" }.exitCode == 0)
        let s = try await f.run { $0.only = "chat" }
        #expect(s.exitCode == 1)
        let error = f.outcome(s, "chat")?.error ?? ""
        #expect(error.contains("cannot reach endpoint e2e-local"))
        #expect(error.contains("deploy"))
    }
}

private var sharedCache: String { LocalTargetEndToEndTests.sharedCacheDirectory }
